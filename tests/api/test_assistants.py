"""/api/v1/assistants/: create, list, read, update, delete (archive when it has sessions)."""

from __future__ import annotations

from assistants.models import Assistant
from tests.api.conftest import error_of
from tests.factories import AssistantFactory, MessageFactory, SessionFactory

LIST = "/api/v1/assistants/"


def detail(assistant_id) -> str:
    return f"/api/v1/assistants/{assistant_id}/"


def test_create_applies_model_defaults_and_returns_201(api, org):
    response = api.post(LIST, {"name": "Receptionist"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assistant = Assistant.objects.unscoped().get(pk=body["id"])
    assert assistant.organization == org
    assert body["name"] == "Receptionist"
    assert body["temperature"] == 0.7
    assert body["tools"] == []
    assert "organization" not in body and "archived_at" not in body
    # Clients that never heard of turn taking keep batch transcription.
    assert body["transcriber_mode"] == "batch"
    assert body["end_of_turn_silence_ms"] == 500
    assert (body["min_speech_ms"], body["barge_in_min_speech_ms"]) == (100, 200)
    assert body["preemptive_replies"] is True


def test_create_with_every_writable_field(api):
    payload = {
        "name": "Full",
        "first_message": "Hello!",
        "system_prompt": "Be brief.",
        "model_provider": "openai",
        "model_name": "gpt-4o",
        "temperature": 1.25,
        "max_tokens": 1024,
        "voice_provider": "none",
        "voice_id": "",
        "voice_model": "eleven_turbo_v2_5",
        "voice_output_format": "pcm_16000",
        "voice_settings": {"stability": 0.4, "speed": 1.1, "use_speaker_boost": True},
        "transcriber_provider": "elevenlabs",
        "transcriber_model": "scribe_v2_realtime",
        "transcriber_mode": "streaming",
        "language": "pt-BR",
        "interruptions_enabled": False,
        "end_of_turn_silence_ms": 350,
        "min_speech_ms": 60,
        "barge_in_min_speech_ms": 400,
        "preemptive_replies": False,
        "silence_timeout_seconds": 12,
        "max_duration_seconds": 900,
        "end_call_phrases": ["goodbye", "bye now"],
        "tools": [{"name": "current_time", "options": {}}],
        "metadata": {"team": "support"},
    }
    response = api.post(LIST, payload, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert {key: body[key] for key in payload} == payload


def test_list_is_newest_first_and_hides_archived(api, org):
    old = AssistantFactory(organization=org, name="old")
    new = AssistantFactory(organization=org, name="new")
    archived = AssistantFactory(organization=org, name="archived")
    SessionFactory(assistant=archived)
    api.delete(detail(archived.id))
    ids = [item["id"] for item in api.get(LIST).json()["results"]]
    assert ids == [str(new.id), str(old.id)]


def test_get_returns_the_assistant(api, assistant):
    response = api.get(detail(assistant.id))
    assert response.status_code == 200
    assert response.json()["id"] == str(assistant.id)
    assert response.json()["system_prompt"] == assistant.system_prompt


def test_patch_changes_only_the_given_fields(api, assistant):
    response = api.patch(detail(assistant.id), {"temperature": 0.1}, format="json")
    assert response.status_code == 200
    assistant.refresh_from_db()
    assert assistant.temperature == 0.1
    assert assistant.system_prompt == "You are helpful."


def test_patch_runs_the_model_rules_across_fields(api, assistant):
    response = api.patch(detail(assistant.id), {"voice_id": ""}, format="json")
    assert response.status_code == 400
    assert "voice_id" in error_of(response)["fields"]
    response = api.patch(detail(assistant.id), {"voice_id": "", "voice_provider": "none"}, "json")
    assert response.status_code == 200


STREAMING_NEEDS_ELEVENLABS = (
    "Streaming transcription needs the ElevenLabs transcriber (Scribe v2 Realtime)."
)
STREAMING = {
    "transcriber_provider": "elevenlabs",
    "transcriber_mode": "streaming",
    "transcriber_model": "scribe_v2_realtime",
}


def test_streaming_with_the_openai_transcriber_is_a_field_error(api, assistant):
    response = api.patch(detail(assistant.id), {"transcriber_mode": "streaming"}, format="json")

    assert response.status_code == 400
    assert error_of(response)["fields"] == {"transcriber_mode": [STREAMING_NEEDS_ELEVENLABS]}
    assistant.refresh_from_db()
    assert assistant.transcriber_mode == "batch"


def test_a_streaming_assistant_cannot_move_to_openai_without_going_batch(api, assistant):
    assert api.patch(detail(assistant.id), STREAMING, format="json").status_code == 200

    refused = api.patch(detail(assistant.id), {"transcriber_provider": "openai"}, format="json")
    assert error_of(refused)["fields"] == {"transcriber_mode": [STREAMING_NEEDS_ELEVENLABS]}

    both = {"transcriber_provider": "openai", "transcriber_mode": "batch"}
    assert api.patch(detail(assistant.id), both, format="json").status_code == 200


def test_turn_taking_settings_round_trip(api, assistant):
    settings = {
        **STREAMING,
        "end_of_turn_silence_ms": 200,
        "min_speech_ms": 2000,
        "barge_in_min_speech_ms": 3000,
        "preemptive_replies": False,
    }
    response = api.patch(detail(assistant.id), settings, format="json")

    assert response.status_code == 200, response.json()
    read = api.get(detail(assistant.id)).json()
    assert {key: read[key] for key in settings} == settings
    assistant.refresh_from_db()
    assert {key: getattr(assistant, key) for key in settings} == settings


def test_background_denoising_is_refused_as_not_supported(api, assistant):
    """It was stored and never used: a client that sends it learns why it is refused."""
    created = api.post(LIST, {"name": "x", "background_denoising": True}, format="json")
    patched = api.patch(detail(assistant.id), {"background_denoising": False}, format="json")
    for response in (created, patched):
        assert response.status_code == 400
        assert error_of(response)["fields"] == {
            "background_denoising": [
                "Not supported: the platform does not filter background noise, so this "
                "setting was removed rather than stored and ignored."
            ]
        }
    assert "background_denoising" not in api.get(detail(assistant.id)).json()
    assert error_of(api.patch(detail(assistant.id), {"colour": 1}, "json"))["fields"] == {
        "colour": ["Unknown field."]
    }


def test_empty_patch_changes_nothing(api, assistant):
    response = api.patch(detail(assistant.id), {}, format="json")
    assert response.status_code == 200
    assert response.json()["name"] == assistant.name


def test_put_is_not_allowed(api, assistant):
    response = api.put(detail(assistant.id), {"name": "x"}, format="json")
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"


def test_delete_without_sessions_removes_it(api, assistant):
    assert api.delete(detail(assistant.id)).status_code == 204
    assert not Assistant.objects.unscoped().filter(pk=assistant.pk).exists()
    assert api.get(detail(assistant.id)).status_code == 404


def test_delete_with_sessions_archives_and_keeps_transcripts_readable(api, assistant):
    session = SessionFactory(assistant=assistant)
    MessageFactory(session=session, sequence=1, content="hello")
    assert api.delete(detail(assistant.id)).status_code == 204

    assistant.refresh_from_db()
    assert assistant.archived_at is not None
    assert api.get(detail(assistant.id)).status_code == 404
    assert api.patch(detail(assistant.id), {"name": "x"}, format="json").status_code == 404
    assert api.delete(detail(assistant.id)).status_code == 404

    assert api.get(f"/api/v1/sessions/{session.id}/").json()["assistant_id"] == str(assistant.id)
    messages = api.get(f"/api/v1/sessions/{session.id}/messages/").json()["results"]
    assert [m["content"] for m in messages] == ["hello"]
    listed = api.get("/api/v1/sessions/", {"assistant": str(assistant.id)}).json()["results"]
    assert [s["id"] for s in listed] == [str(session.id)]


def test_an_archived_assistant_cannot_start_sessions(api, assistant):
    SessionFactory(assistant=assistant)
    api.delete(detail(assistant.id))
    response = api.post("/api/v1/sessions/", {"assistant_id": str(assistant.id)}, format="json")
    assert response.status_code == 400
    assert "assistant_id" in error_of(response)["fields"]


def test_unknown_id_is_a_json_404(api):
    response = api.get(detail("00000000-0000-0000-0000-000000000000"))
    assert response.status_code == 404
    assert error_of(response) == {"code": "not_found", "message": "Not found."}


def test_a_malformed_id_is_a_json_404(api):
    response = api.get("/api/v1/assistants/not-a-uuid/")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"
