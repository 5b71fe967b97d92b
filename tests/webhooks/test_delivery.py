"""A real worker (``manage.py db_worker``) delivers to a real receiver that verifies signatures."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from standardwebhooks import Webhook

from sessions.runtime.store import message_append
from tests.factories import AssistantFactory, SessionFactory
from tests.fixtures.servers import free_port
from webhooks.models import Delivery, DeliveryAttempt, WebhookEndpoint
from webhooks.services import delivery_redeliver, endpoint_create

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def session(org):
    return SessionFactory(assistant=AssistantFactory(organization=org))


@pytest.fixture
def endpoint(org, receiver, allow_private):
    return endpoint_create(organization=org, url=receiver.url)


def settled(delivery_id, timeout: float = 20) -> Delivery:
    """The delivery once it is no longer pending."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        delivery = Delivery.objects.unscoped().get(pk=delivery_id)
        if delivery.status != Delivery.Status.PENDING:
            return delivery
        time.sleep(0.05)
    raise AssertionError(f"still pending after {timeout} s")


def attempts(delivery: Delivery) -> list[DeliveryAttempt]:
    return list(DeliveryAttempt.objects.unscoped().filter(delivery=delivery).order_by("number"))


def only_delivery() -> Delivery:
    (delivery,) = Delivery.objects.unscoped().all()
    return delivery


def test_the_worker_delivers_a_signed_event_the_receiver_verifies(
    session, endpoint, receiver, worker: Callable
):
    worker()
    message = message_append(session.id, "user", {"content": "Hello"})
    receiver.wait_for(lambda got: len(got) == 1)
    (got,) = receiver.received
    verified = Webhook(endpoint.secret).verify(got.body, got.headers)
    assert verified["type"] == "message.created"
    assert verified["data"]["message"]["id"] == str(message.id)
    assert got.headers["webhook-id"] == only_delivery().event_id
    with pytest.raises(Exception, match="signature"):
        Webhook("whsec_" + "A" * 43 + "=").verify(got.body, got.headers)

    delivery = settled(only_delivery().id)
    assert delivery.status == "succeeded" and delivery.attempts == 1
    (attempt,) = attempts(delivery)
    assert attempt.status_code == 200 and attempt.latency_ms is not None
    assert (
        attempt.response_excerpt.startswith("answer 200") and len(attempt.response_excerpt) == 1024
    )


@pytest.mark.parametrize(
    "failure,error",
    [((500, 0.0), "HTTP 500"), ((200, 3.0), "timed out")],
    ids=["500", "timeout"],
)
def test_failures_are_retried_with_the_same_webhook_id(
    session, endpoint, receiver, worker, failure, error
):
    receiver.script(failure, failure)  # then 200
    worker()
    message_append(session.id, "user", {"content": "Hello"})
    delivery = settled(only_delivery().id, timeout=30)
    assert delivery.status == "succeeded" and delivery.attempts == 3
    log = attempts(delivery)
    assert [a.error for a in log] == [error, error, ""]
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    for got in receiver.received:
        Webhook(endpoint.secret).verify(got.body, got.headers)
    assert log[1].started_at > log[0].started_at


def test_a_refused_connection_uses_up_the_retries_and_disables_the_endpoint(
    org, session, worker, allow_private
):
    dead = endpoint_create(organization=org, url=f"http://127.0.0.1:{free_port()}/hooks")
    worker(WEBHOOK_DISABLE_AFTER_SECONDS="0")
    message_append(session.id, "user", {"content": "Hello"})
    delivery = settled(only_delivery().id, timeout=30)
    assert delivery.status == "failed" and delivery.attempts == 4  # once plus three retries
    assert all("ConnectError" in a.error for a in attempts(delivery))
    dead = WebhookEndpoint.objects.unscoped().get(pk=dead.pk)
    deadline = time.monotonic() + 5
    while dead.enabled and time.monotonic() < deadline:
        time.sleep(0.05)
        dead.refresh_from_db()
    assert not dead.enabled and "Disabled automatically" in dead.disabled_reason

    message_append(session.id, "user", {"content": "again"})  # a disabled endpoint gets nothing
    assert Delivery.objects.unscoped().count() == 1


def test_a_private_address_is_refused_at_delivery_time(session, endpoint, receiver, worker):
    worker(WEBHOOK_URLS_ALLOW_PRIVATE="0", WEBHOOK_RETRY_SCHEDULE_SECONDS="0.1")
    message_append(session.id, "user", {"content": "Hello"})
    delivery = settled(only_delivery().id)
    assert delivery.status == "failed"
    assert all("not a public address" in a.error for a in attempts(delivery))
    assert receiver.received == []


def test_manual_redelivery_sends_the_same_event_again(session, endpoint, receiver, worker):
    worker()
    message_append(session.id, "user", {"content": "Hello"})
    receiver.wait_for(lambda got: len(got) == 1)
    delivery = settled(only_delivery().id)
    delivery_redeliver(delivery=delivery)
    receiver.wait_for(lambda got: len(got) == 2)
    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body
    delivery = settled(delivery.id)
    assert delivery.status == "succeeded" and delivery.attempts == 2
