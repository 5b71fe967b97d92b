"""A live-session client that measures what a caller hears, from the caller's side."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

import websockets

CONNECT_TIMEOUT_S = 20
FRAME_S = 0.02  # a microphone frame: 20 ms of PCM16 16 kHz mono
SILENCE = bytes(640)
REPLY_EVENTS = frozenset({"assistant-delta", "audio-start", "assistant-message"})
QUESTIONS = [
    "What time do you open tomorrow morning?",
    "Can you book a table for two tonight?",
    "How long does delivery to Lisbon take?",
    "Is the blue jacket available in medium?",
    "What is your refund policy for shoes?",
    "Could you remind me about my appointment?",
    "Which plan includes international calls?",
    "Do you have vegetarian options on the menu?",
]


@dataclass
class TurnResult:
    sent_at: float
    deltas: list[tuple[float, str]] = field(default_factory=list)
    first_audio_at: float | None = None
    done_at: float | None = None
    audio_bytes: int = 0
    bytes_per_ms: float = 32.0  # pcm_16000 mono; replaced by what audio-start announces
    message_id: str | None = None
    server_latency: dict[str, Any] | None = None
    error: str | None = None
    seen: dict[str, float] = field(default_factory=dict)  # first arrival of each event kind

    @property
    def text(self) -> str:
        return "".join(content for _, content in self.deltas)

    @property
    def ok(self) -> bool:
        return self.error is None and self.first_audio_at is not None and self.done_at is not None

    def first_audio_ms(self) -> float:
        if self.first_audio_at is None:
            raise ValueError("no audio arrived in this turn")
        return (self.first_audio_at - self.sent_at) * 1000


class BenchSession:
    """One WebSocket session. Every error it meets is recorded, none is raised."""

    def __init__(self, ws_url: str) -> None:
        self.ws_url = ws_url
        self.ws: websockets.ClientConnection | None = None
        self.connected = False
        self.errors: list[str] = []
        self.turns: list[TurnResult] = []
        self._earlier_replies: set[str] = set()

    async def connect(self) -> bool:
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                self.ws = ws = await websockets.connect(
                    self.ws_url, max_size=None, compression=None, ping_interval=None
                )
                while True:
                    frame = await ws.recv()
                    if isinstance(frame, str) and json.loads(frame)["type"] == "connected":
                        self.connected = True
                        return True
        except (OSError, TimeoutError, websockets.WebSocketException) as exc:
            self.errors.append(f"connect: {type(exc).__name__}")
            return False

    async def turn(self, content: str, limit_s: float, *, listen: bool = True) -> TurnResult:
        """Send one user-message and read the reply. ``listen``: then wait until the reply
        would have finished playing (audio arrives faster than it plays), as a caller does."""
        ws = self._connection()
        result = TurnResult(sent_at=time.perf_counter())
        self.turns.append(result)

        async def exchange() -> None:
            await ws.send(json.dumps({"type": "user-message", "content": content}))
            async with asyncio.timeout(limit_s):
                await self._read_reply(result)

        await self._complete(result, exchange(), listen=listen)
        return result

    async def _complete(
        self, result: TurnResult, exchange: Awaitable[None], *, listen: bool
    ) -> None:
        """Run the turn's ``exchange`` (it ends with the reply read), listen, report playback."""
        ws = self._connection()
        try:
            await exchange
            if result.message_id and result.audio_bytes:
                played = result.audio_bytes / result.bytes_per_ms
                if listen and result.first_audio_at is not None:
                    ends = result.first_audio_at + played / 1000
                    await asyncio.sleep(max(0.0, ends - time.perf_counter()))
                # A real client reports playback; without it the next turn would be a barge-in.
                mark = {"type": "mark", "message_id": result.message_id, "played_ms": played}
                await ws.send(json.dumps(mark))
        except TimeoutError:
            result.error = "turn timed out"
        except (OSError, websockets.WebSocketException) as exc:
            result.error = f"connection: {type(exc).__name__}"
        if result.message_id:
            self._earlier_replies.add(result.message_id)
        if result.error is None and result.first_audio_at is None:
            result.error = "no audio"
        if result.error:
            self.errors.append(result.error)

    async def _read_reply(self, result: TurnResult) -> None:
        """Read until this turn's assistant-message. A late reply to an earlier turn (one that
        timed out) is skipped: audio belongs to the message of the last audio-start."""
        ws, audio_for = self._connection(), None
        while True:
            frame = await ws.recv()
            now = time.perf_counter()
            if isinstance(frame, bytes):
                if audio_for is not None and audio_for == result.message_id:
                    result.first_audio_at = result.first_audio_at or now
                    result.audio_bytes += len(frame)
                continue
            event = json.loads(frame)
            kind, message_id = event["type"], event.get("message_id")
            if kind == "transcript" and event.get("final") is False:
                kind = "transcript-partial"  # a live caption; "transcript" is the final words
            result.seen.setdefault(kind, now)
            if message_id in self._earlier_replies:
                audio_for = None if kind == "audio-start" else audio_for
                continue
            if message_id and result.message_id is None and kind in REPLY_EVENTS:
                result.message_id = message_id
            if kind == "assistant-delta":
                result.deltas.append((now, event["content"]))
            elif kind == "audio-start":
                audio_for = message_id
                result.bytes_per_ms = event["sample_rate"] * event["channels"] * 2 / 1000
            elif kind == "error":
                result.error = f"error event: {event.get('code')}"
            elif kind == "assistant-message":
                result.done_at = now
                result.server_latency = event.get("latency")
                return

    def _connection(self) -> websockets.ClientConnection:
        if self.ws is None:
            raise RuntimeError("connect() the session first")
        return self.ws

    async def close(self) -> None:
        if self.ws is not None:
            try:
                await asyncio.wait_for(self.ws.close(), 5)
            except (OSError, TimeoutError, websockets.WebSocketException):
                return  # the server already hung up: nothing left to close


class VoiceSession(BenchSession):
    """A caller who speaks: a microphone that streams 20 ms PCM16 frames in real time, the
    utterance and then silence, for the whole turn (replies are heard over it)."""

    frames_sent = 0  # 20 ms microphone frames, speech and silence

    async def voice_turn(
        self, speech: list[bytes], limit_s: float, *, listen: bool = True
    ) -> TurnResult:
        """Speak ``speech`` (20 ms frames) and read the reply. The turn's ``sent_at`` is the
        moment its last speech frame was sent: ``first_audio_ms()`` is speech end -> first
        audio byte, as the caller feels it."""
        ws = self._connection()
        result = TurnResult(sent_at=0.0)
        self.turns.append(result)
        spoken = asyncio.Event()
        microphone = asyncio.create_task(self._microphone(ws, speech, result, spoken))

        async def exchange() -> None:
            reading = asyncio.create_task(self._read_reply(result))
            try:
                async with asyncio.timeout(limit_s):
                    done, _ = await asyncio.wait(
                        [reading, microphone], return_when=asyncio.FIRST_COMPLETED
                    )
                    if microphone in done and not reading.done():
                        microphone.result()  # raises: the microphone failed, the socket is gone
                    await reading
            finally:
                if not reading.done():
                    reading.cancel()
                    await asyncio.gather(reading, return_exceptions=True)

        try:
            await self._complete(result, exchange(), listen=listen)
        finally:
            microphone.cancel()
            await asyncio.gather(microphone, return_exceptions=True)
        if not spoken.is_set() and result.error is None:
            result.error = "speech not sent"
            self.errors.append(result.error)
        return result

    async def _microphone(
        self,
        ws: websockets.ClientConnection,
        speech: list[bytes],
        result: TurnResult,
        spoken: asyncio.Event,
    ) -> None:
        """Frame i leaves at start + i * 20 ms (late frames leave at once, as a client's
        buffer drains); silence follows the speech until the turn ends."""
        started = time.perf_counter()
        for index, frame in enumerate(itertools.chain(speech, itertools.repeat(SILENCE))):
            delay = started + index * FRAME_S - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await ws.send(frame)
            self.frames_sent += 1
            if index == len(speech) - 1:
                result.sent_at = time.perf_counter()
                spoken.set()


class LoopLag:
    """How late this (the client's) event loop wakes up: a loaded client inflates every figure
    it measures, so the report says how loaded it was."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.samples: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            expected = time.perf_counter() + self.interval
            await asyncio.sleep(self.interval)
            self.samples.append((time.perf_counter() - expected) * 1000)

    async def __aenter__(self) -> LoopLag:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
