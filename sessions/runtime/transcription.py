"""Transcribe one utterance while it is spoken, on a realtime speech-to-text stream.

The audio goes out in ~100 ms chunks as it arrives; partial transcripts come back as live
captions. A commit ends a segment (at the utterance's end, or at a short pause when a
preemptive reply wants the words so far), and the utterance's text is its segments' texts in
order. Every byte sent is kept, with the offset each commit covers: if the stream fails (it
cannot open, it breaks, or a commit is not answered in time), the audio no committed transcript
covers is transcribed in batch instead, so nothing said is lost.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from config import metrics
from integrations.errors import ProviderError
from integrations.stt import StreamingSTTClient, StreamingTranscriber, STTClient

logger = logging.getLogger(__name__)

CHUNK_BYTES = 3_200  # 100 ms of 16 kHz PCM16: a tenth of the messages of 20 ms frames
COMMIT_TIMEOUT_SECONDS = 5.0  # a commit not answered by then: the stream is taken as broken

Spawn = Callable[[Awaitable[None], str], object]


@dataclass(frozen=True)
class StreamingSetup:
    provider: str
    client: Callable[[], StreamingSTTClient]
    batch: Callable[[], STTClient] | None  # the fallback for a failed stream
    model: str
    batch_model: str
    language: str | None
    sample_rate: int


@dataclass(frozen=True)
class Heard:
    text: str
    audio_seconds: float


class StreamedUtterance:
    """One utterance on its own realtime stream; the session's tasks pump and read it."""

    def __init__(
        self,
        setup: StreamingSetup,
        on_caption: Callable[[StreamedUtterance, str], Awaitable[None]],
    ) -> None:
        self.id = uuid.uuid4()
        self.setup = setup
        self.segments: list[str] = []
        self.caption = ""  # the words heard so far: committed segments and the latest partial
        self.audio = bytearray()  # every byte of the utterance, in the order sent
        self.failure: ProviderError | None = None
        self._on_caption = on_caption
        self._unsent = 0  # audio[-unsent:] is waiting to fill a chunk
        self._outbox: asyncio.Queue[bytes | None] = asyncio.Queue()  # audio, or None: commit
        self._commits: deque[int] = deque()  # audio offsets of commits awaiting a transcript
        self._covered = 0  # audio[:covered] has committed transcripts
        self._answered = asyncio.Event()
        self._answered.set()
        self.pump_task: asyncio.Task[None] | None = None  # set by whoever spawns ``pump``

    # ---- what the listener calls (never blocks) --------------------------------------------

    def write(self, pcm: bytes) -> None:
        self.audio += pcm
        self._unsent += len(pcm)
        if self._unsent >= CHUNK_BYTES:
            self._flush()

    def commit(self) -> None:
        """End a segment here: its committed transcript is awaited by ``heard``."""
        if self.failure is not None:
            return  # the rest is transcribed in batch
        if len(self.audio) == (self._commits[-1] if self._commits else self._covered):
            return  # nothing since the last commit
        self._flush()
        self._commits.append(len(self.audio))
        self._answered.clear()
        self._outbox.put_nowait(None)

    @property
    def text(self) -> str:
        return " ".join(s for s in self.segments if s)

    async def heard(self) -> Heard:
        """The whole utterance's text, once it is committed and every commit is answered (or,
        if the stream failed, once the rest of the audio is transcribed in batch)."""
        self.commit()
        try:
            async with asyncio.timeout(COMMIT_TIMEOUT_SECONDS):
                await self._answered.wait()
        except TimeoutError:
            unanswered = "a commit was not answered in time"
            self._fail(ProviderError(self.setup.provider, "timeout", unanswered, retryable=True))
        seconds = len(self.audio) / (2 * self.setup.sample_rate)
        if self.failure is None:
            return Heard(self.text, seconds)
        rest = await self._batch(bytes(self.audio[self._covered :]))
        return Heard(" ".join(t for t in (self.text, rest) if t), seconds)

    # ---- the tasks -------------------------------------------------------------------------

    async def pump(self, spawn: Spawn) -> None:
        """Open the stream, start reading it, and send what the outbox holds, in order."""
        stream = None
        try:
            stream = await self.setup.client().open_stream(
                sample_rate=self.setup.sample_rate,
                model=self.setup.model,
                language=self.setup.language,
            )
            spawn(self._read(stream), "stt-read")
            while True:
                chunk = await self._outbox.get()
                if chunk is None:
                    await stream.commit()
                else:
                    await stream.send(chunk)
        except ProviderError as exc:
            self._fail(exc)
        finally:
            if stream is not None:
                await asyncio.shield(stream.close())

    async def _read(self, stream: StreamingTranscriber) -> None:
        try:
            async for update in stream.updates():
                if not update.final:
                    self.caption = " ".join(t for t in (self.text, update.text.strip()) if t)
                    await self._on_caption(self, self.caption)
                elif self._commits:
                    self._covered = self._commits.popleft()
                    self.segments.append(update.text)
                    self.caption = self.text
                    if not self._commits:
                        self._answered.set()
        except ProviderError as exc:
            self._fail(exc)

    def abandon(self) -> None:
        """Stop streaming (the pump closes the stream as it stops)."""
        if self.pump_task is not None:
            self.pump_task.cancel()

    # ---- plumbing --------------------------------------------------------------------------

    def _flush(self) -> None:
        if self._unsent:
            self._outbox.put_nowait(bytes(self.audio[-self._unsent :]))
            self._unsent = 0

    def _fail(self, error: ProviderError) -> None:
        if self.failure is None:
            self.failure = error
            metrics.count_stt_fallback(error)
            logger.warning("realtime transcription failed (%s); using batch", error.code)
        self._answered.set()

    async def _batch(self, pcm: bytes) -> str:
        """The fallback; ProviderError when it fails too (or there is no batch client)."""
        setup = self.setup
        if not pcm:
            return ""
        if setup.batch is None:
            assert self.failure is not None
            raise self.failure
        result = await setup.batch().transcribe(
            pcm16=pcm,
            sample_rate=setup.sample_rate,
            model=setup.batch_model,
            language=setup.language,
        )
        return result.text.strip()
