"""Speak a reply as the model writes it: cut the text into speakable pieces, synthesize the
next piece while the previous one plays out, send the audio in order, and let a barge-in
silence it before the next byte.

Cutting (``SpeechChunker``): the first piece ends at the first clause boundary ("Sure," is
enough) so speech starts while the model is still writing; later pieces end at sentence
boundaries, which sound more natural. A piece that grows too long is cut at a clause
boundary, or at a space as a last resort.

A boundary is a mark followed by white space, so most cuts wait for the next token. The first
piece does not wait where the mark cannot be anything else: a comma, semicolon or colon right
after a letter ("Sure," but not "1,"), or "!", "?", a dash or an ellipsis. That saves one
token's delay (~25 ms) before the first audio. A full stop always waits ("Dr.", "3.5").
"""

from __future__ import annotations

import asyncio
import enum
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, TypeAlias

from integrations.errors import ProviderError
from integrations.tts import AudioFormat, TTSClient
from sessions.protocol import AudioEnd, AudioStart, Sink

SENTENCE_END = re.compile(r"[.!?…]+[\"')\]]*\s")
CLAUSE_END = re.compile("[,;:\u2014\u2013]\\s|" r"[.!?…]+[\"')\]]*\s")
# The end of the text so far is a clause boundary whatever comes next.
CLAUSE_END_NOW = re.compile("(?:(?<=[^\\W\\d_])[,;:]|[!?\u2014\u2013\u2026])$")
MAX_PIECE_CHARS = 250


class SpeechChunker:
    def __init__(self, *, first_piece_min_chars: int = 2) -> None:
        self._buffer = ""
        self._pieces_out = 0
        self._first_min = first_piece_min_chars

    def push(self, text: str) -> list[str]:
        """Add streamed text; return the pieces that are now complete."""
        self._buffer += text
        pieces = []
        while (piece := self._next_piece()) is not None:
            pieces.append(piece)
        return pieces

    def flush(self) -> list[str]:
        """The rest of the text, once the stream has ended."""
        rest, self._buffer = self._buffer.strip(), ""
        return [rest] if _speakable(rest) else []

    def _next_piece(self) -> str | None:
        first = self._pieces_out == 0
        cut = self._cut_at(CLAUSE_END if first else SENTENCE_END)
        if cut is None and first:
            cut = self._cut_at(CLAUSE_END_NOW)
        if cut is None and len(self._buffer) > MAX_PIECE_CHARS:
            cut = self._cut_at(CLAUSE_END) or self._buffer.rfind(" ", 0, MAX_PIECE_CHARS) + 1
            cut = cut if _speakable(self._buffer[:cut]) else None
        if not cut:
            return None
        piece, self._buffer = self._buffer[:cut].strip(), self._buffer[cut:]
        self._pieces_out += 1
        return piece

    def _cut_at(self, pattern: re.Pattern[str]) -> int | None:
        # Punctuation alone ("... ") is not worth a TTS request: it stays with what follows.
        for match in pattern.finditer(self._buffer):
            prefix = self._buffer[: match.end()].strip()
            if len(prefix) >= self._first_min and _speakable(prefix):
                return match.end()
        return None


def _speakable(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


PREFETCH = 3  # TTS requests in flight at once for one reply
# A prefetched piece reads its first audio (the request is known to work, its time to first
# byte is known) and then waits for its turn: until then its audio stays in the socket buffer
# and costs no wake-up per chunk; when the player reaches it, what arrived meanwhile is read
# in a few large reads.
# Audio already waiting leaves in one frame: each frame costs a WebSocket send and a socket
# write, which made up most of a spoken reply's CPU (see docs/PERFORMANCE.md).
MAX_FRAME_BYTES = 32 * 1024
CHARS_PER_SECOND = 15  # a usual speaking rate, to place the end of a piece still being sent


class _End(enum.Enum):
    END = enum.auto()


_END: Final = _End.END
# What the queue of one piece carries: its audio, the error that cut it short, then _END.
_PieceItem: TypeAlias = bytes | ProviderError | _End


@dataclass
class Voice:
    tts: Callable[[], TTSClient]  # looked up at each use, as TurnConfig.llm
    voice_id: str
    model_id: str
    settings: dict[str, Any]
    output_format: AudioFormat


@dataclass
class SpokenPiece:
    text: str
    start_byte: int
    end_byte: int | None = None


@dataclass
class AudioTimeline:
    """Which text went out with which audio bytes, to tell what the listener heard."""

    bytes_per_second: int
    pieces: list[SpokenPiece] = field(default_factory=list)
    bytes_sent: int = 0

    def heard_text(self, played_ms: float) -> str:
        """The words of the first ``played_ms`` of audio, never beyond what was sent."""
        played = min(int(played_ms * self.bytes_per_second / 1000), self.bytes_sent)
        heard = []
        for piece in self.pieces:
            end = piece.end_byte if piece.end_byte is not None else self._expected_end(piece)
            if played >= end:
                heard.append(piece.text)
            elif played > piece.start_byte:
                heard.append(
                    _cut_words(piece.text, (played - piece.start_byte) / (end - piece.start_byte))
                )
        return " ".join(t for t in heard if t)

    def sent_ms(self) -> float:
        return self.bytes_sent * 1000 / self.bytes_per_second

    def _expected_end(self, piece: SpokenPiece) -> int:
        """Where the audio of a piece still being sent will end: at the pace of the pieces
        already complete, else at a usual speaking rate; at least as far as it got."""
        done = [p for p in self.pieces if p.end_byte is not None]
        chars = sum(len(p.text) for p in done)
        done_bytes = sum(p.end_byte - p.start_byte for p in done if p.end_byte is not None)
        per_char = done_bytes / chars if chars else self.bytes_per_second / CHARS_PER_SECOND
        return max(piece.start_byte + int(per_char * len(piece.text)), self.bytes_sent)


def _join_waiting(
    chunk: bytes, queue: asyncio.Queue[_PieceItem]
) -> tuple[bytes, ProviderError | _End | None]:
    """``chunk`` and the audio already queued behind it, up to MAX_FRAME_BYTES; and the first
    non-audio item taken off the queue (an error or the end), which the caller handles next."""
    parts, size = [chunk], len(chunk)
    while size < MAX_FRAME_BYTES and not queue.empty():
        item = queue.get_nowait()
        if not isinstance(item, bytes):
            return b"".join(parts), item
        parts.append(item)
        size += len(item)
    return b"".join(parts), None


def _cut_words(text: str, fraction: float) -> str:
    words = text.split()
    return " ".join(words[: int(len(words) * fraction)])


class SpeechOutput:
    """The audio of one assistant message."""

    def __init__(self, *, voice: Voice, message_id: str, sink: Sink) -> None:
        self._voice = voice
        self._message_id = message_id
        self._sink = sink
        self._chunker = SpeechChunker()
        self._queues: asyncio.Queue[tuple[str, asyncio.Queue[_PieceItem], asyncio.Event] | None] = (
            asyncio.Queue()
        )
        self._fetches: list[asyncio.Task[None]] = []
        self._slots = asyncio.Semaphore(PREFETCH)
        self._player = asyncio.create_task(self._play(), name=f"speech-{message_id}")
        self.timeline = AudioTimeline(voice.output_format.bytes_per_second)
        self.muted = False
        self.failed: ProviderError | None = None
        self.characters = 0
        self.tts_ttfb_ms: float | None = None
        self.first_audio_at: float | None = None

    def write(self, text: str) -> None:
        """More of the reply's text, as the model writes it: each piece that is complete now
        goes to TTS at once."""
        for piece in self._chunker.push(text):
            self._say(piece)

    async def finish(self) -> None:
        """The text is complete: speak the rest, and wait until every piece has been sent."""
        for piece in self._chunker.flush():
            self._say(piece)
        self._queues.put_nowait(None)
        await asyncio.shield(self._player)

    def _say(self, text: str) -> None:
        if self.failed or self.muted:
            return
        queue: asyncio.Queue[_PieceItem] = asyncio.Queue()
        turn = asyncio.Event()
        self.characters += len(text)
        self._fetches.append(asyncio.create_task(self._fetch(text, queue, turn)))
        self._queues.put_nowait((text, queue, turn))

    def played_ms(self, marked_ms: float | None) -> float:
        """How much has been played: the client's latest mark, else the time since the first
        audio went out (played as it arrives); never more than was sent."""
        if self.first_audio_at is None:
            return 0.0
        if marked_ms is None:
            marked_ms = (time.perf_counter() - self.first_audio_at) * 1000
        return min(marked_ms, self.timeline.sent_ms())

    def heard_text(self, marked_ms: float | None) -> str:
        return self.timeline.heard_text(self.played_ms(marked_ms))

    def unplayed_ms(self, marked_ms: float | None) -> float:
        """Audio sent but not played yet."""
        return self.timeline.sent_ms() - self.played_ms(marked_ms)

    def mute(self) -> None:
        """Stop sending audio now; synchronous so no await can slip a frame out after it."""
        self.muted = True

    async def cancel(self) -> None:
        self.mute()
        tasks = [self._player, *self._fetches]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _fetch(
        self, text: str, queue: asyncio.Queue[_PieceItem], turn: asyncio.Event
    ) -> None:
        async with self._slots:
            started = time.perf_counter()
            try:
                stream = self._voice.tts().stream_speech(
                    text=text,
                    voice_id=self._voice.voice_id,
                    model_id=self._voice.model_id,
                    voice_settings=self._voice.settings,
                    output_format=self._voice.output_format,
                )
                async for chunk in stream:
                    if self.tts_ttfb_ms is None:
                        self.tts_ttfb_ms = (time.perf_counter() - started) * 1000
                    queue.put_nowait(chunk)
                    if not turn.is_set():
                        await turn.wait()
            except ProviderError as exc:
                queue.put_nowait(exc)
            finally:
                queue.put_nowait(_END)

    async def _play(self) -> None:
        started = False
        while (item := await self._queues.get()) is not None:
            text, queue, turn = item
            turn.set()
            piece = SpokenPiece(text, self.timeline.bytes_sent)
            held = None  # what stopped the last join: an error or the end of this piece
            while (chunk := held or await queue.get()) is not _END:
                held = None
                if isinstance(chunk, ProviderError):
                    self.failed = self.failed or chunk
                    continue
                if self.muted or self.failed:
                    continue
                chunk, held = _join_waiting(chunk, queue)
                if not started:
                    started = True
                    await self._sink.send_event(self._audio_start())
                if not self.timeline.pieces or self.timeline.pieces[-1] is not piece:
                    self.timeline.pieces.append(piece)
                await self._sink.send_audio(chunk)
                self.timeline.bytes_sent += len(chunk)
                if self.first_audio_at is None:
                    self.first_audio_at = time.perf_counter()
            piece.end_byte = self.timeline.bytes_sent
        if started and not self.muted:
            await self._sink.send_event(AudioEnd(message_id=self._message_id))

    def _audio_start(self) -> AudioStart:
        fmt = self._voice.output_format
        return AudioStart(
            message_id=self._message_id,
            encoding=fmt.encoding,
            sample_rate=fmt.sample_rate,
            channels=fmt.channels,
        )
