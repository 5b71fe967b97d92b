"""The bot's voice in a call: replies played one after another through discord.py.

The runtime sends each reply's audio as it is synthesized (``AudioStart``, chunks,
``AudioEnd``), faster than real time. ``Speaker`` converts it to Discord's frames as it comes
and queues it; discord.py's audio player (its own thread) reads one 20 ms frame every 20 ms
from a ``ReplySource``, encodes it with libopus (and DAVE when the call has it) and sends it.
While a reply waits for more synthesized audio the source plays silence; when nothing is
left to say it ends, and the next reply starts the player again.

Barge-in (``clear``) drops the reply's queued audio and stops the player
(``VoiceClient.stop``) at once. What was played of each reply is known to the frame, and the
listening side reports it to the runtime as the client's playback mark, so an interrupted reply
is stored as far as it was heard.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import OrderedDict, deque
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, Protocol

import discord

from voicebridge.voice.audio import FRAME_MS, SILENT_FRAME, ToDiscord

logger = logging.getLogger(__name__)

#: A reply whose audio stops arriving (its session went away without AudioEnd) is given up
#: after this long of waiting silence, so the bot does not hold the channel forever.
STALLED_REPLY_FRAMES = 5_000 // FRAME_MS
PLAYER_STOP_TIMEOUT_SECONDS = 1.0
REMEMBERED_REPLIES = 64


class VoiceOut(Protocol):
    """What is used of ``discord.VoiceClient`` to speak."""

    def play(self, source: discord.AudioSource, *, after: Any = None) -> None: ...

    def stop(self) -> None: ...

    def is_playing(self) -> bool: ...


@dataclass
class QueuedReply:
    message_id: str
    converter: ToDiscord
    frames: deque[bytes] = field(default_factory=deque)
    ended: bool = False
    played_frames: int = 0
    waited_frames: int = 0


class ReplySource(discord.AudioSource):
    """PCM frames for discord.py's player thread; empty bytes end the playback."""

    def __init__(self, speaker: Speaker) -> None:
        self._speaker = speaker
        self.finished = False

    def read(self) -> bytes:
        return self._speaker.next_frame(self)

    def is_opus(self) -> bool:
        return False


class Speaker:
    def __init__(self, voice: VoiceOut) -> None:
        self._voice = voice
        self._lock = threading.Lock()  # the player thread reads while the event loop writes
        self._replies: deque[QueuedReply] = deque()
        self._played: OrderedDict[str, int] = OrderedDict()  # message id -> frames played
        self._source: ReplySource | None = None
        self._starting = asyncio.Lock()
        self._player_stopped: asyncio.Event | None = None

    # ---- the runtime's side (event loop) ---------------------------------------------------

    async def start(self, message_id: str, *, sample_rate: int, encoding: str) -> None:
        reply = QueuedReply(message_id, ToDiscord(sample_rate=sample_rate, encoding=encoding))
        with self._lock:
            self._replies.append(reply)
            self._remember(message_id, 0)
        await self._ensure_playing()

    async def feed(self, message_id: str, chunk: bytes) -> None:
        reply = self._reply(message_id)
        if reply is None:
            return  # cleared meanwhile
        frames = reply.converter.feed(chunk)
        with self._lock:
            reply.frames.extend(frames)
        await self._ensure_playing()

    def end(self, message_id: str) -> None:
        reply = self._reply(message_id)
        if reply is None:
            return
        frames = reply.converter.flush()
        with self._lock:
            reply.frames.extend(frames)
            reply.ended = True

    async def clear(self, message_id: str) -> bool:
        """Barge-in: drop the reply's audio; stop the player if it was speaking it."""
        with self._lock:
            reply = next((r for r in self._replies if r.message_id == message_id), None)
            if reply is None:
                return False
            playing = reply is self._replies[0]
            self._replies.remove(reply)
            if playing and self._source is not None:
                self._source.finished = True
        if playing:
            self._voice.stop()
            if self._replies:
                await self._ensure_playing()
        return playing

    def stop(self) -> None:
        """Say nothing more (leaving the call)."""
        with self._lock:
            self._replies.clear()
            if self._source is not None:
                self._source.finished = True
        self._voice.stop()

    def played_ms(self, message_id: str) -> float | None:
        with self._lock:
            frames = self._played.get(message_id)
        return None if frames is None else float(frames * FRAME_MS)

    @property
    def speaking(self) -> bool:
        with self._lock:
            return bool(self._replies)

    # ---- discord.py's player thread ---------------------------------------------------------

    def next_frame(self, source: ReplySource) -> bytes:
        with self._lock:
            if source.finished:
                return b""
            while self._replies:
                reply = self._replies[0]
                if reply.frames:
                    reply.played_frames += 1
                    self._remember(reply.message_id, reply.played_frames)
                    return reply.frames.popleft()
                if reply.ended or reply.waited_frames >= STALLED_REPLY_FRAMES:
                    self._replies.popleft()
                    continue
                reply.waited_frames += 1
                return SILENT_FRAME  # the synthesizer is behind: a gap, not the end
            source.finished = True
            return b""

    # ---- internals -------------------------------------------------------------------------

    def _reply(self, message_id: str) -> QueuedReply | None:
        with self._lock:
            return next((r for r in self._replies if r.message_id == message_id), None)

    def _remember(self, message_id: str, frames: int) -> None:
        self._played[message_id] = frames
        self._played.move_to_end(message_id)
        while len(self._played) > REMEMBERED_REPLIES:
            self._played.popitem(last=False)

    async def _ensure_playing(self) -> None:
        async with self._starting:
            with self._lock:
                if not self._replies or (self._source is not None and not self._source.finished):
                    return
                self._source = source = ReplySource(self)
            await self._wait_player_stopped()
            stopped = self._player_stopped = asyncio.Event()
            loop = asyncio.get_running_loop()

            def after(error: Exception | None) -> None:  # in the player's thread
                if error is not None:
                    logger.error("Discord audio player failed: %s", error)
                loop.call_soon_threadsafe(stopped.set)

            try:
                self._voice.play(source, after=after)
            except discord.ClientException as exc:  # disconnected from voice meanwhile
                logger.warning("could not play a reply in Discord: %s", exc)
                source.finished = True

    async def _wait_player_stopped(self) -> None:
        """A finished source ends discord.py's player a moment later; play() refuses to
        start a new one before."""
        if self._player_stopped is None or not self._voice.is_playing():
            return
        with suppress(TimeoutError):
            await asyncio.wait_for(self._player_stopped.wait(), PLAYER_STOP_TIMEOUT_SECONDS)
