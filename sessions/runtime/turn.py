"""One assistant turn: stream the LLM, speak as it writes, run tools, store every message.

A turn is an object with a state (queued, running, done, interrupted, failed) whose ``run`` is
the body of one task the session owns. Every way out of a generation stores the assistant
message: complete, failed, or cut short. Cutting short has one path, ``interrupt``: it
silences the reply, cancels the generation if it is still running, and stores what the
listener heard — from the client's playback mark, else from what was sent. Tool calls run only
after their generation finished uncancelled.

A held turn (a preemptive reply, sessions/runtime/speculation.py) answers words not stored
yet; it stores nothing and runs no tool until ``release``, and if it is cancelled before, it
leaves no trace at all.
"""

from __future__ import annotations

import asyncio
import enum
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from config import metrics
from integrations.errors import ProviderError
from integrations.llm import LLMClient, LLMEvent, LLMUsage, TextDelta, ToolCallRequest
from sessions.protocol import (
    AssistantDelta,
    AssistantMessage,
    Error,
    Latency,
    Sink,
    Usage,
)
from sessions.runtime.speech import SpeechOutput, Voice
from sessions.runtime.store import Conversation, StoreUnavailable
from sessions.runtime.tools import EnabledTools, ToolScope, run_tool_calls

MAX_TOOL_ROUNDS = 5


@dataclass
class TurnConfig:
    """What every turn of one session shares."""

    session_id: uuid.UUID
    organization_id: uuid.UUID
    assistant_id: uuid.UUID
    # Clients are looked up at each use, not kept: the process's client cache may close one it
    # evicts (integrations/providers.py), and a lookup is a dict access.
    llm: Callable[[], LLMClient] | None
    model: str
    temperature: float
    max_tokens: int
    voice: Voice | None
    tools: EnabledTools
    end_call_phrases: list[str] = field(default_factory=list)
    llm_provider: str = "openai"
    first_token_timeout: float = 10.0


@dataclass
class TurnStart:
    started_at: float  # perf_counter when the user finished speaking or the text arrived
    stt_ms: float | None = None
    stt_seconds: float = 0.0


@dataclass
class Reply:
    """An assistant message while it is being generated and spoken."""

    id: uuid.UUID = field(default_factory=uuid.uuid4)
    text: str = ""
    tool_calls: list[ToolCallRequest] = field(default_factory=list)
    usage: LLMUsage | None = None
    llm_ttft_ms: float | None = None
    speech: SpeechOutput | None = None
    stored: bool = False

    def heard(self, played_ms: float | None) -> str:
        return self.speech.heard_text(played_ms) if self.speech else self.text

    def unplayed_ms(self, played_ms: float | None) -> float:
        return self.speech.unplayed_ms(played_ms) if self.speech else 0.0


class TurnState(enum.StrEnum):
    QUEUED = "queued"  # waiting for a reply that may not be interrupted
    RUNNING = "running"
    DONE = "done"
    INTERRUPTED = "interrupted"
    FAILED = "failed"


class Turn:
    def __init__(
        self,
        config: TurnConfig,
        conversation: Conversation,
        sink: Sink,
        start: TurnStart,
        *,
        say: str | None = None,
        after: Turn | None = None,
        unstored_user: str | None = None,
    ) -> None:
        self.config = config
        self.conversation = conversation
        self.sink = sink
        self.start = start
        self.state = TurnState.QUEUED
        self.error: ProviderError | None = None
        self.replies: list[Reply] = []
        self.ends_session: str | None = None
        self.task: asyncio.Task[None] | None = None  # set by the session that owns it
        self._say = say  # a fixed text (the first message) instead of the model's
        self._after = after
        self._unstored_user = unstored_user  # a held turn's words, until it is released
        self._released = asyncio.Event()
        if unstored_user is None:
            self._released.set()

    @property
    def active(self) -> bool:
        return self.state in (TurnState.QUEUED, TurnState.RUNNING)

    @property
    def current(self) -> Reply | None:
        return self.replies[-1] if self.replies else None

    async def run(self) -> None:
        """The body of the turn's task."""
        if self._after is not None and self._after.task is not None:
            await asyncio.wait([self._after.task])
        self.state = TurnState.RUNNING
        try:
            await self._converse()
        except asyncio.CancelledError:
            self.state = TurnState.INTERRUPTED
            raise
        except ProviderError as exc:
            self.state, self.error = TurnState.FAILED, exc
            metrics.observe_provider_error(exc)
            await self.sink.send_event(provider_error(exc))
        except BaseException:
            self.state = TurnState.FAILED
            raise
        else:
            self.state = TurnState.DONE

    @property
    def held(self) -> bool:
        return not self._released.is_set()

    async def release(self, start: TurnStart) -> None:
        """A held turn's words are now stored as said: it may store, run tools and be heard.
        Its audio reaches the client only now, so that is when its first audio was."""
        now = time.perf_counter()
        self.start = start
        self._unstored_user = None
        for reply in self.replies:
            speech = reply.speech
            if speech is not None and speech.first_audio_at is not None:
                speech.first_audio_at = max(speech.first_audio_at, now)
        self._released.set()
        release = getattr(self.sink, "release", None)
        if release is not None:
            await release()

    async def interrupt(self) -> Reply | None:
        """Barge-in: silence the reply now, stop its generation, store what was heard.

        Returns the reply that was cut short, or None when nothing was playing any more."""
        task = self.task
        if task is not None and not task.done():
            reply = self.current
            if reply and reply.speech:
                reply.speech.mute()  # before any await: not one more frame goes out
            task.cancel()
            await asyncio.wait([task])  # the generation stores what was heard as it unwinds
            return reply
        reply = self.current
        if reply is None or reply.unplayed_ms(self.conversation.played_ms(reply.id)) <= 0:
            return None
        await self._store_heard(reply)
        return reply

    # ---- generation --------------------------------------------------------------------

    async def _converse(self) -> None:
        if self._say is not None:
            await self._generate(_fixed(self._say))
            return
        if self.config.llm is None:
            raise ProviderError(
                self.config.llm_provider,
                "unavailable",
                "No LLM credentials are configured.",
                retryable=False,
            )
        for round_number in range(MAX_TOOL_ROUNDS + 1):
            # The last round offers no tools, so a looping model must answer in words.
            reply = await self._generate(self._llm_stream(tools=round_number < MAX_TOOL_ROUNDS))
            if not reply.tool_calls:
                break
            await self._run_tools(reply)
        if self._says_goodbye(self.current):
            self.ends_session = self.ends_session or "end-call-phrase"

    async def _generate(self, source: AsyncIterator[LLMEvent]) -> Reply:
        reply = Reply()
        self.replies.append(reply)
        if self.config.voice is not None:
            reply.speech = SpeechOutput(
                voice=self.config.voice, message_id=str(reply.id), sink=self.sink
            )
        try:
            await self._stream(reply, source)
        except asyncio.CancelledError:
            if self.held:  # a discarded preemptive reply: nothing was heard or happened
                await asyncio.shield(_silence(reply))
            else:
                await asyncio.shield(self._store_heard(reply))
            raise
        except ProviderError as exc:
            if reply.speech:
                await reply.speech.cancel()
            if self.held:
                raise
            if reply.text or reply.tool_calls:  # what the model said before it failed
                await self._store(reply, content=reply.text, error=exc.code)
            else:  # nothing to store, but a failed turn all the same
                metrics.observe_reply(
                    self._latency(reply, exc.code),
                    outcome="failed",
                    first_of_turn=reply is self.replies[0],
                )
            raise
        await self._store(reply, content=reply.text)
        return reply

    def _llm_stream(self, *, tools: bool) -> AsyncIterator[LLMEvent]:
        config = self.config
        assert config.llm is not None
        messages = self.conversation.for_llm()
        if self._unstored_user is not None:
            messages.append({"role": "user", "content": self._unstored_user})
        return config.llm().stream_chat(
            model=config.model,
            messages=messages,
            tools=config.tools.schemas() if tools else None,
            temperature=config.temperature,
            max_tokens=config.max_tokens,
        )

    async def _stream(self, reply: Reply, source: AsyncIterator[LLMEvent]) -> None:
        llm_started = time.perf_counter()
        message_id = str(reply.id)
        async for event in self._first_in_time(source):
            if isinstance(event, TextDelta):
                if reply.llm_ttft_ms is None:
                    reply.llm_ttft_ms = (time.perf_counter() - llm_started) * 1000
                reply.text += event.text
                await self.sink.send_event(
                    AssistantDelta(message_id=message_id, content=event.text)
                )
                if reply.speech:
                    reply.speech.write(event.text)
            elif isinstance(event, ToolCallRequest):
                reply.tool_calls.append(event)
            elif isinstance(event, LLMUsage):
                reply.usage = event
        if reply.speech:
            await reply.speech.finish()
            if reply.speech.failed:
                metrics.observe_provider_error(reply.speech.failed)
                await self.sink.send_event(tts_unavailable(reply.speech.failed))

    async def _first_in_time(self, source: AsyncIterator[LLMEvent]) -> AsyncIterator[LLMEvent]:
        """``source``, failing with a provider timeout when its first event is later than the
        first-token timeout, retries included: a stalled provider surfaces in seconds."""
        limit = self.config.first_token_timeout
        try:
            async with asyncio.timeout(limit):
                first = await anext(aiter(source))
        except StopAsyncIteration:
            return
        except TimeoutError:
            await _close(source)
            raise ProviderError(
                self.config.llm_provider,
                "timeout",
                f"no first token within {limit:g} s",
                retryable=True,
            ) from None
        yield first
        async for event in source:
            yield event

    # ---- storing -----------------------------------------------------------------------

    async def _store_heard(self, reply: Reply) -> None:
        """The one way a cut-short reply is stored: as much of it as the listener heard."""
        if reply.speech:
            await reply.speech.cancel()
        heard = reply.heard(self.conversation.played_ms(reply.id))
        if reply.stored:
            await self.conversation.cut(reply.id, heard)
            await self._announce(reply, heard, interrupted=True)  # the client's copy is cut too
        else:
            await self._store(reply, content=heard, interrupted=True)

    async def _store(
        self, reply: Reply, *, content: str, interrupted: bool = False, error: str | None = None
    ) -> None:
        await self._released.wait()  # a held turn stores nothing until it is released
        reply.stored = True  # set before the write: a cut that follows is queued behind it
        usage, latency = self._usage(reply), self._latency(reply, error)
        fields: dict[str, Any] = {
            "id": reply.id,
            "tool_calls": [_call_record(c, executed=not interrupted) for c in reply.tool_calls],
            "interrupted": interrupted,
            "latency": latency,
            "usage": usage,
        }
        try:
            await self.conversation.add("assistant", content, **fields)
            deferred = False
        except StoreUnavailable:  # kept, and written once the database answers again
            self.conversation.defer("assistant", content, **fields)
            deferred = True
        outcome = "failed" if error else "interrupted" if interrupted else "completed"
        metrics.observe_reply(latency, outcome=outcome, first_of_turn=reply is self.replies[0])
        await self._announce(reply, content, interrupted=interrupted, usage=usage, latency=latency)
        if deferred:
            await self.sink.send_event(storage_unavailable(saved_later=True))

    async def _announce(
        self,
        reply: Reply,
        content: str,
        *,
        interrupted: bool,
        usage: Usage | None = None,
        latency: Latency | None = None,
    ) -> None:
        await self.sink.send_event(
            AssistantMessage(
                message_id=str(reply.id),
                content=content,
                interrupted=interrupted,
                latency=latency or self._latency(reply, None),
                usage=usage or self._usage(reply),
            )
        )

    def _usage(self, reply: Reply) -> Usage:
        first = reply is self.replies[0]
        return {
            "prompt_tokens": reply.usage.prompt_tokens if reply.usage else 0,
            "completion_tokens": reply.usage.completion_tokens if reply.usage else 0,
            "tts_characters": reply.speech.characters if reply.speech else 0,
            "stt_audio_seconds": round(self.start.stt_seconds, 3) if first else 0.0,
        }

    def _latency(self, reply: Reply, error: str | None) -> Latency:
        speech = reply.speech
        first_audio = speech.first_audio_at if speech else None
        latency: Latency = {
            "stt_ms": _ms(self.start.stt_ms),
            "llm_ttft_ms": _ms(reply.llm_ttft_ms),
            "tts_ttfb_ms": _ms(speech.tts_ttfb_ms if speech else None),
            "first_audio_ms": _ms((first_audio - self.start.started_at) * 1000)
            if first_audio
            else None,
        }
        if error:
            latency["error"] = error
        return latency

    # ---- tools -------------------------------------------------------------------------

    async def _run_tools(self, reply: Reply) -> None:
        config = self.config
        ends = await run_tool_calls(
            reply.tool_calls,
            config.tools,
            ToolScope(config.organization_id, config.assistant_id, config.session_id),
            conversation=self.conversation,
            sink=self.sink,
        )
        if ends:
            self.ends_session = "assistant-ended"

    def _says_goodbye(self, reply: Reply | None) -> bool:
        lowered = reply.text.lower() if reply else ""
        return any(phrase.lower() in lowered for phrase in self.config.end_call_phrases)


async def _silence(reply: Reply) -> None:
    if reply.speech:
        await reply.speech.cancel()


async def _fixed(text: str) -> AsyncIterator[LLMEvent]:
    yield TextDelta(text)


async def _close(source: AsyncIterator[LLMEvent]) -> None:
    aclose = getattr(source, "aclose", None)
    if aclose is not None:
        await aclose()


def _call_record(call: ToolCallRequest, *, executed: bool) -> dict[str, Any]:
    return {"id": call.id, "name": call.name, "arguments": call.arguments, "executed": executed}


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def provider_error(
    error: ProviderError,
    code: Literal["provider_unavailable", "stt_unavailable"] = "provider_unavailable",
) -> Error:
    return Error(
        code=code,
        message=f"{error.provider} is unavailable ({error.code}). Your message was saved.",
        retryable=error.retryable,
    )


def storage_unavailable(*, saved_later: bool) -> Error:
    if saved_later:
        message = "The database is unavailable: this is kept and saved as soon as it answers."
    else:
        message = "The database is unavailable: your message was not saved. Send it again."
    return Error(code="storage_unavailable", message=message, retryable=True)


def tts_unavailable(error: ProviderError) -> Error:
    return Error(
        code="tts_unavailable",
        message=f"Audio is unavailable for this reply ({error.code}); the text is complete.",
    )
