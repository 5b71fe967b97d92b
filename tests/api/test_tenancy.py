"""Every endpoint and method, against keys that must not get through.

- a private key of organization B: 404 for A's objects (400 for A's ids in a body), answers that
  are byte-for-byte those for an id that does not exist, and nothing of A's changes;
- a public key of A: 403 everywhere except starting a session;
- a revoked key, and no key: 401 everywhere.

OPERATIONS must list every operation in the OpenAPI schema (checked below), so a new endpoint
cannot ship without joining these tables. The live-session operations (LIVE) belong to another
issue; their rows are skipped until they are routed.
"""

from __future__ import annotations

import json
import re
import uuid
from types import SimpleNamespace

import pytest
from drf_spectacular.generators import SchemaGenerator

from assistants.models import ApiKey, Assistant, Organization
from assistants.services import api_key_revoke
from integrations.models import NotionConnection
from sessions.models import Message, Session
from tests.api.conftest import client_for, error_of
from tests.factories import ApiKeyFactory, AssistantFactory, MessageFactory, SessionFactory
from voicebridge.models import DiscordBinding, DiscordBot
from voicebridge.services import discord_binding_create, discord_bot_create
from webhooks.models import Delivery, Event, WebhookEndpoint, new_secret

DISCORD_BOT = {"name": "new", "application_id": "1300000000000000999", "token": "t.o.k"}
DISCORD_BINDING = {"guild_id": "1300000000000000998", "assistant_id": "{assistant}"}
WEBHOOK_ENDPOINT = {"url": "https://hooks.example.com/voice"}
OPERATIONS = [
    ("get", "/api/v1/assistants/", None),
    ("post", "/api/v1/assistants/", {"name": "new"}),
    ("get", "/api/v1/assistants/{assistant}/", None),
    ("patch", "/api/v1/assistants/{assistant}/", {"name": "changed"}),
    ("delete", "/api/v1/assistants/{assistant}/", None),
    ("post", "/api/v1/assistants/{assistant}/tool-signing-secret/", None),
    ("get", "/api/v1/sessions/", None),
    ("post", "/api/v1/sessions/", {"assistant_id": "{assistant}"}),
    ("get", "/api/v1/sessions/{session}/", None),
    ("get", "/api/v1/sessions/{session}/messages/", None),
    ("get", "/api/v1/api-keys/", None),
    ("post", "/api/v1/api-keys/", {"name": "new"}),
    ("delete", "/api/v1/api-keys/{key}/", None),
    ("get", "/api/v1/organization/", None),
    ("get", "/api/v1/integrations/notion/", None),
    ("post", "/api/v1/integrations/notion/", {"token": "ntn_token"}),
    ("delete", "/api/v1/integrations/notion/{notion}/", None),
    ("get", "/api/v1/discord/bots/", None),
    ("post", "/api/v1/discord/bots/", DISCORD_BOT),
    ("get", "/api/v1/discord/bots/{bot}/", None),
    ("patch", "/api/v1/discord/bots/{bot}/", {"name": "changed"}),
    ("delete", "/api/v1/discord/bots/{bot}/", None),
    ("get", "/api/v1/discord/bots/{bot}/bindings/", None),
    ("post", "/api/v1/discord/bots/{bot}/bindings/", DISCORD_BINDING),
    ("get", "/api/v1/discord/bots/{bot}/bindings/{binding}/", None),
    ("patch", "/api/v1/discord/bots/{bot}/bindings/{binding}/", {"enabled": False}),
    ("delete", "/api/v1/discord/bots/{bot}/bindings/{binding}/", None),
    ("get", "/api/v1/usage/", None),
    ("get", "/api/v1/webhooks/endpoints/", None),
    ("post", "/api/v1/webhooks/endpoints/", WEBHOOK_ENDPOINT),
    ("get", "/api/v1/webhooks/endpoints/{endpoint}/", None),
    ("patch", "/api/v1/webhooks/endpoints/{endpoint}/", {"description": "changed"}),
    ("delete", "/api/v1/webhooks/endpoints/{endpoint}/", None),
    ("post", "/api/v1/webhooks/endpoints/{endpoint}/rotate-secret/", None),
    ("get", "/api/v1/webhooks/endpoints/{endpoint}/deliveries/", None),
    ("post", "/api/v1/webhooks/endpoints/{endpoint}/deliveries/{delivery}/redeliver/", None),
]
LIVE = [
    ("post", "/api/v1/sessions/{session}/messages/", {"content": "hello"}),
    ("post", "/api/v1/sessions/{session}/end/", None),
    ("post", "/api/v1/sessions/{session}/token/", None),
]
OPERATIONS += LIVE

# What organization B's private key does to A: (method, path, body, expected status).
FOREIGN = [
    ("get", "/api/v1/assistants/", None, 200),
    ("post", "/api/v1/assistants/", {"name": "new", "organization": "{org}"}, 400),
    ("get", "/api/v1/assistants/{assistant}/", None, 404),
    ("patch", "/api/v1/assistants/{assistant}/", {"name": "changed"}, 404),
    ("delete", "/api/v1/assistants/{assistant}/", None, 404),
    ("post", "/api/v1/assistants/{assistant}/tool-signing-secret/", None, 404),
    ("get", "/api/v1/sessions/", None, 200),
    ("get", "/api/v1/sessions/?assistant={assistant}", None, 200),
    ("post", "/api/v1/sessions/", {"assistant_id": "{assistant}"}, 400),
    ("get", "/api/v1/sessions/{session}/", None, 404),
    ("get", "/api/v1/sessions/{session}/messages/", None, 404),
    ("get", "/api/v1/api-keys/", None, 200),
    (
        "post",
        "/api/v1/api-keys/",
        {"name": "new", "kind": "public", "allowed_assistant_ids": ["{assistant}"]},
        400,
    ),
    ("delete", "/api/v1/api-keys/{key}/", None, 404),
    ("get", "/api/v1/organization/", None, 200),
    ("get", "/api/v1/integrations/notion/", None, 200),
    ("post", "/api/v1/integrations/notion/", {"token": "ntn_x", "organization": "{org}"}, 400),
    ("delete", "/api/v1/integrations/notion/{notion}/", None, 404),
    ("get", "/api/v1/discord/bots/", None, 200),
    ("post", "/api/v1/discord/bots/", {**DISCORD_BOT, "organization": "{org}"}, 400),
    *(
        (method, path, body, 404)
        for method, path, body in OPERATIONS
        if path.startswith("/api/v1/discord/bots/{bot}/")
    ),
    *((method, path, body, 404) for method, path, body in LIVE),
    ("get", "/api/v1/usage/", None, 200),
    ("get", "/api/v1/usage/?group_by=assistant", None, 200),
    ("get", "/api/v1/webhooks/endpoints/", None, 200),
    ("post", "/api/v1/webhooks/endpoints/", {**WEBHOOK_ENDPOINT, "organization": "{org}"}, 400),
    *(
        (method, path, body, 404)
        for method, path, body in OPERATIONS
        if path.startswith("/api/v1/webhooks/endpoints/{endpoint}/")
    ),
]


@pytest.fixture
def world(org):
    """Organization A with one of everything."""
    assistant = AssistantFactory(organization=org)
    session = SessionFactory(assistant=assistant, metadata={"secret": "of A"})
    MessageFactory(session=session, sequence=1, content="A's transcript")
    key, raw_key = ApiKeyFactory.with_secret(organization=org)
    public_key = ApiKeyFactory.with_secret(
        organization=org,
        kind=ApiKey.Kind.PUBLIC,
        allowed_origins=["https://app.example.com"],
        allowed_assistants=[assistant],
    )
    notion = NotionConnection.objects.create(organization=org, name="A's Notion", token="ntn_a")
    bot = discord_bot_create(
        organization=org, name="A's bot", application_id="1300000000000000001", token="t.o.k"
    )
    binding = discord_binding_create(bot=bot, guild_id="1300000000000000002", assistant=assistant)
    endpoint = WebhookEndpoint.objects.create(
        organization=org, url="https://hooks.example.com/a", secret=new_secret()
    )
    event = Event.objects.create(organization=org, type="message.created", payload={"of": "A"})
    delivery = Delivery.objects.create(event=event, endpoint=endpoint, status="failed")
    ids = {
        "org": org.id,
        "assistant": assistant.id,
        "session": session.id,
        "key": key.id,
        "notion": notion.id,
        "bot": bot.id,
        "binding": binding.id,
        "endpoint": endpoint.id,
        "delivery": delivery.id,
    }
    return SimpleNamespace(
        org=org, key=key, raw_key=raw_key, public_key=public_key, ids=ids, name=org.name
    )


def fill(template, ids: dict):
    if template is None:
        return None
    text = json.dumps(template) if not isinstance(template, str) else template
    for name, value in ids.items():
        text = text.replace("{" + name + "}", str(value))
    return json.loads(text) if not isinstance(template, str) else text


def call(client, method: str, path: str, body, ids: dict):
    kwargs = {"format": "json"} if body is not None else {}
    return getattr(client, method)(fill(path, ids), fill(body, ids), **kwargs)


def snapshot() -> list:
    """Everything, in every organization (last_used_at moves on any authenticated request)."""
    return [
        list(Organization.objects.unscoped().order_by("pk").values()),
        list(Assistant.objects.unscoped().order_by("pk").values()),
        list(Session.objects.unscoped().order_by("pk").values()),
        list(Message.objects.unscoped().order_by("pk").values()),
        list(ApiKey.objects.unscoped().order_by("pk").values("pk", "name", "revoked_at")),
        list(NotionConnection.objects.unscoped().order_by("pk").values("pk", "name", "status")),
        list(DiscordBot.objects.unscoped().order_by("pk").values("pk", "name", "enabled")),
        list(DiscordBinding.objects.unscoped().order_by("pk").values()),
        list(WebhookEndpoint.objects.unscoped().order_by("pk").values("pk", "url", "secret")),
        list(Delivery.objects.unscoped().order_by("pk").values()),
    ]


def op_id(case) -> str:
    return f"{case[0].upper()} {case[1]}"


@pytest.fixture
def other_world(other_org):
    """Organization B has data of its own, so its lists are not trivially empty."""
    session = SessionFactory(assistant=AssistantFactory(organization=other_org))
    MessageFactory(session=session, sequence=1, content="B's transcript")


@pytest.mark.parametrize("case", FOREIGN, ids=op_id)
def test_another_organizations_key_finds_nothing_and_changes_nothing(
    world, other_world, other_api, case
):
    method, path, body, expected = case
    before = snapshot()
    response = call(other_api, method, path, body, world.ids)
    assert response.status_code == expected, response.content
    assert snapshot() == before

    # The same request about ids that exist nowhere gets the very same answer.
    made_up = {name: uuid.uuid4() for name in world.ids}
    control = call(other_api, method, path, body, made_up)
    assert control.status_code == expected
    text = response.content.decode()
    for name, value in world.ids.items():
        text = text.replace(str(value), str(made_up[name]))
    assert text == control.content.decode()
    assert world.name not in text and "of A" not in text and "A's transcript" not in text


@pytest.mark.parametrize("case", OPERATIONS, ids=op_id)
def test_a_public_key_is_refused_everything_but_starting_a_session(world, case):
    method, path, body = case
    client = client_for(world.public_key[1], HTTP_ORIGIN="https://app.example.com")
    before = snapshot()
    response = call(client, method, path, body, world.ids)
    if (method, path) == ("post", "/api/v1/sessions/"):
        assert response.status_code == 201
        return
    assert response.status_code == 403, response.content
    assert error_of(response)["code"] == "permission_denied"
    assert snapshot() == before


@pytest.mark.parametrize("case", OPERATIONS, ids=op_id)
def test_a_revoked_key_is_refused_at_once(world, case):
    method, path, body = case
    client = client_for(world.raw_key)
    assert client.get("/api/v1/organization/").status_code == 200
    api_key_revoke(api_key=world.key)
    before = snapshot()
    response = call(client, method, path, body, world.ids)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert snapshot() == before


@pytest.mark.parametrize("case", OPERATIONS, ids=op_id)
def test_no_key_is_401(world, case):
    method, path, body = case
    before = snapshot()
    response = call(client_for(), method, path, body, world.ids)
    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"
    assert snapshot() == before


def test_the_tables_cover_every_operation_in_the_schema():
    def normalized(path: str) -> str:
        return re.sub(r"\{[a-z_]+\}", "{id}", path.split("?")[0])

    schema = SchemaGenerator().get_schema(request=None, public=True)
    documented = {
        (method, normalized(path))
        for path, item in schema["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }

    pending = {(m, normalized(p)) for m, p, _ in LIVE} - documented
    assert {(m, normalized(p)) for m, p, _ in OPERATIONS} - pending == documented
    assert {(m, normalized(p)) for m, p, _, _ in FOREIGN} - pending == documented
