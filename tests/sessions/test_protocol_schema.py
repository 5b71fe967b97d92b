"""docs/protocol.schema.json: shipped as generated, a valid schema, true of what a live session
sends, and in agreement with the parser about what a client may send."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from sessions.protocol import (
    CLIENT_MESSAGES,
    MAX_PLAYED_MS,
    MAX_TEXT_CHARS,
    SERVER_EVENTS,
    ProtocolError,
    parse_text_frame,
)
from sessions.protocol_schema import protocol_schema, render
from tests.factories import AssistantFactory, SessionFactory
from tests.sessions.live import LiveClient, silence_pcm, voiced_pcm

SHIPPED = Path(__file__).resolve().parents[2] / "docs" / "protocol.schema.json"
SCHEMA = protocol_schema()
FORMATS = Draft202012Validator.FORMAT_CHECKER
MARK_ID = "0d5c6e9e-4c3a-4a59-9a43-0c8b8b4c9f10"


def closed(schema: Any) -> Any:
    """A copy in which no object may carry a property its schema does not name. Server events
    are open for clients (a new field must not break them), but the server itself may not send
    a field the schema does not declare."""
    if isinstance(schema, list):
        return [closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    copy = {key: closed(value) for key, value in schema.items()}
    if "properties" in copy:
        copy.setdefault("additionalProperties", False)
    return copy


def validator(pointer: str, schema: dict[str, Any] = SCHEMA) -> Draft202012Validator:
    """Validates against one part of the document, e.g. "clientMessages"."""
    root = {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": f"#/$defs/{pointer}"}
    return Draft202012Validator(root, format_checker=FORMATS)


def problems(event: dict[str, Any], strict: dict[str, Any]) -> list[str]:
    kind = event.get("type")
    if kind not in strict["$defs"]["serverEvents"]["$defs"]:
        return [f"event type {kind!r} is not in the schema"]
    found = [
        *validator(f"serverEvents/$defs/{kind}", strict).iter_errors(event),
        *validator("serverEvents", strict).iter_errors(event),
    ]
    return [f"{kind} {error.json_path}: {error.message}" for error in found]


def assert_all_valid(events: list[dict[str, Any]]) -> None:
    strict = closed(SCHEMA)
    found = [problem for event in events for problem in problems(event, strict)]
    assert not found, "events the schema does not describe:\n" + "\n".join(found)


# ---- the document ---------------------------------------------------------------------------


def test_shipped_schema_is_the_generated_one():
    assert SHIPPED.read_text(encoding="utf-8") == render(), (
        "docs/protocol.schema.json is stale; regenerate it with "
        "`.venv/bin/python -m sessions.protocol_schema > docs/protocol.schema.json`"
    )


def test_schema_is_a_valid_draft_2020_12_schema():
    Draft202012Validator.check_schema(SCHEMA)


def test_schema_follows_the_classes_types_metadata_and_omit_none():
    client = SCHEMA["$defs"]["clientMessages"]["$defs"]
    server = SCHEMA["$defs"]["serverEvents"]["$defs"]
    assert list(client) == [cls.type for cls in CLIENT_MESSAGES]
    assert list(server) == [cls.type for cls in SERVER_EVENTS]
    assert client["mark"]["properties"]["played_ms"] == {
        "type": "number",
        "minimum": 0,
        "maximum": MAX_PLAYED_MS,
    }
    assert client["mark"]["required"] == ["type", "message_id", "played_ms"]
    assert client["user-message"]["additionalProperties"] is False
    assert "additionalProperties" not in server["error"]
    assert server["error"]["properties"]["code"] == {"$ref": "#/$defs/errorCode"}
    assert server["error"]["required"] == ["type", "code", "message"]  # retryable: omit_none
    assert server["error"]["properties"]["retryable"] == {"type": "boolean"}  # absent, not null
    assert server["transcript"]["properties"]["role"] == {"const": "user"}
    assert server["connected"]["properties"]["audio"] == {"$ref": "#/$defs/AudioInfo"}
    assert "provider_unavailable" in SCHEMA["$defs"]["errorCode"]["enum"]


def test_the_schema_is_served_without_a_key(client):
    response = client.get("/api/v1/protocol.schema.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == SCHEMA
    assert client.post("/api/v1/protocol.schema.json").status_code == 405


# ---- client -> server: parser and schema agree ---------------------------------------------

ACCEPTED = [
    {"type": "user-message", "content": "Hello"},
    {"type": "user-message", "content": "x" * MAX_TEXT_CHARS},
    {"type": "audio-commit"},
    {"type": "interrupt"},
    {"type": "mark", "message_id": MARK_ID, "played_ms": 3100},
    {"type": "mark", "message_id": MARK_ID, "played_ms": 0.5},
    {"type": "end-session"},
    {"type": "ping"},
]

REFUSED = [
    {"type": "user-message", "content": ""},
    {"type": "user-message"},
    {"type": "user-message", "content": None},
    {"type": "user-message", "content": ["Hello"]},
    {"type": "user-message", "content": "x" * (MAX_TEXT_CHARS + 1)},
    {"type": "mark", "message_id": MARK_ID, "played_ms": -1},
    {"type": "mark", "message_id": MARK_ID, "played_ms": MAX_PLAYED_MS + 1},
    {"type": "mark", "message_id": MARK_ID, "played_ms": True},
    {"type": "mark", "message_id": MARK_ID, "played_ms": "3100"},
    {"type": "mark", "message_id": MARK_ID},
    {"type": "mark", "message_id": "not-a-uuid", "played_ms": 1},
    {"type": "mark", "played_ms": 1},
    {"type": "launch-rockets"},
    {"type": "pong"},  # a server event is not a client message
    {"type": 5},
    {"content": "Hello"},
    [{"type": "ping"}],
    "ping",
    {"type": "ping", "extra": 1},
    {"type": "user-message", "content": "Hi", "lang": "en"},
]


def test_every_client_message_type_has_an_accepted_example():
    assert {frame["type"] for frame in ACCEPTED} == {cls.type for cls in CLIENT_MESSAGES}


@pytest.mark.parametrize("frame", ACCEPTED, ids=lambda frame: frame["type"])
def test_a_valid_client_message_passes_parser_and_schema(frame):
    assert parse_text_frame(json.dumps(frame)).type == frame["type"]
    errors = [error.message for error in validator("clientMessages").iter_errors(frame)]
    assert not errors


@pytest.mark.parametrize("frame", REFUSED, ids=lambda frame: json.dumps(frame)[:50])
def test_a_frame_the_parser_refuses_the_schema_refuses(frame):
    with pytest.raises(ProtocolError):
        parse_text_frame(json.dumps(frame))
    assert not validator("clientMessages").is_valid(frame)


# ---- server -> client: what a live session really sends ------------------------------------

LONG_REPLY = (
    "Sure, here is a long answer. It goes on for a while so that there is time to interrupt it. "
    "The third sentence keeps talking. The fourth sentence is never heard."
)


@pytest.fixture
def greeted_session(transactional_db, org):
    assistant = AssistantFactory(
        organization=org,
        first_message="Hello, I am listening.",
        voice_output_format="pcm_16000",
        tools=[{"name": "current_time"}, {"name": "end_session"}],
    )
    return SessionFactory(assistant=assistant)


async def reply_with(client: LiveClient, content: str) -> dict[str, Any]:
    """The assistant-message carrying ``content`` (a tool round sends one before it)."""
    message = await client.expect("assistant-message", timeout=10)
    while message["content"] != content:
        message = await client.expect("assistant-message", timeout=10)
    return message


async def until_audio(client: LiveClient) -> None:
    async with asyncio.timeout(5):
        while (await client.next())[0] != "audio":
            pass


async def test_every_event_of_a_full_exchange_matches_its_schema(providers, greeted_session):
    client = LiveClient.for_session(greeted_session.id)
    await client.connect()
    greeting = await reply_with(client, "Hello, I am listening.")
    await client.send(type="mark", message_id=greeting["message_id"], played_ms=900)
    await client.send(type="ping")
    await client.expect("pong")
    await client.send_raw('{"type": "user-message", "content": ""}')
    assert (await client.expect("error"))["code"] == "invalid_field"

    providers.script_chat(
        {"tool_calls": [{"name": "current_time", "arguments": {"timezone": "Europe/Paris"}}]},
        {"text": "It is noon in Paris."},
    )
    await client.send(type="user-message", content="What time is it in Paris?")
    await reply_with(client, "It is noon in Paris.")

    providers.script_transcription("And in Tokyo?")
    providers.script_chat({"text": "Eight in the evening."})
    audio = silence_pcm(0.2) + voiced_pcm(0.8) + silence_pcm(0.8)
    for start in range(0, len(audio), 640):
        await client.send_audio(audio[start : start + 640])
    await reply_with(client, "Eight in the evening.")

    providers.configure(llm_token_ms=20, tts_realtime=True, tts_chunk_ms=40, tts_ttfb_ms=5)
    providers.script_chat({"text": LONG_REPLY})
    await client.send(type="user-message", content="Tell me a story")
    await until_audio(client)
    await client.send(type="interrupt")
    await client.expect("clear")
    await client.send(type="end-session")
    await client.expect("session-ended")
    assert (await client.next())[0] == "close"

    assert {event["type"] for event in client.events} == {cls.type for cls in SERVER_EVENTS}
    assert_all_valid(client.events)


async def test_error_events_and_failed_replies_match_their_schema(providers, greeted_session):
    client = LiveClient.for_session(greeted_session.id)
    await client.connect()
    await reply_with(client, "Hello, I am listening.")
    providers.script_chat({"fault": "500", "times": 3}, {"text": "Sure, back again."})
    await client.send(type="user-message", content="Hello?")
    assert (await client.expect("error", timeout=10))["code"] == "provider_unavailable"
    await client.send(type="user-message", content="Again")
    await reply_with(client, "Sure, back again.")

    providers.script_chat(
        {"text": "Sure, this reply breaks halfway.", "fault": "break", "after_tokens": 3}
    )
    await client.send(type="user-message", content="Go")
    assert (await client.expect("error", timeout=10))["code"] == "provider_unavailable"
    providers.script_tts({"fault": "500", "times": 10})
    providers.script_chat({"text": "Sure, text without audio."})
    await client.send(type="user-message", content="Speak")
    await reply_with(client, "Sure, text without audio.")
    await client.disconnect()

    codes = {event["code"] for event in client.of_type("error")}
    assert codes == {"provider_unavailable", "tts_unavailable"}
    assert any("retryable" in event for event in client.of_type("error"))
    assert any("error" in event["latency"] for event in client.of_type("assistant-message"))
    assert_all_valid(client.events)
