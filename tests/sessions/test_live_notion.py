"""A spoken to-do reaches Notion: a full WebSocket turn where the simulated LLM calls
notion_append_to_page and the Notion simulator records the block, plus dry runs, another
organization's connection, and a token Notion stops accepting mid-session."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async

from assistants.models import Assistant
from assistants.services import assistant_update
from integrations.models import NotionConnection
from sessions.models import Message
from tests.factories import OrganizationFactory
from tests.sessions.live import LiveClient

pytestmark = pytest.mark.django_db(transaction=True)
APPEND = "notion_append_to_page"
TODO = {
    "object": "block",
    "type": "to_do",
    "to_do": {"rich_text": [{"type": "text", "text": {"content": "Buy milk"}}], "checked": False},
}
ADD_MILK = {"tool_calls": [{"name": APPEND, "arguments": {"content": "- [ ] Buy milk"}}]}
DONE = "Added buy milk to your list."


@database_sync_to_async
def connect_notion(organization_id, token: str) -> NotionConnection:
    return NotionConnection.objects.create(
        organization_id=organization_id, name="Notion", token=token
    )


@database_sync_to_async
def use_append_tool(assistant, **options) -> None:
    assistant_update(assistant=assistant, tools=[{"name": APPEND, "options": options}])


@database_sync_to_async
def write_tools_unchecked(assistant, tools: list[dict]) -> None:
    """Tools as a stale or tampered row would hold them: validation refuses these options."""
    Assistant.objects.unscoped().filter(pk=assistant.pk).update(tools=tools)


@database_sync_to_async
def make_org(name: str):
    return OrganizationFactory(name=name)


@database_sync_to_async
def messages(session) -> list[Message]:
    return list(Message.objects.unscoped().filter(session=session).order_by("sequence"))


@database_sync_to_async
def status_of(connection: NotionConnection) -> str:
    connection.refresh_from_db()
    return connection.status


async def say(client: LiveClient, text: str, reply: str) -> tuple[dict, dict]:
    """One user message with one tool call; returns the tool-call and tool-result events."""
    await client.send(type="user-message", content=text)
    call = await client.expect("tool-call")
    result = await client.expect("tool-result")
    final = await client.expect("assistant-message")
    while final["content"] != reply:
        final = await client.expect("assistant-message")
    return call, result


async def test_spoken_todo_is_appended_to_the_default_page(providers, notion_sim, session):
    page = notion_sim.add_page("Shopping list")
    await connect_notion(session.organization_id, notion_sim.default_token)
    await use_append_tool(session.assistant, default_page_id=page)
    providers.script_chat(ADD_MILK, {"text": DONE})
    client = LiveClient.for_session(session.id)
    await client.connect()

    call, result = await say(client, "Add buy milk to my list", DONE)
    assert call["name"] == APPEND and call["arguments"] == {"content": "- [ ] Buy milk"}
    assert result == {
        "type": "tool-result",
        "id": call["id"],
        "name": APPEND,
        "ok": True,
        "result": {"page_id": page, "blocks_appended": 1},
    }
    assert notion_sim.appended_blocks(page) == [TODO]
    assert len(notion_sim.logged(f"/v1/blocks/{page}/children", method="PATCH")) == 1
    assert not client.of_type("error")
    assert notion_sim.default_token not in json.dumps(client.events)

    stored = await messages(session)
    assert [m.role for m in stored] == ["user", "assistant", "tool", "assistant"]
    assert stored[1].tool_calls[0]["name"] == APPEND
    assert stored[2].tool_call_id == call["id"]
    assert json.loads(stored[2].content) == {"ok": True, "result": result["result"]}
    assert stored[3].content == DONE
    await client.disconnect()


async def test_dry_run_writes_nothing_but_describes_the_block(providers, notion_sim, session):
    page = notion_sim.add_page("Shopping list")
    await connect_notion(session.organization_id, notion_sim.default_token)
    await use_append_tool(session.assistant, default_page_id=page, dry_run=True)
    providers.script_chat(ADD_MILK, {"text": DONE})
    client = LiveClient.for_session(session.id)
    await client.connect()

    _, result = await say(client, "Add buy milk to my list", DONE)
    assert result["ok"] is True
    assert result["result"] == {
        "dry_run": True,
        "written": False,
        "would_append": {"page_id": page, "page_title": "Shopping list", "children": [TODO]},
    }
    assert notion_sim.logged(method="PATCH") == [] and notion_sim.appended_blocks(page) == []
    await client.disconnect()


async def test_another_organizations_connection_is_never_used(providers, notion_sim, session):
    globex = await make_org("Globex")
    their_workspace = notion_sim.add_workspace("Globex Workspace")
    their_page = notion_sim.add_page("Globex plans", workspace_id=their_workspace)
    theirs = await connect_notion(globex.pk, notion_sim.token_for(their_workspace))
    await connect_notion(session.organization_id, notion_sim.default_token)
    options = {"connection_id": str(theirs.pk), "default_page_id": their_page}
    await write_tools_unchecked(session.assistant, [{"name": APPEND, "options": options}])
    providers.script_chat(ADD_MILK, {"text": "I couldn't reach Notion."})
    client = LiveClient.for_session(session.id)
    await client.connect()

    _, result = await say(client, "Add buy milk to my list", "I couldn't reach Notion.")
    assert result["ok"] is False
    assert "Notion connection chosen for this assistant is missing" in result["error"]
    assert notion_sim.requests == []  # no request at all: their token never left
    assert notion_sim.appended_blocks(their_page) == []
    (error,) = client.of_type("error")
    assert error["code"] == "tool_failed" and APPEND in error["message"]
    await client.disconnect()


async def test_token_revoked_mid_session_breaks_the_connection(providers, notion_sim, session):
    page = notion_sim.add_page("Shopping list")
    connection = await connect_notion(session.organization_id, notion_sim.default_token)
    await use_append_tool(session.assistant, default_page_id=page)
    providers.script_chat(ADD_MILK, {"text": DONE}, ADD_MILK, {"text": "Please reconnect Notion."})
    client = LiveClient.for_session(session.id)
    await client.connect()
    _, first = await say(client, "Add buy milk to my list", DONE)
    assert first["ok"] is True

    notion_sim.revoke_token(notion_sim.default_token)  # someone removed the integration
    _, second = await say(client, "And again", "Please reconnect Notion.")
    assert second["ok"] is False and "reconnect Notion" in second["error"]
    (error,) = client.of_type("error")
    assert error == {
        "type": "error",
        "code": "tool_failed",
        "message": f"The tool {APPEND} failed: {second['error']}",
    }
    assert await status_of(connection) == "broken"
    assert notion_sim.appended_blocks(page) == [TODO]  # only the first write
    await client.disconnect()
