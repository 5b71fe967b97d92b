"""/api/v1/integrations/notion/: list, connect an internal token (checked with the simulator),
disconnect. Tenancy and key kinds are also covered by the tables in test_tenancy.py."""

from __future__ import annotations

import pytest
from django.db import connection as db
from drf_spectacular.generators import SchemaGenerator

from integrations.models import NotionConnection
from simulators.notion_state import Fault
from tests.api.conftest import error_of

LIST = "/api/v1/integrations/notion/"
FIELDS = {"id", "name", "kind", "status", "workspace_id", "workspace_name", "connected_at"}


def detail(connection_id) -> str:
    return f"{LIST}{connection_id}/"


@pytest.fixture
def notion(settings, notion_sim):
    settings.NOTION_API_BASE_URL = notion_sim.base_url
    return notion_sim


def connect(org, token: str, **fields) -> NotionConnection:
    return NotionConnection.objects.create(organization=org, name="Notion", token=token, **fields)


def test_list_shows_the_organizations_connections_without_tokens(api, org, other_org):
    older = connect(org, "ntn_old", workspace_id="w1", workspace_name="Old")
    newer = connect(org, "ntn_new", workspace_id="w2", workspace_name="New", kind="internal")
    connect(other_org, "ntn_theirs", workspace_name="Theirs")
    response = api.get(LIST)
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["id"] for r in results] == [str(newer.pk), str(older.pk)]
    assert set(results[0]) == FIELDS
    assert results[0]["kind"] == "internal" and results[0]["workspace_name"] == "New"
    assert "ntn_" not in response.content.decode()


def test_connect_checks_the_token_with_notion_and_stores_it_encrypted(api, org, notion):
    response = api.post(LIST, {"token": notion.default_token}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == FIELDS
    assert body["kind"] == "internal" and body["status"] == "active"
    assert body["workspace_id"] == notion.default_workspace_id
    assert body["workspace_name"] == body["name"] == "Simulated Workspace"
    assert notion.default_token not in response.content.decode()
    connection = NotionConnection.objects.for_org(org).get(pk=body["id"])
    assert str(connection.token) == notion.default_token and connection.bot_id
    with db.cursor() as cursor:
        cursor.execute("SELECT token FROM integrations_notionconnection")
        (stored,) = cursor.fetchone()
    assert notion.default_token not in stored
    assert [r.method for r in notion.logged("/v1/users/me")] == ["GET"]


def test_connecting_the_same_workspace_again_replaces_its_token(api, org, notion):
    first = api.post(LIST, {"token": notion.default_token, "name": "Team wiki"}, format="json")
    NotionConnection.objects.for_org(org).update(status="broken")
    fresh = notion.new_token()
    again = api.post(LIST, {"token": fresh}, format="json")
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    connection = NotionConnection.objects.for_org(org).get()
    assert (connection.status, connection.name, str(connection.token)) == (
        "active",
        "Team wiki",
        fresh,
    )


def test_a_token_notion_rejects_is_a_field_error(api, notion):
    response = api.post(LIST, {"token": "ntn_revoked_or_made_up"}, format="json")
    assert response.status_code == 400
    assert error_of(response)["fields"] == {"token": ["Notion rejected this token."]}
    assert not NotionConnection.objects.unscoped().exists()


def test_notion_unavailable_is_a_502_and_stores_nothing(api, notion):
    notion.inject_fault(Fault(status=429, retry_after=0, path="/v1/users/me", times=5))
    response = api.post(LIST, {"token": notion.default_token}, format="json")
    assert response.status_code == 502
    assert error_of(response)["code"] == "provider_unavailable"
    assert not NotionConnection.objects.unscoped().exists()


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "token"),
        ({"token": ""}, "token"),
        ({"token": 7}, "token"),
        ({"token": "ntn_é"}, "token"),
        ({"token": "ntn_a b"}, "token"),
        ({"token": "ntn_a\nb"}, "token"),
        ({"token": "t", "x": 1}, "x"),
    ],
)
def test_bad_bodies_are_refused_before_calling_notion(api, notion, body, field):
    response = api.post(LIST, body, format="json")
    assert response.status_code == 400
    assert field in error_of(response)["fields"]
    assert notion.requests == []


def test_disconnect_deletes_the_connection(api, org):
    connection = connect(org, "ntn_stored")
    assert api.delete(detail(connection.pk)).status_code == 204
    assert not NotionConnection.objects.unscoped().exists()
    assert api.delete(detail(connection.pk)).status_code == 404


def test_another_organizations_connection_is_a_404(other_api, org):
    connection = connect(org, "ntn_stored")
    response = other_api.delete(detail(connection.pk))
    assert response.status_code == 404 and error_of(response)["code"] == "not_found"
    assert NotionConnection.objects.for_org(org).filter(pk=connection.pk).exists()


def test_schema_documents_the_endpoints_without_a_token_in_any_answer():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert set(schema["paths"]["/api/v1/integrations/notion/"]) == {"get", "post"}
    assert set(schema["paths"]["/api/v1/integrations/notion/{id}/"]) == {"delete"}
    components = schema["components"]["schemas"]
    assert set(components["NotionConnectionOutput"]["properties"]) == FIELDS
    assert set(components["NotionConnectionInputRequest"]["properties"]) == {"token", "name"}
    # Their choices have their own names; the older enums keep theirs.
    assert {"NotionConnectionKindEnum", "KindEnum", "StatusEnum"} <= set(components)
