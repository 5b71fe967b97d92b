"""OPTIONS on every operation path of the OpenAPI schema: a JSON description, never a 500."""

from __future__ import annotations

import re

import pytest
from drf_spectacular.generators import SchemaGenerator

from integrations.models import NotionConnection
from tests.api.conftest import client_for, error_of
from tests.factories import ApiKeyFactory, AssistantFactory, SessionFactory
from voicebridge.services import discord_binding_create, discord_bot_create
from webhooks.models import Delivery, Event, WebhookEndpoint, new_secret


@pytest.fixture
def ids(org, private_key) -> dict:
    assistant = AssistantFactory(organization=org)
    notion = NotionConnection.objects.create(organization=org, name="wiki", token="ntn_x")
    key, _ = ApiKeyFactory.with_secret(organization=org)
    bot = discord_bot_create(
        organization=org, name="bot", application_id="1300000000000000001", token="t.o.k"
    )
    binding = discord_binding_create(bot=bot, guild_id="1300000000000000002", assistant=assistant)
    endpoint = WebhookEndpoint.objects.create(
        organization=org, url="https://hooks.example.com/a", secret=new_secret()
    )
    event = Event.objects.create(organization=org, type="message.created", payload={})
    delivery = Delivery.objects.create(event=event, endpoint=endpoint)
    return {
        "assistants": assistant.id,
        "sessions": SessionFactory(assistant=assistant).id,
        "api-keys": key.id,
        "notion": notion.id,
        "bots": bot.id,
        "bindings": binding.id,
        "endpoints": endpoint.id,
        "deliveries": delivery.id,
    }


def schema_paths(ids: dict) -> list[str]:
    """Every path of the schema, each placeholder ({id}, {bot_pk}) filled with a real object
    of the kind the segment before it names."""
    schema = SchemaGenerator().get_schema(request=None, public=True)

    def fill(match: re.Match) -> str:
        kind = match.group(1)
        return f"/{kind}/{ids[kind]}" if kind in ids else match.group(0)

    return [re.sub(r"/([\w-]+)/\{[^}/]+\}(?=/)", fill, path) for path in schema["paths"]]


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
