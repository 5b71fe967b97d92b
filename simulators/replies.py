"""Deterministic made-up content: chat replies, token splitting, transcripts."""

from __future__ import annotations

import re
from typing import Any

SNIPPET_WORDS = 8
# Word pieces with their leading space, long words split in two: roughly how BPE tokens look.
_PIECE = re.compile(r"\s*\S{1,7}")


def message_text(message: dict[str, Any]) -> str:
    """Text of a chat message whose content is a string or a list of content parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict)).strip()
    return ""


def last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return message_text(message)
    return ""


def default_reply(user_text: str) -> str:
    """About three sentences; the first speakable piece is the short clause "Sure, "."""
    words = user_text.split()
    if not words:
        return (
            "Sure, I am listening. This is the provider simulator answering with a short, "
            "deterministic reply. Ask me anything and I will respond in a few sentences."
        )
    snippet = " ".join(words[:SNIPPET_WORDS]).strip(" .?!")
    return (
        f"Sure, I would be happy to help with that. You said: {snippet}. "
        "This is the provider simulator speaking, so the details are invented, but the reply "
        "is long enough to exercise streaming text and speech from the first word to the last."
    )


def tool_result_reply(messages: list[dict[str, Any]]) -> str:
    """A reply that briefly mentions the latest tool result."""
    result = message_text(messages[-1]) if messages else ""
    brief = " ".join(result.split())[:80] or "nothing"
    return f"Okay, I checked that. The result was: {brief}. Is there anything else?"


def split_tokens(text: str) -> list[str]:
    return _PIECE.findall(text)


def count_tokens(text: str) -> int:
    return len(split_tokens(text))


def prompt_tokens(messages: list[dict[str, Any]], tools: list[Any] | None) -> int:
    """A stable estimate: the pieces of every message, plus overhead per message and tool."""
    total = sum(count_tokens(message_text(message)) + 4 for message in messages)
    return total + 40 * len(tools or ())


def default_transcript(seconds: float) -> str:
    return f"I said something for {seconds:.1f} seconds."
