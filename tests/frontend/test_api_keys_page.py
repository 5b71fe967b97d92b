"""/api-keys/ (owners and admins): a new key is shown once, stored hashed, limited as the API
limits it (api_key_issue); revoking asks first; another organization's key is a 404."""

from __future__ import annotations

import re

import pytest
from django.db import connection as db
from rest_framework.test import APIClient

from assistants.models import ApiKey, hash_api_key
from tests.factories import ApiKeyFactory, AssistantFactory

pytestmark = pytest.mark.django_db

NEW = "/api-keys/new/"
RAW_KEY = re.compile(r"vp_[sp]k_[0-9a-f]{12}_[\w-]+")


def revoke_url(api_key: ApiKey) -> str:
    return f"/api-keys/{api_key.pk}/revoke/"


def api_status(raw_key: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client.get("/api/v1/assistants/").status_code


def keys_of(org):
    return ApiKey.objects.for_org(org)


def test_members_may_not_see_create_or_revoke_keys(member_client, private_key):
    api_key, _ = private_key
    assert member_client.get("/api-keys/").status_code == 403
    assert member_client.get(NEW).status_code == 403
    assert member_client.post(NEW, {"name": "x", "kind": "private"}).status_code == 403
    assert member_client.post(revoke_url(api_key)).status_code == 403
    assert keys_of(api_key.organization).get().is_active


def test_a_new_key_is_shown_once_and_stored_hashed(admin_client_, org):
    response = admin_client_.post(NEW, {"name": "Backend", "kind": "private"})
    assert response.status_code == 201
    assert "no-store" in response["Cache-Control"]
    raw_key = RAW_KEY.search(response.content.decode()).group(0)
    api_key = keys_of(org).get(name="Backend")
    assert api_key.kind == "private" and api_key.created_by == response.wsgi_request.user
    assert api_key.key_hash == hash_api_key(raw_key) and raw_key.startswith(api_key.prefix)
    with db.cursor() as cursor:
        cursor.execute("SELECT * FROM assistants_apikey")
        assert raw_key not in repr(cursor.fetchall())
    listing = admin_client_.get("/api-keys/").content.decode()
    assert api_key.prefix in listing and raw_key not in listing
    assert not RAW_KEY.search(listing)
    assert api_status(raw_key) == 200  # the key works on the API


def test_a_public_key_names_its_assistants_and_origins(owner_client, org):
    first, second = AssistantFactory(organization=org), AssistantFactory(organization=org)
    response = owner_client.post(
        NEW,
        {
            "name": "Widget",
            "kind": "public",
            "allowed_origins": "HTTPS://App.Example.com:443/\n\nhttp://localhost:8080\n",
            "allowed_assistants": [str(first.pk)],
        },
    )
    assert response.status_code == 201, response.context["form"].errors
    api_key = keys_of(org).get(name="Widget")
    assert api_key.kind == "public" and api_key.prefix.startswith("vp_pk_")
    assert api_key.allowed_origins == ["https://app.example.com", "http://localhost:8080"]
    assert list(api_key.allowed_assistants.all()) == [first]
    assert second.name not in response.content.decode()


def test_the_form_offers_the_organizations_live_assistants_only(owner_client, org, other_org):
    mine = AssistantFactory(organization=org, name="Receptionist")
    AssistantFactory(organization=other_org, name="Their assistant")
    html = owner_client.get(NEW).content.decode()
    assert "Receptionist" in html and str(mine.pk) in html
    assert "Their assistant" not in html


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"kind": "private"}, "name", "This field is required."),
        ({"name": "x" * 101, "kind": "private"}, "name", "at most 100 characters"),
        ({"name": "w", "kind": "secret"}, "kind", "Select a valid choice."),
        ({"name": "w", "kind": "public"}, "allowed_assistants", "at least one assistant"),
        (
            {"name": "w", "kind": "public", "allowed_origins": "app.example.com"},
            "allowed_origins",
            "app.example.com: Use an origin such as https://app.example.com",
        ),
        (
            {"name": "w", "kind": "public", "allowed_origins": "https://a.example/path"},
            "allowed_origins",
            "Use an origin such as",
        ),
        (
            {"name": "w", "kind": "private", "allowed_origins": "https://a.example"},
            "allowed_origins",
            "Only public keys are limited",
        ),
    ],
)
def test_bad_keys_are_field_errors(admin_client_, org, data, field, message):
    response = admin_client_.post(NEW, data)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors and message in " ".join(errors[field]), errors
    assert message.split(":")[0] in response.content.decode().replace("&#x27;", "'")
    assert not keys_of(org).exists()


def test_a_private_key_may_not_name_assistants(admin_client_, org):
    assistant = AssistantFactory(organization=org)
    response = admin_client_.post(
        NEW, {"name": "w", "kind": "private", "allowed_assistants": [str(assistant.pk)]}
    )
    assert "Only public keys are limited" in " ".join(
        response.context["form"].errors["allowed_assistants"]
    )
    assert not keys_of(org).exists()


def test_another_organizations_assistant_cannot_be_named(admin_client_, org, other_org):
    theirs = AssistantFactory(organization=other_org)
    response = admin_client_.post(
        NEW, {"name": "w", "kind": "public", "allowed_assistants": [str(theirs.pk)]}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["allowed_assistants"]
    assert not keys_of(org).exists()


def test_the_cap_on_active_keys_is_said_above_the_form(settings, admin_client_, org):
    settings.MAX_ACTIVE_API_KEYS_PER_ORGANIZATION = 1
    ApiKeyFactory.with_secret(organization=org)
    response = admin_client_.post(NEW, {"name": "one too many", "kind": "private"})
    assert response.status_code == 200
    assert "revoke one before creating another" in " ".join(
        response.context["form"].non_field_errors()
    )
    assert keys_of(org).count() == 1


def test_revoking_asks_first_then_the_key_stops_working(admin_client_, private_key):
    api_key, raw_key = private_key
    confirm = admin_client_.get(revoke_url(api_key))
    assert confirm.status_code == 200 and api_key.name in confirm.content.decode()
    assert keys_of(api_key.organization).get().is_active

    response = admin_client_.post(revoke_url(api_key), follow=True)
    assert response.redirect_chain[-1][0] == "/api-keys/"
    assert not keys_of(api_key.organization).get().is_active
    assert "revoked" in response.content.decode()
    assert api_status(raw_key) == 401
    again = admin_client_.post(revoke_url(api_key), follow=True)
    assert "already revoked" in again.content.decode()


def test_another_organizations_key_is_a_404(outsider_client, private_key):
    api_key, raw_key = private_key
    assert outsider_client.get(revoke_url(api_key)).status_code == 404
    assert outsider_client.post(revoke_url(api_key)).status_code == 404
    assert keys_of(api_key.organization).get().is_active and api_status(raw_key) == 200
    assert api_key.prefix not in outsider_client.get("/api-keys/").content.decode()
