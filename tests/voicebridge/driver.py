"""Driving a BridgeClient offline.

Message events go through dpytest, which replaces discord.py's HTTP client and gateway with its
own in-memory Discord: ``dpytest.message`` is a MESSAGE_CREATE, sent messages land in its
queue, and every edit passes its ``edit_message`` callback (recorded here with the time).

Slash commands arrive as real INTERACTION_CREATE payloads parsed by discord.py's own connection
state, so the client's CommandTree finds and runs the command as it would under Discord. The
interaction's answer leaves through discord.py's webhook adapter (dpytest does not cover
interactions): ``InteractionRecorder`` is that adapter, keeping each request instead of
sending it to discord.com.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

import discord
import discord.ext.test as dpytest
from discord.ext.test import callbacks
from discord.webhook.async_ import AsyncWebhookAdapter, async_context

_interaction_ids = itertools.count(1_400_000_000_000_000_000)


@dataclass
class Edit:
    at: float
    message_id: int
    content: str
    allowed_mentions: dict | None


@dataclass
class EditLog:
    edits: list[Edit] = field(default_factory=list)

    async def record(self, channel: Any, message: discord.Message, fields: dict) -> None:
        payload = fields["params"].payload
        self.edits.append(
            Edit(time.monotonic(), message.id, payload["content"], payload.get("allowed_mentions"))
        )

    def install(self) -> None:
        callbacks.set_callback(self.record, "edit_message")


def configure(client: discord.Client, **options: Any) -> None:
    """``dpytest.configure``, which swaps the client's connection state for its own, then hands
    that state the client's command tree as ``CommandTree.__init__`` did with the original."""
    tree = client._connection._command_tree
    dpytest.configure(client, **options)
    client._connection._command_tree = tree


class InteractionRecorder(AsyncWebhookAdapter):
    """discord.py's webhook adapter, answering interaction callbacks without a network."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[tuple[str, str, Any]] = []

    async def request(self, route: Any, session: Any, *, payload: Any = None, **_: Any) -> Any:
        self.requests.append((route.method, route.path, payload))
        return {"interaction": {"id": str(route.webhook_id)}}

    def responses(self) -> list[dict]:
        """The interaction responses' data: content and flags (64 = ephemeral)."""
        return [p["data"] for m, path, p in self.requests if path.endswith("/callback")]


def interaction_payload(
    client: discord.Client,
    channel: discord.abc.GuildChannel,
    member: discord.Member,
    command: str,
    *,
    permissions: int = 0,
    **options: str,
) -> dict[str, Any]:
    """An APPLICATION_COMMAND interaction as Discord's gateway sends it; ``permissions``: the
    member's in the channel (``discord.Permissions(...).value``)."""
    guild = channel.guild
    assert client.user is not None
    return {
        "id": str(next(_interaction_ids)),
        "application_id": str(client.user.id),
        "type": 2,
        "token": "interaction-token",
        "version": 1,
        "guild_id": str(guild.id),
        "channel_id": str(channel.id),
        "channel": {
            "id": str(channel.id),
            "type": 0,
            "guild_id": str(guild.id),
            "name": channel.name,
            "position": 0,
            "permission_overwrites": [],
        },
        "member": {
            "user": {
                "id": str(member.id),
                "username": member.name,
                "discriminator": member.discriminator,
                "avatar": None,
                "global_name": None,
            },
            "nick": member.nick,
            "roles": [str(role.id) for role in member.roles if role != guild.default_role],
            "joined_at": "2026-01-01T00:00:00+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
            "permissions": str(permissions),
        },
        "data": {
            "id": "1",
            "name": command,
            "type": 1,
            "options": [
                {"name": name, "type": 3, "value": value} for name, value in options.items()
            ],
        },
        "locale": "en-US",
        "guild_locale": "en-US",
        "app_permissions": "0",
        "entitlements": [],
        "authorizing_integration_owners": {},
        "context": 0,
        "attachment_size_limit": 8_000_000,
    }


async def use_command(
    client: discord.Client,
    channel: discord.abc.GuildChannel,
    member: discord.Member,
    command: str,
    *,
    permissions: int = 0,
    **options: str,
) -> InteractionRecorder:
    """Send a slash command and wait until the client's CommandTree has run it."""
    recorder = InteractionRecorder()
    token = async_context.set(recorder)
    try:
        client._connection.parse_interaction_create(
            interaction_payload(
                client, channel, member, command, permissions=permissions, **options
            )
        )
        invokers = [t for t in asyncio.all_tasks() if t.get_name() == "CommandTree-invoker"]
        assert invokers, "the command tree did not pick the interaction up"
        await asyncio.gather(*invokers)
    finally:
        async_context.reset(token)
    return recorder
