"""The assistants pages: list, builder (create, edit, inline validation), voice preview and
archive, with the providers' simulators answering at the wire."""

from __future__ import annotations

import io
import json
import wave
from array import array
from typing import Any

import pytest
from django.utils import timezone

from assistants.api.serializers import ASSISTANT_WRITABLE_FIELDS, AssistantOutputSerializer
from assistants.models import Assistant
from integrations.models import NotionConnection, ProviderCredential
from simulators.server import start_simulators
from tests.factories import AssistantFactory, SessionFactory
from tests.fixtures.simulators import FAST

NEW = "/assistants/new/"
PAGE_URL = "https://www.notion.so/acme/Call-notes-0123456789abcdef0123456789abcdef"
RACHEL = "21m00Tcm4TlvDq8ikWAM"


@pytest.fixture(autouse=True)
def platform_on_simulators(settings, sims):
    settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL = "sk-platform", sims.openai_base_url
    settings.ELEVENLABS_API_KEY = "xi-platform"
    settings.ELEVENLABS_BASE_URL = sims.elevenlabs_base_url
    return sims


def form_data(**changes: Any) -> dict[str, Any]:
    """What the builder posts for a plain assistant; ``changes`` replace or add inputs."""
    data: dict[str, Any] = {
        "name": "Front desk",
        "first_message": "Hi, Acme here.",
        "system_prompt": "You answer questions about Acme.",
        "model_provider": "openai",
        "model_name": "gpt-4o-mini",
        "temperature": "0.7",
        "max_tokens": "512",
        "voice_provider": "elevenlabs",
        "voice_id": RACHEL,
        "voice_model": "eleven_flash_v2_5",
        "voice_output_format": "pcm_24000",
        "voice_settings_stability": "0.5",
        "voice_settings_similarity_boost": "0.75",
        "voice_settings_style": "0",
        "voice_settings_speed": "1",
        "voice_settings_use_speaker_boost": "",
        "transcriber_provider": "openai",
        "transcriber_model": "gpt-4o-mini-transcribe",
        "transcriber_mode": "batch",
        "language": "en",
        "interruptions_enabled": "on",
        "end_of_turn_silence_ms": "500",
        "min_speech_ms": "100",
        "barge_in_min_speech_ms": "200",
        "preemptive_replies": "on",
        "silence_timeout_seconds": "30",
        "max_duration_seconds": "600",
        "end_call_phrases": [""],
        "metadata_key": [""],
        "metadata_value": [""],
    }
    data.update(changes)
    return data


def stored(assistant: Assistant) -> dict[str, Any]:
    output = dict(AssistantOutputSerializer(assistant).data)
    for name in ("id", "created_at", "updated_at"):
        output.pop(name)
    return output


def errors_of(response, field: str) -> str:
    """The text of the field's error list on the page."""
    html = response.content.decode()
    start = html.index(f'id="errors-{field}"')
    return html[start : html.index("</ul>", start)]


# ---------------------------------------------------------------- list


def test_list_shows_the_organizations_live_assistants_only(member_client, org, other_org):
    ours = AssistantFactory(organization=org, name="Ours", tools=[{"name": "current_time"}])
    AssistantFactory(organization=other_org, name="Theirs")
    AssistantFactory(organization=org, name="Gone", archived_at=timezone.now())

    response = member_client.get("/assistants/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Ours" in html and "Theirs" not in html and "Gone" not in html
    assert f'href="/assistants/{ours.pk}/"' in html
    assert f'href="/assistants/{ours.pk}/chat/"' in html and "Talk to it" in html
    assert 'href="/assistants/new/"' in html
    assert '<td data-label="Tools">1</td>' in html


# ---------------------------------------------------------------- create


def test_create_with_tools_sliders_phrases_and_metadata_stores_what_the_api_stores(
    member_client, org, private_key, client
):
    connection = NotionConnection.objects.create(organization=org, name="Wiki", token="secret_x")
    data = form_data(
        voice_settings_stability_set="on",
        voice_settings_stability="0.35",
        voice_settings_speed_set="on",
        voice_settings_speed="1.15",
        voice_settings_use_speaker_boost="off",
        end_call_phrases=["Goodbye", "", "  talk soon  "],
        metadata_key=["team", "", "tier"],
        metadata_value=["support", "", "2"],
        tools=["notion_append_to_page", "current_time"],
        **{
            "tools-notion_append_to_page-default_page_id": PAGE_URL,
            "tools-notion_append_to_page-dry_run": "true",
            "tools-notion_append_to_page-connection_id": str(connection.pk),
            "tools-current_time-timezone": "Europe/Paris",
            "tools-notion_create_page-default_page_id": "ignored: the tool is not ticked",
        },
    )

    response = member_client.post(NEW, data)

    assistant = Assistant.objects.for_org(org).get()
    assert response.status_code == 302
    assert response["Location"] == f"/assistants/{assistant.pk}/"
    body = {**stored(assistant), "name": "Front desk (API)"}
    api = client.post(
        "/api/v1/assistants/",
        json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {private_key[1]}"},
    )
    assert api.status_code == 201, api.json()
    via_api = Assistant.objects.for_org(org).get(pk=api.json()["id"])
    assert {**stored(via_api), "name": "Front desk"} == stored(assistant)
    assert assistant.voice_settings == {
        "stability": 0.35,
        "speed": 1.15,
        "use_speaker_boost": False,
    }
    assert assistant.end_call_phrases == ["Goodbye", "talk soon"]
    assert assistant.metadata == {"team": "support", "tier": "2"}
    assert assistant.tools == [
        {"name": "current_time", "options": {"timezone": "Europe/Paris"}},
        {
            "name": "notion_append_to_page",
            "options": {
                "connection_id": str(connection.pk),
                "default_page_id": PAGE_URL,
                "dry_run": True,
            },
        },
    ]


def test_a_new_assistant_starts_on_elevenlabs_streaming(member_client):
    html = member_client.get(NEW).content.decode()

    assert '<option value="elevenlabs" selected>ElevenLabs Scribe</option>' in html
    assert '<option value="streaming" selected>Streaming (realtime, live captions)</option>' in html
    assert 'name="transcriber_model" value="scribe_v2_realtime"' in html
    assert '<option value="scribe_v2_realtime">' in html  # the model suggestions


def test_the_builder_groups_turn_taking_with_its_help(member_client):
    html = member_client.get(NEW).content.decode()

    start, end = html.index("<legend>Turn taking</legend>"), html.index("<legend>Tools</legend>")
    section = html[start:end]
    for name, low, high, default in [
        ("end_of_turn_silence_ms", 200, 3000, 500),
        ("min_speech_ms", 40, 2000, 100),
        ("barge_in_min_speech_ms", 40, 3000, 200),
    ]:
        assert f'name="{name}" value="{default}" min="{low}" max="{high}"' in section
    assert 'name="interruptions_enabled" aria-describedby' in section
    assert 'name="preemptive_replies" aria-describedby' in section
    assert "End of turn after silence (ms)" in section
    assert "How long the caller must be silent, in milliseconds" in section
    assert "How long the caller must speak over the assistant" in section
    assert "never heard, never stored, its tools never run" in section


def test_create_stores_the_turn_taking_settings(member_client, org):
    data = form_data(
        transcriber_provider="elevenlabs",
        transcriber_mode="streaming",
        transcriber_model="scribe_v2_realtime",
        end_of_turn_silence_ms="300",
        min_speech_ms="60",
        barge_in_min_speech_ms="250",
    )
    del data["preemptive_replies"]  # an unticked box is not posted

    response = member_client.post(NEW, data)

    assert response.status_code == 302
    assistant = Assistant.objects.for_org(org).get()
    assert (assistant.transcriber_provider, assistant.transcriber_mode) == (
        "elevenlabs",
        "streaming",
    )
    assert assistant.transcriber_model == "scribe_v2_realtime"
    assert (assistant.end_of_turn_silence_ms, assistant.min_speech_ms) == (300, 60)
    assert assistant.barge_in_min_speech_ms == 250
    assert assistant.preemptive_replies is False


def test_editing_keeps_an_assistants_own_transcriber(member_client, org):
    """The streaming defaults are for new assistants only: an existing one shows its own."""
    assistant = AssistantFactory(organization=org, transcriber_provider="openai")

    html = member_client.get(f"/assistants/{assistant.pk}/").content.decode()

    assert '<option value="openai" selected>OpenAI</option>' in html
    assert '<option value="batch" selected>Batch (one request per utterance)</option>' in html


def test_untouched_sliders_leave_the_voices_defaults(member_client, org):
    member_client.post(NEW, form_data())

    assistant = Assistant.objects.for_org(org).get()
    assert assistant.voice_settings == {}
    assert assistant.tools == [] and assistant.metadata == {} and assistant.end_call_phrases == []


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"voice_settings_speed_set": "on", "voice_settings_speed": "3"},
            "voice_settings",
            "speed must be between 0.7 and 1.2.",
        ),
        (
            {"voice_settings_style_set": "on", "voice_settings_style": "loud"},
            "voice_settings",
            "style must be a number.",
        ),
        (
            {
                "tools": ["notion_append_to_page"],
                "tools-notion_append_to_page-default_page_id": "https://example.com/not-notion",
            },
            "tools",
            "notion_append_to_page: default_page_id must be a Notion page id or page URL.",
        ),
        ({"tools": ["no_such_tool"]}, "tools", "Unknown tool &#x27;no_such_tool&#x27;"),
        ({"name": ""}, "name", "This field is required."),
        ({"name": "x" * 201}, "name", "at most 200 characters"),
        ({"temperature": "2.5"}, "temperature", "less than or equal to 2.0"),
        ({"max_tokens": "0"}, "max_tokens", "greater than or equal to 1"),
        ({"language": "en us!"}, "language", "Use a language code such as"),
        ({"voice_id": ""}, "voice_id", "A voice is required unless the voice is"),
        ({"voice_output_format": "mp3_44100_128"}, "voice_output_format", "Select a valid choice"),
        (
            {"transcriber_mode": "streaming"},
            "transcriber_mode",
            "Streaming transcription needs the ElevenLabs transcriber (Scribe v2 Realtime).",
        ),
        ({"transcriber_mode": "live"}, "transcriber_mode", "Select a valid choice"),
        (
            {"end_of_turn_silence_ms": "150"},
            "end_of_turn_silence_ms",
            "greater than or equal to 200",
        ),
        ({"min_speech_ms": "2001"}, "min_speech_ms", "less than or equal to 2000"),
        (
            {"barge_in_min_speech_ms": "3001"},
            "barge_in_min_speech_ms",
            "less than or equal to 3000",
        ),
        ({"end_of_turn_silence_ms": ""}, "end_of_turn_silence_ms", "This field is required."),
        (
            {"end_call_phrases": [f"bye {n}" for n in range(21)]},
            "end_call_phrases",
            "At most 20 phrases.",
        ),
        ({"end_call_phrases": ["x" * 201]}, "end_call_phrases", "1 to 200 characters"),
        (
            {"metadata_key": ["team", "team"], "metadata_value": ["a", "b"]},
            "metadata",
            "The key &#x27;team&#x27; is there twice.",
        ),
        ({"metadata_key": [""], "metadata_value": ["orphan"]}, "metadata", "needs a key"),
        (
            {"metadata_key": ["blob"], "metadata_value": ["x" * 17_000]},
            "metadata",
            "Must be at most 16384 bytes",
        ),
    ],
)
def test_invalid_input_shows_the_fields_error_and_saves_nothing(
    member_client, org, changes, field, message
):
    response = member_client.post(NEW, form_data(**changes))

    assert response.status_code == 200
    assert message in errors_of(response, field)
    assert "Nothing was saved" in response.content.decode()
    assert not Assistant.objects.for_org(org).exists()


def test_a_notion_connection_of_another_organization_is_unknown(member_client, org, other_org):
    theirs = NotionConnection.objects.create(organization=other_org, name="Globex", token="x")
    data = form_data(
        tools=["notion_search"], **{"tools-notion_search-connection_id": str(theirs.pk)}
    )

    response = member_client.post(NEW, data)

    assert response.status_code == 200
    assert "notion_search: unknown Notion connection." in errors_of(response, "tools")
    assert "Globex" not in response.content.decode()  # their connection is not offered either
    assert not Assistant.objects.for_org(org).exists()


def test_a_form_with_errors_keeps_what_was_typed(member_client):
    data = form_data(
        name="",
        end_call_phrases=["see you"],
        metadata_key=["team"],
        metadata_value=["sales"],
        voice_settings_speed_set="on",
        voice_settings_speed="1.1",
        tools=["current_time"],
    )

    html = member_client.post(NEW, data).content.decode()

    assert 'name="end_call_phrases" value="see you"' in html
    assert 'name="metadata_key" value="team"' in html and 'value="sales"' in html
    assert 'name="voice_settings_speed" id="id_voice_settings_speed" min="0.7" max="1.2"' in html
    assert 'value="1.1"' in html and 'id="id_voice_settings_speed_set" value="on" checked' in html
    assert 'name="tools" value="current_time" checked' in html


# ---------------------------------------------------------------- edit


def test_edit_shows_the_stored_settings(member_client, org):
    assistant = AssistantFactory(
        organization=org,
        voice_settings={"similarity_boost": 0.9, "use_speaker_boost": True},
        end_call_phrases=["bye now"],
        metadata={"team": "support"},
        tools=[{"name": "notion_create_page", "options": {"dry_run": True}}],
    )

    html = member_client.get(f"/assistants/{assistant.pk}/").content.decode()

    assert f'value="{assistant.name}"' in html
    assert 'id="id_voice_settings_similarity_boost_set" value="on" checked' in html
    assert 'id="id_voice_settings_stability_set" value="on" aria' in html  # not set: unticked
    assert '<option value="on" selected>On</option>' in html
    assert 'name="end_call_phrases" value="bye now"' in html
    assert 'name="metadata_key" value="team"' in html
    assert 'name="tools" value="notion_create_page" checked' in html
    assert 'name="tools-notion_create_page-dry_run" value="true" checked' in html


def test_edit_saves_and_keeps_what_only_the_api_can_set(member_client, org):
    assistant = AssistantFactory(
        organization=org,
        metadata={"priority": 5, "labels": ["a", "b"], "team": "support"},
        tools=[{"name": "notion_search", "options": {"dry_run": True}}],
    )
    data = form_data(
        name="Renamed",
        metadata_key=["priority", "labels", "team"],
        metadata_value=["5", '["a", "b"]', "sales"],
        tools=["notion_search"],
    )

    response = member_client.post(f"/assistants/{assistant.pk}/", data)

    assistant.refresh_from_db()
    assert response.status_code == 302
    assert assistant.name == "Renamed"
    assert assistant.metadata == {"priority": 5, "labels": ["a", "b"], "team": "sales"}
    assert assistant.tools == [{"name": "notion_search", "options": {"dry_run": True}}]


def test_edit_with_errors_changes_nothing(member_client, org):
    assistant = AssistantFactory(organization=org, name="Keep me")

    response = member_client.post(
        f"/assistants/{assistant.pk}/", form_data(name="New name", max_tokens="99999")
    )

    assistant.refresh_from_db()
    assert response.status_code == 200
    assert "less than or equal to 16384" in errors_of(response, "max_tokens")
    assert assistant.name == "Keep me"
    assert "<h1>Keep me</h1>" in response.content.decode()


# ---------------------------------------------------------------- validate (htmx)


def test_validate_answers_every_fields_errors_out_of_band(member_client):
    response = member_client.post(
        "/assistants/new/validate/",
        form_data(name="", voice_settings_speed_set="on", voice_settings_speed="3"),
        headers={"HX-Request": "true"},
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "This field is required." in errors_of(response, "name")
    assert "speed must be between 0.7 and 1.2." in errors_of(response, "voice_settings")
    assert 'id="errors-model_name" hx-swap-oob="true" aria-live="polite"></ul>' in html
    assert html.count('hx-swap-oob="true"') == len(ASSISTANT_WRITABLE_FIELDS) + 1  # and __all__


def test_validate_of_a_valid_form_clears_every_error_and_saves_nothing(member_client, org):
    assistant = AssistantFactory(organization=org, name="Stays")

    response = member_client.post(
        f"/assistants/{assistant.pk}/validate/", form_data(name="Changed")
    )

    assert response.status_code == 200
    assert "<li>" not in response.content.decode()
    assistant.refresh_from_db()
    assert assistant.name == "Stays"


# ---------------------------------------------------------------- voice preview


def samples_of(wav_bytes: bytes) -> tuple[int, array]:
    with wave.open(io.BytesIO(wav_bytes)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth()) == (1, 2)
        return wav.getframerate(), array("h", wav.readframes(wav.getnframes()))


def test_preview_plays_the_chosen_voice_as_a_wav(member_client, sims):
    data = form_data(
        voice_output_format="pcm_16000",
        voice_settings_speed_set="on",
        voice_settings_speed="0.9",
        first_message="Welcome to Acme.",
    )

    response = member_client.post("/assistants/new/preview/", data)

    assert response.status_code == 200
    assert response["Content-Type"] == "audio/wav"
    rate, samples = samples_of(response.content)
    assert rate == 16000 and len(samples) > rate // 4
    assert max(abs(sample) for sample in samples) > 1000  # speech, not silence
    call = sims.requests(path=f"/v1/text-to-speech/{RACHEL}/stream")[-1]
    assert call["query"]["output_format"] == "pcm_16000"
    assert call["body"]["text"] == "Welcome to Acme."
    assert call["body"]["model_id"] == "eleven_flash_v2_5"
    assert call["body"]["voice_settings"]["speed"] == 0.9


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"voice_settings_speed_set": "on", "voice_settings_speed": "3"},
            "speed must be between 0.7 and 1.2.",
        ),
        ({"voice_id": ""}, "Choose a voice to hear it."),
        ({"voice_provider": "none"}, "no voice"),
    ],
)
def test_preview_with_bad_voice_settings_is_a_400_that_says_why(
    member_client, sims, changes, message
):
    response = member_client.post("/assistants/new/preview/", form_data(**changes))

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not sims.requests(path="/v1/text-to-speech")


@pytest.fixture
def org_simulators():
    """A second ElevenLabs the organization's own credentials point at."""
    handle = start_simulators(**FAST)
    yield handle
    handle.stop()


def test_preview_speaks_with_the_members_own_organizations_credentials(
    settings, org, member_client, outsider_client, sims, org_simulators
):
    settings.PROVIDER_BASE_URLS_ALLOW_PRIVATE = True  # the second simulator is on 127.0.0.1
    ProviderCredential.objects.create(
        organization=org,
        provider="elevenlabs",
        api_key="xi-acme-own",
        base_url=org_simulators.elevenlabs_base_url,
    )
    assistant = AssistantFactory(organization=org)

    ours = member_client.post(f"/assistants/{assistant.pk}/preview/", form_data())
    spoken_for_org = len(org_simulators.requests(path="/v1/text-to-speech"))
    theirs = outsider_client.post("/assistants/new/preview/", form_data())

    assert ours.status_code == theirs.status_code == 200
    assert spoken_for_org == 1  # Acme's own ElevenLabs account
    assert len(org_simulators.requests(path="/v1/text-to-speech")) == 1  # not again for Globex
    assert len(sims.requests(path="/v1/text-to-speech")) == 1  # Globex: the platform's


def test_preview_says_when_elevenlabs_fails(member_client, sims):
    sims.script_tts({"fault": "401"})

    response = member_client.post("/assistants/new/preview/", form_data())

    assert response.status_code == 502
    assert "ElevenLabs could not speak" in response.content.decode()


# ---------------------------------------------------------------- archive


def test_archive_needs_an_admin(member_client, admin_client_, org):
    assistant = AssistantFactory(organization=org)
    SessionFactory(assistant=assistant)

    refused = member_client.post(f"/assistants/{assistant.pk}/archive/")
    assistant.refresh_from_db()
    assert refused.status_code == 403 and assistant.archived_at is None

    archived = admin_client_.post(f"/assistants/{assistant.pk}/archive/")
    assistant.refresh_from_db()
    assert archived.status_code == 302 and archived["Location"] == "/assistants/"
    assert assistant.archived_at is not None
    assert admin_client_.get(f"/assistants/{assistant.pk}/").status_code == 404


def test_archive_button_is_shown_to_admins_only(member_client, owner_client, org):
    assistant = AssistantFactory(organization=org)
    archive = f'action="/assistants/{assistant.pk}/archive/"'

    assert archive not in member_client.get(f"/assistants/{assistant.pk}/").content.decode()
    assert archive in owner_client.get(f"/assistants/{assistant.pk}/").content.decode()


def test_archive_is_post_only(admin_client_, org):
    assistant = AssistantFactory(organization=org)

    assert admin_client_.get(f"/assistants/{assistant.pk}/archive/").status_code == 405


# ---------------------------------------------------------------- tenancy


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("get", ""),
        ("post", ""),
        ("post", "validate/"),
        ("post", "preview/"),
        ("post", "archive/"),
    ],
)
def test_another_organizations_assistant_is_a_404(outsider_client, org, sims, method, suffix):
    assistant = AssistantFactory(organization=org, name="Acme secret")

    response = getattr(outsider_client, method)(f"/assistants/{assistant.pk}/{suffix}", form_data())

    assert response.status_code == 404
    assistant.refresh_from_db()
    assert assistant.name == "Acme secret" and assistant.archived_at is None
    assert not sims.requests(path="/v1/text-to-speech")


def test_pages_need_a_login(client, org):
    assistant = AssistantFactory(organization=org)

    for url in ("/assistants/", NEW, f"/assistants/{assistant.pk}/"):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_tools_on_the_customers_server_are_shown_and_kept_by_a_save(member_client, org, settings):
    """Custom tools are defined through the API; the builder lists them and leaves them be."""
    settings.CUSTOM_TOOLS_ALLOW_PRIVATE_URLS = True  # the URL below is never called here
    lookup = {
        "name": "lookup_order",
        "description": "Find an order by its number.",
        "parameters": {"type": "object", "properties": {"number": {"type": "string"}}},
        "server_url": "http://127.0.0.1:9/tools",
        "timeout_seconds": 5,
    }
    assistant = AssistantFactory(organization=org, custom_tools=[lookup])

    html = member_client.get(f"/assistants/{assistant.pk}/").content.decode()
    assert "<code>lookup_order</code>" in html and "http://127.0.0.1:9/tools" in html

    response = member_client.post(f"/assistants/{assistant.pk}/", form_data(name="Renamed"))
    assert response.status_code == 302
    assistant.refresh_from_db()
    assert (assistant.name, assistant.custom_tools) == ("Renamed", [lookup])
