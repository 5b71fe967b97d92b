import pytest

from integrations.credentials import credentials_for
from integrations.models import ProviderCredential

pytestmark = pytest.mark.django_db


def test_organization_key_wins_over_platform_key(settings, org, other_org):
    settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL = "sk-platform", ""
    settings.PROVIDER_BASE_URLS_ALLOW_PRIVATE = True  # llm.internal: an operator's own server
    ProviderCredential.objects.create(
        organization=org, provider="openai", api_key="sk-own", base_url="http://llm.internal/v1"
    )
    own = credentials_for(org.id, "openai")
    assert (own.api_key, own.base_url) == ("sk-own", "http://llm.internal/v1")
    assert credentials_for(other_org.id, "openai").api_key == "sk-platform"
    assert "sk-own" not in repr(own)


def test_no_credentials_anywhere_is_none(settings, org):
    settings.ELEVENLABS_API_KEY = settings.ELEVENLABS_BASE_URL = ""
    assert credentials_for(org.id, "elevenlabs") is None
