"""An organization's provider base URL cannot make the server call its own network (SSRF).

Only platform operators (superusers) may set one in the admin; one that points at a loopback,
private, link-local or otherwise non-public address is refused (when saved, and again when a
session would use it) unless the operator allows it with PROVIDER_BASE_URLS_ALLOW_PRIVATE. The
platform's own settings (OPENAI_BASE_URL, ...: the simulators, the tests) are not affected.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from assistants.models import Membership
from assistants.services import staff_grant_permissions
from integrations.credentials import credentials_for
from integrations.models import ProviderCredential
from integrations.providers import clear_client_cache
from tests.factories import AssistantFactory, MembershipFactory, SessionFactory, UserFactory

ORG_KEY = "sk-org-own-key"


@pytest.fixture
def platform_on_simulators(settings, sims):
    settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL = "sk-platform", sims.openai_base_url
    clear_client_cache()
    yield sims
    clear_client_cache()


def own_credential(org, base_url: str) -> ProviderCredential:
    return ProviderCredential.objects.create(
        organization=org, provider="openai", api_key=ORG_KEY, base_url=base_url
    )


def text_turn(org, raw_key: str):
    assistant = AssistantFactory(organization=org, first_message="", voice_provider="none")
    session = SessionFactory(assistant=assistant)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client.post(f"/api/v1/sessions/{session.id}/messages/", {"content": "Hi"}, format="json")


@pytest.mark.django_db(transaction=True)
def test_a_session_never_calls_an_organizations_loopback_base_url(
    platform_on_simulators, org, private_key
):
    own_credential(org, platform_on_simulators.openai_base_url)  # 127.0.0.1
    response = text_turn(org, private_key[1])
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "provider_unavailable"
    assert platform_on_simulators.requests(provider="openai") == []


@pytest.mark.django_db(transaction=True)
def test_the_operator_may_allow_private_base_urls(
    platform_on_simulators, settings, org, private_key
):
    settings.PROVIDER_BASE_URLS_ALLOW_PRIVATE = True
    platform_on_simulators.script_chat({"text": "From your own server."})
    own_credential(org, platform_on_simulators.openai_base_url)
    response = text_turn(org, private_key[1])
    assert response.status_code == 201, response.content
    assert response.json()["messages"][-1]["content"] == "From your own server."


@pytest.mark.django_db
@pytest.mark.parametrize(
    "base_url",
    [
        "http://127.0.0.1:9/v1",
        "http://localhost:11434/v1",
        "http://10.0.0.7/v1",
        "http://192.168.1.20:8000/v1",
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://100.64.0.1/v1",  # shared address space
        "http://[::1]:8000/v1",
        "http://[::ffff:127.0.0.1]/v1",
        "http://[fe80::1]/v1",
        "http://0.0.0.0:8000/v1",
        "http://no-such-host.invalid/v1",  # unresolvable: cannot be checked, so refused
    ],
)
def test_non_public_base_urls_are_not_used(settings, org, base_url):
    settings.OPENAI_API_KEY = settings.OPENAI_BASE_URL = ""
    own_credential(org, base_url)
    assert credentials_for(org.id, "openai") is None


@pytest.mark.django_db
def test_a_public_base_url_is_used(org):
    own_credential(org, "https://93.184.215.14/v1")
    creds = credentials_for(org.id, "openai")
    assert (creds.api_key, creds.base_url) == (ORG_KEY, "https://93.184.215.14/v1")


@pytest.fixture
def owner(org):
    user = UserFactory(username="owner")
    staff_grant_permissions(user=user)
    MembershipFactory(user=user, organization=org, role=Membership.Role.OWNER)
    return user


def add_form(org, **fields) -> dict:
    return {"organization": org.pk, "provider": "openai", "new_secret": ORG_KEY, **fields}


ADD = "admin:integrations_providercredential_add"


@pytest.mark.django_db
def test_organization_staff_cannot_set_a_base_url(client, org, owner):
    client.force_login(owner)
    page = client.get(reverse(ADD)).content.decode()
    assert 'name="base_url"' not in page
    client.post(reverse(ADD), add_form(org, base_url="http://127.0.0.1:8000/v1"))
    credential = ProviderCredential.objects.for_org(org).get()
    assert (credential.api_key, credential.base_url) == (ORG_KEY, "")


@pytest.mark.django_db
def test_a_superuser_is_told_why_a_private_base_url_is_refused(admin_client, settings, org):
    response = admin_client.post(reverse(ADD), add_form(org, base_url="http://10.1.2.3/v1"))
    assert response.status_code == 200  # the form again
    errors = response.context["adminform"].form.errors["base_url"]
    assert "not a public address" in errors[0] and "PROVIDER_BASE_URLS_ALLOW_PRIVATE" in errors[0]
    assert not ProviderCredential.objects.for_org(org).exists()

    settings.PROVIDER_BASE_URLS_ALLOW_PRIVATE = True
    admin_client.post(reverse(ADD), add_form(org, base_url="http://10.1.2.3/v1"))
    assert ProviderCredential.objects.for_org(org).get().base_url == "http://10.1.2.3/v1"
