"""Audio in for one live session: utterances, barge-in, transcripts, and the moment to speculate.

The ``Listener`` runs the assistant's turn taking on the microphone audio:

- speech starts after ``min_speech_ms`` of voice; it cuts the assistant short once the user has
  spoken ``barge_in_min_speech_ms`` over it (shorter speech over the assistant — "mm-hmm" — is
  not a turn and is dropped);
- the turn ends after ``end_of_turn_silence_ms`` of silence (or ``audio-commit``);
- with streaming transcription the utterance is transcribed while it is spoken, with live
  captions; with preemptive replies, at a short pause the session starts a reply on the words
  heard so far (``Hearer.speculate``; again if a later caption in the pause has other words),
  kept only if the user stays silent and the final transcript has the same words.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from config import metrics
from integrations.errors import ProviderError
from integrations.stt import STTClient
from sessions.protocol import Sink, SpeechStarted, SpeechStopped, Transcript
from sessions.runtime.transcription import Heard, StreamedUtterance, StreamingSetup
from sessions.runtime.turn import provider_error
from sessions.runtime.vad import (
    END_SILENCE_MS,
    MIN_SPEECH_MS,
    PAUSE_MS,
    SAMPLE_RATE,
    UtteranceDetector,
    VadEvent,
)

BARGE_IN_MIN_SPEECH_MS = 200


@dataclass(frozen=True)
class TurnTaking:
    """An assistant's end-of-turn settings (assistants.models.Assistant)."""

    end_of_turn_silence_ms: int = END_SILENCE_MS
    min_speech_ms: int = MIN_SPEECH_MS
    barge_in_min_speech_ms: int = BARGE_IN_MIN_SPEECH_MS
    preemptive_replies: bool = True
    interruptions: bool = True

    @classmethod
    def of(cls, assistant: Any) -> TurnTaking:
        return cls(
            end_of_turn_silence_ms=assistant.end_of_turn_silence_ms,
            min_speech_ms=assistant.min_speech_ms,
            barge_in_min_speech_ms=assistant.barge_in_min_speech_ms,
            preemptive_replies=assistant.preemptive_replies,
            interruptions=assistant.interruptions_enabled,
        )


@dataclass(frozen=True)
class BatchSetup:
    client: Callable[[], STTClient]
    model: str
    language: str | None


@dataclass(frozen=True)
class UserSpoke:
    """A finished utterance's words, for the session to store and answer."""

    text: str
    message_id: uuid.UUID
    ended_at: float  # perf_counter at the end of turn
    stt_ms: float  # from the end of turn to the final words
    audio_seconds: float


class Hearer(Protocol):
    """What the listener needs of its session."""

    sink: Sink

    def spawn(self, coro: Coroutine[Any, Any, None], *, name: str) -> asyncio.Task[None]: ...

    def touch(self) -> None: ...

    def assistant_speaking(self) -> bool: ...

    async def interrupt(self) -> bool: ...

    def speculate(self, text: str) -> None: ...

    def abandon_speculation(self) -> None: ...

    async def hear(self, spoke: UserSpoke) -> None: ...


class Listener:
    def __init__(
        self,
        session: Hearer,
        taking: TurnTaking,
        *,
        batch: BatchSetup,
        streaming: StreamingSetup | None,
    ) -> None:
        self._session = session
        self._taking = taking
        self._batch = batch
        self._streaming = streaming
        self._preempt = streaming is not None and taking.preemptive_replies
        self._detector = UtteranceDetector(
            end_silence_ms=taking.end_of_turn_silence_ms,
            min_speech_ms=taking.min_speech_ms,
            pause_ms=PAUSE_MS if self._preempt else None,
        )
        self._utterance: StreamedUtterance | None = None
        self._pump: asyncio.Task[None] | None = None
        self._over_assistant = False  # this utterance began while the assistant spoke
        self._barged = False
        self._paused = False  # silent since the last "paused": the words so far may be all
        self.finishing = 0  # utterances ended and still being transcribed

    @property
    def busy(self) -> bool:
        return self._detector.in_speech or self.finishing > 0

    async def feed(self, pcm: bytes) -> None:
        for event in self._detector.feed(pcm):
            await self._on(event)
        if self._detector.in_speech:
            await self._maybe_barge_in()

    async def commit(self) -> None:
        """Push-to-talk released: the turn ends now."""
        if (event := self._detector.commit()) is not None:
            await self._stopped(event)

    # ---- events ----------------------------------------------------------------------------

    async def _on(self, event: VadEvent) -> None:
        match event.kind:
            case "audio":
                if self._utterance is not None:
                    self._utterance.write(event.audio)
            case "speech-started":
                await self._started(event)
            case "paused":
                self._paused = True
                if self._utterance is not None:
                    self._speculate(self._utterance.caption)
            case "resumed":
                self._paused = False
                self._session.abandon_speculation()
            case "speech-stopped":
                await self._stopped(event)

    async def _started(self, event: VadEvent) -> None:
        self._session.touch()
        self._over_assistant = self._session.assistant_speaking()
        self._barged = self._paused = False
        await self._session.sink.send_event(SpeechStarted())
        if self._streaming is not None:
            self._open_stream(self._streaming)
            assert self._utterance is not None
            self._utterance.write(event.audio)

    async def _maybe_barge_in(self) -> None:
        taking = self._taking
        if self._barged or not taking.interruptions or not self._session.assistant_speaking():
            return
        if self._detector.voiced_ms >= taking.barge_in_min_speech_ms:
            self._barged = True
            await self._session.interrupt()

    async def _stopped(self, event: VadEvent) -> None:
        ended_at = time.perf_counter()
        self._session.touch()
        utterance, paused = self._utterance, self._paused
        self._utterance, self._pump, self._paused = None, None, False
        await self._session.sink.send_event(SpeechStopped())
        if self._backchannel():
            self._session.abandon_speculation()
            if utterance is not None:
                utterance.abandon()
            return
        if not paused:
            self._session.abandon_speculation()
        self.finishing += 1
        self._session.spawn(self._finish(utterance, event, ended_at), name="transcribe")

    def _backchannel(self) -> bool:
        """Speech over the assistant too short to interrupt it: not a turn."""
        interruptible = self._taking.interruptions and self._over_assistant and not self._barged
        return interruptible and self._session.assistant_speaking()

    # ---- transcription ---------------------------------------------------------------------

    async def _finish(
        self, utterance: StreamedUtterance | None, event: VadEvent, ended_at: float
    ) -> None:
        try:
            heard = await self._transcribe(utterance, event)
        except ProviderError as exc:
            metrics.observe_provider_error(exc)
            await self._session.sink.send_event(provider_error(exc, code="stt_unavailable"))
            return
        finally:
            self.finishing -= 1
            if utterance is not None:
                utterance.abandon()
        if heard.text:
            stt_ms = (time.perf_counter() - ended_at) * 1000
            message_id = utterance.id if utterance is not None else uuid.uuid4()
            spoke = UserSpoke(heard.text, message_id, ended_at, stt_ms, heard.audio_seconds)
            await self._session.hear(spoke)
        else:
            self._session.abandon_speculation()

    async def _transcribe(self, utterance: StreamedUtterance | None, event: VadEvent) -> Heard:
        if utterance is not None:
            return await utterance.heard()
        batch = self._batch
        result = await batch.client().transcribe(
            pcm16=event.audio, sample_rate=SAMPLE_RATE, model=batch.model, language=batch.language
        )
        return Heard(result.text.strip(), result.audio_seconds)

    # ---- the stream --------------------------------------------------------------------

    def _open_stream(self, setup: StreamingSetup) -> None:
        self._close_stream()
        utterance = StreamedUtterance(setup, self._caption)
        self._utterance = utterance
        self._pump = self._session.spawn(utterance.pump(self._spawn), name="stt-stream")
        utterance.pump_task = self._pump

    def _spawn(self, coro: Awaitable[None], name: str) -> object:
        return self._session.spawn(coro, name=name)  # type: ignore[arg-type]

    def _close_stream(self) -> None:
        if self._utterance is not None:
            self._utterance.abandon()
        self._utterance, self._pump = None, None

    async def _caption(self, utterance: StreamedUtterance, text: str) -> None:
        if not text:
            return
        await self._session.sink.send_event(
            Transcript(content=text, final=False, message_id=str(utterance.id))
        )
        if utterance is self._utterance and self._paused:
            self._speculate(text)  # the words heard during the pause: the latest are best

    def _speculate(self, text: str) -> None:
        if self._preempt and text:
            self._session.speculate(text)
