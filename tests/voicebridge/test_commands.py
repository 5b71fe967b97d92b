"""The slash commands /target-page, /dry-run, /link-notion and /status, sent as real
interactions (tests/voicebridge/driver.py) to a BridgeClient driven by dpytest; turns run the
real runtime against the provider simulators and the Notion simulator."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import discord
import discord.ext.test as dpytest
import pytest
from asgiref.sync import sync_to_async
from discord.ext.test import callbacks
from django.urls import resolve
from django.utils import timezone

from integrations.models import NotionConnection
from sessions.models import Message, Session
from sessions.runtime import store
from tests.factories import AssistantFactory, OrganizationFactory
from tests.voicebridge.driver import EditLog, configure, use_command
from voicebridge.client import NOT_BOUND, BridgeClient, bridge_intents
from voicebridge.commands import NO_BASE_URL, ONLY_MANAGERS, status_text
from voicebridge.models import DiscordMemberSettings
from voicebridge.selectors import split_turns, turn_times
from voicebridge.services import discord_binding_create

pytestmark = pytest.mark.django_db(transaction=True)
EPHEMERAL = 64
APPEND_TODO_CALL = {"name": "notion_append_to_page", "arguments": {"content": "- [ ] Buy milk"}}


@dataclass
class World:
    client: BridgeClient
    guild: discord.Guild
    channels: list[discord.TextChannel]
    members: list[discord.Member]
    pages: dict[str, str]  # title: page id in the Notion simulator

    async def command(self, name: str, *, member: int = 0, channel: int = 0, **options):
        recorder = await use_command(
            self.client, self.channels[channel], self.members[member], name, **options
        )
        [response] = recorder.responses()
        return response

    async def mention(self, question: str, *, member: int = 0) -> None:
        assert self.client.user is not None
        await dpytest.message(
            f"<@{self.client.user.id}> {question}",
            channel=self.channels[0],
            member=self.members[member],
        )
        while not dpytest.sent_queue.empty():
            dpytest.get_message()


@pytest.fixture
async def world(transactional_db, providers, notion_sim, bot):
    """Channel 0 bound to an assistant whose Notion tool writes to "Team list" by default;
    channel 1 bound to nothing."""
    intents = bridge_intents()
    intents.members = True  # dpytest builds members through the member cache
    client = BridgeClient(bot.id, intents=intents, edit_interval=0.05)
    await client._async_setup_hook()
    configure(client, text_channels=2, voice_channels=0, members=2)
    config = dpytest.get_config()
    EditLog().install()
    pages = {title: notion_sim.add_page(title) for title in ("Team list", "My list")}
    await sync_to_async(NotionConnection.objects.create)(
        organization_id=bot.organization_id, name="Notion", token=notion_sim.default_token
    )
    tools = [{"name": "notion_append_to_page", "options": {"default_page_id": pages["Team list"]}}]
    assistant = await sync_to_async(AssistantFactory)(
        organization=bot.organization, first_message="", tools=tools
    )
    await sync_to_async(discord_binding_create)(
        bot=bot,
        guild_id=str(config.guilds[0].id),
        channel_id=str(config.channels[0].id),
        assistant=assistant,
    )
    yield World(client, config.guilds[0], config.channels, config.members, pages)
    await dpytest.empty_queue()
    callbacks.remove_callback("edit_message")


def todos(notion_sim, page: str) -> list[str]:
    return [b["to_do"]["rich_text"][0]["text"]["content"] for b in notion_sim.appended_blocks(page)]


def page_url(page_id: str) -> str:
    return f"https://www.notion.so/acme/My-list-{page_id.replace('-', '')}?pvs=4"


@sync_to_async
def discord_sessions() -> list[Session]:
    return list(Session.objects.unscoped().filter(channel="discord").order_by("created_at"))


# -- /target-page ------------------------------------------------------------------------------


async def test_target_page_sends_only_that_members_todos_to_their_page(
    world, providers, notion_sim
):
    mine = world.pages["My list"]
    response = await world.command("target-page", page=page_url(mine))
    assert response["flags"] == EPHEMERAL
    assert response["content"] == f"Your Notion tools now write to page `{mine}`."

    providers.script_chat({"tool_calls": [APPEND_TODO_CALL]}, {"text": "Added."})
    await world.mention("add buy milk")
    providers.script_chat({"tool_calls": [APPEND_TODO_CALL]}, {"text": "Added."})
    await world.mention("add buy milk", member=1)  # the other member chose nothing

    assert todos(notion_sim, mine) == ["Buy milk"]
    assert todos(notion_sim, world.pages["Team list"]) == ["Buy milk"]
    first, _ = await discord_sessions()
    assert first.metadata["tool_options"]["notion_append_to_page"] == {"default_page_id": mine}


async def test_a_choice_applies_to_the_live_conversation_and_default_undoes_it(
    world, providers, notion_sim
):
    providers.script_chat({"text": "Hi."})
    await world.mention("hello")
    mine = world.pages["My list"]
    await world.command("target-page", page=mine)

    providers.script_chat({"tool_calls": [APPEND_TODO_CALL]}, {"text": "Added."})
    await world.mention("add buy milk")
    assert todos(notion_sim, mine) == ["Buy milk"]

    response = await world.command("target-page", page="default")
    assert response["content"] == "Your Notion tools use the assistant's default page again."
    providers.script_chat({"tool_calls": [APPEND_TODO_CALL]}, {"text": "Added."})
    await world.mention("add buy milk")
    assert todos(notion_sim, world.pages["Team list"]) == ["Buy milk"]
    [session] = await discord_sessions()  # one conversation all along
    assert "tool_options" not in session.metadata


async def test_target_page_refuses_what_is_not_a_notion_page(world):
    response = await world.command("target-page", page="my shopping list")
    assert response["flags"] == EPHEMERAL
    assert "not a Notion page" in response["content"]
    assert not await sync_to_async(DiscordMemberSettings.objects.unscoped().exists)()


# -- /dry-run ------------------------------------------------------------------------------------


async def test_dry_run_on_writes_nothing_and_off_writes_again(world, providers, notion_sim):
    response = await world.command("dry-run", mode="on")
    assert response == {
        "content": "Dry run on: the Notion tools say what they would do and change nothing.",
        "flags": EPHEMERAL,
        "tts": False,
    }
    providers.script_chat({"tool_calls": [APPEND_TODO_CALL]}, {"text": "I would add it."})
    await world.mention("add buy milk")
    team = world.pages["Team list"]
    assert todos(notion_sim, team) == []
    [session] = await discord_sessions()
    result = await sync_to_async(
        lambda: Message.objects.unscoped().get(session=session, role="tool").content
    )()
    assert json.loads(result)["result"]["dry_run"] is True

    await world.command("dry-run", mode="off")
    providers.script_chat({"tool_calls": [APPEND_TODO_CALL]}, {"text": "Added."})
    await world.mention("add buy milk")
    assert todos(notion_sim, team) == ["Buy milk"]


async def test_member_settings_need_a_bound_channel(world):
    response = await world.command("dry-run", channel=1, mode="on")
    assert (response["content"], response["flags"]) == (NOT_BOUND, EPHEMERAL)
    assert not await sync_to_async(DiscordMemberSettings.objects.unscoped().exists)()


async def test_the_runtime_refuses_a_session_override_naming_another_orgs_connection(bot):
    elsewhere = await sync_to_async(OrganizationFactory)()
    foreign = await sync_to_async(NotionConnection.objects.create)(
        organization=elsewhere, name="Theirs", token="ntn_theirs"
    )
    tools = [{"name": "notion_search"}]
    assistant = await sync_to_async(AssistantFactory)(organization=bot.organization, tools=tools)

    async def options_of(override: dict) -> dict:
        session = await sync_to_async(Session.objects.create)(
            organization=bot.organization,
            assistant=assistant,
            metadata={"tool_options": {"notion_search": override}},
        )
        context = await store.load_context(session.id)
        assert context is not None
        return context.enabled_tools["notion_search"]

    assert await options_of({"connection_id": str(foreign.pk)}) == {}  # another org's: refused
    assert await options_of({"dry_run": True}) == {"dry_run": True}


# -- /link-notion ----------------------------------------------------------------------------


async def test_link_notion_gives_managers_a_private_link_to_connect_notion(world, settings, bot):
    settings.PUBLIC_BASE_URL = "https://voice.example.com"
    manage = discord.Permissions(manage_guild=True).value
    response = await world.command("link-notion", channel=1, permissions=manage)
    assert response["flags"] == EPHEMERAL
    [connect, page] = re.findall(r"<(https://[^>]+)>", response["content"])
    organization = await sync_to_async(lambda: bot.organization)()
    assert connect == (
        f"https://voice.example.com/integrations/notion/connect/?organization={organization.slug}"
    )
    assert resolve(urlsplit(connect).path).url_name == "notion-connect"
    assert resolve(urlsplit(page).path).view_name == "dashboard:integrations"


async def test_link_notion_is_for_managers_only(world, settings):
    settings.PUBLIC_BASE_URL = "https://voice.example.com"
    response = await world.command("link-notion")
    assert (response["content"], response["flags"]) == (ONLY_MANAGERS, EPHEMERAL)


async def test_link_notion_without_a_public_address_says_where_to_go(world, settings):
    settings.PUBLIC_BASE_URL = ""
    manage = discord.Permissions(manage_guild=True).value
    response = await world.command("link-notion", permissions=manage)
    assert response["content"] == NO_BASE_URL


# -- /status -----------------------------------------------------------------------------------


async def test_status_shows_the_last_turns_timings(world, providers):
    assert (await world.command("status"))["content"] == (
        "No turns of yours in this server yet: ask something first."
    )
    providers.script_chat({"tool_calls": [APPEND_TODO_CALL]}, {"text": "Added."})
    await world.mention("add buy milk")
    response = await world.command("status")
    assert response["flags"] == EPHEMERAL
    [line] = response["content"].splitlines()[1:]
    assert line.startswith("• add buy milk: STT n/a · LLM ")
    assert re.search(r"LLM [\d,]+ · TTS n/a · Notion [\d,]+ · end to end [\d,]+$", line)
    # another member's /status does not show this member's turns
    other = await world.command("status", member=1)
    assert other["content"].startswith("No turns")


def test_turn_times_of_a_spoken_turn_with_a_notion_call():
    start = timezone.now()

    def at(ms: int, **fields) -> Message:
        return Message(created_at=start + timedelta(milliseconds=ms), **fields)

    messages = [
        at(0, sequence=1, role="user", content="add milk"),
        at(
            700,
            sequence=2,
            role="assistant",
            tool_calls=[{"id": "c1", "name": "notion_append_to_page", "arguments": "{}"}],
            latency={"stt_ms": 180.0, "llm_ttft_ms": 420.0, "tts_ttfb_ms": None},
        ),
        at(1_350, sequence=3, role="tool", tool_call_id="c1", content="{}"),
        at(
            2_000,
            sequence=4,
            role="assistant",
            content="Added.",
            latency={"first_audio_ms": 1900.0},
        ),
        at(5_000, sequence=5, role="user", content="thanks"),
    ]
    first, second = split_turns(messages)
    times = turn_times(first)
    assert (times.stt_ms, times.llm_ms, times.tts_ms) == (180.0, 420.0, None)
    assert times.notion_ms == 650.0
    assert times.total_ms == 1900.0  # spoken: to the first audio (of the reply after the tool)
    assert turn_times(second).total_ms is None  # unanswered yet
    assert status_text([times]).endswith(
        "add milk: STT 180 · LLM 420 · TTS n/a · Notion 650 · end to end 1,900"
    )
