"""The OpenAPI document: valid OpenAPI 3, every operation documented with the auth scheme, its
bodies and the common error responses."""

from __future__ import annotations

import jsonschema
import pytest
from drf_spectacular.validation import validate_schema

from tests.api.conftest import client_for

METHODS = {"get", "post", "put", "patch", "delete"}
ERROR_REF = {"$ref": "#/components/schemas/Error"}


@pytest.fixture
def schema(db) -> dict:
    response = client_for().get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method, path, operation


def test_the_schema_is_valid_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    validate_schema(schema)


def test_every_endpoint_is_documented(schema):
    documented = {(method, path) for method, path, _ in operations(schema)}
    assert {
        ("get", "/api/v1/assistants/"),
        ("post", "/api/v1/assistants/"),
        ("get", "/api/v1/assistants/{id}/"),
        ("patch", "/api/v1/assistants/{id}/"),
        ("delete", "/api/v1/assistants/{id}/"),
        ("get", "/api/v1/sessions/"),
        ("post", "/api/v1/sessions/"),
        ("get", "/api/v1/sessions/{id}/"),
        ("get", "/api/v1/sessions/{id}/messages/"),
        ("get", "/api/v1/api-keys/"),
        ("post", "/api/v1/api-keys/"),
        ("delete", "/api/v1/api-keys/{id}/"),
        ("get", "/api/v1/organization/"),
    } <= documented
    assert not any("/schema/" in path or "/docs/" in path for _, path in documented)


def test_the_auth_scheme_is_bearer_and_required_everywhere(schema):
    scheme = schema["components"]["securitySchemes"]["ApiKey"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    for _, _, operation in operations(schema):
        assert operation["security"] == [{"ApiKey": []}]


def test_every_operation_documents_its_errors(schema):
    for method, path, operation in operations(schema):
        responses = operation["responses"]
        expected = {"401", "403", "429"}
        parameters = {p["name"] for p in operation.get("parameters", [])}
        if "{" in path or "cursor" in parameters:  # an id, or a cursor, that may not exist
            expected.add("404")
        if "requestBody" in operation:
            expected |= {"400", "413", "415"}
        assert expected <= set(responses), (method, path)
        for code in expected:
            assert responses[code]["content"]["application/json"]["schema"] == ERROR_REF
        assert "Retry-After" in responses["429"]["headers"]
        assert "WWW-Authenticate" in responses["401"]["headers"]


def test_request_bodies_are_strict_objects(schema):
    for method, path, operation in operations(schema):
        if "requestBody" not in operation:
            continue
        ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        body = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
        assert body["additionalProperties"] is False, (method, path)


def test_documented_limits_match_the_validation(schema):
    assistant = schema["components"]["schemas"]["AssistantInputRequest"]["properties"]
    assert assistant["system_prompt"]["maxLength"] == 20_000
    assert (assistant["temperature"]["minimum"], assistant["temperature"]["maximum"]) == (0, 2)
    assert assistant["model_provider"] == {"$ref": "#/components/schemas/ModelProviderEnum"}
    assert assistant["tools"]["type"] == "array"


def test_real_error_bodies_match_the_error_component(schema, api, assistant):
    error_schema = {**schema["components"]["schemas"]["Error"], "components": schema["components"]}
    responses = [
        client_for().get("/api/v1/assistants/"),
        api.get("/api/v1/assistants/00000000-0000-0000-0000-000000000000/"),
        api.post("/api/v1/assistants/", {"temperature": 9}, format="json"),
        api.post("/api/v1/assistants/", "nope", content_type="text/plain"),
        api.put(f"/api/v1/assistants/{assistant.id}/", {}, format="json"),
        api.get("/api/v1/no-such-thing/"),
    ]
    for response in responses:
        assert response.status_code >= 400
        jsonschema.validate(response.json(), error_schema)


def test_swagger_ui_points_at_the_schema(db):
    response = client_for().get("/api/v1/docs/")
    assert response.status_code == 200
    assert b"/api/v1/schema/" in response.content
