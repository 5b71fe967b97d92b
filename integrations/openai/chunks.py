"""A streamed chat completion's chunks folded into our events: text passes straight through,
tool calls are assembled from their fragments, usage and the finish wait for the end."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from integrations.errors import ProviderError
from integrations.llm import LLMEvent, LLMFinish, LLMUsage, TextDelta, ToolCallRequest
from integrations.openai.client import PROVIDER


@dataclass
class _PartialToolCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


@dataclass
class ChunkAccumulator:
    """Folds chunks into events: text passes straight through, the rest waits for the end."""

    tool_calls: dict[int, _PartialToolCall] = field(default_factory=dict)
    usage: LLMUsage | None = None
    finish_reason: str | None = None
    started: bool = False  # a token (text, tool call or finish) has arrived

    def feed(self, chunk: object) -> list[LLMEvent]:
        """One decoded ``chat.completion.chunk``; anything malformed is a provider fault."""
        try:
            if not isinstance(chunk, dict):
                raise TypeError("a chunk is a JSON object")
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
