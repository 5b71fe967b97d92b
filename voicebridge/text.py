"""The Discord text path in plain functions: which assistant a message reaches, whose session
it continues, and one turn of it through the live runtime, streamed into the channel.

A question (a mention of the bot, or ``/ask``) in a bound channel is a turn of a live session
of channel ``discord``. Each (bot, channel, member) has one session, resumed until it ends:
``/reset``, the assistant ending it, or ``SESSION_IDLE_TTL_SECONDS`` without a message (the
expiry sweep ends such sessions; one found idle before the sweep ran is ended here the same
way). The bridge is the platform's own process serving every organization's bots, so its
lookups by bot id are ``unscoped()``; everything after that is scoped to the bot's organization.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.db.models import Q
from django.utils import timezone

from sessions.expiry import EXPIRED_IDLE
from sessions.models import Message, Session, SessionQuerySet
from sessions.protocol import MAX_TEXT_CHARS, storable_text
from sessions.runtime import text_turn
from sessions.services import session_create, session_end
from voicebridge.models import DiscordBinding, DiscordBot, DiscordMessage
from voicebridge.reply import ReplyStream
from voicebridge.services import discord_member_tool_options

logger = logging.getLogger(__name__)

RESET_REASON = "discord-reset"
FAILED_PROVIDER = "The assistant could not answer: its model provider is unavailable. Try again."
FAILED_OURS = "Something went wrong on our side. Your message was saved."
#: the database is down, unreachable or out of connections (the runtime's StoreUnavailable too)
DATABASE_DOWN = (OperationalError, InterfaceError)
FAILED_DATABASE = "The database is unavailable right now, so nothing was saved. Try again shortly."


@dataclass(frozen=True)
class Ask:
    """One question from Discord, as the gateway described it."""

    bot_id: uuid.UUID
    guild_id: str
    channel_id: str
    author_id: str
    author_name: str
    content: str
    role_ids: frozenset[str] = frozenset()
    parent_channel_id: str = ""  # the channel a thread belongs to
    message_id: str = ""  # a mention; an /ask has its interaction id instead
    interaction_id: str = ""

    @property
    def metadata(self) -> dict[str, Any]:
        """What the session keeps of where it is held (not the message ids: see DiscordMessage)."""
        return {
            "discord": {
                "bot_id": str(self.bot_id),
                "guild_id": self.guild_id,
                "channel_id": self.channel_id,
                "user_id": self.author_id,
                "user_name": self.author_name,
            }
        }


@dataclass(frozen=True)
class Route:
    """The bot (as it is configured now) and the binding a question reaches."""

    bot: DiscordBot
    binding: DiscordBinding

    def allows(self, ask: Ask) -> bool:
        return self.bot.allows(set(ask.role_ids))


def question_problem(content: str) -> str | None:
    """Why a question cannot be a turn, or None."""
    if not content.strip():
        return "Ask me something after the mention, e.g. @bot what's on my list?"
    if len(content) > MAX_TEXT_CHARS:
        return f"That is too long: at most {MAX_TEXT_CHARS} characters."
    if not storable_text(content):
        return "That message contains characters that cannot be stored."
    return None


@database_sync_to_async
def route_for(ask: Ask) -> Route | None:
    """The enabled bot and the binding of the channel (a thread: its channel), else of the
    guild; None where nothing is bound."""
    bot = DiscordBot.objects.unscoped().filter(pk=ask.bot_id, enabled=True).first()
    if bot is None:
        return None
    channels = [c for c in (ask.channel_id, ask.parent_channel_id) if c]
    bindings = (
        DiscordBinding.objects.for_org(bot.organization_id)
        .active()
        .filter(bot=bot, guild_id=ask.guild_id)
        .filter(Q(channel_id__in=channels) | Q(channel_id=""))
        .select_related("assistant")
    )
    # The most specific binding wins: the thread itself, its channel, then the whole guild.
    ranked = sorted(bindings, key=lambda b: [*channels, ""].index(b.channel_id))
    return Route(bot, ranked[0]) if ranked else None


def _conversations(route: Route, ask: Ask) -> SessionQuerySet:
    discord = ask.metadata["discord"]
    return (
        Session.objects.for_org(route.bot.organization_id)
        .live()
        .filter(
            channel=Session.Channel.DISCORD,
            metadata__discord__bot_id=discord["bot_id"],
            metadata__discord__channel_id=discord["channel_id"],
            metadata__discord__user_id=discord["user_id"],
        )
    )


@database_sync_to_async
def session_for(route: Route, ask: Ask) -> Session:
    """The member's live session in this channel with the bound assistant, else a new one."""
    idle_since = timezone.now() - timedelta(seconds=settings.SESSION_IDLE_TTL_SECONDS)
    found = (
        _conversations(route, ask)
        .filter(assistant=route.binding.assistant)
        .order_by("-created_at")
        .first()
    )
    if found is not None and found.last_activity_at >= idle_since:
        return found
    if found is not None:  # idle for longer than the sweep allows: end it as the sweep would
        session_end(session_id=found.id, reason=EXPIRED_IDLE)
    chosen = discord_member_tool_options(
        bot_id=route.bot.pk, guild_id=ask.guild_id, user_id=ask.author_id
    )  # the member's /target-page and /dry-run
    return session_create(
        assistant=route.binding.assistant,
        channel=Session.Channel.DISCORD,
        metadata={**ask.metadata, **chosen},
    )


@database_sync_to_async
def reset(route: Route, ask: Ask) -> int:
    """End the member's sessions in this channel (any assistant); how many were live."""
    ended = [
        session_end(session_id=session_id, reason=RESET_REASON)
        for session_id in _conversations(route, ask).values_list("pk", flat=True)
    ]
    return sum(ended)


@database_sync_to_async
def remember(session: Session, ask: Ask, reply_message_ids: list[str]) -> None:
    """Link the turn's stored user message to the Discord message (or interaction) it came
    from and to the messages that answered it."""
    message = (
        Message.objects.for_org(session.organization_id)
        .filter(session=session, role=Message.Role.USER, sequence__gt=session.last_sequence)
        .order_by("sequence")
        .first()
    )
    if message is None:  # the database refused the message: there is nothing to link
        return
    DiscordMessage.objects.create(
        session=session,
        message=message,
        discord_message_id=ask.message_id,
        interaction_id=ask.interaction_id,
        author_id=ask.author_id,
        reply_message_ids=reply_message_ids,
    )


async def answer(route: Route, ask: Ask, stream: ReplyStream) -> Session | None:
    """One turn: the reply streams into ``stream``; a failure becomes a short notice there.
    Returns the session the question was stored in (None if that could not be done)."""
    async with stream:
        session = await _turn(route, ask, stream)
    if session is not None:
        try:
            await remember(session, ask, stream.message_ids)
        except DATABASE_DOWN:
            logger.warning("the Discord ids of a turn of session %s were not stored", session.id)
    return session


async def _turn(route: Route, ask: Ask, stream: ReplyStream) -> Session | None:
    session = None
    try:
        for _ in range(2):  # the session may end between finding and using it: take a new one
            session = await session_for(route, ask)
            try:
                await text_turn.run_text_turn(session.id, ask.content.strip(), listener=stream)
            except text_turn.SessionOver:
                continue
            return session
        stream.fail(FAILED_OURS)
        return None
    except DATABASE_DOWN:
        stream.fail(FAILED_DATABASE)
    except text_turn.TurnFailed:
        stream.fail(FAILED_PROVIDER)
    except text_turn.TurnCrashed:
        stream.fail(FAILED_OURS)
    except Exception:  # a bug here must not leave the member without an answer: say so
        logger.exception("Discord turn of session %s failed", getattr(session, "id", None))
        stream.fail(FAILED_OURS)
    return session
