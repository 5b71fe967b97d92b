"""Logs carry the request and session ids, come out as JSON when asked, and hold no secrets."""

import io
import json
import logging
import sys
from urllib.parse import urlsplit

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from config.logs import ContextFilter, JsonFormatter, RedactingFilter, redact, request_id
from tests.sessions.live import LiveClient

PROVIDER_KEYS = ("sk-sim-openai-secret", "xi-sim-elevenlabs-secret")


def formatted(record: logging.LogRecord) -> str:
    ContextFilter().filter(record)
    RedactingFilter().filter(record)
    return JsonFormatter().format(record)


def test_json_lines_carry_ids_extras_and_exceptions():
    token = request_id.set("req-1")
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.getLogger("x").makeRecord(
            "x", logging.ERROR, __file__, 1, "failed %s", ("here",), sys.exc_info()
        )
    finally:
        request_id.reset(token)
    record.session_id = "s-1"
    record.status_code = 500
    line = json.loads(formatted(record))
    assert line["message"] == "failed here"
    assert line["level"] == "ERROR" and line["logger"] == "x"
    assert line["request_id"] is None  # read when filtered, after the request ended
    assert line["session_id"] == "s-1" and line["status_code"] == 500
    assert "ValueError: boom" in line["exception"]


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("key vp_sk_0123456789ab_Zm9vYmFyYmF6cXV4cXV1eA in a message", "Zm9vYmFyYmF6"),
        ("Authorization: Bearer vp_pk_0123456789ab_c2VjcmV0c2VjcmV0", "c2VjcmV0c2Vj"),
        ("headers={'Authorization': 'Bearer abc.def-ghi'}", "abc.def-ghi"),
        ("openai key sk-proj-abcdefghijklmnop", "abcdefghijklmnop"),
        ("{'xi-api-key': 'c0ffee-secret'}", "c0ffee-secret"),
        ("GET /ws/sessions/1/?token=eyJzIjoiMSJ9:1t2:abc&x=1", "eyJzIjoiMSJ9"),
        # ElevenLabs keys; Notion internal-integration and OAuth tokens, new and old style
        ("elevenlabs key=sk_3f2a9c0d1e4b5a6978877665544332211aabbccddeeff00", "3f2a9c0d1e4b"),
        ("notion auth ntn_45612345678aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789", "45612345678a"),
        ("{'access_token': 'secret_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg'}", "AbCdEfGhIj"),
        ("Notion said 401 for secret_9fZq8wXv7uTs6rQp5oNm4lKj", "9fZq8wXv7uTs"),
    ],
)
def test_secrets_are_masked(text, secret):
    assert secret not in redact(text)
    record = logging.makeLogRecord({"msg": "%s", "args": (text,)})
    assert secret not in formatted(record)


def test_ordinary_names_are_left_alone():
    text = "settings SECRET_KEY and secret_key_base, task_0123456789abcdef, risk_assessment"
    assert redact(text) == text


@pytest.mark.django_db
def test_request_id_is_echoed_and_logged(caplog):
    client = Client(headers={"X-Request-ID": "trace-abc.123"})
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response["X-Request-ID"] == "trace-abc.123"
    record = next(r for r in caplog.records if r.name == "django.request")
    assert json.loads(formatted(record))["request_id"] == "trace-abc.123"


@pytest.mark.django_db
def test_unsafe_request_ids_are_replaced():
    response = Client(headers={"X-Request-ID": "bad id\nwith newline"}).get("/health")
    assert response["X-Request-ID"] != "bad id\nwith newline"
    assert len(response["X-Request-ID"]) == 32
    assert len(Client().get("/health")["X-Request-ID"]) == 32


@pytest.fixture
def json_log_lines():
    """What the console handler would print: our filters and the JSON formatter, at DEBUG."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)


@pytest.mark.django_db(transaction=True)
async def test_a_full_session_logs_no_secret(
    providers, assistant, private_key, caplog, json_log_lines
):
    """Create a session with the API key, talk over the WebSocket, end it: at DEBUG, no record
    holds the API key, a provider key or the session's WebSocket token, and the lines logged
    inside the session carry its id."""
    caplog.set_level(logging.DEBUG)
    providers.script_chat({"text": "Sure, nothing secret here."})
    api = Client(headers={"Authorization": f"Bearer {private_key[1]}"})
    created = await sync_to_async(api.post)(
        "/api/v1/sessions/", {"assistant_id": str(assistant.id)}, content_type="application/json"
    )
    assert created.status_code == 201
    body = created.json()
    url = urlsplit(body["ws_url"])
    client = LiveClient(f"{url.path}?{url.query}")
    await client.connect()
    await client.send(type="user-message", content="Hello")
    await client.expect("assistant-message")
    await client.send(type="end-session")
    await client.expect("session-ended")
    await client.disconnect()

    secrets = [private_key[1], body["ws_token"], *PROVIDER_KEYS]
    loggers = {record.name for record in caplog.records}
    assert {"openai._base_client", "httpx", "httpx2"} <= loggers, "expected the SDKs' records"
    for record in caplog.records:
        text = " ".join([record.getMessage(), record.exc_text or "", repr(vars(record))])
        for secret in secrets:
            assert secret not in text, f"{record.name}: {record.getMessage()[:200]}"
    lines = json_log_lines()
    assert not any(secret in json.dumps(lines) for secret in secrets)
    assert any(line["session_id"] == body["id"] for line in lines)
