"""An assistant's custom tools: what the API accepts, what it refuses (with the field's
message), and the signing secret that is shown only when it is made."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from assistants.models import Assistant
from tests.api.conftest import client_for, error_of
from tests.factories import AssistantFactory

LIST = "/api/v1/assistants/"
PUBLIC_URL = "https://93.184.215.14/tools"  # a public address written as such: no DNS needed
TOOL = {
    "name": "lookup_order",
    "description": "Find an order by its number.",
    "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}},
    "server_url": PUBLIC_URL,
    "timeout_seconds": 5,
}


@pytest.fixture
def api(private_key) -> APIClient:
    return client_for(private_key[1])


def create(api: APIClient, *tools: dict):
    return api.post(LIST, {"name": "Shop", "custom_tools": list(tools)}, format="json")


def test_a_custom_tool_is_stored_and_shown_without_the_secret(api, org):
    response = create(api, TOOL, {"name": "minimal", "server_url": "http://93.184.215.14/"})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["custom_tools"] == [
        TOOL,
        {"name": "minimal", "server_url": "http://93.184.215.14/"},
    ]
    assistant = Assistant.objects.for_org(org).get(pk=body["id"])
    assert assistant.tool_signing_secret.startswith("whsec_")
    shown = api.get(f"{LIST}{assistant.pk}/").content.decode()
    assert "tool_signing_secret" not in shown and assistant.tool_signing_secret not in shown


REFUSED = [
    ({**TOOL, "name": "current_time"}, "a built-in tool has this name"),
    ({**TOOL, "name": "has space"}, "a name is 1 to 64 letters"),
    ({**TOOL, "name": "x" * 65}, "a name is 1 to 64 letters"),
    ({**TOOL, "parameters": {"type": "string"}}, '"type": "object"'),
    (
        {**TOOL, "parameters": {"type": "object", "properties": {"a": {"type": "nope"}}}},
        "not a valid JSON Schema",
    ),
    ({**TOOL, "parameters": {"type": "object", "required": "order_id"}}, "not a valid JSON"),
    ({**TOOL, "timeout_seconds": 0}, "timeout_seconds must be 1 to 30"),
    ({**TOOL, "timeout_seconds": 31}, "timeout_seconds must be 1 to 30"),
    ({**TOOL, "timeout_seconds": "10"}, "timeout_seconds must be a number"),
    ({**TOOL, "server_url": "ftp://93.184.215.14/"}, "must be http:// or https://"),
    ({**TOOL, "server_url": "http://[::1/"}, "is not a valid URL"),
    ({**TOOL, "server_url": "http://93.184.215.14:99999/"}, "is not a valid URL"),
    ({**TOOL, "server_url": "http://127.0.0.1:8000/tools"}, "is not a public address"),
    ({**TOOL, "server_url": "http://localhost/tools"}, "is not a public address"),
    ({**TOOL, "server_url": "http://10.1.2.3/tools"}, "is not a public address"),
    ({**TOOL, "server_url": "http://169.254.169.254/latest"}, "is not a public address"),
    ({**TOOL, "server_url": "http://[::1]/tools"}, "is not a public address"),
    ({**TOOL, "server_url": "http://[::ffff:127.0.0.1]/"}, "is not a public address"),
    ({key: v for key, v in TOOL.items() if key != "server_url"}, "server_url is required"),
    ({**TOOL, "secret": "x"}, "unknown keys secret"),
    ({**TOOL, "description": 5}, "description must be text"),
]


@pytest.mark.parametrize(("tool", "message"), REFUSED, ids=[m for _, m in REFUSED])
def test_a_bad_custom_tool_is_a_field_error(api, org, tool, message):
    response = create(api, tool)
    assert response.status_code == 400
    [error] = error_of(response)["fields"]["custom_tools"]
    assert message in error
    assert not Assistant.objects.for_org(org).exists()


def test_names_are_unique_and_the_list_is_bounded(api):
    twice = create(api, TOOL, TOOL)
    assert "is listed twice" in error_of(twice)["fields"]["custom_tools"][0]
    many = [{**TOOL, "name": f"tool_{n}"} for n in range(17)]
    assert "At most 16" in error_of(create(api, *many))["fields"]["custom_tools"][0]
    not_a_list = api.post(LIST, {"name": "x", "custom_tools": {"a": 1}}, format="json")
    assert error_of(not_a_list)["fields"]["custom_tools"]


def test_the_operator_may_allow_private_urls(api, settings):
    settings.CUSTOM_TOOLS_ALLOW_PRIVATE_URLS = True
    response = create(api, {**TOOL, "server_url": "http://127.0.0.1:8000/tools"})
    assert response.status_code == 201, response.json()


def test_patch_validates_custom_tools_too(api, org):
    assistant = AssistantFactory(organization=org)
    url = f"{LIST}{assistant.pk}/"
    bad = [{**TOOL, "server_url": "http://10.0.0.1/"}]
    refused = api.patch(url, {"custom_tools": bad}, format="json")
    assert refused.status_code == 400
    accepted = api.patch(url, {"custom_tools": [TOOL]}, format="json")
    assert accepted.status_code == 200 and accepted.json()["custom_tools"] == [TOOL]


def test_the_signing_secret_is_made_anew_and_shown_once(api, org):
    assistant = AssistantFactory(organization=org)
    before = assistant.tool_signing_secret
    response = api.post(f"{LIST}{assistant.pk}/tool-signing-secret/")
    assert response.status_code == 201
    secret = response.json()["tool_signing_secret"]
    assert secret.startswith("whsec_") and secret != before
    assistant.refresh_from_db()
    assert assistant.tool_signing_secret == secret
    assert secret not in api.get(f"{LIST}{assistant.pk}/").content.decode()


def test_every_assistant_has_its_own_secret(org):
    first, second = AssistantFactory(organization=org), AssistantFactory(organization=org)
    assert first.tool_signing_secret != second.tool_signing_secret
