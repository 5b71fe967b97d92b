"""POST /api/v1/sessions/{id}/messages/ (a text turn) and POST /api/v1/sessions/{id}/end/."""

import pytest
from asgiref.sync import sync_to_async
from rest_framework.test import APIClient

from assistants.models import ApiKey
from sessions.models import Message, Session
from tests.factories import ApiKeyFactory
from tests.sessions.live import LiveClient

pytestmark = pytest.mark.django_db(transaction=True)


def api(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


def turn_url(session) -> str:
    return f"/api/v1/sessions/{session.id}/messages/"


def end_url(session) -> str:
    return f"/api/v1/sessions/{session.id}/end/"


def test_text_turn_returns_stored_messages(providers, session, private_key):
    providers.script_chat({"text": "Hello there."}, {"text": "Second answer."})
    response = api(private_key[1]).post(turn_url(session), {"content": "Hi"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert [(m["role"], m["content"]) for m in body["messages"]] == [
        ("user", "Hi"),
        ("assistant", "Hello there."),
    ]
    assert body["session_ended"] is None
    again = api(private_key[1]).post(turn_url(session), {"content": "More"}, format="json")
    assert again.json()["messages"][-1]["content"] == "Second answer."
    assert Message.objects.unscoped().filter(session=session).count() == 4
    assert not providers.requests(provider="elevenlabs")  # a text turn makes no audio


def test_text_turn_runs_tools(providers, session, private_key):
    providers.script_chat(
        {"tool_calls": [{"name": "current_time", "arguments": {}}]}, {"text": "It is noon."}
    )
    response = api(private_key[1]).post(turn_url(session), {"content": "Time?"}, format="json")
    assert [m["role"] for m in response.json()["messages"]] == [
        "user",
        "assistant",
        "tool",
        "assistant",
    ]


def test_text_turn_provider_failure_is_502_and_keeps_the_message(providers, session, private_key):
    providers.script_chat({"fault": "503", "times": 3})
    response = api(private_key[1]).post(turn_url(session), {"content": "Anyone?"}, format="json")
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "provider_unavailable"
    assert (
        Message.objects.unscoped().filter(session=session, role="user", content="Anyone?").exists()
    )


@pytest.mark.parametrize(
    "body", [{}, {"content": ""}, {"content": 5}, {"content": "x" * 8001}, {"content": "a", "x": 1}]
)
def test_text_turn_validates_its_body(providers, session, private_key, body):
    response = api(private_key[1]).post(turn_url(session), body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]
    assert not Message.objects.unscoped().filter(session=session).exists()


def test_text_turn_on_ended_session_is_409(providers, session, private_key):
    Session.objects.unscoped().filter(pk=session.pk).update(status="ended")
    response = api(private_key[1]).post(turn_url(session), {"content": "Hi"}, format="json")
    assert response.status_code == 409


def test_another_organizations_key_gets_404_and_changes_nothing(
    providers, session, other_private_key
):
    client = api(other_private_key[1])
    assert client.post(turn_url(session), {"content": "Hi"}, format="json").status_code == 404
    assert client.post(end_url(session)).status_code == 404
    session.refresh_from_db()
    assert session.status == "created"
    assert not Message.objects.unscoped().filter(session=session).exists()


def test_public_key_cannot_drive_or_end_sessions(providers, session, org):
    _, raw = ApiKeyFactory.with_secret(organization=org, kind=ApiKey.Kind.PUBLIC)
    assert api(raw).post(turn_url(session), {"content": "Hi"}, format="json").status_code == 403
    assert api(raw).post(end_url(session)).status_code == 403


def test_end_without_live_connection_ends_the_row(providers, session, private_key):
    response = api(private_key[1]).post(end_url(session))
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["ended_reason"]) == ("ended", "ended-by-api")
    assert api(private_key[1]).post(end_url(session)).status_code == 200  # idempotent


async def test_end_reaches_the_live_connection(providers, session, private_key):
    live = LiveClient.for_session(session.id)
    await live.connect()
    response = await sync_to_async(api(private_key[1]).post)(end_url(session))
    assert response.status_code == 200
    assert (await live.expect("session-ended"))["reason"] == "ended-by-api"
    assert (await live.next())[0] == "close"


def test_fresh_token_reconnects_and_is_refused_for_others(
    providers, session, private_key, other_private_key
):
    response = api(private_key[1]).post(f"/api/v1/sessions/{session.id}/token/")
    assert response.status_code == 201
    assert response.json()["ws_url"].endswith(response.json()["ws_token"])
    assert (
        api(other_private_key[1]).post(f"/api/v1/sessions/{session.id}/token/").status_code == 404
    )
    Session.objects.unscoped().filter(pk=session.pk).update(status="ended")
    assert api(private_key[1]).post(f"/api/v1/sessions/{session.id}/token/").status_code == 409


@pytest.mark.parametrize(
    ("path", "operation_id", "codes"),
    [
        ("/api/v1/sessions/{id}/messages/", "post", {"409", "500", "502"}),
        ("/api/v1/sessions/{id}/token/", "post", {"409"}),
    ],
)
def test_the_schema_documents_the_live_endpoints_own_errors(path, operation_id, codes):
    schema = APIClient().get("/api/v1/schema/", {"format": "json"}).json()
    responses = schema["paths"][path][operation_id]["responses"]
    for code in codes:
        content = responses[code]["content"]["application/json"]["schema"]
        assert content == {"$ref": "#/components/schemas/Error"}, code
