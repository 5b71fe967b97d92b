"""Notion tool options on an assistant are checked for its organization: in the model, through
the API and in the admin."""

from __future__ import annotations

import json
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from assistants.models import Assistant, Membership
from assistants.services import assistant_create, staff_grant_permissions
from integrations.models import NotionConnection
from integrations.notion.options import notion_tool_option_errors
from tests.api.conftest import client_for, error_of
from tests.assistants.test_admin import admin_form
from tests.factories import AssistantFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db
PAGE = "0123456789abcdef0123456789abcdef"
APPEND = "notion_append_to_page"


def append_tool(**options) -> list[dict]:
    return [{"name": APPEND, "options": options}]


@pytest.fixture
def api(private_key):
    return client_for(private_key[1])


@pytest.fixture
def ours(org) -> NotionConnection:
    return NotionConnection.objects.create(organization=org, name="Ours", token="ntn_ours")


@pytest.fixture
def theirs(other_org) -> NotionConnection:
    return NotionConnection.objects.create(organization=other_org, name="Theirs", token="ntn_x")


def errors_for(org, **options) -> list[str]:
    return notion_tool_option_errors(append_tool(**options), organization_id=org.pk)


def test_valid_options_pass(org, ours):
    assert errors_for(org) == []
    assert errors_for(org, default_page_id=PAGE, dry_run=True, connection_id=str(ours.pk)) == []
    url = f"https://www.notion.so/acme/Groceries-{PAGE}"
    assert errors_for(org, default_page_id=url, dry_run=False) == []


@pytest.mark.parametrize(
    "options, message",
    [
        ({"default_page_id": "groceries"}, "default_page_id must be a Notion page id"),
        ({"default_page_id": 42}, "default_page_id must be a Notion page id"),
        ({"dry_run": "yes"}, "dry_run must be true or false."),
        ({"connection_id": "not-a-uuid"}, "unknown Notion connection."),
        ({"default_page": PAGE}, "unknown option 'default_page'"),
    ],
)
def test_invalid_options_are_named(org, options, message):
    (error,) = errors_for(org, **options)
    assert error.startswith(f"{APPEND}: ") and message in error


def test_another_organizations_connection_is_unknown_like_a_made_up_one(org, theirs):
    assert errors_for(org, connection_id=str(theirs.pk)) == [
        f"{APPEND}: unknown Notion connection."
    ]
    assert errors_for(org, connection_id=str(uuid.uuid4())) == errors_for(
        org, connection_id=str(theirs.pk)
    )


def test_other_tools_and_malformed_values_are_left_to_validate_tools(org):
    assert notion_tool_option_errors("nope", organization_id=org.pk) == []
    odd = [{"name": "current_time", "options": {"dry_run": "x"}}, "x", {"name": APPEND}]
    assert notion_tool_option_errors(odd, organization_id=org.pk) == []


def test_the_model_refuses_them_under_tools(org, theirs):
    with pytest.raises(ValidationError) as caught:
        assistant_create(
            organization=org, name="A", tools=append_tool(connection_id=str(theirs.pk))
        )
    assert caught.value.message_dict == {"tools": [f"{APPEND}: unknown Notion connection."]}


def test_the_api_refuses_them_on_create_and_update(api, org, ours, theirs):
    body = {"name": "Notes", "tools": append_tool(connection_id=str(theirs.pk), dry_run="no")}
    response = api.post("/api/v1/assistants/", body, format="json")
    assert response.status_code == 400
    assert error_of(response)["fields"] == {
        "tools": [
            f"{APPEND}: dry_run must be true or false.",
            f"{APPEND}: unknown Notion connection.",
        ]
    }
    good = append_tool(connection_id=str(ours.pk), default_page_id=PAGE, dry_run=True)
    created = api.post("/api/v1/assistants/", {"name": "Notes", "tools": good}, format="json")
    assert created.status_code == 201, created.json()
    url = f"/api/v1/assistants/{created.json()['id']}/"
    bad = append_tool(connection_id=str(theirs.pk))
    response = api.patch(url, {"tools": bad}, format="json")
    assert response.status_code == 400
    assert error_of(response)["fields"] == {"tools": [f"{APPEND}: unknown Notion connection."]}
    assert Assistant.objects.for_org(org).get(pk=created.json()["id"]).tools == good


def test_the_admin_refuses_them_on_the_tools_field(client, org, ours, theirs):
    owner = UserFactory()
    staff_grant_permissions(user=owner)
    MembershipFactory(user=owner, organization=org, role=Membership.Role.OWNER)
    assistant = AssistantFactory(organization=org, name="Notes")
    change = reverse("admin:assistants_assistant_change", args=[assistant.pk])
    client.force_login(owner)
    tools = json.dumps(append_tool(connection_id=str(theirs.pk)))
    response = client.post(change, admin_form(org, name="Notes", tools=tools))
    assert response.status_code == 200  # the form comes back with the error
    form = response.context["adminform"].form
    assert form.errors["tools"] == [f"{APPEND}: unknown Notion connection."]
    tools = json.dumps(append_tool(connection_id=str(ours.pk), default_page_id=PAGE))
    assert client.post(change, admin_form(org, name="Notes", tools=tools)).status_code == 302
    assistant.refresh_from_db()
    assert assistant.tools[0]["options"]["connection_id"] == str(ours.pk)
