"""The thin discord.py layer of the bridge: one ``BridgeClient`` per Discord bot.

It turns gateway events into ``text.Ask`` values and hands them to the plain functions of
``voicebridge.text``; it decides only what Discord-specific thing to say (a channel message,
an ephemeral answer to a slash command). Turns of one member in one channel run one after
another (a lock per conversation), so a quick second question waits for the first answer.

Slash commands live in the modules named in ``COMMAND_MODULES`` (each has a ``COMMANDS``
list); the client publishes all of them. ``voicebridge.runner`` starts and stops the clients.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import re
import uuid
import weakref

import discord
from channels.db import database_sync_to_async
from discord import app_commands

from voicebridge import text
from voicebridge.models import DiscordBot
from voicebridge.reply import EDIT_INTERVAL_SECONDS, NO_PINGS, ReplyStream
from voicebridge.services import discord_bot_report_status

logger = logging.getLogger(__name__)

NOT_BOUND = "No assistant answers in this channel."
NOT_ALLOWED = "You need one of the roles this assistant is open to."
NOT_IN_A_SERVER = "Use this command in a text channel of a server."

#: Modules whose ``COMMANDS`` the bot publishes: the text commands, then each extra transport's.
COMMAND_MODULES: list[str] = [
    "voicebridge.commands",
    "voicebridge.voice.commands",
]


def bridge_commands() -> list[app_commands.Command]:
    """Every slash command of the bridge (imported here: the command modules use this one)."""
    return [
        command
        for module in COMMAND_MODULES
        for command in importlib.import_module(module).COMMANDS
    ]


def bridge_intents() -> discord.Intents:
    """Guilds, their messages and voice states (who is in which voice channel: /join needs it,
    and connecting to voice waits for the bot's own). No privileged intent: Discord sends the
    content of messages that mention the bot without message content, and questions are such
    messages."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.voice_states = True
    return intents


class BridgeClient(discord.Client):
    def __init__(
        self,
        bot_id: uuid.UUID,
        *,
        edit_interval: float = EDIT_INTERVAL_SECONDS,
        intents: discord.Intents | None = None,
    ) -> None:
        super().__init__(intents=intents or bridge_intents(), allowed_mentions=NO_PINGS)
        self.bot_id = bot_id
        self.edit_interval = edit_interval
        #: True from READY (or RESUMED) until the gateway connection drops
        self.gateway_connected = False
        self.gateway_connected_once = False  # the runner's backoff starts over after a success
        self.tree = app_commands.CommandTree(self)
        for command in bridge_commands():
            self.tree.add_command(command)
        self._conversations: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    async def setup_hook(self) -> None:
        """Publish the slash commands (one bulk overwrite: unchanged commands stay as they are)."""
        await self.tree.sync()

    async def on_ready(self) -> None:
        self.gateway_connected = self.gateway_connected_once = True
        await report_status(self.bot_id, DiscordBot.Status.CONNECTED)

    async def on_resumed(self) -> None:
        self.gateway_connected = True
        await report_status(self.bot_id, DiscordBot.Status.CONNECTED)

    async def on_disconnect(self) -> None:
        self.gateway_connected = False
        await report_status(self.bot_id, DiscordBot.Status.DISCONNECTED)

    async def on_message(self, message: discord.Message) -> None:
        ask = ask_from_message(self, message)
        if ask is None:
            return
        try:
            route = await text.route_for(ask)
        except text.DATABASE_DOWN:
            logger.warning("database unavailable: a Discord message went unanswered")
            return
        if route is None or not route.allows(ask):
            return  # not bound here, or not for this member: the bot stays silent
        if problem := text.question_problem(ask.content):
            await message.reply(problem, mention_author=False, allowed_mentions=NO_PINGS)
            return
        await self.converse(route, ask, channel=message.channel, reference=message)

    async def converse(
        self,
        route: text.Route,
        ask: text.Ask,
        *,
        channel: discord.abc.Messageable,
        reference: discord.Message | None = None,
    ) -> None:
        """Answer ``ask`` in ``channel``, after this member's previous turn here has finished."""
        key = (ask.channel_id, ask.author_id)
        lock = self._conversations.get(key)
        if lock is None:
            lock = self._conversations[key] = asyncio.Lock()
        async with lock:
            stream = ReplyStream(channel, reference=reference, interval=self.edit_interval)
            await text.answer(route, ask, stream)


class ShardedBridgeClient(BridgeClient, discord.AutoShardedClient):
    """A bot in more servers than one gateway connection may serve (2,500): discord.py asks
    Discord for the recommended shard count and runs them all in this client."""


async def report_status(bot_id: uuid.UUID, status: str, error: str = "") -> None:
    """Tell the bot's admins what the gateway did; a database outage only costs the report."""
    try:
        await database_sync_to_async(discord_bot_report_status)(
            bot_id=bot_id, status=status, error=error
        )
    except text.DATABASE_DOWN:
        logger.warning("database unavailable: Discord bot %s is %s (not stored)", bot_id, status)


def channel_ids_of(channel: object) -> tuple[str, str]:
    """The channel's id and, for a thread, its parent channel's."""
    if isinstance(channel, discord.Thread):
        return str(channel.id), str(channel.parent_id)
    return str(getattr(channel, "id", "")), ""


def role_ids_of(member: discord.User | discord.Member) -> frozenset[str]:
    if isinstance(member, discord.Member):
        return frozenset(str(role.id) for role in member.roles)
    return frozenset()


def ask_from_message(client: BridgeClient, message: discord.Message) -> text.Ask | None:
    """The question in a server message that mentions the bot, else None."""
    me = client.user
    if me is None or message.author.bot or message.guild is None or me not in message.mentions:
        return None
    channel_id, parent_id = channel_ids_of(message.channel)
    return text.Ask(
        bot_id=client.bot_id,
        guild_id=str(message.guild.id),
        channel_id=channel_id,
        parent_channel_id=parent_id,
        author_id=str(message.author.id),
        author_name=message.author.display_name,
        role_ids=role_ids_of(message.author),
        content=re.sub(rf"<@!?{me.id}>", "", message.content).strip(),
        message_id=str(message.id),
    )
