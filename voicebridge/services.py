"""Writes for the Discord setup of an organization: bots and their bindings, and the status the
bridge reports. Keyword-only; every write is validated by the model (``full_clean``)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from assistants.models import Assistant, Organization
from integrations.notion.options import NOTION_TOOL_NAMES
from sessions.models import Session
from voicebridge.models import DiscordBinding, DiscordBot, DiscordMemberSettings

BOT_FIELDS = ("name", "application_id", "enabled", "sharded", "allowed_role_ids")
STATUS_FIELDS = ("status", "last_error", "status_changed_at")
BINDING_FIELDS = ("guild_id", "channel_id", "assistant", "enabled")


def discord_bot_create(
    *,
    organization: Organization,
    name: str,
    application_id: str,
    token: str,
    enabled: bool = True,
    sharded: bool = False,
    allowed_role_ids: list[str] | None = None,
) -> DiscordBot:
    bot = DiscordBot(
        organization=organization,
        name=name,
        application_id=application_id,
        token=token,
        enabled=enabled,
        sharded=sharded,
        allowed_role_ids=allowed_role_ids or [],
    )
    bot.full_clean()
    bot.save()
    return bot


def discord_bot_update(*, bot: DiscordBot, token: str | None = None, **fields: Any) -> DiscordBot:
    """Change the given fields; a new ``token`` replaces the stored one (None keeps it) and
    clears an error the old token caused."""
    for name, value in fields.items():
        if name not in BOT_FIELDS:
            raise TypeError(f"discord_bot_update: unknown field {name!r}")
        setattr(bot, name, value)
    changed = [*fields, "updated_at"]
    if token:
        bot.token = token
        _set_status(bot, DiscordBot.Status.NEW, error="")
        changed += ["token", *STATUS_FIELDS]
    bot.full_clean()
    # Only what changed: the bridge writes the status meanwhile, and this instance may be old.
    bot.save(update_fields=changed)
    return bot


def discord_bot_delete(*, bot: DiscordBot) -> None:
    """Deletes the bot, its token and its bindings; its sessions and transcripts stay."""
    bot.delete()


def discord_bot_report_status(*, bot_id: Any, status: str, error: str = "") -> None:
    """What the bridge process saw of a bot's gateway connection (system access: the bridge
    runs every organization's bots)."""
    bot = DiscordBot.objects.unscoped().filter(pk=bot_id).first()
    if bot is None:
        return
    _set_status(bot, status, error=error)
    bot.save(update_fields=STATUS_FIELDS)


def _set_status(bot: DiscordBot, status: str, *, error: str) -> None:
    bot.status = status
    bot.last_error = error[:2_000]
    bot.status_changed_at = timezone.now()


@transaction.atomic
def discord_binding_create(
    *,
    bot: DiscordBot,
    guild_id: str,
    assistant: Assistant,
    channel_id: str = "",
    enabled: bool = True,
) -> DiscordBinding:
    binding = DiscordBinding(
        bot=bot, guild_id=guild_id, channel_id=channel_id, assistant=assistant, enabled=enabled
    )
    binding.full_clean()
    binding.save()
    return binding


def discord_binding_update(*, binding: DiscordBinding, **fields: Any) -> DiscordBinding:
    for name, value in fields.items():
        if name not in BINDING_FIELDS:
            raise TypeError(f"discord_binding_update: unknown field {name!r}")
        setattr(binding, name, value)
    binding.full_clean()
    binding.save()
    return binding


def discord_binding_delete(*, binding: DiscordBinding) -> None:
    binding.delete()


def discord_member_tool_options(*, bot_id: Any, guild_id: str, user_id: str) -> dict[str, Any]:
    """The session metadata that carries a member's ``/target-page`` and ``/dry-run`` to the
    runtime (``tool_options`` of every Notion tool), or {} when they chose nothing."""
    chosen = (
        DiscordMemberSettings.objects.unscoped()
        .filter(bot_id=bot_id, guild_id=guild_id, user_id=user_id)
        .first()
    )
    options = chosen.tool_options if chosen is not None else {}
    return {"tool_options": dict.fromkeys(sorted(NOTION_TOOL_NAMES), options)} if options else {}


@transaction.atomic
def discord_member_settings_update(
    *, bot: DiscordBot, guild_id: str, user_id: str, **fields: Any
) -> DiscordMemberSettings:
    """Set ``notion_page_id`` ("" for the assistant's) and/or ``dry_run`` (None for the
    assistant's) for the member, and apply them to the member's live sessions in the server:
    the next turn uses them."""
    member, _ = DiscordMemberSettings.objects.unscoped().get_or_create(
        bot=bot, guild_id=guild_id, user_id=user_id
    )
    for name, value in fields.items():
        if name not in ("notion_page_id", "dry_run"):
            raise TypeError(f"discord_member_settings_update: unknown field {name!r}")
        setattr(member, name, value)
    member.full_clean()
    member.save()
    _apply_member_settings(bot=bot, guild_id=guild_id, user_id=user_id)
    return member


def _apply_member_settings(*, bot: DiscordBot, guild_id: str, user_id: str) -> None:
    metadata = discord_member_tool_options(bot_id=bot.pk, guild_id=guild_id, user_id=user_id)
    sessions = (
        Session.objects.for_org(bot.organization_id)
        .live()
        .filter(
            channel=Session.Channel.DISCORD,
            metadata__discord__bot_id=str(bot.pk),
            metadata__discord__guild_id=guild_id,
            metadata__discord__user_id=user_id,
        )
        .select_for_update()
    )
    for session in sessions:
        session.metadata.pop("tool_options", None)
        session.metadata.update(metadata)
        session.save(update_fields=["metadata"])
