"""Admin tenancy: an owner, a member and an outsider, as in healthchecks' test base."""

import pytest
from django.urls import reverse

from assistants.models import ApiKey, Assistant, Membership
from assistants.services import staff_grant_permissions
from sessions.models import Session
from tests.factories import (
    ApiKeyFactory,
    AssistantFactory,
    MembershipFactory,
    MessageFactory,
    OrganizationFactory,
    SessionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    acme, globex = OrganizationFactory(name="Acme"), OrganizationFactory(name="Globex")
    people = {}
    for name, org, role in [
        ("owner", acme, Membership.Role.OWNER),
        ("member", acme, Membership.Role.MEMBER),
        ("outsider", globex, Membership.Role.OWNER),
    ]:
        user = UserFactory(username=name)
        staff_grant_permissions(user=user)
        MembershipFactory(user=user, organization=org, role=role)
        people[name] = user
    assistant = AssistantFactory(organization=acme, name="Acme helper")
    session = SessionFactory(assistant=assistant)
    MessageFactory(session=session, content="secret plans", sequence=1)
    api_key, _ = ApiKeyFactory.with_secret(organization=acme)
    return {
        "acme": acme,
        "globex": globex,
        "assistant": assistant,
        "session": session,
        "api_key": api_key,
        **people,
    }


def change_url(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def changelist_url(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


@pytest.mark.parametrize("key", ["assistant", "session", "api_key", "acme"])
def test_outsider_gets_404_on_change_pages(client, world, key):
    client.force_login(world["outsider"])
    assert client.get(change_url(world[key])).status_code == 404


@pytest.mark.parametrize("model", [Assistant, Session, ApiKey])
def test_outsider_changelists_show_nothing_of_another_org(client, world, model):
    client.force_login(world["outsider"])
    response = client.get(changelist_url(model))
    assert response.status_code == 200
    assert response.context["cl"].result_count == 0
    assert b"Acme helper" not in response.content


def test_member_sees_own_org_objects_and_transcript(client, world):
    client.force_login(world["member"])
    assert client.get(changelist_url(Assistant)).context["cl"].result_count == 1
    response = client.get(change_url(world["session"]))
    assert response.status_code == 200
    assert b"secret plans" in response.content


def test_member_cannot_manage_api_keys(client, world):
    client.force_login(world["member"])
    assert client.get(change_url(world["api_key"])).status_code == 404
    assert client.get(changelist_url(ApiKey)).context["cl"].result_count == 0


def test_outsider_cannot_save_an_assistant_into_another_org(client, world):
    client.force_login(world["outsider"])
    response = client.post(
        reverse("admin:assistants_assistant_add"), admin_form(world["acme"], name="Trojan")
    )
    assert response.status_code == 200  # the form comes back with an error
    assert "organization" in response.context["adminform"].form.errors
    assert not Assistant.objects.unscoped().filter(name="Trojan").exists()


def test_owner_creates_assistant_in_own_org(client, world):
    client.force_login(world["owner"])
    response = client.post(
        reverse("admin:assistants_assistant_add"), admin_form(world["acme"], name="New one")
    )
    assert response.status_code == 302
    assert Assistant.objects.for_org(world["acme"]).filter(name="New one").exists()


def test_outsider_cannot_move_own_assistant_into_another_org(client, world):
    mine = AssistantFactory(organization=world["globex"], name="Mine")
    client.force_login(world["outsider"])
    client.post(change_url(mine), admin_form(world["acme"], name="Mine"))
    mine.refresh_from_db()
    assert mine.organization == world["globex"]


def test_creating_an_api_key_shows_the_secret_once(client, world):
    client.force_login(world["owner"])
    response = client.post(
        reverse("admin:assistants_apikey_add"),
        {
            "organization": world["acme"].pk,
            "name": "ci",
            "kind": "private",
            "allowed_origins": "[]",
        },
        follow=True,
    )
    created = ApiKey.objects.for_org(world["acme"]).get(name="ci")
    shown = [str(m.message) for m in response.context["messages"]]
    assert any(created.prefix in m for m in shown)
    again = client.get(change_url(created))
    assert created.prefix.encode() in again.content
    assert b"not be shown again" not in again.content
    assert created.key_hash.encode() not in again.content


def test_superuser_sees_everything(admin_client, world):
    assert admin_client.get(changelist_url(Assistant)).context["cl"].result_count == 1
    AssistantFactory(organization=world["globex"])
    assert admin_client.get(changelist_url(Assistant)).context["cl"].result_count == 2


def test_non_superuser_cannot_raise_own_limits(client, world):
    client.force_login(world["owner"])
    client.post(
        change_url(world["acme"]),
        {
            "name": "Acme",
            "max_concurrent_sessions": 9999,
            "api_rate_limit_per_minute": 9999,
            **empty_inlines(),
        },
    )
    world["acme"].refresh_from_db()
    assert world["acme"].max_concurrent_sessions == 10


def empty_inlines() -> dict:
    return {
        f"{prefix}-{field}": 0
        for prefix in ("memberships", "api_keys")
        for field in ("TOTAL_FORMS", "INITIAL_FORMS")
    }


def admin_form(organization, **overrides) -> dict:
    form = {
        "organization": organization.pk,
        "name": "Assistant",
        "first_message": "",
        "system_prompt": "Be brief.",
        "model_provider": "openai",
        "model_name": "gpt-4o-mini",
        "temperature": 0.7,
        "max_tokens": 256,
        "voice_provider": "elevenlabs",
        "voice_id": "v1",
        "voice_model": "eleven_flash_v2_5",
        "voice_output_format": "pcm_24000",
        "voice_settings": "{}",
        "transcriber_provider": "openai",
        "transcriber_model": "gpt-4o-mini-transcribe",
        "transcriber_mode": "batch",
        "language": "en",
        "interruptions_enabled": "on",
        "end_of_turn_silence_ms": 500,
        "min_speech_ms": 100,
        "barge_in_min_speech_ms": 200,
        "preemptive_replies": "on",
        "silence_timeout_seconds": 30,
        "max_duration_seconds": 600,
        "end_call_phrases": "[]",
        "tools": "[]",
        "metadata": "{}",
    }
    return {**form, **overrides}


def test_turn_taking_settings_have_their_own_fieldset(client, world):
    client.force_login(world["owner"])
    response = client.get(change_url(world["assistant"]))

    fieldsets = {fs.name: list(fs.fields) for fs in response.context["adminform"]}
    assert fieldsets["Turn taking"] == [
        "end_of_turn_silence_ms",
        "min_speech_ms",
        "interruptions_enabled",
        "barge_in_min_speech_ms",
        "preemptive_replies",
    ]
    assert "transcriber_mode" in fieldsets["Transcriber"]
    assert "How long the caller must be silent" in response.content.decode()  # the help text


def test_owner_saves_streaming_turn_taking_settings(client, world):
    client.force_login(world["owner"])
    form = admin_form(
        world["acme"],
        name="Acme helper",
        transcriber_provider="elevenlabs",
        transcriber_mode="streaming",
        transcriber_model="scribe_v2_realtime",
        end_of_turn_silence_ms=350,
        min_speech_ms=80,
        barge_in_min_speech_ms=300,
        preemptive_replies="",
    )
    response = client.post(change_url(world["assistant"]), form)

    assert response.status_code == 302
    saved = Assistant.objects.for_org(world["acme"]).get(pk=world["assistant"].pk)
    assert (saved.transcriber_mode, saved.transcriber_model) == ("streaming", "scribe_v2_realtime")
    assert (saved.end_of_turn_silence_ms, saved.min_speech_ms) == (350, 80)
    assert saved.barge_in_min_speech_ms == 300
    assert saved.preemptive_replies is False


def test_admin_refuses_streaming_with_the_openai_transcriber(client, world):
    client.force_login(world["owner"])
    form = admin_form(world["acme"], name="Acme helper", transcriber_mode="streaming")
    response = client.post(change_url(world["assistant"]), form)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["transcriber_mode"] == [
        "Streaming transcription needs the ElevenLabs transcriber (Scribe v2 Realtime)."
    ]
    world["assistant"].refresh_from_db()
    assert world["assistant"].transcriber_mode == "batch"


def test_admin_refuses_turn_taking_values_out_of_range(client, world):
    client.force_login(world["owner"])
    form = admin_form(world["acme"], end_of_turn_silence_ms=100, barge_in_min_speech_ms=5000)
    response = client.post(reverse("admin:assistants_assistant_add"), form)

    errors = response.context["adminform"].form.errors
    assert "end_of_turn_silence_ms" in errors and "barge_in_min_speech_ms" in errors
