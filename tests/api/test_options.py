"""OPTIONS on every operation path of the OpenAPI schema: a JSON description, never a 500."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator

from integrations.models import NotionConnection
from tests.api.conftest import client_for, error_of
from tests.factories import ApiKeyFactory, AssistantFactory, SessionFactory


@pytest.fixture
def ids(org, private_key) -> dict:
    assistant = AssistantFactory(organization=org)
    notion = NotionConnection.objects.create(organization=org, name="wiki", token="ntn_x")
    key, _ = ApiKeyFactory.with_secret(organization=org)
    return {
        "assistants": assistant.id,
        "sessions": SessionFactory(assistant=assistant).id,
        "api-keys": key.id,
        "notion": notion.id,
    }


def schema_paths(ids: dict) -> list[str]:
    """Every path of the schema, its {id} filled with a real object of the right kind."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = []
    for path in schema["paths"]:
        kind = next((k for k in ids if f"/{k}/{{id}}/" in path), None)
        paths.append(path.replace("{id}", str(ids[kind])) if kind else path)
    return paths


def test_options_with_a_key_describes_every_endpoint(db, ids, private_key):
    paths = schema_paths(ids)
    assert len(paths) >= 10 and all("{" not in p for p in paths)
    api = client_for(private_key[1])
    for path in paths:
        response = api.options(path)
        assert response.status_code == 200, (path, response.content)
        body = response.json()
        assert body["renders"] == ["application/json"], path
        assert body["parses"] == ["application/json"], path
        assert "OPTIONS" in response["Allow"], path


def test_options_without_a_key_is_401_in_the_error_shape(db, ids):
    for path in schema_paths(ids):
        response = client_for().options(path)
        assert response.status_code == 401, path
        assert error_of(response)["code"] == "not_authenticated"
