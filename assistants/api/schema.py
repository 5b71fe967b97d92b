"""OpenAPI documentation of what the API does beyond its serializers: the auth scheme, the
common error body on every operation, and strict request bodies (unknown fields are a 400)."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension

ERROR_SCHEMA = {
    "type": "object",
    "description": "Every error, on every endpoint, has this shape.",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {
                    "type": "string",
                    "description": "Stable and machine-readable, e.g. invalid, not_found, "
                    "not_authenticated, authentication_failed, permission_denied, throttled.",
                },
                "message": {"type": "string", "description": "For humans; may change."},
                "fields": {
                    "type": "object",
                    "description": "On 400 validation errors: messages per request field.",
                    "additionalProperties": {},
                },
            },
            "required": ["code", "message"],
        }
    },
    "required": ["error"],
}
ERROR_REF = {"$ref": "#/components/schemas/Error"}


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "assistants.api.auth.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "vp_sk_… (private) or vp_pk_… (public)",
            "description": "An organization API key. Private keys (vp_sk_) reach everything of "
            "their organization; public keys (vp_pk_) may only create sessions for their "
            "allowed assistants, from their allowed origins.",
        }


def _error(description: str, headers: dict | None = None) -> dict:
    response = {"description": description, "content": {"application/json": {"schema": ERROR_REF}}}
    if headers:
        response["headers"] = headers
    return response


ALWAYS = {
    "401": _error(
        "Missing, malformed, unknown or revoked API key.",
        {"WWW-Authenticate": {"schema": {"type": "string"}, "example": 'Bearer realm="api"'}},
    ),
    "403": _error("The key may not do this (public keys may only create sessions)."),
    "429": _error(
        "Over the organization's rate limit, shared by all its keys.",
        {
            "Retry-After": {
                "schema": {"type": "integer", "minimum": 1},
                "description": "Seconds until the current one-minute window ends.",
            }
        },
    ),
}
ALWAYS["503"] = _error(
    "The database did not answer within a few seconds; nothing was changed.",
    {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}},
)
WITH_BODY = {
    "400": _error("The body is not valid: see error.fields."),
    "413": _error("The body is larger than the server accepts."),
    "415": _error("The body is not application/json."),
}
NOT_FOUND = _error("Not found: no such object in the key's organization, or an invalid cursor.")
BAD_QUERY = _error("A query parameter is not valid: see error.fields.")
PAGINATION_PARAMETERS = {"cursor", "page_size"}


def document_errors(result: dict, generator, request, public) -> dict:
    """Postprocessing hook: error responses on every operation; strict request bodies."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    for name, schema in schemas.items():
        if name.endswith("Request") and schema.get("type") == "object":
            schema["additionalProperties"] = False
    for operation in _operations(result):
        errors = {**ALWAYS, **_errors_for(operation)}
        responses = {**errors, **operation.get("responses", {})}
        for status, response in responses.items():
            if status[0] in "45" and "content" not in response:  # a view's own error response
                response["content"] = {"application/json": {"schema": ERROR_REF}}
        operation["responses"] = dict(sorted(responses.items()))
    return result


def _errors_for(operation: dict) -> dict:
    where = {(p["in"], p["name"]) for p in operation.get("parameters", [])}
    errors = dict(WITH_BODY) if "requestBody" in operation else {}
    if any(place == "path" for place, _ in where) or ("query", "cursor") in where:
        errors["404"] = NOT_FOUND
    if any(place == "query" and name not in PAGINATION_PARAMETERS for place, name in where):
        errors["400"] = BAD_QUERY
    return errors


def _operations(result: dict):
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield operation
