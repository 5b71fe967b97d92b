"""The Notion OAuth round trip through Django's test client, against the Notion simulator."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing
from django.db import connection as db
from django.urls import reverse

from assistants.models import Membership
from integrations.models import NotionConnection
from integrations.notion.oauth import STATE_MAX_AGE_SECONDS, STATE_SALT, sign_state
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db

CLIENT_ID = "voice-platform-public"
CLIENT_SECRET = "secret_public_integration"
REDIRECT_URI = "https://voice.example/integrations/notion/callback/"
CONNECT = reverse("integrations:notion-connect")
CALLBACK = reverse("integrations:notion-callback")


@pytest.fixture
def oauth(settings, notion_sim):
    settings.NOTION_CLIENT_ID = CLIENT_ID
    settings.NOTION_CLIENT_SECRET = CLIENT_SECRET
    settings.NOTION_REDIRECT_URI = REDIRECT_URI
    settings.NOTION_API_BASE_URL = notion_sim.base_url
    notion_sim.add_oauth_client(CLIENT_ID, CLIENT_SECRET, [REDIRECT_URI])
    return notion_sim


@pytest.fixture
def people(org, other_org):
    """An owner, an admin and a member of ``org``; an outsider who owns ``other_org``."""
    found = {}
    for name, organization, role in [
        ("owner", org, Membership.Role.OWNER),
        ("admin", org, Membership.Role.ADMIN),
        ("member", org, Membership.Role.MEMBER),
        ("outsider", other_org, Membership.Role.OWNER),
    ]:
        found[name] = UserFactory(username=name)
        MembershipFactory(user=found[name], organization=organization, role=role)
    return found


def login(client, user):
    client.force_login(user)
    return client


def start(client, **query) -> str:
    """Follow Connect Notion up to Notion's consent screen; returns the state it carries."""
    response = client.get(CONNECT, query)
    assert response.status_code == 302, response.content
    return parse_qs(urlsplit(response["Location"]).query)["state"][0]


def finish(client, oauth, state, code=None):
    code = code or oauth.issue_oauth_code(CLIENT_ID, REDIRECT_URI)
    return client.get(CALLBACK, {"code": code, "state": state})


def exchanges(oauth) -> int:
    return len(oauth.logged("/v1/oauth/token"))


def test_connect_redirects_to_notions_consent_screen(client, oauth, people, org):
    response = login(client, people["owner"]).get(CONNECT, {"organization": org.slug})
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}" == oauth.base_url
    assert location.path == "/v1/oauth/authorize"
    query = parse_qs(location.query)
    assert {key: value[0] for key, value in query.items() if key != "state"} == {
        "client_id": CLIENT_ID,
        "response_type": "code",
        "owner": "user",
        "redirect_uri": REDIRECT_URI,
    }
    payload = signing.TimestampSigner(salt=STATE_SALT).unsign_object(query["state"][0])
    assert payload["org"] == str(org.pk) and payload["user"] == str(people["owner"].pk)
    assert len(payload["nonce"]) >= 16


def test_happy_path_stores_an_encrypted_token_and_shows_the_connection(client, oauth, people, org):
    state = start(login(client, people["admin"]))  # one managed organization: no parameter
    response = finish(client, oauth, state)
    connection = NotionConnection.objects.for_org(org).get()
    assert response.status_code == 302
    assert response["Location"] == reverse("integrations:notion-connection", args=[connection.pk])
    assert connection.kind == NotionConnection.Kind.OAUTH
    assert connection.status == NotionConnection.Status.ACTIVE
    assert connection.workspace_id == oauth.default_workspace_id
    assert connection.workspace_name == connection.name == "Simulated Workspace"
    assert connection.bot_id and connection.connected_by == people["admin"]
    token = str(connection.token)
    assert oauth.tokens[token] == oauth.default_workspace_id  # the token Notion issued
    with db.cursor() as cursor:
        cursor.execute("SELECT token FROM integrations_notionconnection")
        (stored,) = cursor.fetchone()
    assert token not in stored and stored != token

    page = client.get(response["Location"])
    assert page.status_code == 200
    assert b"Simulated Workspace" in page.content and str(connection.pk).encode() in page.content
    assert token.encode() not in page.content


def test_reconnecting_a_workspace_repairs_its_connection(client, oauth, people, org):
    login(client, people["owner"])
    finish(client, oauth, start(client))
    NotionConnection.objects.for_org(org).update(status="broken")
    finish(client, oauth, start(client))
    connection = NotionConnection.objects.for_org(org).get()
    assert connection.status == "active" and connection.broken_at is None
    assert exchanges(oauth) == 2


def test_tampered_state_is_refused(client, oauth, people):
    state = start(login(client, people["owner"]))
    payload, _, rest = state.partition(":")
    forged = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + ":" + rest
    for bad in (forged, state + "x", "", "not-a-state"):
        response = finish(client, oauth, bad)
        assert response.status_code == 400
        assert b"isn&#x27;t valid" in response.content
    assert not NotionConnection.objects.unscoped().exists() and exchanges(oauth) == 0


def test_expired_state_is_refused(client, oauth, people, org):
    class SignedLongAgo(signing.TimestampSigner):
        def timestamp(self) -> str:
            return signing.b62_encode(int(time.time()) - STATE_MAX_AGE_SECONDS - 5)

    payload = {"org": str(org.pk), "user": str(people["owner"].pk), "nonce": "n" * 22}
    state = SignedLongAgo(salt=STATE_SALT).sign_object(payload)
    response = finish(login(client, people["owner"]), oauth, state)
    assert response.status_code == 400 and b"expired" in response.content
    assert not NotionConnection.objects.unscoped().exists() and exchanges(oauth) == 0


def test_replayed_state_is_refused(client, oauth, people, org):
    state = start(login(client, people["owner"]))
    assert finish(client, oauth, state).status_code == 302
    NotionConnection.objects.for_org(org).delete()
    replay = finish(client, oauth, state)
    assert replay.status_code == 400 and b"already used" in replay.content
    assert not NotionConnection.objects.unscoped().exists() and exchanges(oauth) == 1


def test_state_of_another_user_is_refused_and_stays_usable_by_its_owner(client, oauth, people, org):
    state = start(login(client, people["admin"]))
    response = finish(login(client, people["owner"]), oauth, state)
    assert response.status_code == 400 and b"another account" in response.content
    assert not NotionConnection.objects.unscoped().exists() and exchanges(oauth) == 0
    assert finish(login(client, people["admin"]), oauth, state).status_code == 302


def test_member_who_is_not_an_admin_is_refused(client, oauth, people, org):
    login(client, people["member"])
    assert client.get(CONNECT, {"organization": org.slug}).status_code == 403
    assert client.get(CONNECT).status_code == 403
    forged = sign_state(organization=org, user=people["member"])  # as if they had been admin
    response = finish(client, oauth, forged)
    assert response.status_code == 403 and b"Only owners and admins" in response.content
    assert not NotionConnection.objects.unscoped().exists() and exchanges(oauth) == 0


def test_admin_demoted_during_the_round_trip_is_refused(client, oauth, people, org):
    state = start(login(client, people["admin"]))
    admin = Membership.objects.for_org(org).filter(user=people["admin"])
    admin.update(role=Membership.Role.MEMBER)
    assert finish(client, oauth, state).status_code == 403
    assert not NotionConnection.objects.unscoped().exists()


def test_outsider_is_refused(client, oauth, people, org):
    login(client, people["outsider"])
    response = client.get(CONNECT, {"organization": org.slug})
    assert response.status_code == 404
    assert client.get(CONNECT, {"organization": "no-such-org"}).status_code == 404
    forged = sign_state(organization=org, user=people["outsider"])
    assert finish(client, oauth, forged).status_code == 403
    assert not NotionConnection.objects.for_org(org).exists() and exchanges(oauth) == 0


def test_outsider_cannot_see_the_connection_page(client, oauth, people, org):
    finish(login(client, people["owner"]), oauth, start(client))
    connection = NotionConnection.objects.for_org(org).get()
    page = reverse("integrations:notion-connection", args=[connection.pk])
    assert login(client, people["member"]).get(page).status_code == 200
    assert login(client, people["outsider"]).get(page).status_code == 404


def test_access_denied_on_notion_stores_nothing(client, oauth, people):
    state = start(login(client, people["owner"]))
    response = client.get(CALLBACK, {"error": "access_denied", "state": state})
    assert response.status_code == 200
    assert b"declined" in response.content
    assert not NotionConnection.objects.unscoped().exists() and exchanges(oauth) == 0


def test_code_notion_does_not_accept_stores_nothing(client, oauth, people):
    state = start(login(client, people["owner"]))
    response = finish(client, oauth, state, code="sim_code_made_up")
    assert response.status_code == 400 and b"didn&#x27;t accept" in response.content
    assert not NotionConnection.objects.unscoped().exists()
    assert client.get(CALLBACK, {"state": start(client)}).status_code == 400  # no code


def test_several_organizations_must_be_chosen(client, oauth, people, org):
    second = OrganizationFactory(name="Second", slug="second")
    MembershipFactory(user=people["owner"], organization=second, role=Membership.Role.ADMIN)
    response = login(client, people["owner"]).get(CONNECT)
    assert response.status_code == 400
    assert f"?organization={org.slug}".encode() in response.content
    assert b"?organization=second" in response.content
    state = start(client, organization="second")
    finish(client, oauth, state)
    assert NotionConnection.objects.for_org(second).exists()
    assert not NotionConnection.objects.for_org(org).exists()


def test_not_configured_is_a_clear_503(client, settings, people):
    settings.NOTION_CLIENT_ID = ""
    login(client, people["owner"])
    for url in (CONNECT, CALLBACK + "?code=x&state=y"):
        response = client.get(url)
        assert response.status_code == 503
        assert b"isn&#x27;t configured" in response.content


def test_signed_out_users_go_to_the_login_page(client, oauth):
    response = client.get(CONNECT)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
