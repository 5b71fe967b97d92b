"""``/join`` and ``/leave`` as Discord delivers them: real INTERACTION_CREATE payloads through a
client's CommandTree (tests/voicebridge/driver.py), the answers recorded at discord.py's
webhook adapter. Connecting to Discord's voice servers cannot happen offline: the join itself
is covered from ``start_call`` on (test_call.py)."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from tests.factories import AssistantFactory
from tests.voicebridge.driver import use_command
from voicebridge.client import BridgeClient
from voicebridge.services import discord_binding_create, discord_bot_update
from voicebridge.voice.commands import (
    NO_VOICE_INTENT,
    NOT_ALLOWED,
    NOT_BOUND,
    NOT_IN_VOICE,
)

pytestmark = pytest.mark.django_db(transaction=True)
EPHEMERAL = 64


async def answer(client, channel, member, command: str) -> dict:
    [response] = (await use_command(client, channel, member, command)).responses()
    assert response["flags"] == EPHEMERAL
    return response


async def test_join_asks_the_caller_to_be_in_a_voice_channel_first(discord_world):
    config = discord_world
    response = await answer(config.client, config.channels[0], config.members[0], "join")
    assert response["content"] == NOT_IN_VOICE


async def test_join_in_an_unbound_server_says_so(discord_world):
    config = discord_world
    member, voice_channel = config.members[0], config.guilds[0].voice_channels[0]
    await member.move_to(voice_channel)  # the member's voice state, as the gateway reports it
    assert member.voice is not None and member.voice.channel == voice_channel
    response = await answer(config.client, config.channels[0], member, "join")
    assert response["content"] == NOT_BOUND


async def test_join_refuses_members_without_an_allowed_role(discord_world, bot):
    config = discord_world
    guild = config.guilds[0]
    assistant = await sync_to_async(AssistantFactory)(organization=bot.organization)
    await sync_to_async(discord_binding_create)(
        bot=bot, guild_id=str(guild.id), assistant=assistant
    )
    await sync_to_async(discord_bot_update)(bot=bot, allowed_role_ids=["1300000000000000999"])
    member = config.members[0]
    await member.move_to(guild.voice_channels[0])
    response = await answer(config.client, config.channels[0], member, "join")
    assert response["content"] == NOT_ALLOWED


async def test_leave_without_a_call(discord_world):
    config = discord_world
    response = await answer(config.client, config.channels[0], config.members[0], "leave")
    assert response["content"] == "I am not in a voice channel here."


async def test_join_says_plainly_when_the_client_cannot_see_voice_states(discord_world):
    config = discord_world
    config.client._connection._intents.voice_states = False  # a client built without it
    response = await answer(config.client, config.channels[0], config.members[0], "join")
    assert response["content"] == NO_VOICE_INTENT


def test_the_bridge_publishes_join_and_leave(bot):
    names = {command.name for command in BridgeClient(bot.id).tree.get_commands()}
    assert {"join", "leave"} <= names
