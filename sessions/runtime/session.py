"""LiveSession: one live conversation, whatever carries it (WebSocket, REST, Discord)."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Coroutine
from typing import Any, Protocol

from django.conf import settings

from config import logs, metrics
from integrations.errors import ProviderError
from sessions.models import Message
from sessions.runtime import store
from sessions.runtime.history import llm_message
from sessions.runtime.providers import SessionProviders, session_providers
from sessions.runtime.store import SessionContext
from sessions.runtime.turn import Reply, Turn, TurnFailed, TurnStart
from sessions.runtime.vad import SAMPLE_RATE, UtteranceDetector, VadEvent

logger = logging.getLogger(__name__)
INPUT_AUDIO = {"encoding": "pcm_s16le", "sample_rate": SAMPLE_RATE, "channels": 1}
STOP_TIMEOUT_SECONDS = 10


class SessionSink(Protocol):
    async def send_event(self, event: dict[str, Any]) -> None: ...
    async def send_audio(self, chunk: bytes) -> None: ...
    async def close(self) -> None: ...


class LiveSession:
    def __init__(self, sink: SessionSink, *, with_voice: bool = True, timers: bool = True) -> None:
        self.sink = sink
        self.with_voice = with_voice
        self.timers = timers
        self.context: SessionContext | None = None
        self.providers: SessionProviders | None = None
        self.history: list[dict[str, Any]] = []
        self.marks: dict[str, float] = {}
        self.ended = False
        self._tasks: set[asyncio.Task] = set()
        self._turn_task: asyncio.Task | None = None
        self._turn: Turn | None = None
        self._last_turn: Turn | None = None
        self._detector = UtteranceDetector()
        self._last_activity = time.monotonic()

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self, context: SessionContext, *, greet: bool = True) -> None:
        self.context = context
        self.history = context.history
        logs.session_id.set(str(context.session_id))  # inherited by every task spawned below
        self.providers = await session_providers(context, with_voice=self.with_voice)
        await store.activate(context.session_id)
        await self.sink.send_event(self._connected_event())
        if self.timers:
            assistant = context.assistant
            self._spawn(self._end_after(assistant.max_duration_seconds, "max-duration"))
            self._spawn(self._watch_silence(assistant.silence_timeout_seconds))
        if greet and context.message_count == 0 and context.assistant.first_message:
            self._turn_task = self._spawn(self._greet(context.assistant.first_message))

    async def end(self, reason: str, *, failed: bool = False) -> None:
        """End the session for good: stop speaking, store what was said, tell the client."""
        if self.ended:
            return
        self.ended = True
        await self._stop_tasks()
        await store.end(self.context.session_id, reason, failed)
        await self.sink.send_event({"type": "session-ended", "reason": reason})
        await self.sink.close()

    async def close(self) -> None:
        """The transport went away: keep everything said so far; the session may resume."""
        if not self.ended:
            await self._stop_tasks()

    async def wait_idle(self) -> None:
        while self._turn_task is not None and not self._turn_task.done():
            await asyncio.wait([self._turn_task])

    # ---- inputs ----------------------------------------------------------------------------

    async def user_text(self, content: str) -> Message:
        started = time.perf_counter()
        self._touch()
        if self.interruptions_enabled:
            await self.interrupt()  # first, so the transcript reads in the order it was heard
        message = await store.append_message(self.session_id, role="user", content=content)
        await self._start_turn(TurnStart(started), message)
        return message

    async def audio(self, pcm: bytes) -> None:
        for event in self._detector.feed(pcm):
            await self._on_vad(event)

    async def audio_commit(self) -> None:
        event = self._detector.commit()
        if event is not None:
            await self._on_vad(event)

    def mark(self, message_id: str, played_ms: float) -> None:
        self.marks[message_id] = played_ms
        self._touch()

    async def interrupt(self) -> bool:
        """Barge-in: silence the reply now, cancel its generation, store what was heard."""
        task, turn = self._turn_task, self._turn
        if task is not None and not task.done():
            reply = turn.current if turn else None
            if reply and reply.speech:
                reply.speech.mute()
            task.cancel()
            await asyncio.wait([task])
        else:
            reply = await self._cut_reply_still_playing()
        if reply is None:
            return False
        await self.sink.send_event({"type": "clear", "message_id": str(reply.id)})
        return True

    # ---- properties ------------------------------------------------------------------------

    @property
    def session_id(self) -> uuid.UUID:
        return self.context.session_id

    @property
    def interruptions_enabled(self) -> bool:
        return self.context.assistant.interruptions_enabled

    @property
    def can_hear(self) -> bool:
        return self.providers is not None and self.providers.stt is not None

    # ---- turns -----------------------------------------------------------------------------

    async def _start_turn(self, start: TurnStart, user_message: Message) -> None:
        previous = self._turn_task
        if previous is not None and not previous.done() and self.interruptions_enabled:
            await self.interrupt()
            previous = None
        self._turn_task = self._spawn(self._run_turn(start, user_message, previous))

    async def _run_turn(self, start: TurnStart, user_message: Message, previous) -> None:
        if previous is not None:
            await asyncio.wait([previous])  # queued behind a reply that may not be interrupted
        self.history.append(llm_message(user_message))
        turn = self._turn = Turn(self.providers.turn, self.history, self.sink, start, self.marks)
        try:
            await turn.run()
        except TurnFailed as exc:
            metrics.observe_provider_error(exc.error)
            await self.sink.send_event(provider_error_event(exc.error))
            return
        finally:
            self._last_turn = turn
            self._touch()
        if turn.ends_session:
            await self._end_when_heard(turn, turn.ends_session)

    async def _greet(self, text: str) -> None:
        turn = self._turn = Turn(
            self.providers.turn, self.history, self.sink, TurnStart(time.perf_counter()), self.marks
        )
        try:
            await turn.speak(text)
        finally:
            self._last_turn = turn

    async def _end_when_heard(self, turn: Turn, reason: str) -> None:
        reply = turn.replies[-1] if turn.replies else None
        remaining = _unplayed_ms(reply, self.marks) if reply else 0.0
        await asyncio.sleep(min(remaining, 10_000) / 1000)
        await self.end(reason)

    async def _cut_reply_still_playing(self) -> Reply | None:
        turn = self._last_turn
        reply = turn.replies[-1] if turn and turn.replies else None
        if reply is None or _unplayed_ms(reply, self.marks) <= 0:
            return None
        heard = reply.speech.timeline.heard_text(self.marks.get(str(reply.id)))
        await store.mark_interrupted(reply.id, heard)
        if reply.history_item is not None:
            reply.history_item["content"] = heard
        return reply

    # ---- audio in --------------------------------------------------------------------------

    async def _on_vad(self, event: VadEvent) -> None:
        self._touch()
        if event.kind == "speech-started":
            await self.sink.send_event({"type": "speech-started"})
            if self.interruptions_enabled:
                await self.interrupt()
            return
        await self.sink.send_event({"type": "speech-stopped"})
        self._spawn(self._transcribe(event, time.perf_counter()))

    async def _transcribe(self, event: VadEvent, ended_at: float) -> None:
        providers = self.providers
        try:
            result = await providers.stt.transcribe(
                pcm16=event.audio,
                sample_rate=SAMPLE_RATE,
                model=providers.transcriber_model,
                language=providers.language or None,
            )
        except ProviderError as exc:
            metrics.observe_provider_error(exc)
            await self.sink.send_event(provider_error_event(exc, code="stt_unavailable"))
            return
        stt_ms = (time.perf_counter() - ended_at) * 1000
        text = result.text.strip()
        if not text:
            return
        message = await store.append_message(
            self.session_id, role="user", content=text, latency={"stt_ms": round(stt_ms, 1)}
        )
        await self.sink.send_event(
            {
                "type": "transcript",
                "role": "user",
                "content": text,
                "final": True,
                "message_id": str(message.id),
            }
        )
        await self._start_turn(TurnStart(ended_at, stt_ms, result.audio_seconds), message)

    # ---- timers and tasks ------------------------------------------------------------------

    async def _end_after(self, seconds: float, reason: str) -> None:
        await asyncio.sleep(seconds)
        await self.end(reason)

    async def _watch_silence(self, limit_seconds: float) -> None:
        while not self.ended:
            wait = self._last_activity + limit_seconds - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            elif self._busy():
                self._touch()
            else:
                await self.end("silence-timeout")

    def _busy(self) -> bool:
        if self._detector.in_speech:
            return True
        return any(not t.done() for t in self._tasks if t.get_name().startswith("turn"))

    def _touch(self) -> None:
        self._last_activity = time.monotonic()

    def _spawn(self, coro: Coroutine) -> asyncio.Task:
        name = "turn" if coro.__name__ in {"_run_turn", "_greet", "_transcribe"} else coro.__name__
        task = asyncio.create_task(self._guarded(coro), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _guarded(self, coro: Coroutine) -> None:
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug in one turn must not take the conversation down
            logger.exception("session task failed", extra={"session_id": str(self.session_id)})
            await self.sink.send_event(
                {"type": "error", "code": "internal_error", "message": "Something went wrong."}
            )

    async def _stop_tasks(self) -> None:
        current = asyncio.current_task()
        reply = self._turn.current if self._turn else None
        if reply and reply.speech:
            reply.speech.mute()
        tasks = [t for t in self._tasks if t is not current and not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=STOP_TIMEOUT_SECONDS)

    def _connected_event(self) -> dict[str, Any]:
        assistant, voice = self.context.assistant, self.providers.turn.voice
        output = None
        if voice is not None:
            fmt = voice.output_format
            output = {
                "encoding": fmt.encoding,
                "sample_rate": fmt.sample_rate,
                "channels": fmt.channels,
            }
        return {
            "type": "connected",
            "session_id": str(self.session_id),
            "assistant": {"id": str(assistant.id), "name": assistant.name},
            "audio": {"input": INPUT_AUDIO if self.can_hear else None, "output": output},
            **simulation_notice(),
        }


def _unplayed_ms(reply: Reply, marks: dict[str, float]) -> float:
    speech = reply.speech
    if speech is None or speech.first_audio_at is None:
        return 0.0
    played = marks.get(str(reply.id))
    if played is None:
        played = (time.perf_counter() - speech.first_audio_at) * 1000
    return max(0.0, speech.timeline.sent_ms() - played)


def simulation_notice() -> dict[str, Any]:
    simulated = list(settings.SIMULATED_PROVIDERS)
    if not simulated:
        return {"simulated": False}
    return {
        "simulated": True,
        "notice": f"Simulated providers ({', '.join(simulated)}): replies and voices are not "
        "from real models. Configure provider keys to use them.",
    }


def provider_error_event(error: ProviderError, code: str = "provider_unavailable") -> dict:
    return {
        "type": "error",
        "code": code,
        "message": f"{error.provider} is unavailable ({error.code}). Your message was saved.",
        "retryable": error.retryable,
    }
