"""Rebuild the LLM's view of a conversation from stored messages."""

from __future__ import annotations

from typing import Any

from sessions.models import Message


def llm_message(message: Message) -> dict[str, Any] | None:
    """The chat-completions message for a stored one; None for what the LLM must not see."""
    if message.role == Message.Role.TOOL:
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}
    if message.role == Message.Role.ASSISTANT:
        executed = [c for c in message.tool_calls if c.get("executed", True)]
        if not message.interrupted and executed:
            return {
                "role": "assistant",
                "content": message.content or None,
                "tool_calls": [_openai_tool_call(c) for c in executed],
            }
        return {"role": "assistant", "content": message.content} if message.content else None
    return {"role": message.role, "content": message.content}


def _openai_tool_call(call: dict) -> dict:
    return {
        "id": call["id"],
        "type": "function",
        "function": {"name": call["name"], "arguments": call["arguments"]},
    }


def build_history(system_prompt: str, messages: list[Message]) -> list[dict[str, Any]]:
    history: list[dict[str, Any]] = []
    if system_prompt:
        history.append({"role": "system", "content": system_prompt})
    answered = {m.tool_call_id for m in messages if m.role == Message.Role.TOOL}
    for message in messages:
        item = llm_message(message)
        if item is None:
            continue
        if "tool_calls" in item:
            # A call without a stored result (the process died mid-tool) would make the
            # provider reject the whole history: keep only answered calls.
            item["tool_calls"] = [c for c in item["tool_calls"] if c["id"] in answered]
            if not item["tool_calls"]:
                del item["tool_calls"]
                if not item["content"]:
                    continue
        history.append(item)
    return history
