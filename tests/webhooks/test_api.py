"""/api/v1/webhooks/: endpoints (the secret shown once), the delivery log, redelivery."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from sessions.runtime.store import message_append
from tests.api.conftest import client_for, error_of
from tests.factories import AssistantFactory, SessionFactory
from webhooks.models import Delivery, DeliveryAttempt, WebhookEndpoint

LIST = "/api/v1/webhooks/endpoints/"


@pytest.fixture
def api(private_key):
    return client_for(private_key[1])


@pytest.fixture
def created(api, allow_private):
    response = api.post(LIST, {"url": "http://127.0.0.1:9/hooks"}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_create_shows_the_secret_once(api, created):
    assert created["secret"].startswith("whsec_")
    stored = WebhookEndpoint.objects.unscoped().get(pk=created["id"])
    assert stored.secret == created["secret"]
    assert created["enabled"] and created["event_types"] == [] and created["assistant_id"] is None
    for body in (api.get(LIST).json()["results"][0], api.get(f"{LIST}{created['id']}/").json()):
        assert "secret" not in body and created["secret"] not in str(body)
    changed = api.patch(f"{LIST}{created['id']}/", {"description": "prod"}, format="json")
    assert changed.json()["description"] == "prod" and "secret" not in changed.json()


def test_the_secret_is_encrypted_at_rest(created):
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM webhooks_webhookendpoint")
        (raw,) = cursor.fetchone()
    assert created["secret"] not in raw


def test_rotate_secret_shows_a_new_one(api, created):
    response = api.post(f"{LIST}{created['id']}/rotate-secret/")
    assert response.status_code == 200
    assert response.json()["secret"].startswith("whsec_")
    assert response.json()["secret"] != created["secret"]


def test_loopback_and_private_urls_are_refused_unless_allowed(api):
    for url in ("http://127.0.0.1/x", "http://10.0.0.7/x", "http://169.254.169.254/latest"):
        response = api.post(LIST, {"url": url}, format="json")
        assert response.status_code == 400
        assert "not a public address" in str(error_of(response)["fields"]["url"])
    assert not WebhookEndpoint.objects.unscoped().exists()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"url": "ftp://example.com/x"},
        {"url": "http://127.0.0.1/x", "event_types": ["call.exploded"]},
        {"url": "http://127.0.0.1/x", "assistant_id": "not-a-uuid"},
        {"url": "http://127.0.0.1/x", "enabled": "yes"},
        {"url": "http://127.0.0.1/x", "extra": 1},
    ],
)
def test_bad_input_is_400_with_field_messages(api, allow_private, body):
    response = api.post(LIST, body, format="json")
    assert response.status_code == 400
    assert error_of(response)["fields"]


def test_an_endpoint_for_another_organizations_assistant_is_refused(api, other_org, allow_private):
    foreign = AssistantFactory(organization=other_org)
    body = {"url": "http://127.0.0.1/x", "assistant_id": str(foreign.id)}
    response = api.post(LIST, body, format="json")
    assert response.status_code == 400
    assert error_of(response)["fields"]["assistant_id"]


def test_the_delivery_log_and_redelivery(api, org, created):
    session = SessionFactory(assistant=AssistantFactory(organization=org))
    message_append(session.id, "user", {"content": "Hello"})
    delivery = Delivery.objects.unscoped().get()
    url = f"{LIST}{created['id']}/deliveries/"

    redeliver = f"{url}{delivery.id}/redeliver/"
    assert api.post(redeliver).status_code == 400  # still pending: being tried

    DeliveryAttempt.objects.create(
        delivery=delivery,
        number=1,
        started_at=delivery.created_at,
        status_code=500,
        latency_ms=12,
        response_excerpt="oops",
        error="HTTP 500",
    )
    Delivery.objects.unscoped().filter(pk=delivery.pk).update(status="failed", attempts=1)
    (row,) = api.get(url).json()["results"]
    assert row["event_type"] == "message.created" and row["status"] == "failed"
    assert row["event_id"] == delivery.event_id
    assert row["attempt_log"] == [
        {
            "number": 1,
            "started_at": row["attempt_log"][0]["started_at"],
            "status_code": 500,
            "latency_ms": 12,
            "response_excerpt": "oops",
            "error": "HTTP 500",
        }
    ]

    tasks_before = DBTaskResult.objects.count()
    response = api.post(redeliver)
    assert response.status_code == 202 and response.json()["status"] == "pending"
    assert DBTaskResult.objects.count() == tasks_before + 1
    assert DBTaskResult.objects.order_by("-enqueued_at").first().args_kwargs["args"] == [
        str(delivery.id),
        2,
    ]


def test_reenabling_clears_the_disabled_reason(api, created):
    WebhookEndpoint.objects.unscoped().filter(pk=created["id"]).update(
        enabled=False, disabled_reason="Disabled automatically"
    )
    WebhookEndpoint.objects.unscoped().filter(pk=created["id"]).update(disabled_at=timezone.now())
    body = api.patch(f"{LIST}{created['id']}/", {"enabled": True}, format="json").json()
    assert body["enabled"] and body["disabled_at"] is None and body["disabled_reason"] == ""


def test_delete(api, created):
    assert api.delete(f"{LIST}{created['id']}/").status_code == 204
    assert not WebhookEndpoint.objects.unscoped().exists()
