"""/api/v1/sessions/: start (WebSocket URL and token), list with filters, read, transcript."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from sessions.models import Session
from sessions.tokens import ws_token_claims
from tests.api.conftest import client_for, error_of
from tests.factories import AssistantFactory, MessageFactory, SessionFactory

LIST = "/api/v1/sessions/"


def start(client, assistant, **extra):
    return client.post(LIST, {"assistant_id": str(assistant.id), **extra}, format="json")


def test_start_returns_the_session_with_a_websocket_url_and_token(api, assistant, settings):
    settings.WS_TOKEN_TTL_SECONDS = 300
    before = timezone.now()
    response = start(api, assistant, metadata={"customer": "42"})
    assert response.status_code == 201
    body = response.json()
    session = Session.objects.unscoped().get(pk=body["id"])
    assert session.assistant == assistant and session.organization == assistant.organization
    assert body["status"] == "created" and body["channel"] == "api"
    assert body["metadata"] == {"customer": "42"}
    assert body["usage"]["prompt_tokens"] == 0

    url = urlsplit(body["ws_url"])
    assert (url.scheme, url.netloc, url.path) == ("ws", "testserver", f"/ws/sessions/{session.id}/")
    assert parse_qs(url.query)["token"] == [body["ws_token"]]
    assert ws_token_claims(body["ws_token"], session.id) is not None
    assert ws_token_claims(body["ws_token"], SessionFactory(assistant=assistant).id) is None
    expires_at = parse_datetime(body["ws_token_expires_at"])
    assert before + timedelta(seconds=298) <= expires_at <= timezone.now() + timedelta(seconds=300)


def test_ws_url_uses_public_base_url_when_set(api, assistant, settings):
    settings.PUBLIC_BASE_URL = "https://voice.example.com"
    body = start(api, assistant).json()
    assert body["ws_url"].startswith(f"wss://voice.example.com/ws/sessions/{body['id']}/?token=")


def test_ws_url_follows_the_request_scheme(api, assistant):
    body = api.post(LIST, {"assistant_id": str(assistant.id)}, format="json", secure=True).json()
    assert body["ws_url"].startswith("wss://testserver/ws/sessions/")


def test_start_without_metadata_stores_an_empty_object(api, assistant):
    assert start(api, assistant).json()["metadata"] == {}


def test_get_includes_status_and_usage(api, session):
    Session.objects.for_org(session.organization).filter(pk=session.pk).update(
        status=Session.Status.ENDED,
        usage={
            "prompt_tokens": 10,
            "completion_tokens": 5,
            "tts_characters": 80,
            "stt_audio_seconds": 3.5,
        },
    )
    body = api.get(f"{LIST}{session.id}/").json()
    assert body["status"] == "ended"
    assert body["usage"] == {
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "tts_characters": 80,
        "stt_audio_seconds": 3.5,
    }


def test_messages_are_ordered_by_sequence(api, transcript):
    body = api.get(f"{LIST}{transcript.id}/messages/").json()
    assert [m["sequence"] for m in body["results"]] == [1, 2, 3]
    assert [m["content"] for m in body["results"]] == ["m1", "m2", "m3"]
    assert body["next"] is None


def test_messages_of_an_unknown_session_are_a_404(api):
    response = api.get(f"{LIST}00000000-0000-0000-0000-000000000000/messages/")
    assert response.status_code == 404


@pytest.fixture
def sessions_to_filter(org, assistant):
    other = AssistantFactory(organization=org)
    now = timezone.now()
    made = {
        "old_web": SessionFactory(assistant=assistant, channel="web"),
        "ended": SessionFactory(assistant=assistant, status="ended"),
        "other_assistant": SessionFactory(assistant=other, status="active"),
    }
    Session.objects.for_org(org).filter(pk=made["old_web"].pk).update(
        created_at=now - timedelta(days=3)
    )
    return made, other


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {"old_web", "ended", "other_assistant"}),
        ({"status": "ended"}, {"ended"}),
        ({"status": "active"}, {"other_assistant"}),
        ({"channel": "web"}, {"old_web"}),
        ({"channel": "discord"}, set()),
        ({"assistant": "OTHER"}, {"other_assistant"}),
        ({"created_after": "-1d"}, {"ended", "other_assistant"}),
        ({"created_before": "-1d"}, {"old_web"}),
        ({"created_after": "-4d", "created_before": "-2d"}, {"old_web"}),
        ({"status": "ended", "channel": "web"}, set()),
    ],
)
def test_list_filters(api, sessions_to_filter, params, expected):
    made, other = sessions_to_filter
    now = timezone.now()
    query = {}
    for name, value in params.items():
        if value == "OTHER":
            value = str(other.id)
        elif value.endswith("d") and value.startswith("-"):
            value = (now - timedelta(days=int(value[1:-1]))).isoformat()
        query[name] = value
    response = api.get(LIST, query)
    assert response.status_code == 200
    ids = {item["id"] for item in response.json()["results"]}
    assert ids == {str(made[name].id) for name in expected}


def test_list_is_newest_first(api, assistant):
    first, second = SessionFactory(assistant=assistant), SessionFactory(assistant=assistant)
    ids = [item["id"] for item in api.get(LIST).json()["results"]]
    assert ids == [str(second.id), str(first.id)]


def test_messages_survive_in_every_session(api, assistant):
    session = SessionFactory(assistant=assistant)
    MessageFactory(session=session, sequence=1)
    other_session = SessionFactory(assistant=assistant)
    MessageFactory(session=other_session, sequence=1, content="elsewhere")
    body = api.get(f"{LIST}{session.id}/messages/").json()
    assert [m["content"] for m in body["results"]] == ["Hello"]


def test_bad_filters_are_400_with_field_messages(api):
    response = api.get(
        LIST,
        {"status": "sleeping", "channel": "fax", "assistant": "x", "created_after": "yesterday"},
    )
    assert response.status_code == 400
    assert set(error_of(response)["fields"]) == {
        "status",
        "channel",
        "assistant",
        "created_after",
    }


# Public keys: only session creation, only for their assistants, only from their origins.


def public_client(public_key, origin: str | None = "https://app.example.com"):
    return client_for(public_key[1], **({"HTTP_ORIGIN": origin} if origin else {}))


@pytest.mark.parametrize("origin", ["https://app.example.com", "HTTPS://APP.EXAMPLE.COM", None])
def test_public_key_starts_a_web_session_for_an_allowed_assistant(public_key, assistant, origin):
    response = start(public_client(public_key, origin), assistant)
    assert response.status_code == 201
    assert response.json()["channel"] == "web"
    assert ws_token_claims(response.json()["ws_token"], response.json()["id"]) is not None


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example.com",
        "http://app.example.com",
        "https://app.example.com:8443",
        "https://app.example.com.evil.com",
        "null",
    ],
)
def test_public_key_from_another_origin_is_403(public_key, assistant, origin):
    response = start(public_client(public_key, origin), assistant)
    assert response.status_code == 403
    assert error_of(response)["code"] == "permission_denied"
    assert not Session.objects.unscoped().exists()


def test_public_key_for_an_assistant_not_in_its_list_is_403(public_key, org):
    not_allowed = AssistantFactory(organization=org)
    response = start(public_client(public_key), not_allowed)
    assert response.status_code == 403
    assert not Session.objects.unscoped().exists()


def test_public_key_for_another_organizations_assistant_is_403(public_key, other_org):
    foreign = AssistantFactory(organization=other_org)
    response = start(public_client(public_key), foreign)
    assert response.status_code == 403
    assert not Session.objects.unscoped().exists()


def test_public_key_for_its_archived_assistant_is_400(api, public_key, assistant):
    SessionFactory(assistant=assistant)
    api.delete(f"/api/v1/assistants/{assistant.id}/")
    response = start(public_client(public_key), assistant)
    assert response.status_code == 400
    assert Session.objects.unscoped().count() == 1


def test_public_key_body_is_validated_like_any_other(public_key):
    response = public_client(public_key).post(LIST, {"assistant_id": "nope"}, format="json")
    assert response.status_code == 400
    assert "assistant_id" in error_of(response)["fields"]


# Browsers: a page calling POST /sessions/ with a public key needs CORS.


def test_a_cors_preflight_is_answered_before_authentication(db):
    response = client_for().options(
        LIST,
        HTTP_ORIGIN="https://app.example.com",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert response["Access-Control-Allow-Methods"] == "POST"
    assert set(response["Access-Control-Allow-Headers"].lower().split(", ")) == {
        "authorization",
        "content-type",
    }
    assert "Origin" in response["Vary"]
    assert response.content == b""


def test_a_browser_may_read_the_answer_to_its_session_creation(public_key, assistant):
    response = start(public_client(public_key), assistant)
    assert response.status_code == 201
    assert response["Access-Control-Allow-Origin"] == "https://app.example.com"
    refused = start(public_client(public_key, "https://evil.example.com"), assistant)
    assert refused.status_code == 403  # the origin is checked against the key, not by CORS


def test_other_endpoints_and_methods_send_no_cors_headers(api, session):
    origin = {"HTTP_ORIGIN": "https://app.example.com"}
    assert "Access-Control-Allow-Origin" not in api.get(LIST, **origin)
    assert "Access-Control-Allow-Origin" not in api.get(f"{LIST}{session.id}/", **origin)
    preflight = client_for().options(
        "/api/v1/assistants/", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST", **origin
    )
    assert preflight.status_code == 401


def test_a_plain_options_request_still_needs_a_key(db):
    assert client_for().options(LIST).status_code == 401
