"""The text path end to end: Discord events in through dpytest, the real runtime against the
provider simulators, replies (sends and edits) out, and everything stored like any session."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta

import discord
import discord.ext.test as dpytest
import pytest
from asgiref.sync import sync_to_async
from discord.ext.test import callbacks
from django.utils import timezone

from assistants.models import Assistant
from assistants.services import assistant_update
from integrations.models import NotionConnection
from sessions.models import Message, Session
from tests.factories import AssistantFactory
from tests.voicebridge.driver import EditLog, configure, use_command
from voicebridge import text
from voicebridge.client import NOT_ALLOWED, NOT_BOUND, BridgeClient, bridge_intents
from voicebridge.models import DiscordMessage
from voicebridge.services import discord_binding_create, discord_bot_update

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass
class Discord:
    client: BridgeClient
    guild: discord.Guild
    channels: list[discord.TextChannel]
    members: list[discord.Member]
    edits: EditLog

    async def say(self, content: str, *, channel: int = 0, member: int = 0) -> discord.Message:
        """A member's message; returns once the bot has finished with it."""
        return await dpytest.message(
            content, channel=self.channels[channel], member=self.members[member]
        )

    async def mention(self, question: str, **where: int) -> discord.Message:
        assert self.client.user is not None
        return await self.say(f"<@{self.client.user.id}> {question}", **where)

    def sent(self) -> list[discord.Message]:
        messages = []
        while not dpytest.sent_queue.empty():
            messages.append(dpytest.get_message())
        return messages

    async def shown(self, message: discord.Message) -> str:
        """A sent message's content as Discord holds it now, after any edits."""
        return (await message.channel.fetch_message(message.id)).content


@pytest.fixture
async def world(transactional_db, providers, bot):
    # The members intent only because dpytest's fake gateway builds members through the member
    # cache; the bridge itself runs with bridge_intents() (see test_the_bridge_asks_...).
    intents = bridge_intents()
    intents.members = True
    client = BridgeClient(bot.id, intents=intents, edit_interval=1.0)
    await client._async_setup_hook()
    configure(client, text_channels=2, voice_channels=0, members=2)
    config = dpytest.get_config()
    edits = EditLog()
    edits.install()
    assistant = await sync_to_async(AssistantFactory)(
        organization=bot.organization, first_message="", tools=[{"name": "current_time"}]
    )
    guild = config.guilds[0]
    await sync_to_async(discord_binding_create)(
        bot=bot, guild_id=str(guild.id), channel_id=str(config.channels[0].id), assistant=assistant
    )
    yield Discord(client, guild, config.channels, config.members, edits)
    await dpytest.empty_queue()
    callbacks.remove_callback("edit_message")


@sync_to_async
def discord_sessions() -> list[Session]:
    return list(
        Session.objects.unscoped().filter(channel=Session.Channel.DISCORD).order_by("created_at")
    )


@sync_to_async
def transcript(session: Session) -> list[tuple[str, str]]:
    messages = Message.objects.unscoped().filter(session=session).order_by("sequence")
    return [(m.role, m.content) for m in messages]


async def test_a_mention_is_a_turn_answered_in_the_channel(world, providers):
    providers.script_chat({"text": "Hello from the assistant."})
    question = await world.mention("what can you do?")
    [reply] = world.sent()
    assert await world.shown(reply) == "Hello from the assistant."
    assert reply.channel == world.channels[0]

    [session] = await discord_sessions()
    assert session.status == "active"
    assert session.metadata == {
        "discord": {
            "bot_id": str(world.client.bot_id),
            "guild_id": str(world.guild.id),
            "channel_id": str(world.channels[0].id),
            "user_id": str(world.members[0].id),
            "user_name": world.members[0].display_name,
        }
    }
    assert await transcript(session) == [
        ("user", "what can you do?"),
        ("assistant", "Hello from the assistant."),
    ]
    link = await sync_to_async(
        lambda: (
            DiscordMessage.objects.for_org(session.organization_id).select_related("message").get()
        )
    )()
    assert (link.discord_message_id, link.author_id, link.reply_message_ids) == (
        str(question.id),
        str(world.members[0].id),
        [str(reply.id)],
    )
    assert link.message.content == "what can you do?"
    assert not providers.requests(provider="elevenlabs")  # text in, text out: no speech


async def test_the_reply_is_one_message_edited_at_most_about_once_a_second(world, providers):
    providers.configure(llm_token_ms=40)
    words = " ".join(f"word{n}" for n in range(60))  # ~120 pieces: about five seconds
    providers.script_chat({"text": words})
    await world.mention("talk to me")
    [reply] = world.sent()
    edits = world.edits.edits
    assert len(edits) >= 3, edits
    assert {edit.message_id for edit in edits} == {reply.id}
    # Every edit but the last waited the interval after the previous publish (send or edit).
    times = [edit.at for edit in edits[:-1]]
    assert all(later - earlier >= 0.95 for earlier, later in itertools.pairwise(times))
    contents = [reply.content, *(edit.content for edit in edits)]
    assert all(words.startswith(content) for content in contents)  # text only grows
    assert edits[-1].content == words == await world.shown(reply)
    # Whatever the model writes (say "@everyone"), the bot's messages ping nobody.
    assert all(edit.allowed_mentions == {"parse": []} for edit in edits)


async def test_one_session_per_member_and_channel_resumed_until_reset(world, providers):
    providers.script_chat({"text": "One."}, {"text": "Two."}, {"text": "Three."}, {"text": "Four"})
    await world.mention("first")
    await world.mention("second")
    await world.mention("someone else", member=1)
    sessions = await discord_sessions()
    assert len(sessions) == 2
    assert await transcript(sessions[0]) == [
        ("user", "first"),
        ("assistant", "One."),
        ("user", "second"),
        ("assistant", "Two."),
    ]
    assert sessions[1].metadata["discord"]["user_id"] == str(world.members[1].id)
    # The model saw the earlier turn: the conversation is one session, not separate questions.
    second_request = providers.requests(provider="openai")[1]
    assert "first" in str(second_request["body"]["messages"])

    world.sent()
    recorder = await use_command(world.client, world.channels[0], world.members[0], "reset")
    [response] = recorder.responses()
    assert response["flags"] == 64 and "Started over" in response["content"]
    ended = (await discord_sessions())[0]
    assert (ended.status, ended.ended_reason) == ("ended", "discord-reset")
    await world.mention("again")
    assert len(await discord_sessions()) == 3


async def test_an_idle_session_is_not_resumed(world, providers, settings):
    providers.script_chat({"text": "One."}, {"text": "Two."})
    await world.mention("first")
    [session] = await discord_sessions()
    long_ago = timezone.now() - timedelta(seconds=settings.SESSION_IDLE_TTL_SECONDS + 1)
    await sync_to_async(Session.objects.unscoped().filter(pk=session.pk).update)(
        last_activity_at=long_ago
    )
    await world.mention("later")
    old, new = await discord_sessions()
    assert (old.status, old.ended_reason) == ("ended", "expired-idle")
    assert await transcript(new) == [("user", "later"), ("assistant", "Two.")]


async def test_tool_calls_are_shown_in_one_line_each(world, providers):
    providers.script_chat(
        {"tool_calls": [{"name": "current_time", "arguments": {"timezone": "UTC"}}]},
        {"text": "It is noon."},
    )
    await world.mention("what time is it?")
    [reply] = world.sent()
    assert await world.shown(reply) == "🔧 current_time timezone=UTC ✓\nIt is noon."
    [session] = await discord_sessions()
    roles = [role for role, _ in await transcript(session)]
    assert roles == ["user", "assistant", "tool", "assistant"]


async def test_a_provider_failure_is_a_short_message_and_the_bot_goes_on(world, providers):
    providers.script_chat({"fault": "503", "times": 3}, {"text": "Back again."})
    await world.mention("anyone there?")
    [failure] = world.sent()
    assert await world.shown(failure) == f"⚠️ {text.FAILED_PROVIDER}"
    [session] = await discord_sessions()
    assert ("user", "anyone there?") in await transcript(session)
    await world.mention("and now?")
    [reply] = world.sent()
    assert await world.shown(reply) == "Back again."


async def test_a_long_reply_continues_in_a_second_message(world, providers):
    long_text = ("A fairly long sentence for Discord's limit. " * 60).strip()  # ~2,600 chars
    await sync_to_async(Assistant.objects.unscoped().update)(max_tokens=2_000)
    providers.script_chat({"text": long_text})
    await world.mention("tell me everything")
    first, second = world.sent()
    shown = [await world.shown(first), await world.shown(second)]
    assert all(len(page) <= 2_000 for page in shown)
    assert " ".join(shown) == long_text


async def test_only_bound_channels_and_allowed_roles_are_answered(world, providers, bot):
    providers.script_chat({"text": "Answered."})
    await world.mention("hello?", channel=1)  # not bound
    await world.say("no mention here")
    assert world.sent() == []

    # dpytest's own Guild.create_role path passes discord.py 2.7's "colors" to a function that
    # does not take it; its backend makes the role (a GUILD_ROLE_CREATE) directly.
    role = dpytest.backend.make_role("assistant-users", world.guild)
    await sync_to_async(discord_bot_update)(bot=bot, allowed_role_ids=[str(role.id)])
    await world.mention("may I?")
    assert world.sent() == []
    assert await discord_sessions() == []

    await dpytest.add_role(world.members[0], role)
    await world.mention("now may I?")
    [reply] = world.sent()
    assert await world.shown(reply) == "Answered."


async def test_a_disabled_bot_is_silent(world, providers, bot):
    await sync_to_async(discord_bot_update)(bot=bot, enabled=False)
    await world.mention("hello?")
    assert world.sent() == []


async def test_an_empty_mention_gets_a_hint_not_a_turn(world, providers):
    await world.mention("")
    [hint] = world.sent()
    assert hint.content.startswith("Ask me something")
    assert await discord_sessions() == []


async def test_slash_ask_answers_in_the_channel_in_the_members_session(world, providers):
    providers.script_chat({"text": "First answer."}, {"text": "Slash answer."})
    await world.mention("hi")
    world.sent()
    recorder = await use_command(
        world.client, world.channels[0], world.members[0], "ask", question="and you?"
    )
    [echo] = recorder.responses()
    assert echo["content"] == f"**{world.members[0].display_name}** asked: and you?"
    assert "flags" not in echo or not echo["flags"] & 64  # public: the channel sees the question
    [reply] = world.sent()
    assert await world.shown(reply) == "Slash answer."
    [session] = await discord_sessions()
    assert [content for _, content in await transcript(session)][-2:] == [
        "and you?",
        "Slash answer.",
    ]
    links = await sync_to_async(
        lambda: list(DiscordMessage.objects.for_org(session.organization_id).order_by("id"))
    )()
    assert links[-1].interaction_id and not links[-1].discord_message_id


async def test_slash_commands_refuse_privately_where_nothing_is_bound(world, providers):
    recorder = await use_command(
        world.client, world.channels[1], world.members[0], "ask", question="hello?"
    )
    assert recorder.responses() == [{"content": NOT_BOUND, "flags": 64, "tts": False}]
    assert world.sent() == []


def test_the_bridge_asks_for_no_privileged_intent():
    intents = bridge_intents()
    assert intents.guilds and intents.guild_messages
    assert not (intents.message_content or intents.members or intents.presences)


async def test_slash_ask_tells_a_member_without_an_allowed_role_privately(world, providers, bot):
    role = dpytest.backend.make_role("assistant-users", world.guild)
    await sync_to_async(discord_bot_update)(bot=bot, allowed_role_ids=[str(role.id)])
    recorder = await use_command(
        world.client, world.channels[0], world.members[0], "ask", question="hello?"
    )
    assert recorder.responses() == [{"content": NOT_ALLOWED, "flags": 64, "tts": False}]
    assert world.sent() == [] and await discord_sessions() == []


async def test_the_gateway_connection_is_reported_on_the_bot(world, bot):
    world.client.dispatch("ready")
    await dpytest.run_all_events()
    await sync_to_async(bot.refresh_from_db)()
    assert (bot.status, bot.last_error) == ("connected", "")
    world.client.dispatch("disconnect")
    await dpytest.run_all_events()
    await sync_to_async(bot.refresh_from_db)()
    assert bot.status == "disconnected" and bot.status_changed_at is not None


async def test_a_notion_todo_asked_for_in_discord_lands_on_the_page(world, providers, notion_sim):
    page = notion_sim.add_page("Shopping list")
    assistant = await sync_to_async(
        lambda: Assistant.objects.unscoped().get(discord_bindings__bot_id=world.client.bot_id)
    )()
    await sync_to_async(NotionConnection.objects.create)(
        organization_id=assistant.organization_id, name="Notion", token=notion_sim.default_token
    )
    tools = [{"name": "notion_append_to_page", "options": {"default_page_id": page}}]
    await sync_to_async(assistant_update)(assistant=assistant, tools=tools)
    providers.script_chat(
        {
            "tool_calls": [
                {"name": "notion_append_to_page", "arguments": {"content": "- [ ] Buy milk"}}
            ]
        },
        {"text": "Added buy milk to your list."},
    )
    await world.mention("add buy milk to my shopping list")
    [reply] = world.sent()
    assert await world.shown(reply) == (
        "🔧 notion_append_to_page content=- [ ] Buy milk ✓\nAdded buy milk to your list."
    )
    [block] = notion_sim.appended_blocks(page)
    assert block["to_do"]["rich_text"][0]["text"]["content"] == "Buy milk"
    assert notion_sim.default_token not in await world.shown(reply)
