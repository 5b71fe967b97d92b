"""Chat-completion providers behind one streaming interface."""

from integrations.llm.base import (
    LLMClient,
    LLMEvent,
    LLMFinish,
    LLMUsage,
    TextDelta,
    ToolCallRequest,
)

__all__ = ["LLMClient", "LLMEvent", "LLMFinish", "LLMUsage", "TextDelta", "ToolCallRequest"]
