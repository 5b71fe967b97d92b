"""A voice client for offline tests: discord.py's voice client with the network taken out.

Playing is real: ``play`` runs discord.py's own ``AudioPlayer`` thread, which reads the
bridge's source every 20 ms and hands each frame to ``send_audio_packet``, where libopus
encodes it exactly as ``VoiceClient.send_audio_packet`` does; the PCM frames and the Opus
packets are kept instead of being sent over UDP. Receiving is real from the RTP packet on:
``say`` builds each packet a Discord client sends (RTP header and Opus payload, 20 ms apart),
parses it with voice_recv's RTP decoder and feeds voice_recv's own ``PacketRouter`` (its
jitter buffer per SSRC, the SSRC mapped to the member as a SPEAKING event does), whose thread
writes to the listening sink. Only the UDP socket and the transport decryption are left out.
"""

from __future__ import annotations

import asyncio
import struct
import threading
import time
from types import SimpleNamespace
from typing import Any

import discord
from discord import opus
from discord.ext.voice_recv import rtp
from discord.ext.voice_recv.router import PacketRouter
from discord.player import AudioPlayer


class FakeVoiceClient:
    def __init__(self, loop: asyncio.AbstractEventLoop, guild: discord.Guild) -> None:
        # the player sends its speaking state on the loop; voice_recv looks members up
        self.client = SimpleNamespace(loop=loop, get_user=lambda user_id: None)
        self.guild = guild
        self._ssrc_to_id: dict[int, int] = {}
        self.router: PacketRouter | None = None
        self._sequences: dict[int, int] = {}
        self.ws = self
        self.timeout = 5.0
        self.encoder = opus.Encoder()
        self.frames: list[bytes] = []  # PCM the player read from the source, in order
        self.packets: list[bytes] = []  # what would have gone to Discord
        self.speaking: list[Any] = []
        self.stops = 0
        self.frames_at_stop: list[int] = []  # how many frames had been played at each stop
        self.sink: Any = None
        self._player: AudioPlayer | None = None
        self._lock = threading.Lock()

    # ---- speaking (the part of discord.VoiceClient the bridge uses) ------------------------

    def play(self, source: discord.AudioSource, *, after: Any = None) -> None:
        if self.is_playing():
            raise discord.ClientException("Already playing audio.")
        self._player = AudioPlayer(source, self, after=after)
        self._player.start()

    def is_playing(self) -> bool:
        return self._player is not None and self._player.is_playing()

    def stop(self) -> None:
        self.stops += 1
        with self._lock:
            self.frames_at_stop.append(len(self.frames))
        if self._player is not None:
            self._player.stop()
            self._player = None

    def listen(self, sink: Any) -> None:
        sink._voice_client = self
        self.sink = sink
        # voice_recv's router; of its reader it only uses the voice client
        self.router = PacketRouter(sink, SimpleNamespace(voice_client=self))
        self.router.start()

    def stop_listening(self) -> None:
        """Called by the router as its thread ends."""

    def close(self) -> None:
        if self.router is not None:
            self.router.stop()
        self.stop()

    def _get_id_from_ssrc(self, ssrc: int) -> int | None:
        return self._ssrc_to_id.get(ssrc)

    # ---- what AudioPlayer calls ------------------------------------------------------------

    def send_audio_packet(self, data: bytes, *, encode: bool = True) -> None:
        with self._lock:
            if encode:
                self.frames.append(data)
                data = self.encoder.encode(data, self.encoder.SAMPLES_PER_FRAME)
            self.packets.append(data)

    async def speak(self, state: Any) -> None:
        self.speaking.append(state)

    def is_connected(self) -> bool:
        return True

    def wait_until_connected(self, timeout: float | None = None) -> bool:
        return True

    # ---- receiving -------------------------------------------------------------------------

    async def say(self, member: discord.Member, packets: list[bytes], *, ssrc: int = 4242) -> None:
        """``member`` speaks ``packets`` (20 ms of Opus each), in real time."""
        await asyncio.to_thread(self._receive, member, packets, ssrc)

    def _receive(self, member: discord.Member, packets: list[bytes], ssrc: int) -> None:
        assert self.router is not None, "not listening"
        self._ssrc_to_id[ssrc] = member.id  # what a SPEAKING event tells voice_recv
        self.router.set_user_id(ssrc, member.id)
        sequence = self._sequences.get(ssrc, 0)
        started = time.perf_counter()
        for index, payload in enumerate(packets):
            header = struct.pack(">BBHII", 0x80, 0x78, sequence, sequence * 960, ssrc)
            packet = rtp.decode_rtp(header + payload)
            packet.decrypted_data = payload  # what voice_recv's transport decryption yields
            self.router.feed_rtp(packet)
            sequence = (sequence + 1) % 65536
            time.sleep(max(0.0, started + (index + 1) * 0.02 - time.perf_counter()))
        self._sequences[ssrc] = sequence
