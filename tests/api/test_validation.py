"""Every writable field refuses what it must, with a 400 that names the field; whole bodies that
are not JSON objects get a 400/413/415 in the common error shape. Never a 500."""

from __future__ import annotations

import json

import pytest

from assistants.models import ApiKey, Assistant
from sessions.models import Session
from tests.api.conftest import error_of

ASSISTANTS = "/api/v1/assistants/"
SESSIONS = "/api/v1/sessions/"
API_KEYS = "/api/v1/api-keys/"


def nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth):
        value = {"a": value}
    return value


INVALID_ASSISTANT_FIELDS = [
    ("name", ""),
    ("name", "   "),
    ("name", None),
    ("name", 5),
    ("name", ["a"]),
    ("name", "x" * 201),
    ("name", "nul\x00byte"),
    ("first_message", "x" * 2001),
    ("first_message", 1),
    ("system_prompt", "x" * 20_001),
    ("system_prompt", True),
    ("system_prompt", {"text": "hi"}),
    ("model_provider", "anthropic"),
    ("model_provider", ""),
    ("model_provider", 1),
    ("model_name", ""),
    ("model_name", "x" * 101),
    ("temperature", -0.1),
    ("temperature", 2.01),
    ("temperature", "0.5"),
    ("temperature", "hot"),
    ("temperature", True),
    ("temperature", None),
    ("max_tokens", 0),
    ("max_tokens", 16_385),
    ("max_tokens", -1),
    ("max_tokens", 1.5),
    ("max_tokens", "100"),
    ("max_tokens", 10**30),
    ("voice_provider", "polly"),
    ("voice_id", "x" * 101),
    ("voice_model", ""),
    ("voice_output_format", "mp3_44100_128"),
    ("voice_settings", []),
    ("voice_settings", {"stability": 2}),
    ("voice_settings", {"speed": 0.5}),
    ("voice_settings", {"stability": "high"}),
    ("voice_settings", {"stability": True}),
    ("voice_settings", {"use_speaker_boost": "yes"}),
    ("voice_settings", {"pitch": 1}),
    ("transcriber_provider", "deepgram"),
    ("transcriber_model", ""),
    ("transcriber_mode", "realtime"),
    ("transcriber_mode", ""),
    ("transcriber_mode", None),
    ("transcriber_mode", "streaming"),  # with the default transcriber, OpenAI
    ("language", ""),
    ("language", "en us"),
    ("language", "x" * 17),
    ("interruptions_enabled", "true"),
    ("interruptions_enabled", 1),
    ("silence_timeout_seconds", 0),
    ("silence_timeout_seconds", 3601),
    ("silence_timeout_seconds", "30"),
    ("max_duration_seconds", 9),
    ("max_duration_seconds", 43_201),
    ("end_of_turn_silence_ms", 199),
    ("end_of_turn_silence_ms", 3001),
    ("end_of_turn_silence_ms", "500"),
    ("end_of_turn_silence_ms", None),
    ("min_speech_ms", 39),
    ("min_speech_ms", 2001),
    ("min_speech_ms", -100),
    ("barge_in_min_speech_ms", 39),
    ("barge_in_min_speech_ms", 3001),
    ("barge_in_min_speech_ms", 2.5),
    ("preemptive_replies", "true"),
    ("preemptive_replies", 1),
    ("preemptive_replies", None),
    ("end_call_phrases", "bye"),
    ("end_call_phrases", [1]),
    ("end_call_phrases", [""]),
    ("end_call_phrases", ["x" * 201]),
    ("end_call_phrases", ["bye"] * 21),
    ("tools", {}),
    ("tools", ["current_time"]),
    ("tools", [{}]),
    ("tools", [{"name": "launch_missiles"}]),
    ("tools", [{"name": "current_time"}, {"name": "current_time"}]),
    ("tools", [{"name": "current_time", "extra": 1}]),
    ("tools", [{"name": "current_time", "options": []}]),
    ("metadata", []),
    ("metadata", "x"),
    ("metadata", {"big": "x" * 17_000}),
    ("metadata", {"nul": "a\x00b"}),
    ("metadata", {"a\x00": 1}),
    ("metadata", nested(40)),
    ("organization", "00000000-0000-0000-0000-000000000000"),
    ("id", "00000000-0000-0000-0000-000000000000"),
    ("archived_at", None),
    ("created_at", "2020-01-01T00:00:00Z"),
]

VALID_ASSISTANT_BOUNDARIES = [
    ("temperature", 0),
    ("temperature", 2),
    ("max_tokens", 1),
    ("max_tokens", 16_384),
    ("system_prompt", "x" * 20_000),
    ("first_message", "é" * 2000),
    ("silence_timeout_seconds", 3600),
    ("max_duration_seconds", 10),
    ("end_of_turn_silence_ms", 200),
    ("end_of_turn_silence_ms", 3000),
    ("min_speech_ms", 40),
    ("min_speech_ms", 2000),
    ("barge_in_min_speech_ms", 40),
    ("barge_in_min_speech_ms", 3000),
    ("preemptive_replies", False),
    ("voice_settings", {"stability": 0, "similarity_boost": 1, "style": 0.5, "speed": 1.2}),
    ("end_call_phrases", ["bye"] * 20),
    ("language", "pt-BR"),
    ("metadata", {"big": "x" * 16_000}),
    ("metadata", nested(30)),
]


def case_id(case) -> str:
    field, value = case
    return f"{field}={str(value)[:24]!r}"


@pytest.mark.parametrize("case", INVALID_ASSISTANT_FIELDS, ids=case_id)
def test_assistant_create_refuses(api, case):
    field, value = case
    payload = {"name": "ok", field: value}
    response = api.post(ASSISTANTS, payload, format="json")
    assert response.status_code == 400, response.content
    error = error_of(response)
    assert error["code"] == "invalid"
    assert field in error["fields"]
    assert not Assistant.objects.unscoped().exists()


@pytest.mark.parametrize("case", INVALID_ASSISTANT_FIELDS, ids=case_id)
def test_assistant_update_refuses(api, assistant, case):
    field, value = case
    stored = Assistant.objects.for_org(assistant.organization).filter(pk=assistant.pk)
    before = stored.values().get()
    response = api.patch(f"{ASSISTANTS}{assistant.id}/", {field: value}, format="json")
    assert response.status_code == 400, response.content
    assert field in error_of(response)["fields"]
    assert stored.values().get() == before


@pytest.mark.parametrize("case", VALID_ASSISTANT_BOUNDARIES, ids=case_id)
def test_assistant_boundaries_are_accepted(api, case):
    field, value = case
    response = api.post(ASSISTANTS, {"name": "ok", field: value}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()[field] == value


def test_range_errors_say_the_range(api):
    payload = {"name": "ok", "end_of_turn_silence_ms": 100, "min_speech_ms": 5000}
    fields = error_of(api.post(ASSISTANTS, payload, format="json"))["fields"]
    assert fields == {
        "end_of_turn_silence_ms": ["Ensure this value is greater than or equal to 200."],
        "min_speech_ms": ["Ensure this value is less than or equal to 2000."],
    }


def test_all_field_errors_are_reported_together(api):
    payload = {"name": "", "temperature": 9, "max_tokens": 0}
    fields = error_of(api.post(ASSISTANTS, payload, format="json"))["fields"]
    assert set(fields) == {"name", "temperature", "max_tokens"}


def test_a_name_is_required_on_create(api):
    response = api.post(ASSISTANTS, {}, format="json")
    assert response.status_code == 400
    assert error_of(response)["fields"]["name"] == ["This field is required."]


INVALID_SESSION_FIELDS = [
    ("assistant_id", None),
    ("assistant_id", 5),
    ("assistant_id", "nope"),
    ("assistant_id", []),
    ("metadata", []),
    ("metadata", "x"),
    ("metadata", {"big": "x" * 17_000}),
    ("metadata", {"nul": "\x00"}),
    ("channel", "web"),
    ("organization_id", "00000000-0000-0000-0000-000000000000"),
]


@pytest.mark.parametrize("case", INVALID_SESSION_FIELDS, ids=case_id)
def test_session_create_refuses(api, assistant, case):
    field, value = case
    payload = {"assistant_id": str(assistant.id), field: value}
    response = api.post(SESSIONS, payload, format="json")
    assert response.status_code == 400, response.content
    assert field in error_of(response)["fields"]
    assert not Session.objects.unscoped().exists()


def test_session_create_needs_an_assistant(api):
    response = api.post(SESSIONS, {"metadata": {}}, format="json")
    assert response.status_code == 400
    assert "assistant_id" in error_of(response)["fields"]


INVALID_API_KEY_FIELDS = [
    ("name", ""),
    ("name", None),
    ("name", 5),
    ("name", "x" * 101),
    ("kind", "secret"),
    ("kind", None),
    ("allowed_origins", "https://a.example.com"),
    ("allowed_origins", ["ftp://a.example.com"]),
    ("allowed_origins", ["https://a.example.com/path"]),
    ("allowed_origins", ["a.example.com"]),
    ("allowed_origins", ["https://user@a.example.com"]),
    ("allowed_origins", [5]),
    ("allowed_origins", ["https://a.example.com"] * 51),
    ("allowed_assistant_ids", "x"),
    ("allowed_assistant_ids", ["nope"]),
    ("allowed_assistant_ids", [5]),
    ("allowed_assistant_ids", ["00000000-0000-0000-0000-000000000000"] * 101),
    ("prefix", "vp_sk_000000000000"),
    ("secret", "vp_sk_000000000000_chosen"),
]


@pytest.mark.parametrize("case", INVALID_API_KEY_FIELDS, ids=case_id)
def test_api_key_create_refuses(api, case):
    field, value = case
    keys_before = ApiKey.objects.unscoped().count()
    payload = {"name": "k", "kind": "public", field: value}
    response = api.post(API_KEYS, payload, format="json")
    assert response.status_code == 400, response.content
    assert field in error_of(response)["fields"]
    assert ApiKey.objects.unscoped().count() == keys_before


RAW_BODIES = [
    ("application/json", b"{bad json", 400, "parse_error"),
    ("application/json", b'{"name": NaN}', 400, "parse_error"),
    ("application/json", b'{"name": Infinity}', 400, "parse_error"),
    ("application/json", b"[" * 50_000 + b"]" * 50_000, 400, "parse_error"),
    ("application/json", b'{"name": "\xff\xfe"}', 400, "parse_error"),
    ("application/json", b'["name"]', 400, "invalid"),
    ("application/json", b'"name"', 400, "invalid"),
    ("application/json", b"null", 400, "invalid"),
    ("application/json", b"", 400, "invalid"),
    ("application/json", b'{"name": "\\ud800"}', 400, "invalid"),
    ("application/json", b'{"name": "x", "temperature": 1e400}', 400, "invalid"),
    ("application/json", b'{"name": "x", "metadata": {"n": 1e400}}', 400, "invalid"),
    ("application/x-www-form-urlencoded", b"name=x", 415, "unsupported_media_type"),
    ("multipart/form-data; boundary=x", b"--x--", 415, "unsupported_media_type"),
    ("text/plain", b'{"name": "x"}', 415, "unsupported_media_type"),
]


@pytest.mark.parametrize("case", RAW_BODIES, ids=lambda c: f"{c[0]}:{c[1][:16]!r}")
def test_bodies_that_are_not_a_json_object(api, case):
    content_type, body, status, code = case
    response = api.generic("POST", ASSISTANTS, body, content_type=content_type)
    assert response.status_code == status, response.content
    assert error_of(response)["code"] == code
    assert not Assistant.objects.unscoped().exists()


def test_an_unknown_charset_is_ignored_as_django_does(api):
    content_type = "application/json; charset=no-such-charset"
    response = api.generic("POST", ASSISTANTS, b'{"name": "x"}', content_type=content_type)
    assert response.status_code == 201


def test_an_oversized_body_is_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = json.dumps({"name": "x", "system_prompt": "y" * 20_000})
    response = api.generic("POST", ASSISTANTS, body, content_type="application/json")
    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "cD0yMDIwLTAxLTAx",  # p=2020-01-01 (valid base64, still a usable date)
        "cD1ub3QtYS1kYXRl",  # p=not-a-date
        "cD05OTk5LTEyLTMxVDIzOjU5OjU5LTIzOjAw",  # p=9999-12-31T23:59:59-23:00
        "bz05OTk5OTk5OTk5OTk5OTk5OTk5OTk5OQ==",  # o=99999999999999999999999
    ],
)
@pytest.mark.parametrize("url", [ASSISTANTS, SESSIONS, API_KEYS])
@pytest.mark.filterwarnings("ignore:DateTimeField .* received a naive datetime")
def test_tampered_cursors_never_500(api, url, cursor):
    response = api.get(url, {"cursor": cursor})
    assert response.status_code in {200, 404}
    if response.status_code == 404:
        assert error_of(response)["code"] == "not_found"


@pytest.mark.parametrize("cursor", ["cD1hYmM=", "cD05OTk5OTk5OTk5OTk5OTk5OTk5OTk5"])
def test_tampered_transcript_cursors_never_500(api, session, cursor):
    response = api.get(f"{SESSIONS}{session.id}/messages/", {"cursor": cursor})
    assert response.status_code in {200, 404}


@pytest.mark.parametrize("page_size", ["abc", "-1", "0", "99999999999999999999"])
def test_odd_page_sizes_fall_back_or_clamp(api, page_size):
    assert api.get(ASSISTANTS, {"page_size": page_size}).status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        {"created_after": "9999-12-31T23:59:59-23:00"},
        {"created_before": "0001-01-01T00:00:00+23:00"},
        {"assistant": "\x00"},
        {"status": "\x00"},
    ],
)
def test_extreme_filters_are_400_not_500(api, query):
    response = api.get(SESSIONS, query)
    assert response.status_code == 400
    assert set(error_of(response)["fields"]) == set(query)


def test_unknown_fields_are_reported_with_the_other_errors(api):
    payload = {"name": "", "colour": "blue", "temperature": 3}
    fields = error_of(api.post(ASSISTANTS, payload, format="json"))["fields"]
    assert set(fields) == {"name", "colour", "temperature"}
    assert fields["colour"] == ["Unknown field."]
