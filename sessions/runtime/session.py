"""LiveSession: one live conversation, whatever carries it (WebSocket, REST, Discord).

A transport hands it typed client messages (``handle``) and microphone audio (``audio``) and
is its ``Sink``. The session owns everything it starts: the tasks (one ``TaskOwner``), the
turns (one current ``Turn``, an object with a state), the conversation (history and playback
marks, ``Conversation``). Barge-in has one path: ``interrupt`` -> ``Turn.interrupt``.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from django.conf import settings

from config import logs, metrics
from sessions.models import Message
from sessions.protocol import (
    AudioCommit,
    AudioInfo,
    Clear,
    ClientMessage,
    Connected,
    EndSession,
    Error,
    Interrupt,
    Mark,
    Ping,
    Pong,
    ProtocolError,
    SessionEnded,
    Sink,
    Transcript,
    UserMessage,
)
from sessions.runtime import store
from sessions.runtime.listening import BatchSetup, Listener, TurnTaking, UserSpoke
from sessions.runtime.providers import SessionProviders, session_providers
from sessions.runtime.speculation import HeldSink, Speculation
from sessions.runtime.store import Conversation, SessionContext, StoreUnavailable
from sessions.runtime.transcription import StreamingSetup
from sessions.runtime.turn import (
    Turn,
    TurnStart,
    TurnState,
    storage_unavailable,
)
from sessions.runtime.vad import SAMPLE_RATE

logger = logging.getLogger(__name__)
STOP_TIMEOUT_SECONDS = 10
MAX_END_DELAY_MS = 10_000
# After an outage refused a write: try again after these pauses (~1 minute in all), then say so.
SAVE_RETRY_DELAYS = (1, 2, 4, 8, 15, 30)


class SessionOver(Exception):
    """The session has ended (or does not exist any more): it cannot go live."""


class TaskOwner:
    """Every task of one session, by name: a crash is reported, not lost; all stop together."""

    def __init__(self, on_crash: Callable[[], Awaitable[None]]) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self._on_crash = on_crash

    def spawn(self, coro: Coroutine[Any, Any, None], *, name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(self._guarded(coro), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        # A task cancelled before its first step never starts ``coro``: close it, or Python
        # warns that it was never awaited.
        task.add_done_callback(lambda _: coro.close())
        return task

    def running(self, name: str) -> bool:
        return any(t.get_name() == name and not t.done() for t in self._tasks)

    async def stop_all(self) -> None:
        current = asyncio.current_task()
        tasks = [t for t in self._tasks if t is not current and not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=STOP_TIMEOUT_SECONDS)

    async def _guarded(self, coro: Coroutine[Any, Any, None]) -> None:
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug in one task must not take the conversation down
            logger.exception("session task failed")
            await self._on_crash()


class LiveSession:
    def __init__(self, sink: Sink, *, with_voice: bool = True, timers: bool = True) -> None:
        self.sink = sink
        self.with_voice = with_voice
        self.timers = timers
        self.ended = False
        self.turn: Turn | None = None
        self.tasks = TaskOwner(self._report_crash)
        self._context: SessionContext | None = None
        self._providers: SessionProviders | None = None
        self._conversation: Conversation | None = None
        self._listener: Listener | None = None
        self._speculation: Speculation | None = None
        self._last_activity = time.monotonic()

    # ---- lifecycle -----------------------------------------------------------------------

    async def start(self, context: SessionContext, *, greet: bool = True) -> None:
        self._context = context
        self._conversation = Conversation.of(context)
        logs.session_id.set(str(context.session_id))  # inherited by every task spawned below
        self._providers = await session_providers(context, with_voice=self.with_voice)
        self._listener = self._listen()
        if not await store.activate(context.session_id):
            raise SessionOver()  # ended since it was loaded (POST /end/, expiry)
        await self.sink.send_event(self._connected_event())
        assistant = context.assistant
        if self.timers:
            self.tasks.spawn(self._end_after(assistant.max_duration_seconds), name="max-duration")
            self.tasks.spawn(self._watch_silence(assistant.silence_timeout_seconds), name="silence")
        if greet and not context.messages and context.first_message:
            self._start_turn(
                self._new_turn(TurnStart(time.perf_counter()), say=context.first_message)
            )

    async def end(self, reason: str, *, failed: bool = False) -> None:
        """End the session for good: stop speaking, store what was said, tell the client."""
        if self.ended:
            return
        self.ended = True
        await self.tasks.stop_all()
        await store.end(self.session_id, reason, failed)
        await self.sink.send_event(SessionEnded(reason=reason))
        await self.sink.close()

    async def close(self) -> None:
        """The transport went away: keep everything said so far; the session may resume."""
        if not self.ended:
            await self.tasks.stop_all()
        if self._conversation is not None and self._conversation.unsaved:
            await self._save_pending_once()

    async def _save_pending_once(self) -> None:
        try:
            await self.conversation.save_pending()
        except StoreUnavailable:
            logger.error(
                "%d messages of session %s could not be stored: the database is unavailable",
                self.conversation.unsaved,
                self.session_id,
            )

    async def wait_idle(self) -> None:
        """Until the current turn (and any turn it started) has finished."""
        while self.turn is not None and self.turn.task is not None and not self.turn.task.done():
            await asyncio.wait([self.turn.task])

    # ---- inputs --------------------------------------------------------------------------

    async def handle(self, message: ClientMessage) -> None:
        """One typed client message; ProtocolError for what this session cannot do."""
        if self.ended:
            raise ProtocolError("session_ended", "The session has ended.")
        self._touch()
        match message:
            case UserMessage(content=content):
                try:
                    await self.user_text(content)
                except StoreUnavailable:  # not stored, so not answered: nothing half-done
                    await self.sink.send_event(storage_unavailable(saved_later=False))
            case Mark(message_id=message_id, played_ms=played_ms):
                self.conversation.mark(message_id, played_ms)
            case Interrupt():
                if not self.interruptions_enabled:
                    raise ProtocolError(
                        "interruptions_disabled", "This assistant cannot be interrupted."
                    )
                await self.interrupt()
            case AudioCommit():
                await self._require_listener().commit()
            case EndSession():
                await self.end("user-ended")
            case Ping():
                await self.sink.send_event(Pong())

    async def audio(self, pcm: bytes) -> None:
        if self.ended:
            raise ProtocolError("session_ended", "The session has ended.")
        await self._require_listener().feed(pcm)

    async def user_text(self, content: str) -> Message:
        started = time.perf_counter()
        self._touch()
        self.abandon_speculation()
        if self.interruptions_enabled:
            await self.interrupt()  # first, so the transcript reads in the order it was heard
        message = await self.conversation.add("user", content)
        await self._next_turn(TurnStart(started))
        return message

    async def interrupt(self) -> bool:
        """Barge-in: the current turn stops speaking and stores what was heard."""
        reply = await self.turn.interrupt() if self.turn is not None else None
        if reply is None:
            return False
        await self.sink.send_event(Clear(message_id=str(reply.id)))
        return True

    # ---- properties ----------------------------------------------------------------------

    @property
    def session_id(self) -> uuid.UUID:
        assert self._context is not None, "the session has not started"
        return self._context.session_id

    @property
    def conversation(self) -> Conversation:
        assert self._conversation is not None, "the session has not started"
        return self._conversation

    @property
    def providers(self) -> SessionProviders:
        assert self._providers is not None, "the session has not started"
        return self._providers

    @property
    def interruptions_enabled(self) -> bool:
        assert self._context is not None, "the session has not started"
        return bool(self._context.assistant.interruptions_enabled)

    @property
    def can_hear(self) -> bool:
        return self._listener is not None

    # ---- turns ---------------------------------------------------------------------------

    def _new_turn(self, start: TurnStart, *, say: str | None = None) -> Turn:
        active = self.turn if self.turn is not None and self.turn.active else None
        return Turn(self.providers.turn, self.conversation, self.sink, start, say=say, after=active)

    async def _next_turn(self, start: TurnStart) -> None:
        """Answer the user: cut the reply in progress if allowed, else queue behind it."""
        if self.interruptions_enabled and self.turn is not None and self.turn.active:
            await self.interrupt()
        self._start_turn(self._new_turn(start))

    def _start_turn(self, turn: Turn) -> None:
        self.turn = turn
        turn.task = self.tasks.spawn(self._run_turn(turn), name="turn")

    async def _run_turn(self, turn: Turn) -> None:
        try:
            await turn.run()
        finally:
            self._touch()
            if self.conversation.unsaved and not self.tasks.running("save-pending"):
                self.tasks.spawn(self._save_pending(), name="save-pending")
        if turn.ends_session and turn.state is TurnState.DONE:
            reply = turn.current
            played = self.conversation.played_ms(reply.id) if reply else None
            remaining = reply.unplayed_ms(played) if reply else 0.0
            await asyncio.sleep(min(remaining, MAX_END_DELAY_MS) / 1000)
            await self.end(turn.ends_session)

    async def _save_pending(self) -> None:
        """Write what the database refused, once it answers again; bounded, then say so."""
        for delay in SAVE_RETRY_DELAYS:
            await asyncio.sleep(delay)
            try:
                await self.conversation.save_pending()
                return
            except StoreUnavailable:
                continue
        unsaved = self.conversation.unsaved
        await self.sink.send_event(
            Error(
                code="storage_unavailable",
                message=f"The database stayed unavailable: {unsaved} message(s) of this "
                "conversation were not saved.",
                retryable=False,
            )
        )

    # ---- audio in ------------------------------------------------------------------------

    def _listen(self) -> Listener | None:
        providers = self.providers
        if providers.stt is None:
            return None
        assert self._context is not None
        language = providers.language or None
        batch = BatchSetup(providers.stt, providers.batch_model, language)
        streaming = None
        if providers.streaming_stt is not None:
            streaming = StreamingSetup(
                provider=providers.transcriber_provider,
                client=providers.streaming_stt,
                batch=providers.stt,
                model=providers.transcriber_model,
                batch_model=providers.batch_model,
                language=language,
                sample_rate=SAMPLE_RATE,
            )
        taking = TurnTaking.of(self._context.assistant)
        return Listener(self, taking, batch=batch, streaming=streaming)

    def _require_listener(self) -> Listener:
        if self._listener is None:
            raise ProtocolError("no_transcriber", "This assistant has no transcriber configured.")
        return self._listener

    # What the listener calls (listening.Hearer).

    def spawn(self, coro: Coroutine[Any, Any, None], *, name: str) -> asyncio.Task[None]:
        return self.tasks.spawn(coro, name=name)

    def touch(self) -> None:
        self._touch()

    def assistant_speaking(self) -> bool:
        """A reply is being generated, or its audio is still playing at the client."""
        turn = self.turn
        if turn is None:
            return False
        if turn.active:
            return True
        reply = turn.current
        return reply is not None and reply.unplayed_ms(self.conversation.played_ms(reply.id)) > 0

    async def hear(self, spoke: UserSpoke) -> None:
        """A finished utterance: store it, then answer it (with its preemptive reply if that
        answered the same words)."""
        try:
            message = await self.conversation.add(
                "user", spoke.text, id=spoke.message_id, latency={"stt_ms": round(spoke.stt_ms, 1)}
            )
        except StoreUnavailable:
            self.abandon_speculation()
            await self.sink.send_event(storage_unavailable(saved_later=False))
            return
        await self.sink.send_event(Transcript(content=spoke.text, message_id=str(message.id)))
        start = TurnStart(spoke.ended_at, spoke.stt_ms, spoke.audio_seconds)
        if not await self._promote(spoke.text, start):
            await self._next_turn(start)

    def speculate(self, text: str) -> None:
        """Start a preemptive reply to ``text``, held until the end of turn (unless one to
        the same words is under way)."""
        if self._speculation is not None and self._speculation.answers(text):
            return
        self.abandon_speculation()
        if self.ended or self.assistant_speaking():
            return
        held = HeldSink(self.sink)
        turn = Turn(
            self.providers.turn,
            self.conversation,
            held,
            TurnStart(time.perf_counter()),
            unstored_user=text,
        )
        self._speculation = Speculation(text, turn, held)
        turn.task = self.tasks.spawn(self._run_turn(turn), name="turn")

    def abandon_speculation(self) -> None:
        speculation, self._speculation = self._speculation, None
        if speculation is not None:
            speculation.discard()
            metrics.count_preemptive_reply("discarded")

    async def _promote(self, text: str, start: TurnStart) -> bool:
        speculation, self._speculation = self._speculation, None
        if speculation is None:
            return False
        if not speculation.answers(text) or self.assistant_speaking():
            speculation.discard()
            metrics.count_preemptive_reply("discarded")
            return False
        self.turn = speculation.turn
        await speculation.turn.release(start)
        metrics.count_preemptive_reply("used")
        return True

    # ---- timers --------------------------------------------------------------------------

    async def _end_after(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        await self.end("max-duration")

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
        turn_active = self.turn is not None and self.turn.active
        listening = self._listener is not None and self._listener.busy
        return listening or turn_active

    def _touch(self) -> None:
        self._last_activity = time.monotonic()

    async def _report_crash(self) -> None:
        await self.sink.send_event(Error(code="internal_error", message="Something went wrong."))

    def _connected_event(self) -> Connected:
        assert self._context is not None
        assistant, voice = self._context.assistant, self.providers.turn.voice
        audio: AudioInfo = {
            "input": {"encoding": "pcm_s16le", "sample_rate": SAMPLE_RATE, "channels": 1}
            if self.can_hear
            else None,
            "output": {
                "encoding": voice.output_format.encoding,
                "sample_rate": voice.output_format.sample_rate,
                "channels": voice.output_format.channels,
            }
            if voice is not None
            else None,
        }
        simulated = list(settings.SIMULATED_PROVIDERS)
        return Connected(
            session_id=str(self.session_id),
            assistant={"id": str(assistant.id), "name": assistant.name},
            audio=audio,
            simulated=bool(simulated),
            notice=simulation_notice(simulated),
        )


def simulation_notice(simulated: list[str]) -> str | None:
    if not simulated:
        return None
    return (
        f"Simulated providers ({', '.join(simulated)}): replies and voices are not "
        "from real models. Configure provider keys to use them."
    )
