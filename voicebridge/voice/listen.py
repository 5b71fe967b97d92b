"""Receiving a call's voice: discord-ext-voice-recv's packets, DAVE-opened, Opus-decoded and
resampled, handed to the call on the event loop.

``CallListener`` is a voice_recv ``AudioSink`` that takes Opus (``wants_opus``): voice_recv
has removed the transport encryption and mapped the packet's SSRC to the member who sent it;
the sink opens the DAVE layer with the connection's session, decodes with its own libopus
decoder per member and resamples to 16 kHz mono (``FromDiscord``). voice_recv calls ``write``
from its packet-router thread, so the work there is CPU-only and the result crosses to the
event loop with ``call_soon_threadsafe``. A bad packet is logged and dropped: an exception
would stop voice_recv's router, and with it all listening.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import discord
from discord.ext import voice_recv

from voicebridge.voice.audio import FromDiscord
from voicebridge.voice.call import VoiceCall, VoiceMember
from voicebridge.voice.dave import DaveFrameRefused, DecryptingSession, open_frame

logger = logging.getLogger(__name__)


def member_of(user: discord.Member | discord.User) -> VoiceMember:
    roles = getattr(user, "roles", [])
    return VoiceMember(
        user_id=user.id, name=user.display_name, role_ids=frozenset(str(r.id) for r in roles)
    )


class CallListener(voice_recv.AudioSink):
    def __init__(
        self,
        call: VoiceCall,
        *,
        loop: asyncio.AbstractEventLoop,
        dave_session: Callable[[], DecryptingSession | None],
    ) -> None:
        super().__init__()
        self.call = call
        self.loop = loop
        self.dave_session = dave_session  # looked up per packet: DAVE re-keys during a call
        self.inbound: dict[int, FromDiscord] = {}
        self.refused_frames = 0

    def wants_opus(self) -> bool:
        return True

    def write(self, user: discord.Member | discord.User | None, data: Any) -> None:
        try:
            self._write(user, data)
        except Exception:  # one bad packet must not stop voice_recv's router thread
            logger.exception("a received voice packet could not be processed")

    def _write(self, user: discord.Member | discord.User | None, data: Any) -> None:
        if user is None or user.bot:
            return  # an SSRC not mapped to a member yet, or another bot
        member = member_of(user)
        if not self.call.hears(member):
            return
        frame: bytes | None = data.opus or None  # None: a lost packet, concealed by libopus
        if frame is not None:
            try:
                frame = open_frame(self.dave_session(), user.id, frame)
            except DaveFrameRefused as exc:
                self.refused_frames += 1
                logger.debug("DAVE frame of %s dropped: %s", user.id, exc)
                return
        inbound = self.inbound.get(user.id)
        if inbound is None:
            inbound = self.inbound[user.id] = FromDiscord()
        pcm = inbound.decode(frame)
        if pcm:
            self.loop.call_soon_threadsafe(self.call.deliver, member, pcm)

    @voice_recv.AudioSink.listener()
    def on_voice_member_disconnect(self, member: discord.Member, ssrc: int | None) -> None:
        self.inbound.pop(member.id, None)

    def cleanup(self) -> None:
        self.inbound.clear()
