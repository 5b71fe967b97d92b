"""The thin discord.py layer of the bridge: one ``BridgeClient`` per Discord bot.

It turns gateway events into ``text.Ask`` values and hands them to the plain functions of
``voicebridge.text``; it decides only what Discord-specific thing to say (a channel message,
an ephemeral answer to a slash command). Turns of one member in one channel run one after
another (a lock per conversation), so a quick second question waits for the first answer.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
import weakref

import discord
from channels.db import database_sync_to_async
from discord import app_commands

from voicebridge import text
from voicebridge.models import DiscordBot
from voicebridge.reply import EDIT_INTERVAL_SECONDS, NO_PINGS, ReplyStream, shorten
from voicebridge.services import discord_bot_report_status

logger = logging.getLogger(__name__)

NOT_BOUND = "No assistant answers in this channel."
NOT_ALLOWED = "You need one of the roles this assistant is open to."
NOT_IN_A_SERVER = "Use this command in a text channel of a server."
QUESTION_ECHO_CHARS = 300


def bridge_intents() -> discord.Intents:
    """Guilds and their messages. Not the privileged message-content intent: Discord sends the
    content of messages that mention the bot without it, and questions are such messages."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
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
        self.tree = app_commands.CommandTree(self)
        self.tree.add_command(ask_command)
        self.tree.add_command(reset_command)
        self._conversations: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    async def setup_hook(self) -> None:
        """Publish the slash commands (one bulk overwrite: unchanged commands stay as they are)."""
        await self.tree.sync()

    async def on_ready(self) -> None:
        await report_status(self.bot_id, DiscordBot.Status.CONNECTED)

    async def on_resumed(self) -> None:
        await report_status(self.bot_id, DiscordBot.Status.CONNECTED)

    async def on_disconnect(self) -> None:
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


async def report_status(bot_id: uuid.UUID, status: str, error: str = "") -> None:
    """Tell the bot's admins what the gateway did; a database outage only costs the report."""
    try:
        await database_sync_to_async(discord_bot_report_status)(
            bot_id=bot_id, status=status, error=error
        )
    except text.DATABASE_DOWN:
        logger.warning("database unavailable: Discord bot %s is %s (not stored)", bot_id, status)


def _channel_ids(channel: object) -> tuple[str, str]:
    """The channel's id and, for a thread, its parent channel's."""
    if isinstance(channel, discord.Thread):
        return str(channel.id), str(channel.parent_id)
    return str(getattr(channel, "id", "")), ""


def _role_ids(member: discord.User | discord.Member) -> frozenset[str]:
    if isinstance(member, discord.Member):
        return frozenset(str(role.id) for role in member.roles)
    return frozenset()


def ask_from_message(client: BridgeClient, message: discord.Message) -> text.Ask | None:
    """The question in a server message that mentions the bot, else None."""
    me = client.user
    if me is None or message.author.bot or message.guild is None or me not in message.mentions:
        return None
    channel_id, parent_id = _channel_ids(message.channel)
    return text.Ask(
        bot_id=client.bot_id,
        guild_id=str(message.guild.id),
        channel_id=channel_id,
        parent_channel_id=parent_id,
        author_id=str(message.author.id),
        author_name=message.author.display_name,
        role_ids=_role_ids(message.author),
        content=re.sub(rf"<@!?{me.id}>", "", message.content).strip(),
        message_id=str(message.id),
    )


def ask_from_interaction(interaction: discord.Interaction, question: str) -> text.Ask | None:
    """The question of a slash command used in a server's text channel, else None."""
    client = interaction.client
    if (
        not isinstance(client, BridgeClient)
        or interaction.guild_id is None
        or not isinstance(interaction.channel, discord.abc.Messageable)
    ):
        return None
    channel_id, parent_id = _channel_ids(interaction.channel)
    return text.Ask(
        bot_id=client.bot_id,
        guild_id=str(interaction.guild_id),
        channel_id=channel_id,
        parent_channel_id=parent_id,
        author_id=str(interaction.user.id),
        author_name=interaction.user.display_name,
        role_ids=_role_ids(interaction.user),
        content=question.strip(),
        interaction_id=str(interaction.id),
    )


async def _route_or_refuse(
    interaction: discord.Interaction, ask: text.Ask | None
) -> text.Route | None:
    """The route of a slash command, or None after telling the member why not (privately)."""
    try:
        route = await text.route_for(ask) if ask is not None else None
    except text.DATABASE_DOWN:
        await interaction.response.send_message(text.FAILED_DATABASE, ephemeral=True)
        return None
    refusal = _refusal(ask, route)
    if refusal is not None:
        await interaction.response.send_message(refusal, ephemeral=True)
        return None
    return route


def _refusal(ask: text.Ask | None, route: text.Route | None) -> str | None:
    if ask is None:
        return NOT_IN_A_SERVER
    if route is None:
        return NOT_BOUND
    if not route.allows(ask):
        return NOT_ALLOWED
    return None


@app_commands.command(name="ask", description="Ask this channel's assistant.")
@app_commands.describe(question="What you want to ask or tell the assistant")
async def ask_command(interaction: discord.Interaction, question: str) -> None:
    ask = ask_from_interaction(interaction, question)
    route = await _route_or_refuse(interaction, ask)
    if route is None or ask is None:
        return
    if problem := text.question_problem(ask.content):
        await interaction.response.send_message(problem, ephemeral=True)
        return
    # The interaction is answered at once (Discord allows 3 s) with the question; the reply
    # streams into the channel like an answer to a mention.
    echo = f"**{ask.author_name}** asked: {shorten(question, QUESTION_ECHO_CHARS)}"
    await interaction.response.send_message(echo, allowed_mentions=NO_PINGS)
    client, channel = interaction.client, interaction.channel
    if isinstance(client, BridgeClient) and isinstance(channel, discord.abc.Messageable):
        await client.converse(route, ask, channel=channel)


@app_commands.command(name="reset", description="Start a new conversation in this channel.")
async def reset_command(interaction: discord.Interaction) -> None:
    ask = ask_from_interaction(interaction, "")
    route = await _route_or_refuse(interaction, ask)
    if route is None or ask is None:
        return
    try:
        ended = await text.reset(route, ask)
    except text.DATABASE_DOWN:
        await interaction.response.send_message(text.FAILED_DATABASE, ephemeral=True)
        return
    message = (
        "Started over: your next question begins a new conversation."
        if ended
        else "There was no conversation to end; your next question starts one."
    )
    await interaction.response.send_message(message, ephemeral=True)
