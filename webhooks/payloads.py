"""The ``data`` of each event, built from what is stored (inside the transaction that stored it).

``session.ended`` carries the end-of-call report: transcript, ended reason, duration, usage and
cost per provider, latency p50/p95 per stage, and the tool calls. The summary and structured
data the assistant may ask for are added by the worker (webhooks/analysis.py).
"""

from __future__ import annotations

import math
from typing import Any

from sessions.models import Message, Session

LATENCY_STAGES = ("stt_ms", "llm_ttft_ms", "tts_ttfb_ms", "first_audio_ms")


def iso(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def session_data(session: Session) -> dict[str, Any]:
    return {
        "id": str(session.id),
        "assistant_id": str(session.assistant_id),
        "channel": session.channel,
        "status": session.status,
        "metadata": session.metadata,
        "created_at": iso(session.created_at),
        "started_at": iso(session.started_at),
        "ended_at": iso(session.ended_at),
        "ended_reason": session.ended_reason,
    }


def message_data(message: Message) -> dict[str, Any]:
    return {
        "id": str(message.id),
        "sequence": message.sequence,
        "role": message.role,
        "content": message.content,
        "tool_calls": message.tool_calls,
        "tool_call_id": message.tool_call_id,
        "interrupted": message.interrupted,
        "latency": message.latency,
        "usage": message.usage,
        "created_at": iso(message.created_at),
    }


def tool_call_data(result: Message, calls: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A tool's stored result and the call that asked for it (name and arguments)."""
    call = calls.get(result.tool_call_id, {})
    return {
        "id": result.tool_call_id,
        "name": call.get("name", ""),
        "arguments": call.get("arguments", ""),
        "result": result.content,
        "message_id": str(result.id),
        "created_at": iso(result.created_at),
    }


def calls_by_id(messages: list[Message]) -> dict[str, dict[str, Any]]:
    return {
        call["id"]: call
        for message in messages
        if message.role == Message.Role.ASSISTANT
        for call in message.tool_calls
        if isinstance(call, dict) and "id" in call
    }


def end_of_call_report(session: Session) -> dict[str, Any]:
    messages = list(session.messages.order_by("sequence"))
    calls = calls_by_id(messages)
    started = session.started_at or session.created_at
    duration = (session.ended_at - started).total_seconds() if session.ended_at else None
    return {
        "ended_reason": session.ended_reason,
        "status": session.status,
        "duration_seconds": round(duration, 3) if duration is not None else None,
        "transcript": [
            {
                "role": m.role,
                "content": m.content,
                "interrupted": m.interrupted,
                "created_at": iso(m.created_at),
            }
            for m in messages
            if m.role in (Message.Role.USER, Message.Role.ASSISTANT) and m.content
        ],
        "usage": usage_by_provider(session),
        "cost": session.usage.get("cost"),
        "latency": latency_percentiles(messages),
        "tool_calls": [tool_call_data(m, calls) for m in messages if m.role == Message.Role.TOOL],
    }


def usage_by_provider(session: Session) -> dict[str, Any]:
    usage, assistant = session.usage, session.assistant
    return {
        "llm": {
            "provider": assistant.model_provider,
            "model": assistant.model_name,
            "prompt_tokens": usage.get("prompt_tokens", 0),
            "completion_tokens": usage.get("completion_tokens", 0),
        },
        "tts": {
            "provider": assistant.voice_provider,
            "model": assistant.voice_model,
            "characters": usage.get("tts_characters", 0),
        },
        "stt": {
            "provider": assistant.transcriber_provider,
            "model": assistant.transcriber_model,
            "audio_seconds": usage.get("stt_audio_seconds", 0.0),
        },
    }


def latency_percentiles(messages: list[Message]) -> dict[str, dict[str, float | None]]:
    """p50 and p95 (nearest rank) of each stage over the assistant's replies that measured it."""
    replies = [m.latency for m in messages if m.role == Message.Role.ASSISTANT and m.latency]
    result = {}
    for stage in LATENCY_STAGES:
        values = sorted(float(r[stage]) for r in replies if isinstance(r.get(stage), int | float))
        result[stage] = {
            "p50": percentile(values, 50),
            "p95": percentile(values, 95),
            "count": len(values),
        }
    return result


def percentile(values: list[float], pct: float) -> float | None:
    if not values:
        return None
    rank = max(1, math.ceil(pct / 100 * len(values)))
    return round(values[rank - 1], 1)
