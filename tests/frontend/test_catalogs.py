"""The builder's model and voice pickers: the providers' lists through the official SDKs, at
the wire against the simulators, cached per organization and provider; a provider that cannot
answer leaves a text input with the current value and a note, never an error page."""

from __future__ import annotations

import pytest

from frontend.providers import (
    Catalog,
    cached_voice_names,
    forget_catalogs,
    is_chat_model,
    model_catalog,
    voice_catalog,
)
from integrations.models import ProviderCredential
from simulators.server import start_simulators
from tests.factories import AssistantFactory
from tests.fixtures.servers import free_port
from tests.fixtures.simulators import FAST
from tests.frontend.test_assistants import form_data

RACHEL = "21m00Tcm4TlvDq8ikWAM"


@pytest.fixture(autouse=True)
def platform_on_simulators(settings, sims):
    settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL = "sk-platform", sims.openai_base_url
    settings.ELEVENLABS_API_KEY = "xi-platform"
    settings.ELEVENLABS_BASE_URL = sims.elevenlabs_base_url
    return sims


@pytest.fixture
def providers_down(settings):
    """Both providers' addresses lead nowhere: a connection is refused."""
    nowhere = f"http://127.0.0.1:{free_port()}"
    settings.OPENAI_BASE_URL, settings.ELEVENLABS_BASE_URL = f"{nowhere}/v1", nowhere


def test_models_are_the_accounts_chat_models(org, sims):
    catalog = model_catalog(org)

    ids = [model_id for model_id, _ in catalog.choices]
    assert catalog.available
    assert {"gpt-4o-mini", "gpt-4o", "gpt-4.1-mini"} <= set(ids)
    assert not {"whisper-1", "tts-1", "text-embedding-3-small", "gpt-4o-transcribe"} & set(ids)
    assert ids == sorted(ids)
    assert sims.requests(path="/v1/models")[0]["method"] == "GET"


def test_voices_are_named_with_their_labels(org, sims):
    catalog = voice_catalog(org)

    choices = dict(catalog.choices)
    assert choices[RACHEL] == "Rachel (female, american, premade)"
    assert list(choices.values()) == sorted(choices.values(), key=str.lower)
    assert sims.requests(path="/v2/voices")[0]["query"]["page_size"] == "100"


@pytest.mark.parametrize("name", ["llama3.1:8b", "qwen2.5", "gpt-4o-mini", "o4-mini"])
def test_models_of_openai_compatible_servers_are_offered(name):
    assert is_chat_model(name)


def test_lists_are_cached_per_organization_and_provider(org, other_org, sims):
    model_catalog(org)
    model_catalog(org)
    voice_catalog(org)
    voice_catalog(org)
    assert len(sims.requests(path="/v1/models")) == 1
    assert len(sims.requests(path="/v2/voices")) == 1

    model_catalog(other_org)
    assert len(sims.requests(path="/v1/models")) == 2

    forget_catalogs(org)
    model_catalog(org)
    assert len(sims.requests(path="/v1/models")) == 3


@pytest.fixture
def org_simulators():
    handle = start_simulators(**FAST)
    yield handle
    handle.stop()


def test_an_organizations_own_credentials_are_used(settings, org, other_org, sims, org_simulators):
    settings.PROVIDER_BASE_URLS_ALLOW_PRIVATE = True  # the second simulator is on 127.0.0.1
    for provider, url in [
        ("openai", org_simulators.openai_base_url),
        ("elevenlabs", org_simulators.elevenlabs_base_url),
    ]:
        ProviderCredential.objects.create(
            organization=org, provider=provider, api_key="own-key", base_url=url
        )

    model_catalog(org), voice_catalog(org)
    model_catalog(other_org), voice_catalog(other_org)

    assert len(org_simulators.requests(path="/v1/models")) == 1
    assert len(org_simulators.requests(path="/v2/voices")) == 1
    assert len(sims.requests(path="/v1/models")) == 1  # the other organization: the platform's
    assert len(sims.requests(path="/v2/voices")) == 1


def test_without_credentials_the_catalog_says_so(settings, org, sims):
    settings.OPENAI_API_KEY = settings.OPENAI_BASE_URL = ""

    catalog = model_catalog(org)

    assert catalog == Catalog(
        problem="No OpenAI credentials are set up, so the list is unavailable."
    )
    assert not sims.requests(path="/v1/models")


def test_a_provider_that_is_down_gives_a_problem_that_is_cached_briefly(org, providers_down):
    models, voices = model_catalog(org), voice_catalog(org)

    assert not models.available and not voices.available
    assert "OpenAI did not answer with its list (unavailable" in models.problem
    assert "ElevenLabs did not answer with its list (unavailable" in voices.problem
    assert model_catalog(org) == models  # from the cache: a page does not wait again


# ---------------------------------------------------------------- the builder's pickers


def test_builder_offers_the_lists_as_selects(member_client, org):
    assistant = AssistantFactory(organization=org, model_name="gpt-4.1-mini", voice_id=RACHEL)

    html = member_client.get(f"/assistants/{assistant.pk}/").content.decode()

    assert '<select name="model_name"' in html
    assert '<option value="gpt-4.1-mini" selected>gpt-4.1-mini</option>' in html
    assert '<select name="voice_id"' in html
    assert f'<option value="{RACHEL}" selected>Rachel (female, american, premade)</option>' in html


def test_a_current_value_missing_from_the_list_stays_selected(member_client, org):
    assistant = AssistantFactory(organization=org, model_name="my-finetune", voice_id="v-custom")

    html = member_client.get(f"/assistants/{assistant.pk}/").content.decode()

    assert (
        '<option value="my-finetune" selected>my-finetune (not in the provider&#x27;s list)' in html
    )
    assert '<option value="v-custom" selected>v-custom (not in the provider&#x27;s list)' in html


def test_builder_falls_back_to_text_inputs_when_the_providers_are_down(
    member_client, org, providers_down
):
    assistant = AssistantFactory(organization=org, model_name="gpt-4o", voice_id=RACHEL)

    response = member_client.get(f"/assistants/{assistant.pk}/")

    html = response.content.decode()
    assert response.status_code == 200
    assert 'type="text" name="model_name" value="gpt-4o"' in html
    assert f'type="text" name="voice_id" value="{RACHEL}"' in html
    assert "OpenAI did not answer with its list" in html and "Type the model&#x27;s name." in html
    assert "ElevenLabs did not answer with its list" in html


def test_builder_saves_with_the_text_fallback(member_client, org, providers_down):
    response = member_client.post("/assistants/new/", form_data(model_name="gpt-4o"))

    assert response.status_code == 302


def test_the_list_names_voices_already_listed_without_asking(member_client, org, sims):
    AssistantFactory(organization=org, voice_id=RACHEL)
    before = member_client.get("/assistants/").content.decode()
    assert RACHEL in before and not sims.requests(path="/v2/voices")

    voice_catalog(org)

    assert cached_voice_names(org)[RACHEL].startswith("Rachel")
    assert (
        "Rachel (female, american, premade)" in member_client.get("/assistants/").content.decode()
    )
