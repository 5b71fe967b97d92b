"""Events are written with their data, in the same transaction, or not at all."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from assistants.models import Membership
from sessions import expiry, services
from sessions.models import Message, Session
from sessions.runtime.store import message_append
from tests.factories import AssistantFactory, SessionFactory, UserFactory
from webhooks.models import Delivery, Event, WebhookEndpoint
from webhooks.payloads import percentile
from webhooks.services import endpoint_create, endpoint_disable


class Boom(Exception):
    pass


@pytest.fixture
def assistant(org):
    return AssistantFactory(organization=org)


@pytest.fixture
def session(assistant):
    return SessionFactory(assistant=assistant)


@pytest.fixture
def endpoint(org, allow_private):
    return endpoint_create(organization=org, url="http://127.0.0.1:9/hooks")


def events(event_type: str | None = None) -> list[Event]:
    rows = Event.objects.unscoped().order_by("created_at")
    return list(rows.filter(type=event_type) if event_type else rows)


def tasks() -> list[DBTaskResult]:
    return list(DBTaskResult.objects.all())


def test_a_stored_message_is_an_event_with_a_delivery_and_a_task(session, endpoint):
    message = message_append(session.id, "user", {"content": "Hello"})
    (event,) = events("message.created")
    assert event.payload["type"] == "message.created"
    assert event.payload["data"]["message"]["id"] == str(message.id)
    assert event.payload["data"]["message"]["content"] == "Hello"
    assert event.id.startswith("msg_")
    (delivery,) = Delivery.objects.unscoped().filter(event=event)
    assert delivery.endpoint == endpoint and delivery.status == "pending"
    (task,) = tasks()
    assert task.task_path == "webhooks.tasks.deliver"
    assert task.args_kwargs["args"] == [str(delivery.id), 1]


def test_a_rolled_back_write_leaves_no_event_delivery_or_task(session, endpoint):
    with pytest.raises(Boom), transaction.atomic():
        message_append(session.id, "user", {"content": "never stored"})
        assert events() and tasks()  # written, inside the transaction
        raise Boom
    assert not Message.objects.unscoped().filter(session=session).exists()
    assert events() == [] and tasks() == []
    assert not Delivery.objects.unscoped().exists()


def test_an_ending_that_rolls_back_leaves_no_session_ended(session, endpoint):
    with pytest.raises(Boom), transaction.atomic():
        assert services.session_end(session_id=session.id, reason="done")
        raise Boom
    session.refresh_from_db()
    assert session.status == "created" and events() == [] and tasks() == []


def test_no_endpoint_no_event(session):
    message_append(session.id, "user", {"content": "Hello"})
    services.session_end(session_id=session.id, reason="done")
    assert events() == [] and tasks() == []


def test_endpoints_get_only_the_types_and_assistant_they_asked_for(org, session, allow_private):
    other = AssistantFactory(organization=org)
    only_ended = endpoint_create(
        organization=org, url="http://127.0.0.1:9/a", event_types=["session.ended"]
    )
    other_assistant = endpoint_create(organization=org, url="http://127.0.0.1:9/b", assistant=other)
    disabled = endpoint_create(organization=org, url="http://127.0.0.1:9/c", enabled=False)
    message_append(session.id, "user", {"content": "Hello"})
    services.session_end(session_id=session.id, reason="done")
    assert [e.type for e in events()] == ["session.ended"]
    endpoints = {d.endpoint for d in Delivery.objects.unscoped().all()}
    assert endpoints == {only_ended}
    assert other_assistant not in endpoints and disabled not in endpoints


def test_started_once_and_ended_once(session, endpoint):
    assert services.session_activate(session_id=session.id)
    assert services.session_activate(session_id=session.id)  # a reconnect: not started again
    assert services.session_end(session_id=session.id, reason="hangup")
    assert not services.session_end(session_id=session.id, reason="again")
    assert [e.type for e in events()] == ["session.started", "session.ended"]
    started = events("session.started")[0].payload["data"]["session"]
    assert started["id"] == str(session.id) and started["status"] == "active"


def test_a_tool_result_is_also_tool_called_with_the_call(session, endpoint):
    call = {"id": "call_1", "name": "current_time", "arguments": "{}"}
    message_append(session.id, "assistant", {"content": "", "tool_calls": [call]})
    message_append(session.id, "tool", {"content": "12:00", "tool_call_id": "call_1"})
    (event,) = events("tool.called")
    assert event.payload["data"]["tool_call"] | {"message_id": None, "created_at": None} == {
        "id": "call_1",
        "name": "current_time",
        "arguments": "{}",
        "result": "12:00",
        "message_id": None,
        "created_at": None,
    }
    assert len(events("message.created")) == 2


def test_the_end_of_call_report(session, endpoint):
    services.session_activate(session_id=session.id)
    message_append(session.id, "user", {"content": "What time is it?"})
    call = {"id": "call_1", "name": "current_time", "arguments": "{}"}
    for ms in (100, 300, 200):
        message_append(
            session.id,
            "assistant",
            {
                "content": f"reply {ms}",
                "tool_calls": [call] if ms == 100 else [],
                "latency": {"llm_ttft_ms": ms, "tts_ttfb_ms": None, "first_audio_ms": ms * 2},
                "usage": {"prompt_tokens": 10, "completion_tokens": 5, "tts_characters": 7},
            },
        )
    message_append(session.id, "tool", {"content": "noon", "tool_call_id": "call_1"})
    Message.objects.unscoped().filter(session=session, content="reply 200").update(interrupted=True)
    services.session_end(session_id=session.id, reason="customer-ended-call")

    report = events("session.ended")[0].payload["data"]["report"]
    assert report["ended_reason"] == "customer-ended-call" and report["status"] == "ended"
    assert report["duration_seconds"] >= 0
    assert [(t["role"], t["content"], t["interrupted"]) for t in report["transcript"]] == [
        ("user", "What time is it?", False),
        ("assistant", "reply 100", False),
        ("assistant", "reply 300", False),
        ("assistant", "reply 200", True),
    ]
    assert report["latency"]["llm_ttft_ms"] == {"p50": 200.0, "p95": 300.0, "count": 3}
    assert report["latency"]["first_audio_ms"]["p95"] == 600.0
    assert report["latency"]["tts_ttfb_ms"] == {"p50": None, "p95": None, "count": 0}
    assert report["usage"]["llm"]["prompt_tokens"] == 30
    assert report["usage"]["llm"]["model"] == session.assistant.model_name
    assert report["usage"]["tts"]["characters"] == 21
    assert report["cost"] == Session.objects.unscoped().get(pk=session.pk).usage.get("cost")
    assert [(c["name"], c["result"]) for c in report["tool_calls"]] == [("current_time", "noon")]


def test_expiry_ends_with_a_report(session, endpoint, settings):
    Session.objects.unscoped().filter(pk=session.pk).update(
        last_activity_at=timezone.now() - timedelta(days=2)
    )
    assert expiry.sessions_expire() == 1
    (event,) = events("session.ended")
    assert event.payload["data"]["report"]["ended_reason"] == "expired-unused"


def test_analysis_waits_for_the_worker(org, endpoint):
    assistant = AssistantFactory(
        organization=org, metadata={"analysis": {"summary_prompt": "Summarize."}}
    )
    session = SessionFactory(assistant=assistant)
    services.session_end(session_id=session.id, reason="done")
    (event,) = events("session.ended")
    assert event.analysis_pending
    assert [t.task_path for t in tasks()] == ["webhooks.tasks.analyze_event"]


def test_percentiles_use_the_nearest_rank():
    values = [float(v) for v in range(1, 21)]
    assert (percentile(values, 50), percentile(values, 95)) == (10.0, 19.0)
    assert percentile([], 50) is None and percentile([7.0], 95) == 7.0


def test_disabling_an_endpoint_mails_the_owners(org, endpoint):
    owner = UserFactory(email="owner@example.com")
    Membership.objects.create(organization=org, user=owner, role=Membership.Role.OWNER)
    endpoint_disable(endpoint_id=endpoint.pk, failing_for=90000)
    endpoint = WebhookEndpoint.objects.unscoped().get(pk=endpoint.pk)
    assert not endpoint.enabled and endpoint.disabled_at is not None
    assert "25.0 h" in endpoint.disabled_reason
    (message,) = mail.outbox
    assert message.to == ["owner@example.com"] and endpoint.url in message.subject
    endpoint_disable(endpoint_id=endpoint.pk, failing_for=90000)
    assert len(mail.outbox) == 1  # once


def test_a_message_nobody_subscribed_to_costs_one_query_for_its_event(session):
    """The session row the message is stored under says whose it is: the event's only query
    is the look-up of the organization's endpoints."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        message_append(session.id, "user", {"content": "Hello", "usage": {"stt_audio_seconds": 1}})
    reads = [q["sql"].split('"')[1] for q in queries.captured_queries if q["sql"][:6] == "SELECT"]
    reads = [table for table in reads if table != "integrations_price"]  # read when not cached
    assert reads == ["voice_sessions_session", "webhooks_webhookendpoint"]  # the session: locked
    assert not Event.objects.unscoped().exists()
