"""Credential admin: secrets are write-only, and scoped to the user's organizations."""

import pytest
from django.db.models import TextField
from django.db.models.functions import Cast
from django.urls import reverse

from assistants.models import Membership
from assistants.services import staff_grant_permissions
from integrations.models import NotionConnection, ProviderCredential
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db

TOKEN = "ntn_never_show_me"


@pytest.fixture
def world():
    acme, globex = OrganizationFactory(name="Acme"), OrganizationFactory(name="Globex")
    people = {}
    for name, org in [("owner", acme), ("outsider", globex)]:
        user = UserFactory(username=name)
        staff_grant_permissions(user=user)
        MembershipFactory(user=user, organization=org, role=Membership.Role.OWNER)
        people[name] = user
    connection = NotionConnection.objects.create(
        organization=acme, name="Acme wiki", token=TOKEN, workspace_name="Acme HQ"
    )
    credential = ProviderCredential.objects.create(
        organization=acme, provider="openai", api_key="sk-never-show"
    )
    return {
        "acme": acme,
        "globex": globex,
        "connection": connection,
        "credential": credential,
        **people,
    }


def url(obj_or_model, view="change"):
    meta = obj_or_model._meta
    args = [obj_or_model.pk] if view == "change" else []
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=args)


def test_owner_sees_list_and_change_page_without_secrets(client, world):
    client.force_login(world["owner"])
    listing = client.get(url(NotionConnection, "changelist")).content.decode()
    assert "Acme wiki" in listing and "Acme HQ" in listing
    page = client.get(url(world["connection"])).content.decode()
    assert 'name="new_secret"' in page
    stored = (
        NotionConnection.objects.for_org(world["acme"])
        .annotate(raw=Cast("token", TextField()))
        .values_list("raw", flat=True)
        .get()
    )
    assert TOKEN not in page and stored not in page
    credential_page = client.get(url(world["credential"])).content.decode()
    assert "sk-never-show" not in credential_page


@pytest.mark.parametrize("key", ["connection", "credential"])
def test_outsider_gets_404(client, world, key):
    client.force_login(world["outsider"])
    assert client.get(url(world[key])).status_code == 404
    listing = client.get(url(type(world[key]), "changelist")).content.decode()
    assert "Acme" not in listing


def form_data(world, **overrides):
    data = {
        "organization": world["acme"].pk,
        "name": "Acme wiki",
        "kind": "internal",
        "new_secret": "",
        "workspace_id": "",
        "workspace_name": "",
        "bot_id": "",
    }
    return {**data, **overrides}


def test_blank_secret_keeps_the_token(client, world):
    client.force_login(world["owner"])
    response = client.post(url(world["connection"]), form_data(world, name="Renamed"))
    assert response.status_code == 302
    connection = NotionConnection.objects.for_org(world["acme"]).get(pk=world["connection"].pk)
    assert (connection.name, connection.token) == ("Renamed", TOKEN)


def test_new_secret_replaces_token_and_repairs_a_broken_connection(client, world):
    acme_connections = NotionConnection.objects.for_org(world["acme"])
    acme_connections.filter(pk=world["connection"].pk).update(status="broken")
    client.force_login(world["owner"])
    client.post(url(world["connection"]), form_data(world, new_secret="ntn_fresh"))
    connection = NotionConnection.objects.for_org(world["acme"]).get(pk=world["connection"].pk)
    assert (connection.token, connection.status, connection.broken_at) == (
        "ntn_fresh",
        "active",
        None,
    )


def test_adding_needs_a_secret_and_records_who_connected(client, world):
    client.force_login(world["owner"])
    refused = client.post(url(NotionConnection, "add"), form_data(world, name="Second"))
    assert refused.status_code == 200 and "needs its secret" in refused.content.decode()
    client.post(
        url(NotionConnection, "add"),
        form_data(world, name="Second", new_secret="t2", workspace_id="w2"),
    )
    created = NotionConnection.objects.for_org(world["acme"]).get(name="Second")
    assert created.token == "t2" and created.connected_by == world["owner"]


def test_outsider_cannot_add_a_connection_to_another_organization(client, world):
    client.force_login(world["outsider"])
    response = client.post(url(NotionConnection, "add"), form_data(world, new_secret="x"))
    assert response.status_code == 200  # the form refuses the organization choice
    acme_connections = NotionConnection.objects.for_org(world["acme"])
    assert not acme_connections.filter(name="x").exists()
    assert acme_connections.count() == 1
