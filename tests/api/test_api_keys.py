"""/api/v1/api-keys/: list without secrets, create (secret shown once), revoke."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from assistants.models import ApiKey
from tests.api.conftest import client_for, error_of
from tests.factories import ApiKeyFactory, AssistantFactory

LIST = "/api/v1/api-keys/"


def test_list_never_shows_secrets(api, private_key, public_key):
    response = api.get(LIST)
    assert response.status_code == 200
    text = response.content.decode()
    for key, raw in (private_key, public_key):
        assert raw not in text
        assert key.key_hash not in text
    items = response.json()["results"]
    assert {item["id"] for item in items} == {str(private_key[0].id), str(public_key[0].id)}
    assert all("secret" not in item and "key_hash" not in item for item in items)
    public = next(item for item in items if item["kind"] == "public")
    assert public["allowed_origins"] == ["https://app.example.com"]
    assert public["prefix"] == public_key[0].prefix


def test_create_returns_the_secret_once_and_it_works(api):
    response = api.post(LIST, {"name": "backend"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["kind"] == "private"
    assert body["secret"].startswith(f"{body['prefix']}_")
    assert client_for(body["secret"]).get("/api/v1/organization/").status_code == 200
    listed = api.get(LIST).json()["results"]
    assert body["secret"] not in str(listed)


def test_create_a_public_key(api, assistant):
    payload = {
        "name": "website",
        "kind": "public",
        "allowed_origins": ["https://Shop.Example.com/", "http://localhost:3000"],
        "allowed_assistant_ids": [str(assistant.id)],
    }
    response = api.post(LIST, payload, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["secret"].startswith("vp_pk_")
    assert body["allowed_origins"] == ["https://shop.example.com", "http://localhost:3000"]
    assert body["allowed_assistant_ids"] == [str(assistant.id)]
    key = ApiKey.objects.for_org(assistant.organization).get(pk=body["id"])
    assert list(key.allowed_assistants.all()) == [assistant]


def test_a_public_key_needs_an_assistant(api):
    response = api.post(LIST, {"name": "w", "kind": "public"}, format="json")
    assert response.status_code == 400
    assert "allowed_assistant_ids" in error_of(response)["fields"]


@pytest.mark.parametrize("field", ["allowed_origins", "allowed_assistant_ids"])
def test_private_keys_carry_no_public_limits(api, assistant, field):
    value = ["https://a.example.com"] if field == "allowed_origins" else [str(assistant.id)]
    response = api.post(LIST, {"name": "b", field: value}, format="json")
    assert response.status_code == 400
    assert field in error_of(response)["fields"]


def test_unknown_or_archived_assistant_ids_are_refused(api, org, assistant):
    archived = AssistantFactory(organization=org, archived_at="2026-01-01T00:00:00Z")
    unknown = "00000000-0000-0000-0000-000000000000"
    payload = {
        "name": "w",
        "kind": "public",
        "allowed_assistant_ids": [str(assistant.id), str(archived.id), unknown],
    }
    response = api.post(LIST, payload, format="json")
    assert response.status_code == 400
    assert error_of(response)["fields"]["allowed_assistant_ids"] == sorted(
        [f"No assistant {archived.id}.", f"No assistant {unknown}."]
    )
    assert not ApiKey.objects.unscoped().filter(name="w").exists()


def test_revoke(api, org):
    key, raw = ApiKeyFactory.with_secret(organization=org)
    assert client_for(raw).get("/api/v1/organization/").status_code == 200
    response = api.delete(f"{LIST}{key.id}/")
    assert response.status_code == 204
    assert response.content == b""
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert client_for(raw).get("/api/v1/organization/").status_code == 401
    listed = {item["id"]: item for item in api.get(LIST).json()["results"]}
    assert listed[str(key.id)]["revoked_at"] is not None


def test_revoking_twice_keeps_the_first_time(api, org):
    key, _ = ApiKeyFactory.with_secret(organization=org)
    api.delete(f"{LIST}{key.id}/")
    first = ApiKey.objects.for_org(org).get(pk=key.pk).revoked_at
    assert api.delete(f"{LIST}{key.id}/").status_code == 204
    assert ApiKey.objects.for_org(org).get(pk=key.pk).revoked_at == first


def test_keys_cannot_be_read_one_by_one_or_edited(api, private_key):
    url = f"{LIST}{private_key[0].id}/"
    assert api.get(url).status_code == 405
    assert api.patch(url, {"name": "x"}, format="json").status_code == 405


@pytest.fixture
def key_cap(settings):
    settings.MAX_ACTIVE_API_KEYS_PER_ORGANIZATION = 3
    return 3


def test_active_keys_are_capped_per_organization(api, org, other_api, key_cap):
    # The key `api` uses is the first; two more fit.
    assert [api.post(LIST, {"name": f"k{n}"}, format="json").status_code for n in (2, 3)] == [
        201,
        201,
    ]
    refused = api.post(LIST, {"name": "k4"}, format="json")
    assert refused.status_code == 400
    message = error_of(refused)["fields"]["non_field_errors"][0]
    assert "3 active API keys" in message and "revoke" in message
    assert ApiKey.objects.for_org(org).active().count() == 3
    assert other_api.post(LIST, {"name": "theirs"}, format="json").status_code == 201


def test_revoking_a_key_makes_room(api, org, key_cap):
    created = [api.post(LIST, {"name": f"k{n}"}, format="json").json() for n in (2, 3)]
    assert api.post(LIST, {"name": "k4"}, format="json").status_code == 400
    assert api.delete(f"{LIST}{created[0]['id']}/").status_code == 204
    assert api.post(LIST, {"name": "k4"}, format="json").status_code == 201


def test_the_cap_holds_in_the_admin_and_the_command_too(admin_client, org, private_key, key_cap):
    ApiKeyFactory.with_secret(organization=org)
    ApiKeyFactory.with_secret(organization=org)
    form = {"organization": org.pk, "name": "one too many", "kind": "private"}
    response = admin_client.post(reverse("admin:assistants_apikey_add"), form)
    assert response.status_code == 200  # the form again, with the reason
    assert "3 active API keys" in str(response.context["adminform"].form.non_field_errors())
    with pytest.raises(CommandError, match="3 active API keys"):
        call_command("create_api_key", org.slug, stdout=io.StringIO())
    assert ApiKey.objects.for_org(org).active().count() == 3
