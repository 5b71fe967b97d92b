"""``/join`` and ``/leave``: the thin discord.py layer of voice.

``/join`` connects to the caller's voice channel with voice_recv's ``VoiceRecvClient`` (a
``discord.VoiceClient`` that can also receive), starts a ``VoiceCall`` for the assistant bound
to that voice channel (else to the text channel the command was used in) and listens with a
``CallListener``. One call per server (Discord allows a bot one voice connection per guild).
The bot needs the ``voice_states`` intent to see which channel the caller is in.
"""

from __future__ import annotations

import logging
import weakref
from typing import Any

import discord
from discord import app_commands
from discord.ext import voice_recv

from voicebridge import text
from voicebridge.voice.audio import OpusUnavailable, load_opus
from voicebridge.voice.call import VoiceCall
from voicebridge.voice.dave import connection_session
from voicebridge.voice.listen import CallListener

logger = logging.getLogger(__name__)

NOT_IN_VOICE = "Join a voice channel first, then use /join."
NOT_BOUND = "No assistant answers in your voice channel or in this channel."
NOT_ALLOWED = "You need one of the roles this assistant is open to."
NOT_IN_A_SERVER = "Use this command in a server."
NO_VOICE_INTENT = "Voice is not enabled on this bridge (it does not receive voice states)."
NO_OPUS = "Voice is unavailable on this bridge (libopus is missing)."
COULD_NOT_CONNECT = "I could not connect to your voice channel. Check my Connect permission."
CONNECT_TIMEOUT_SECONDS = 20

#: Each client's calls, by guild id.
_calls: weakref.WeakKeyDictionary[discord.Client, dict[int, VoiceCall]] = (
    weakref.WeakKeyDictionary()
)


def calls_of(client: discord.Client) -> dict[int, VoiceCall]:
    return _calls.setdefault(client, {})


def _ask(interaction: discord.Interaction, channel_id: int) -> text.Ask | None:
    bot_id = getattr(interaction.client, "bot_id", None)
    if bot_id is None or interaction.guild_id is None:
        return None
    user = interaction.user
    return text.Ask(
        bot_id=bot_id,
        guild_id=str(interaction.guild_id),
        channel_id=str(channel_id),
        author_id=str(user.id),
        author_name=user.display_name,
        role_ids=frozenset(str(role.id) for role in getattr(user, "roles", [])),
        content="",
        interaction_id=str(interaction.id),
    )


async def route_for_call(
    interaction: discord.Interaction, voice_channel: discord.abc.Snowflake
) -> tuple[text.Route | None, str | None]:
    """The route of the caller's voice channel, else of the command's text channel; or why
    there is none for this caller."""
    for channel_id in (voice_channel.id, interaction.channel_id):
        ask = _ask(interaction, channel_id or 0)
        if ask is None:
            return None, NOT_IN_A_SERVER
        route = await text.route_for(ask)
        if route is not None:
            return (route, None) if route.allows(ask) else (None, NOT_ALLOWED)
    return None, NOT_BOUND


def _voice_channel(
    interaction: discord.Interaction,
) -> discord.VoiceChannel | discord.StageChannel | None:
    state = getattr(interaction.user, "voice", None)
    channel = getattr(state, "channel", None)
    return channel if isinstance(channel, discord.VoiceChannel | discord.StageChannel) else None


async def start_call(
    client: discord.Client,
    *,
    route: text.Route,
    voice: Any,
    guild_id: int,
    voice_channel_id: int,
    text_channel: Any,
) -> VoiceCall:
    """Listen and speak in a connected voice client for ``route``'s assistant."""
    call = VoiceCall(
        route=route,
        guild_id=str(guild_id),
        voice_channel_id=str(voice_channel_id),
        voice=voice,
        text_channel=text_channel,
    )
    listener = CallListener(call, loop=client.loop, dave_session=lambda: connection_session(voice))
    voice.listen(listener)
    calls_of(client)[guild_id] = call
    return call


async def end_call(client: discord.Client, guild_id: int) -> bool:
    """Leave the guild's call, if there is one: stop listening and speaking, disconnect."""
    call = calls_of(client).pop(guild_id, None)
    guild = client.get_guild(guild_id)
    voice = guild.voice_client if guild is not None else None
    if call is not None:
        await call.close()
    if voice is not None:
        await voice.disconnect(force=False)
    return call is not None or voice is not None


@app_commands.command(name="join", description="Join your voice channel; talk with the assistant.")
async def join_command(interaction: discord.Interaction) -> None:
    if not interaction.client.intents.voice_states:
        logger.error("/join: the bridge's client lacks the voice_states gateway intent")
        await interaction.response.send_message(NO_VOICE_INTENT, ephemeral=True)
        return
    channel = _voice_channel(interaction)
    if not isinstance(interaction.channel, discord.abc.Messageable) or interaction.guild is None:
        await interaction.response.send_message(NOT_IN_A_SERVER, ephemeral=True)
        return
    if channel is None:
        await interaction.response.send_message(NOT_IN_VOICE, ephemeral=True)
        return
    try:
        load_opus()
        route, refusal = await route_for_call(interaction, channel)
    except OpusUnavailable:
        route, refusal = None, NO_OPUS
    except text.DATABASE_DOWN:
        route, refusal = None, text.FAILED_DATABASE
    if route is None:
        await interaction.response.send_message(refusal or NOT_BOUND, ephemeral=True)
        return
    await interaction.response.defer(thinking=True)  # connecting takes longer than 3 s
    await end_call(interaction.client, interaction.guild.id)  # moving: leave the old call
    try:
        voice = await channel.connect(
            cls=voice_recv.VoiceRecvClient, timeout=CONNECT_TIMEOUT_SECONDS
        )
    except (TimeoutError, discord.ClientException) as exc:
        logger.warning("could not join voice channel %s: %s", channel.id, exc)
        await interaction.followup.send(COULD_NOT_CONNECT, ephemeral=True)
        return
    await start_call(
        interaction.client,
        route=route,
        voice=voice,
        guild_id=interaction.guild.id,
        voice_channel_id=channel.id,
        text_channel=interaction.channel,
    )
    name = route.binding.assistant.name
    await interaction.followup.send(f"🎙️ {name} is listening in {channel.mention}.")


@app_commands.command(name="leave", description="The assistant leaves the voice channel.")
async def leave_command(interaction: discord.Interaction) -> None:
    if interaction.guild is None:
        await interaction.response.send_message(NOT_IN_A_SERVER, ephemeral=True)
        return
    left = await end_call(interaction.client, interaction.guild.id)
    message = "Left the voice channel." if left else "I am not in a voice channel here."
    await interaction.response.send_message(message, ephemeral=True)


COMMANDS: list[app_commands.Command[Any, ..., None]] = [join_command, leave_command]
