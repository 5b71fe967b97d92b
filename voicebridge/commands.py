"""The bridge's slash commands. Each checks where it is used (a bound channel, a member the
bot is open to) through ``text.route_for``, and answers privately unless it starts a turn.

``/ask`` and ``/reset``: a turn, or a new conversation. ``/target-page`` and ``/dry-run``: the
member's own options for the Notion tools (stored per bot, server and member, and carried to
the runtime in the session's ``tool_options``). ``/link-notion``: for members with Manage
Server, a link to connect the organization's Notion workspace. ``/status``: the timings of the
member's last turns in the server (typed or spoken).
"""

from __future__ import annotations

import uuid
from typing import Literal
from urllib.parse import urlencode

import discord
from channels.db import database_sync_to_async
from discord import app_commands
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse

from integrations.notion.ids import parse_notion_id
from voicebridge import text
from voicebridge.client import (
    NOT_ALLOWED,
    NOT_BOUND,
    NOT_IN_A_SERVER,
    BridgeClient,
    channel_ids_of,
    role_ids_of,
)
from voicebridge.models import DiscordBot
from voicebridge.reply import NO_PINGS, shorten
from voicebridge.selectors import TurnTimes, last_turns
from voicebridge.services import discord_member_settings_update

QUESTION_ECHO_CHARS = 300
CLEAR_WORDS = ("default", "none", "off", "clear")
NOT_A_PAGE = "That is not a Notion page: paste the page's link (Share, Copy link) or its id."
ONLY_MANAGERS = "Only members with the Manage Server permission can connect Notion."
NO_BASE_URL = (
    "The platform's address is not configured (PUBLIC_BASE_URL): connect Notion from the "
    "dashboard's Integrations page."
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
    channel_id, parent_id = channel_ids_of(interaction.channel)
    return text.Ask(
        bot_id=client.bot_id,
        guild_id=str(interaction.guild_id),
        channel_id=channel_id,
        parent_channel_id=parent_id,
        author_id=str(interaction.user.id),
        author_name=interaction.user.display_name,
        role_ids=role_ids_of(interaction.user),
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


@app_commands.command(
    name="target-page", description="The Notion page your to-dos and notes go to."
)
@app_commands.describe(page="A Notion page link or id; 'default' for the assistant's page")
async def target_page_command(interaction: discord.Interaction, page: str) -> None:
    chosen = page.strip()
    page_id = "" if chosen.lower() in CLEAR_WORDS else parse_notion_id(chosen)
    if page_id is None:
        await interaction.response.send_message(NOT_A_PAGE, ephemeral=True)
        return
    if await _update_member(interaction, notion_page_id=page_id):
        message = (
            f"Your Notion tools now write to page `{page_id}`."
            if page_id
            else "Your Notion tools use the assistant's default page again."
        )
        await interaction.response.send_message(message, ephemeral=True)


@app_commands.command(name="dry-run", description="Try the Notion tools without changing pages.")
@app_commands.describe(mode="on: say what would change, change nothing; off: change pages")
async def dry_run_command(interaction: discord.Interaction, mode: Literal["on", "off"]) -> None:
    if await _update_member(interaction, dry_run=mode == "on"):
        message = (
            "Dry run on: the Notion tools say what they would do and change nothing."
            if mode == "on"
            else "Dry run off: the Notion tools change your pages."
        )
        await interaction.response.send_message(message, ephemeral=True)


async def _update_member(interaction: discord.Interaction, **fields: object) -> bool:
    """Store the member's choice (and apply it to their live sessions); False after telling
    them why it could not be done."""
    ask = ask_from_interaction(interaction, "")
    route = await _route_or_refuse(interaction, ask)
    if route is None or ask is None:
        return False
    try:
        await database_sync_to_async(discord_member_settings_update)(
            bot=route.bot, guild_id=ask.guild_id, user_id=ask.author_id, **fields
        )
    except text.DATABASE_DOWN:
        await interaction.response.send_message(text.FAILED_DATABASE, ephemeral=True)
        return False
    except ValidationError as error:
        await interaction.response.send_message(" ".join(error.messages), ephemeral=True)
        return False
    return True


@app_commands.command(name="link-notion", description="Connect your organization's Notion.")
@app_commands.default_permissions(manage_guild=True)
@app_commands.guild_only()
async def link_notion_command(interaction: discord.Interaction) -> None:
    client = interaction.client
    if interaction.guild_id is None or not isinstance(client, BridgeClient):
        await interaction.response.send_message(NOT_IN_A_SERVER, ephemeral=True)
        return
    # default_permissions only hides the command; a server can show it to anyone.
    if not interaction.permissions.manage_guild:
        await interaction.response.send_message(ONLY_MANAGERS, ephemeral=True)
        return
    try:
        links = await notion_links(client.bot_id)
    except text.DATABASE_DOWN:
        await interaction.response.send_message(text.FAILED_DATABASE, ephemeral=True)
        return
    await interaction.response.send_message(links, ephemeral=True)


@database_sync_to_async
def notion_links(bot_id: uuid.UUID) -> str:
    """Where an admin of the bot's organization connects Notion (after signing in)."""
    bot = DiscordBot.objects.unscoped().select_related("organization").filter(pk=bot_id).first()
    base = settings.PUBLIC_BASE_URL
    if bot is None:
        return NOT_BOUND
    if not base:
        return NO_BASE_URL
    organization = bot.organization
    query = urlencode({"organization": organization.slug})
    connect = f"{base}{reverse('integrations:notion-connect')}?{query}"
    page = f"{base}{reverse('dashboard:integrations')}"
    return (
        f"Connect Notion for **{organization.name}**: <{connect}>\n"
        f"(sign in as an admin of the organization; connections are listed at <{page}>)"
    )


@app_commands.command(name="status", description="How long your last turns took.")
async def status_command(interaction: discord.Interaction) -> None:
    ask = ask_from_interaction(interaction, "")
    route = await _route_or_refuse(interaction, ask)
    if route is None or ask is None:
        return
    try:
        turns = await database_sync_to_async(last_turns)(
            organization_id=route.bot.organization_id,
            bot_id=route.bot.pk,
            guild_id=ask.guild_id,
            user_id=ask.author_id,
        )
    except text.DATABASE_DOWN:
        await interaction.response.send_message(text.FAILED_DATABASE, ephemeral=True)
        return
    await interaction.response.send_message(status_text(turns), ephemeral=True)


def status_text(turns: list[TurnTimes]) -> str:
    if not turns:
        return "No turns of yours in this server yet: ask something first."
    lines = ["Your last turns (milliseconds; n/a: not measured):"]
    for turn in turns:
        lines.append(
            f"• {shorten(turn.question, 60)}: STT {_ms(turn.stt_ms)} · LLM {_ms(turn.llm_ms)} · "
            f"TTS {_ms(turn.tts_ms)} · Notion {_ms(turn.notion_ms)} · "
            f"end to end {_ms(turn.total_ms)}"
        )
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


COMMANDS: list[app_commands.Command] = [
    ask_command,
    reset_command,
    target_page_command,
    dry_run_command,
    link_notion_command,
    status_command,
]
