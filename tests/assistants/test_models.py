import pytest
from django.core.exceptions import ValidationError

from assistants.api.auth import verify_api_key
from assistants.models import ApiKey, Assistant, Organization, hash_api_key, prefix_of
from assistants.services import api_key_create, api_key_revoke, assistant_archive
from sessions.models import Message, Session
from tests.factories import (
    ApiKeyFactory,
    AssistantFactory,
    MessageFactory,
    OrganizationFactory,
    SessionFactory,
)

pytestmark = pytest.mark.django_db


def assistant_errors(**fields) -> dict:
    assistant = Assistant(organization=OrganizationFactory(), name="A", **fields)
    with pytest.raises(ValidationError) as caught:
        assistant.full_clean()
    return caught.value.message_dict


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"model_provider": "anthropic"}, "model_provider"),
        ({"voice_provider": "polly"}, "voice_provider"),
        ({"transcriber_provider": "deepgram"}, "transcriber_provider"),
        ({"temperature": 2.5}, "temperature"),
        ({"temperature": -0.1}, "temperature"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": 100_000}, "max_tokens"),
        ({"system_prompt": "x" * 20_001}, "system_prompt"),
        ({"first_message": "x" * 2_001}, "first_message"),
        ({"metadata": {"blob": "x" * 17_000}}, "metadata"),
        ({"metadata": ["not", "an", "object"]}, "metadata"),
        ({"voice_settings": {"stability": 3}}, "voice_settings"),
        ({"voice_settings": {"loudness": 1}}, "voice_settings"),
        ({"voice_settings": {"use_speaker_boost": "yes"}}, "voice_settings"),
        ({"tools": [{"name": "launch_rockets"}]}, "tools"),
        ({"tools": ["current_time"]}, "tools"),
        ({"tools": [{"name": "current_time"}, {"name": "current_time"}]}, "tools"),
        ({"end_call_phrases": ["bye", 3]}, "end_call_phrases"),
        ({"silence_timeout_seconds": 0}, "silence_timeout_seconds"),
        ({"max_duration_seconds": 5}, "max_duration_seconds"),
        ({"voice_id": ""}, "voice_id"),
        ({"language": "en us!"}, "language"),
    ],
)
def test_assistant_validation_names_the_field(fields, field):
    errors = assistant_errors(**fields)
    assert field in errors
    assert errors[field][0]


def test_valid_assistant_passes_validation():
    assistant = Assistant(
        organization=OrganizationFactory(),
        name="Valid",
        voice_settings={"stability": 0.5, "speed": 1.1, "use_speaker_boost": True},
        tools=[{"name": "current_time", "options": {"timezone": "UTC"}}],
        end_call_phrases=["goodbye"],
    )
    assistant.full_clean()
    assert assistant.enabled_tools == {"current_time": {"timezone": "UTC"}}


def test_text_only_assistant_needs_no_voice():
    Assistant(
        organization=OrganizationFactory(), name="T", voice_provider="none", voice_id=""
    ).full_clean()


def test_querysets_are_scoped_by_organization():
    acme, globex = OrganizationFactory(), OrganizationFactory()
    mine = AssistantFactory(organization=acme)
    AssistantFactory(organization=globex)
    session = SessionFactory(assistant=mine)
    MessageFactory(session=session)
    MessageFactory(session=SessionFactory(assistant=AssistantFactory(organization=globex)))

    assert list(Assistant.objects.for_org(acme)) == [mine]
    assert list(Session.objects.for_org(acme)) == [session]
    assert [m.session_id for m in Message.objects.for_org(acme)] == [session.id]
    assert list(Organization.objects.for_org(acme)) == [acme]
    assert Assistant.objects.for_org(None).count() == 0
    assert Assistant.objects.unscoped().count() == 3  # two above, one behind the foreign session


def test_session_must_belong_to_its_assistants_organization():
    session = Session(organization=OrganizationFactory(), assistant=AssistantFactory())
    with pytest.raises(ValidationError) as caught:
        session.full_clean()
    assert "assistant" in caught.value.message_dict


def test_api_key_secret_is_hashed_and_verified():
    org = OrganizationFactory()
    api_key, raw = ApiKeyFactory.with_secret(organization=org)
    stored = ApiKey.objects.for_org(org).get(pk=api_key.pk)
    assert raw not in (stored.key_hash, stored.prefix)
    assert stored.key_hash == hash_api_key(raw)
    assert raw.startswith(stored.prefix + "_")
    assert prefix_of(raw) == stored.prefix
    assert verify_api_key(raw) == stored


def test_wrong_tampered_and_revoked_keys_fail():
    api_key, raw = ApiKeyFactory.with_secret(organization=OrganizationFactory())
    tampered = raw[:-1] + ("A" if raw[-1] != "A" else "B")
    assert verify_api_key(tampered) is None
    assert verify_api_key(api_key.prefix + "_wrongsecret") is None
    assert verify_api_key("not-a-key") is None
    assert verify_api_key("") is None
    api_key_revoke(api_key=api_key)
    assert verify_api_key(raw) is None


def test_public_keys_have_their_own_prefix():
    _, raw = api_key_create(
        organization=OrganizationFactory(),
        name="web",
        kind=ApiKey.Kind.PUBLIC,
        allowed_origins=["https://example.com"],
    )
    assert raw.startswith("vp_pk_")
    assert verify_api_key(raw).kind == ApiKey.Kind.PUBLIC


def test_archiving_keeps_sessions_and_transcripts():
    assistant = AssistantFactory()
    session = SessionFactory(assistant=assistant)
    MessageFactory(session=session)
    assistant_archive(assistant=assistant)
    assistant.refresh_from_db()
    assert assistant.archived_at is not None
    assert Session.objects.for_org(session.organization).get(pk=session.pk).messages.count() == 1

    unused = AssistantFactory()
    assistant_archive(assistant=unused)
    assert not Assistant.objects.for_org(unused.organization).filter(pk=unused.pk).exists()
