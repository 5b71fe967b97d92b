"""OpenAI chat completions, streamed, on the official SDK.

The request goes through the SDK's generic ``post`` with a plain JSON body, and the stream's
events arrive as the SDK's decoded dicts (``AsyncStream[object]``) instead of a pydantic
``ChatCompletionChunk`` per token: the SDK still does the connection, auth, timeouts, SSE
decoding, in-stream error events and error types, at a third of the CPU per reply
(docs/PERFORMANCE.md: 9.1 -> 3.1 ms for a 56-token reply).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx2
import openai
from openai import AsyncOpenAI

from integrations.errors import ProviderError
from integrations.llm import LLMEvent, LLMFinish, LLMUsage, TextDelta, ToolCallRequest
from integrations.openai.client import PROVIDER, map_openai_error
from integrations.resilience import stream_with_retries
from integrations.transport import AiohttpTransport

ChunkStream = openai.AsyncStream[object]  # each item is one decoded chunk, a dict
CHAT_PATH = "/chat/completions"


@dataclass
class _PartialToolCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


@dataclass
class _Accumulator:
    """Folds chunks into events: text passes straight through, the rest waits for the end."""

    tool_calls: dict[int, _PartialToolCall] = field(default_factory=dict)
    usage: LLMUsage | None = None
    finish_reason: str | None = None
    started: bool = False  # a token (text, tool call or finish) has arrived

    def feed(self, chunk: Any) -> list[LLMEvent]:
        """One decoded ``chat.completion.chunk``; anything malformed is a provider fault."""
        try:
            return self._feed(chunk)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise ProviderError(
                PROVIDER, "unavailable", "malformed stream chunk", retryable=True
            ) from exc

    def _feed(self, chunk: dict[str, Any]) -> list[LLMEvent]:
        if usage := chunk.get("usage"):
            self.usage = LLMUsage(int(usage["prompt_tokens"]), int(usage["completion_tokens"]))
        events: list[LLMEvent] = []
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            if content := delta.get("content"):
                self.started = True
                events.append(TextDelta(str(content)))
            for call in delta.get("tool_calls") or ():
                self.started = True
                self._add_tool_fragment(int(call["index"]), call.get("id"), call.get("function"))
            if reason := choice.get("finish_reason"):
                self.started = True
                self.finish_reason = str(reason)
        return events

    def _add_tool_fragment(
        self, index: int, call_id: str | None, function: dict[str, Any] | None
    ) -> None:
        partial = self.tool_calls.setdefault(index, _PartialToolCall())
        if call_id:
            partial.id = call_id
        if function:
            if name := function.get("name"):
                partial.name += name
            if arguments := function.get("arguments"):
                partial.arguments.append(arguments)

    def closing_events(self) -> list[LLMEvent]:
        events: list[LLMEvent] = [
            ToolCallRequest(call.id, call.name, "".join(call.arguments))
            for _, call in sorted(self.tool_calls.items())
        ]
        if self.usage is not None:
            events.append(self.usage)
        events.append(LLMFinish(self.finish_reason or "stop"))
        return events


def _as_openai_tool(tool: dict[str, Any]) -> dict[str, Any]:
    # Accept bare {"name", "description", "parameters"} specs as well as the wrapped form.
    return tool if "type" in tool else {"type": "function", "function": tool}


class OpenAILLM:
    """Streams chat completions; retries only before anything reached the caller."""

    def __init__(
        self,
        api_key: str,
        base_url: str | None,
        timeout: float = 30,
        max_attempts: int = 3,
        first_token_timeout: float = 10,
    ) -> None:
        self._api_key = api_key
        self._max_attempts = max_attempts
        self._first_token_timeout = first_token_timeout
        # max_retries=0: the SDK would also retry, multiplying attempts and latency.
        # The SDK's httpx2 client carries the aiohttp transport (integrations/transport.py).
        self._client = AsyncOpenAI(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=0,
            http_client=httpx2.AsyncClient(
                timeout=timeout, transport=AiohttpTransport(httpx2), follow_redirects=True
            ),
        )

    async def aclose(self) -> None:
        """Close the connection pool (the platform keeps clients for the process lifetime)."""
        await self._client.close()

    def stream_chat(
        self,
        *,
        model: str,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        temperature: float,
        max_tokens: int,
    ) -> AsyncIterator[LLMEvent]:
        params: dict[str, Any] = {
            "model": model,
            "messages": messages,
            "temperature": temperature,
            "max_completion_tokens": max_tokens,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if tools:
            params["tools"] = [_as_openai_tool(tool) for tool in tools]
        return stream_with_retries(
            lambda: self._stream_once(params),
            provider=PROVIDER,
            max_attempts=self._max_attempts,
        )

    async def _stream_once(self, params: dict[str, Any]) -> AsyncIterator[LLMEvent]:
        acc = _Accumulator()
        stream, early_events, exhausted = await self._open(params, acc)
        async with stream:  # closes the HTTP response on completion, error or aclose()
            for event in early_events:
                yield event
            if not exhausted:
                try:
                    async for chunk in stream:
                        for event in acc.feed(chunk):
                            yield event
                except openai.OpenAIError as exc:
                    raise map_openai_error(exc, self._api_key) from exc
        if acc.finish_reason is None:
            raise ProviderError(
                PROVIDER, "stream_broken", "stream ended without a finish reason", retryable=True
            )
        for event in acc.closing_events():
            yield event

    async def _open(
        self, params: dict[str, Any], acc: _Accumulator
    ) -> tuple[ChunkStream, list[LLMEvent], bool]:
        """Send the request and read up to the first token under one deadline.

        The deadline ends before anything is yielded: a timeout scope that stayed open across
        a ``yield`` would fire inside the consumer's code instead.
        """
        try:
            return await asyncio.wait_for(
                self._read_until_first_token(params, acc), self._first_token_timeout
            )
        except TimeoutError as exc:
            raise ProviderError(
                PROVIDER,
                "timeout",
                f"no first token within {self._first_token_timeout:g}s",
                retryable=True,
            ) from exc
        except openai.OpenAIError as exc:
            raise map_openai_error(exc, self._api_key) from exc

    async def _read_until_first_token(
        self, params: dict[str, Any], acc: _Accumulator
    ) -> tuple[ChunkStream, list[LLMEvent], bool]:
        stream: ChunkStream = await self._client.post(
            CHAT_PATH,
            cast_to=object,
            body=params,
            options={"security": {"bearer_auth": True}},
            stream=True,
            stream_cls=ChunkStream,
        )
        events: list[LLMEvent] = []
        try:
            while not acc.started:
                try:
                    chunk = await stream.__anext__()
                except StopAsyncIteration:
                    return stream, events, True
                events.extend(acc.feed(chunk))
        except BaseException:
            await stream.close()  # also on the deadline's cancellation: free the connection
            raise
        return stream, events, False
