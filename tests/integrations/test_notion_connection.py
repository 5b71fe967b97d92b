"""Which token the Notion tools use: the calling organization's connection, and nothing else."""

import uuid

import pytest
from asgiref.sync import sync_to_async

import integrations.notion.tools  # noqa: F401 - registers the Notion tools
from integrations.models import NotionConnection
from integrations.notion.connection import (
    NotionNotConnected,
    mark_notion_token_broken,
    resolve_notion_token,
)
from integrations.tools.base import ToolContext
from integrations.tools.registry import get_tool
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db(transaction=True)


def context_for(org, **options):
    return ToolContext(org.pk, uuid.uuid4(), uuid.uuid4(), options)


@sync_to_async
def make_org(name):
    return OrganizationFactory(name=name)


@sync_to_async
def connect(org, token, workspace_id="", **fields):
    return NotionConnection.objects.create(
        organization=org, name="Notion", token=token, workspace_id=workspace_id, **fields
    )


@sync_to_async
def status_of(connection):
    connection.refresh_from_db()
    return connection.status, connection.broken_at


async def test_resolves_the_single_active_connection():
    acme = await make_org("Acme")
    await connect(acme, "acme-token")
    assert await resolve_notion_token(context_for(acme)) == "acme-token"


async def test_never_uses_another_organizations_connection():
    acme, globex = await make_org("Acme"), await make_org("Globex")
    theirs = await connect(globex, "globex-token")
    with pytest.raises(NotionNotConnected, match="isn't connected"):
        await resolve_notion_token(context_for(acme))
    with pytest.raises(NotionNotConnected, match="missing or broken"):
        await resolve_notion_token(context_for(acme, connection_id=str(theirs.pk)))


async def test_broken_connection_is_not_used():
    acme = await make_org("Acme")
    await connect(acme, "old", status=NotionConnection.Status.BROKEN)
    with pytest.raises(NotionNotConnected):
        await resolve_notion_token(context_for(acme))


async def test_connection_id_option_chooses_among_several():
    acme = await make_org("Acme")
    await connect(acme, "first", workspace_id="w1")
    second = await connect(acme, "second", workspace_id="w2")
    with pytest.raises(NotionNotConnected, match="Several Notion workspaces"):
        await resolve_notion_token(context_for(acme))
    chosen = context_for(acme, connection_id=str(second.pk))
    assert await resolve_notion_token(chosen) == "second"
    with pytest.raises(NotionNotConnected, match="invalid"):
        await resolve_notion_token(context_for(acme, connection_id="nope"))


async def test_mark_broken_only_touches_the_failing_token():
    acme, globex = await make_org("Acme"), await make_org("Globex")
    bad = await connect(acme, "bad", workspace_id="w1")
    good = await connect(acme, "good", workspace_id="w2")
    same_token_elsewhere = await connect(globex, "bad")
    await mark_notion_token_broken(context_for(acme), "bad")
    status, broken_at = await status_of(bad)
    assert status == "broken" and broken_at is not None
    assert (await status_of(good))[0] == "active"
    assert (await status_of(same_token_elsewhere))[0] == "active"


async def test_registered_tool_end_to_end_and_401_breaks_the_connection(notion_sim, settings):
    settings.NOTION_API_BASE_URL = notion_sim.base_url
    acme = await make_org("Acme")
    connection = await connect(acme, notion_sim.default_token)
    page_id = notion_sim.add_page("Handbook", blocks=["Be kind."])
    tool = get_tool("notion_read_page")

    outcome = await tool.run({"page_id": page_id}, context_for(acme))
    assert outcome.ok, outcome.error
    assert outcome.result["content"] == "Be kind."

    notion_sim.revoke_token(notion_sim.default_token)
    outcome = await tool.run({"page_id": page_id}, context_for(acme))
    assert not outcome.ok and "reconnect Notion" in outcome.error
    assert (await status_of(connection))[0] == "broken"

    outcome = await tool.run({"page_id": page_id}, context_for(acme))
    assert outcome.error == "Notion isn't connected for this organization yet."
    assert len(notion_sim.logged("/v1/pages/")) == 2  # no call was made with the broken token


async def test_registered_tool_without_connection_says_so():
    acme = await make_org("Acme")
    outcome = await get_tool("notion_search").run({"query": "x"}, context_for(acme))
    assert not outcome.ok and "isn't connected" in outcome.error
