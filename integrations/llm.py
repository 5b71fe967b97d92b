"""What every LLM adapter streams back: text as it comes, then tool calls, usage and the finish."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ToolCallRequest:
    id: str
    name: str
    arguments: str  # raw JSON text as the model produced it; the caller validates it


@dataclass(frozen=True)
class LLMUsage:
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class LLMFinish:
    reason: str  # "stop", "tool_calls", "length", ...


LLMEvent = TextDelta | ToolCallRequest | LLMUsage | LLMFinish


class LLMClient(Protocol):
    def stream_chat(
        self,
        *,
        model: str,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        temperature: float,
        max_tokens: int,
    ) -> AsyncIterator[LLMEvent]:
        """Yield TextDelta as produced, then ToolCallRequest(s), LLMUsage, and LLMFinish last.

        Raises ProviderError. Closing the iterator closes the underlying HTTP stream.
        """
        ...
