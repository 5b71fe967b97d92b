"""Writes for the Discord setup of an organization: bots and their bindings, and the status the
bridge reports. Keyword-only; every write is validated by the model (``full_clean``)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from assistants.models import Assistant, Organization
from voicebridge.models import DiscordBinding, DiscordBot

BOT_FIELDS = ("name", "application_id", "enabled", "allowed_role_ids")
BINDING_FIELDS = ("guild_id", "channel_id", "assistant", "enabled")


def discord_bot_create(
    *,
    organization: Organization,
    name: str,
    application_id: str,
    token: str,
    enabled: bool = True,
    allowed_role_ids: list[str] | None = None,
) -> DiscordBot:
    bot = DiscordBot(
        organization=organization,
        name=name,
        application_id=application_id,
        token=token,
        enabled=enabled,
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
    if token:
        bot.token = token
        _set_status(bot, DiscordBot.Status.NEW, error="")
    bot.full_clean()
    bot.save()
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
    bot.save(update_fields=["status", "last_error", "status_changed_at"])


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
