"""One assistant turn: stream the LLM, speak as it writes, run tools, store every message.

Every way out of a generation stores the assistant message: complete, failed, or cancelled
(barge-in, end, disconnect). Tool calls run only after their generation finished uncancelled.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

from config import metrics
from integrations.errors import ProviderError
from integrations.llm import LLMClient, LLMUsage, TextDelta, ToolCallRequest
from sessions.runtime import store
from sessions.runtime.chunker import SpeechChunker
from sessions.runtime.history import llm_message
from sessions.runtime.speech import SpeechOutput, Voice
from sessions.runtime.tools import EnabledTools, outcome_payload, parse_arguments, run_tool_call

MAX_TOOL_ROUNDS = 5


class Sink(Protocol):
    async def send_event(self, event: dict[str, Any]) -> None: ...
    async def send_audio(self, chunk: bytes) -> None: ...


@dataclass
class TurnConfig:
    """What every turn of one session shares."""

    session_id: uuid.UUID
    organization_id: uuid.UUID
    assistant_id: uuid.UUID
    llm: LLMClient | None
    model: str
    temperature: float
    max_tokens: int
    voice: Voice | None
    tools: EnabledTools
    end_call_phrases: list[str] = field(default_factory=list)


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
    history_item: dict[str, Any] | None = None


class TurnFailed(Exception):
    def __init__(self, error: ProviderError) -> None:
        super().__init__(error.message)
        self.error = error


class Turn:
    def __init__(
        self,
        config: TurnConfig,
        history: list[dict[str, Any]],
        sink: Sink,
        start: TurnStart,
        marks: dict[str, float],
    ) -> None:
        self.config = config
        self.history = history
        self.sink = sink
        self.start = start
        self.marks = marks
        self.current: Reply | None = None
        self.replies: list[Reply] = []
        self.ends_session: str | None = None

    async def run(self) -> None:
        if self.config.llm is None:
            raise TurnFailed(
                ProviderError(
                    "openai", "unavailable", "No LLM credentials are configured.", retryable=False
                )
            )
        for round_number in range(MAX_TOOL_ROUNDS + 1):
            # The last round offers no tools, so a looping model must answer in words.
            reply = await self._generate(tools_allowed=round_number < MAX_TOOL_ROUNDS)
            if not reply.tool_calls:
                break
            await self._run_tools(reply)
        if self.current and self._says_goodbye(self.current.text):
            self.ends_session = self.ends_session or "end-call-phrase"

    async def speak(self, text: str) -> None:
        """Say a fixed text (the first message) exactly like a generated reply."""

        async def events():
            yield TextDelta(text)

        await self._generate(source=events())

    async def _generate(self, *, tools_allowed: bool = True, source=None) -> Reply:
        reply = self.current = Reply()
        self.replies.append(reply)
        reply.speech = self._speech_for(reply)
        try:
            await self._stream(reply, source or self._llm_stream(tools_allowed))
        except asyncio.CancelledError:
            await asyncio.shield(self._store_cut_short(reply))
            raise
        except ProviderError as exc:
            if reply.speech:
                await reply.speech.cancel()
            await self._store(reply, content=reply.text, error=exc.code)
            raise TurnFailed(exc) from exc
        await self._store(reply, content=reply.text)
        return reply

    def _llm_stream(self, tools_allowed: bool):
        config = self.config
        return config.llm.stream_chat(
            model=config.model,
            messages=self.history,
            tools=config.tools.schemas() if tools_allowed else None,
            temperature=config.temperature,
            max_tokens=config.max_tokens,
        )

    async def _stream(self, reply: Reply, stream) -> None:
        chunker = SpeechChunker()
        llm_started = time.perf_counter()
        async for event in stream:
            if isinstance(event, TextDelta):
                if reply.llm_ttft_ms is None:
                    reply.llm_ttft_ms = (time.perf_counter() - llm_started) * 1000
                reply.text += event.text
                await self.sink.send_event(
                    {"type": "assistant-delta", "message_id": str(reply.id), "content": event.text}
                )
                self._say(reply, chunker.push(event.text))
            elif isinstance(event, ToolCallRequest):
                reply.tool_calls.append(event)
            elif isinstance(event, LLMUsage):
                reply.usage = event
        self._say(reply, chunker.flush())
        if reply.speech:
            await reply.speech.finish()
            if reply.speech.failed:
                metrics.observe_provider_error(reply.speech.failed)
                await self.sink.send_event(tts_unavailable(reply.speech.failed))

    def _speech_for(self, reply: Reply) -> SpeechOutput | None:
        if self.config.voice is None:
            return None
        return SpeechOutput(
            voice=self.config.voice,
            message_id=str(reply.id),
            send_event=self.sink.send_event,
            send_audio=self.sink.send_audio,
        )

    @staticmethod
    def _say(reply: Reply, pieces: list[str]) -> None:
        if reply.speech:
            for piece in pieces:
                reply.speech.say(piece)

    async def _store_cut_short(self, reply: Reply) -> None:
        if reply.speech:
            await reply.speech.cancel()
            content = reply.speech.timeline.heard_text(self.marks.get(str(reply.id)))
        else:
            content = reply.text
        await self._store(reply, content=content, interrupted=True)

    async def _store(
        self, reply: Reply, *, content: str, interrupted: bool = False, error: str | None = None
    ) -> None:
        usage = self._usage(reply)
        message = await store.save_assistant_message(
            self.config.session_id,
            id=reply.id,
            content=content,
            tool_calls=[_call_record(c, executed=not interrupted) for c in reply.tool_calls],
            interrupted=interrupted,
            latency=self._latency(reply, error),
            usage=usage,
        )
        outcome = "failed" if error else "interrupted" if interrupted else "completed"
        metrics.observe_reply(
            message.latency, outcome=outcome, first_of_turn=reply is self.replies[0]
        )
        reply.history_item = llm_message(message)
        if reply.history_item is not None:
            self.history.append(reply.history_item)
        await self.sink.send_event(
            {
                "type": "assistant-message",
                "message_id": str(reply.id),
                "content": content,
                "interrupted": interrupted,
                "latency": message.latency,
                "usage": usage,
            }
        )

    def _usage(self, reply: Reply) -> dict[str, float]:
        first = reply is self.replies[0]
        return {
            "prompt_tokens": reply.usage.prompt_tokens if reply.usage else 0,
            "completion_tokens": reply.usage.completion_tokens if reply.usage else 0,
            "tts_characters": reply.speech.characters if reply.speech else 0,
            "stt_audio_seconds": round(self.start.stt_seconds, 3) if first else 0.0,
        }

    def _latency(self, reply: Reply, error: str | None) -> dict[str, Any]:
        speech = reply.speech
        first_audio = speech.first_audio_at if speech else None
        latency = {
            "stt_ms": _ms(self.start.stt_ms),
            "llm_ttft_ms": _ms(reply.llm_ttft_ms),
            "tts_ttfb_ms": _ms(speech.tts_ttfb_ms if speech else None),
            "first_audio_ms": _ms((first_audio - self.start.started_at) * 1000)
            if first_audio
            else None,
        }
        return {**latency, "error": error} if error else latency

    async def _run_tools(self, reply: Reply) -> None:
        for call in reply.tool_calls:
            arguments = parse_arguments(call)
            await self.sink.send_event(
                {
                    "type": "tool-call",
                    "id": call.id,
                    "name": call.name,
                    "arguments": arguments if arguments is not None else call.arguments,
                }
            )
        outcomes = await asyncio.gather(
            *(
                run_tool_call(
                    call,
                    self.config.tools,
                    organization_id=self.config.organization_id,
                    assistant_id=self.config.assistant_id,
                    session_id=self.config.session_id,
                )
                for call in reply.tool_calls
            )
        )
        for call, outcome in zip(reply.tool_calls, outcomes, strict=True):
            known = call.name in self.config.tools.tools
            metrics.TOOL_CALLS.labels(
                call.name if known else "unknown", "ok" if outcome.ok else "error"
            ).inc()
            message = await store.append_message(
                self.config.session_id,
                role="tool",
                tool_call_id=call.id,
                content=outcome_payload(outcome),
            )
            self.history.append(llm_message(message))
            result = {"result": outcome.result} if outcome.ok else {"error": outcome.error}
            await self.sink.send_event(
                {
                    "type": "tool-result",
                    "id": call.id,
                    "name": call.name,
                    "ok": outcome.ok,
                    **result,
                }
            )
            if not outcome.ok:  # the conversation goes on; the client still hears of the failure
                await self.sink.send_event(tool_failed(call.name, outcome.error))
            if outcome.ends_session:
                self.ends_session = "assistant-ended"

    def _says_goodbye(self, text: str) -> bool:
        lowered = text.lower()
        return any(phrase.lower() in lowered for phrase in self.config.end_call_phrases)


def _call_record(call: ToolCallRequest, *, executed: bool) -> dict[str, Any]:
    return {"id": call.id, "name": call.name, "arguments": call.arguments, "executed": executed}


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def tool_failed(name: str, error: str | None) -> dict[str, Any]:
    return {"type": "error", "code": "tool_failed", "message": f"The tool {name} failed: {error}"}


def tts_unavailable(error: ProviderError) -> dict[str, Any]:
    return {
        "type": "error",
        "code": "tts_unavailable",
        "message": f"Audio is unavailable for this reply ({error.code}); the text is complete.",
    }
