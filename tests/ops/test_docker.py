"""The container set-up, checked by reading it (no Docker engine runs here) and by running what
it runs: the compose healthcheck against a real server configured as the compose file says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("web", "web2")
# What an operator puts in .env, as README.md says (production: DEBUG off).
OPERATOR_ENV = {"ALLOWED_HOSTS": "voice.example.com", "DEBUG": "0"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_image():
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    secrets_and_state = (".env", ".venv", "db.sqlite3*", ".git", ".demo-credentials.json")
    for entry in (*secrets_and_state, "**/__pycache__"):
        assert entry in ignored, entry
    assert "!.env.example" in ignored  # documentation, no secrets


def test_long_running_services_restart_and_the_release_step_does_not(compose):
    services = compose["services"]
    for name, service in services.items():
        expected = "no" if name == "migrate" else "unless-stopped"
        assert service.get("restart") == expected, name


def test_only_the_proxy_is_published_and_it_waits_for_healthy_apps(compose):
    services = compose["services"]
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"proxy"}
    assert set(services["proxy"]["depends_on"]) == set(APP_SERVICES)
    for name in APP_SERVICES:
        assert services["proxy"]["depends_on"][name] == {"condition": "service_healthy"}
        assert "healthcheck" in services[name]
    caddyfile = (ROOT / services["proxy"]["volumes"][0].split(":")[0]).read_text()
    assert "reverse_proxy web:8000 web2:8000" in caddyfile


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
@pytest.mark.parametrize("name", APP_SERVICES)
def test_the_compose_healthcheck_passes_against_a_server_set_up_like_the_compose_file(
    compose, asgi_server, name
):
    """Before, it called http://127.0.0.1:8000/health: a Host that ALLOWED_HOSTS refuses (400),
    so the container never became healthy."""
    server = asgi_server(**OPERATOR_ENV)
    test = compose["services"][name]["healthcheck"]["test"]
    assert test[0] == "CMD" and test[1] == "python"
    argv = [sys.executable, *(arg.replace(":8000", f":{server.port}") for arg in test[2:])]
    env = {"PATH": "/usr/bin:/bin", "PORT": str(server.port), **OPERATOR_ENV}
    result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr[-1500:]
