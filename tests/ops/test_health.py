"""GET /health (liveness: touches nothing) and GET /ready (database, migrations, channel layer)."""

import pytest
from django.db import OperationalError, connections
from django.db.migrations.executor import MigrationExecutor

from config import health


@pytest.fixture(autouse=True)
def _unchecked_migrations(monkeypatch):
    monkeypatch.setattr(health, "_migrated", False)


def test_health_answers_without_touching_the_database(client):
    response = client.get("/health")  # no db fixture: any query would raise here
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_ready_checks_database_migrations_and_channel_layer(client):
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "channel_layer": "ok"},
    }


@pytest.mark.django_db
def test_ready_names_pending_migrations(client, monkeypatch):
    monkeypatch.setattr(MigrationExecutor, "migration_plan", lambda self, targets: [object()] * 2)
    response = client.get("/ready")
    assert response.status_code == 503
    assert response.json()["checks"] == {
        "database": "2 migration(s) not applied",
        "channel_layer": "ok",
    }


@pytest.mark.django_db
def test_ready_names_an_unreachable_database_without_its_details(client, monkeypatch):
    def refuse():
        raise OperationalError('connection to server at "db.internal" failed: password ...')

    monkeypatch.setattr(connections["default"], "ensure_connection", refuse)
    response = client.get("/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "unreachable (OperationalError)"
    assert "db.internal" not in response.content.decode()


@pytest.mark.django_db
def test_ready_names_an_unreachable_channel_layer(client, settings):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},  # nothing listens on port 1
        }
    }
    response = client.get("/ready")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"] == "ok"
    assert checks["channel_layer"].startswith(("unreachable", "no reply"))


@pytest.mark.django_db
def test_ready_round_trips_through_redis_when_configured(client, settings, redis_url):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": redis_url, "socket_timeout": None}]},
        }
    }
    response = client.get("/ready")
    assert response.status_code == 200, response.json()


def test_probes_are_not_redirected_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/health").status_code == 200
    assert client.get("/api/v1/assistants/").status_code == 301
