"""/integrations/ (owners and admins): Notion connected with a token checked at the wire against
the Notion simulator, disconnected after asking; the organization's provider keys set, replaced
and removed, and never shown back; another organization's objects are 404s."""

from __future__ import annotations

import pytest
from django.db import connection as db

from integrations.credentials import credentials_for
from integrations.models import NotionConnection, ProviderCredential
from simulators.notion_state import Fault
from tests.factories import MembershipFactory, UserFactory
from tests.frontend.conftest import client_for

pytestmark = pytest.mark.django_db

PAGE = "/integrations/"
TOKEN = "/integrations/notion/token/"
STORED_NOTION = "ntn_stored_secret_token_0001"
OPENAI_KEY = "sk-proj-0123456789abcdefghijklmnopqrstuvwxyzWXYZ"


def disconnect_url(connection: NotionConnection) -> str:
    return f"/integrations/notion/connections/{connection.pk}/disconnect/"


def connect(org, token: str = STORED_NOTION) -> NotionConnection:
    return NotionConnection.objects.create(
        organization=org, name="Team wiki", token=token, workspace_name="Acme HQ"
    )


def credential_of(org, provider: str = "openai") -> ProviderCredential | None:
    return ProviderCredential.objects.for_org(org).filter(provider=provider).first()


@pytest.fixture
def operator_client(org):
    """A platform operator who is also an owner of ``org``: only they set base URLs."""
    operator = UserFactory(is_staff=True, is_superuser=True)
    return client_for(MembershipFactory(organization=org, user=operator, role="owner"))


def test_members_may_not_open_or_change_integrations(member_client, org):
    connection = connect(org)
    assert member_client.get(PAGE).status_code == 403
    assert member_client.post(TOKEN, {"token": "ntn_x"}).status_code == 403
    assert member_client.post(disconnect_url(connection)).status_code == 403
    assert (
        member_client.post("/integrations/providers/openai/", {"api_key": "k"}).status_code == 403
    )
    assert member_client.post("/integrations/providers/openai/remove/").status_code == 403
    assert NotionConnection.objects.for_org(org).exists() and credential_of(org) is None


# Notion


def test_the_page_lists_connections_with_their_status_and_never_a_token(admin_client_, org):
    connect(org)
    broken = connect(org, token="ntn_broken_secret_token_0002")
    broken.status, broken.name = NotionConnection.Status.BROKEN, "Old wiki"
    broken.save()
    html = admin_client_.get(PAGE).content.decode()
    assert "Team wiki" in html and "Acme HQ" in html and "Old wiki" in html
    assert "Broken" in html and "connect it again" in html
    assert "ntn_stored_secret" not in html and "ntn_broken_secret" not in html


def test_connect_notion_leads_to_the_oauth_flow_when_the_server_has_it(
    settings, admin_client_, org, notion_sim
):
    assert "/integrations/notion/connect/" not in admin_client_.get(PAGE).content.decode()
    settings.NOTION_CLIENT_ID, settings.NOTION_CLIENT_SECRET = "client-id", "client-secret"
    settings.NOTION_REDIRECT_URI = "http://testserver/integrations/notion/callback/"
    html = admin_client_.get(PAGE).content.decode()
    href = f"/integrations/notion/connect/?organization={org.slug}"
    assert f'href="{href}"' in html
    consent = admin_client_.get(href)
    assert consent.status_code == 302
    assert consent["Location"].startswith(f"{notion_sim.base_url}/v1/oauth/authorize?")


def test_a_token_is_checked_with_notion_and_stored(admin_client_, org, notion_sim):
    response = admin_client_.post(
        TOKEN, {"token": notion_sim.default_token, "name": "Wiki"}, follow=True
    )
    assert response.redirect_chain[-1][0] == PAGE
    connection = NotionConnection.objects.for_org(org).get()
    assert connection.name == "Wiki" and connection.kind == "internal"
    assert connection.workspace_id == notion_sim.default_workspace_id
    assert str(connection.token) == notion_sim.default_token
    assert [r.method for r in notion_sim.logged("/v1/users/me")] == ["GET"]
    html = response.content.decode()
    assert "Connected the Notion workspace “Wiki”" in html
    assert notion_sim.default_token not in html


def test_a_token_notion_rejects_is_a_field_error(admin_client_, org, notion_sim):
    response = admin_client_.post(TOKEN, {"token": "ntn_made_up_token_123"})
    assert response.status_code == 200
    assert response.context["token_form"].errors["token"] == ["Notion rejected this token."]
    assert "ntn_made_up_token_123" not in response.content.decode()  # not typed back
    assert not NotionConnection.objects.for_org(org).exists()


def test_notion_unavailable_is_said_and_nothing_is_stored(admin_client_, org, notion_sim):
    notion_sim.inject_fault(Fault(status=429, retry_after=0, path="/v1/users/me", times=5))
    response = admin_client_.post(TOKEN, {"token": notion_sim.default_token})
    assert response.status_code == 200
    assert "Nothing was connected" in " ".join(response.context["token_form"].non_field_errors())
    assert not NotionConnection.objects.for_org(org).exists()


def test_an_empty_token_is_a_field_error(admin_client_, notion_sim):
    response = admin_client_.post(TOKEN, {"token": "  "})
    assert response.context["token_form"].errors["token"] == ["This field is required."]
    assert notion_sim.logged("/v1/users/me") == []


def test_disconnecting_asks_first_then_forgets_the_token(admin_client_, org):
    connection = connect(org)
    confirm = admin_client_.get(disconnect_url(connection))
    assert confirm.status_code == 200 and "Team wiki" in confirm.content.decode()
    assert NotionConnection.objects.for_org(org).exists()
    response = admin_client_.post(disconnect_url(connection), follow=True)
    assert response.redirect_chain[-1][0] == PAGE
    assert "Disconnected" in response.content.decode()
    assert not NotionConnection.objects.for_org(org).exists()


def test_another_organizations_notion_connection_is_a_404(outsider_client, org):
    connection = connect(org)
    assert outsider_client.get(disconnect_url(connection)).status_code == 404
    assert outsider_client.post(disconnect_url(connection)).status_code == 404
    assert NotionConnection.objects.for_org(org).exists()
    assert "Team wiki" not in outsider_client.get(PAGE).content.decode()


# Provider keys


def test_a_provider_key_is_set_used_and_never_shown_back(admin_client_, org):
    response = admin_client_.post(
        "/integrations/providers/openai/", {"openai-api_key": OPENAI_KEY}, follow=True
    )
    assert response.redirect_chain[-1][0] == PAGE
    credential = credential_of(org)
    assert str(credential.api_key) == OPENAI_KEY and credential.base_url == ""
    assert credentials_for(org.pk, "openai").api_key == OPENAI_KEY
    html = response.content.decode()
    assert "ends in …WXYZ" in html
    assert OPENAI_KEY not in html and OPENAI_KEY[:-4] not in html
    with db.cursor() as cursor:
        cursor.execute("SELECT api_key FROM integrations_providercredential")
        assert OPENAI_KEY not in cursor.fetchone()[0]


def test_a_short_key_shows_only_that_it_is_set(admin_client_, org):
    admin_client_.post("/integrations/providers/elevenlabs/", {"elevenlabs-api_key": "tinyQ9X7"})
    html = admin_client_.get(PAGE).content.decode()
    assert str(credential_of(org, "elevenlabs").api_key) == "tinyQ9X7"
    assert "Q9X7" not in html and "ends in" not in html  # four of eight would say too much


def test_replacing_and_removing_a_provider_key(admin_client_, org):
    admin_client_.post("/integrations/providers/openai/", {"openai-api_key": OPENAI_KEY})
    blank = admin_client_.post("/integrations/providers/openai/", {"openai-api_key": ""})
    assert blank.context["providers"][0].form.errors["api_key"] == ["This field is required."]
    admin_client_.post("/integrations/providers/openai/", {"openai-api_key": "sk-new-key"})
    assert str(credential_of(org).api_key) == "sk-new-key"

    confirm = admin_client_.get("/integrations/providers/openai/remove/")
    assert confirm.status_code == 200 and credential_of(org) is not None
    admin_client_.post("/integrations/providers/openai/remove/")
    assert credential_of(org) is None
    assert admin_client_.post("/integrations/providers/openai/remove/").status_code == 404


def test_only_platform_operators_set_a_base_url(admin_client_, org):
    assert 'name="openai-base_url"' not in admin_client_.get(PAGE).content.decode()
    admin_client_.post(
        "/integrations/providers/openai/",
        {"openai-api_key": OPENAI_KEY, "openai-base_url": "https://93.184.216.34/v1"},
    )
    assert credential_of(org).base_url == ""  # ignored: the field is not offered


def test_an_operators_base_url_is_checked_and_the_key_is_not_typed_back(operator_client, org):
    assert 'name="openai-base_url"' in operator_client.get(PAGE).content.decode()
    refused = operator_client.post(
        "/integrations/providers/openai/",
        {"openai-api_key": OPENAI_KEY, "openai-base_url": "http://127.0.0.1:11434/v1"},
    )
    assert refused.status_code == 200
    errors = refused.context["providers"][0].form.errors["base_url"]
    assert "not a public address" in " ".join(errors)
    assert OPENAI_KEY not in refused.content.decode() and credential_of(org) is None

    operator_client.post(
        "/integrations/providers/openai/",
        {"openai-api_key": OPENAI_KEY, "openai-base_url": "https://93.184.216.34/v1"},
    )
    assert credential_of(org).base_url == "https://93.184.216.34/v1"
    operator_client.post("/integrations/providers/openai/", {"openai-base_url": ""})
    kept = credential_of(org)
    assert kept.base_url == "" and str(kept.api_key) == OPENAI_KEY  # blank key: kept


def test_an_unknown_provider_is_a_404(admin_client_):
    assert (
        admin_client_.post("/integrations/providers/acme/", {"acme-api_key": "k"}).status_code
        == 404
    )
    assert admin_client_.get("/integrations/providers/acme/remove/").status_code == 404


def test_another_organizations_provider_key_cannot_be_reached(outsider_client, org, outsider):
    ProviderCredential.objects.create(organization=org, provider="openai", api_key=OPENAI_KEY)
    assert outsider_client.get("/integrations/providers/openai/remove/").status_code == 404
    assert outsider_client.post("/integrations/providers/openai/remove/").status_code == 404
    outsider_client.post("/integrations/providers/openai/", {"openai-api_key": "sk-theirs"})
    assert str(credential_of(org).api_key) == OPENAI_KEY
    assert str(credential_of(outsider.organization).api_key) == "sk-theirs"
    assert "…WXYZ" not in outsider_client.get(PAGE).content.decode()


def test_no_page_of_the_dashboard_shows_a_stored_secret(owner_client, org):
    ProviderCredential.objects.create(organization=org, provider="openai", api_key=OPENAI_KEY)
    connection = connect(org)
    pages = [
        "/",
        "/members/",
        "/api-keys/",
        "/api-keys/new/",
        PAGE,
        disconnect_url(connection),
        "/integrations/providers/openai/remove/",
    ]
    for url in pages:
        html = owner_client.get(url, follow=True).content.decode()
        assert OPENAI_KEY not in html and "ntn_stored_secret" not in html, url


def test_changing_a_provider_key_forgets_the_model_and_voice_lists_of_the_old_one(
    admin_client_, org
):
    """The builder's pickers list what the organization's key can use: a new key lists again."""
    from django.core.cache import cache

    key = f"dashboard:catalog:{org.pk}:openai"
    cache.set(key, ([("gpt-old", "gpt-old")], None))
    admin_client_.post("/integrations/providers/openai/", {"openai-api_key": OPENAI_KEY})
    assert cache.get(key) is None
    cache.set(key, ([("gpt-old", "gpt-old")], None))
    admin_client_.post("/integrations/providers/openai/remove/")
    assert cache.get(key) is None
