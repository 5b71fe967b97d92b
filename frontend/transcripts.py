"""A session's transcript for the dashboard: the conversation in order, each tool call with
its result, and each reply's latency as a stacked bar (the segments and how to read them)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from frontend.selectors import FAILED_TOOL_PREFIX
from sessions.models import Message, Session

# (key: the .bars class, label, the latency field; None: the rest up to first_audio_ms)
LATENCY_SEGMENTS = [
    ("stt", "Speech to text", "stt_ms"),
    ("llm", "Model first token", "llm_ttft_ms"),
    ("tts", "Voice first byte", "tts_ttfb_ms"),
    ("audio", "Rest until first audio", None),
]


@dataclass(frozen=True)
class Segment:
    key: str
    label: str
    ms: float
    percent: float  # of the widest bar of the transcript


@dataclass(frozen=True)
class LatencyBar:
    segments: list[Segment]
    first_audio_ms: float | None
    total_ms: float
    error: str


@dataclass
class ToolCallView:
    id: str
    name: str
    arguments: str
    executed: bool
    result: str | None = None
    ok: bool | None = None


@dataclass
class Entry:
    message: Message
    opens_turn: bool = True
    tool_calls: list[ToolCallView] = field(default_factory=list)
    latency: LatencyBar | None = None


def transcript(session: Session) -> list[Entry]:
    """The session's messages as a conversation: each tool result beside the call it answers
    (a result whose call is unknown stays an entry of its own), latency bars on the replies."""
    messages = list(session.messages.order_by("sequence"))  # the session was reached scoped
    results = {m.tool_call_id: m for m in messages if m.role == Message.Role.TOOL}
    shown: set[str] = set()
    entries: list[Entry] = []
    previous: Message | None = None
    for message in messages:
        if message.role == Message.Role.ASSISTANT:
            calls = [_tool_call(call, results) for call in message.tool_calls or []]
            shown.update(call.id for call in calls)
            opens = previous is None or previous.role != Message.Role.TOOL
            entries.append(Entry(message, opens_turn=opens, tool_calls=calls))
        elif message.role != Message.Role.TOOL:
            entries.append(Entry(message))
        previous = message
    entries += [Entry(m) for m in results.values() if m.tool_call_id not in shown]
    entries.sort(key=lambda entry: entry.message.sequence)
    _add_latency_bars(entries)
    return entries


def transcript_version(session: Session, entries: list[Entry]) -> str:
    """Changes whenever what the live part of the page shows changes (a message added or cut
    short, the session ended): a poll that brings the same version is answered with nothing."""
    state = [session.status, session.ended_reason, session.usage]
    state += [(e.message.sequence, e.message.interrupted, e.message.content) for e in entries]
    return hashlib.blake2s(json.dumps(state, default=str).encode(), digest_size=8).hexdigest()


def _tool_call(call: dict[str, Any], results: dict[str, Message]) -> ToolCallView:
    view = ToolCallView(
        id=str(call.get("id", "")),
        name=str(call.get("name", "")),
        arguments=_pretty(call.get("arguments")),
        executed=bool(call.get("executed", True)),
    )
    result = results.get(view.id)
    if result is not None:
        view.result = _pretty(result.content)
        view.ok = not result.content.startswith(FAILED_TOOL_PREFIX)
    return view


def _pretty(raw: Any) -> str:
    """JSON (or a string holding JSON) indented for reading; anything else as it is."""
    value = raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            return raw
    return json.dumps(value, indent=2, ensure_ascii=False)


def _add_latency_bars(entries: list[Entry]) -> None:
    timings = {
        id(entry): entry.message.latency
        for entry in entries
        if entry.message.role == Message.Role.ASSISTANT and entry.message.latency
    }
    totals = {key: _total_ms(latency) for key, latency in timings.items()}
    widest = max(totals.values(), default=0.0) or 1.0
    for entry in entries:
        latency = timings.get(id(entry))
        bar = None if latency is None else _latency_bar(latency, totals[id(entry)], widest)
        if bar is not None and (bar.segments or bar.error):
            entry.latency = bar


def _total_ms(latency: dict[str, Any]) -> float:
    parts = sum(_number(latency.get(name)) for _, _, name in LATENCY_SEGMENTS if name)
    return max(_number(latency.get("first_audio_ms")), parts)


def _latency_bar(latency: dict[str, Any], total: float, widest: float) -> LatencyBar:
    segments = []
    measured = 0.0
    for key, label, name in LATENCY_SEGMENTS:
        if name is None:
            first_audio = latency.get("first_audio_ms")
            if first_audio is None:
                continue
            ms = max(0.0, _number(first_audio) - measured)
        elif latency.get(name) is None:
            continue
        else:
            ms = _number(latency[name])
            measured += ms
        segments.append(Segment(key, label, round(ms, 1), round(100 * ms / widest, 2)))
    first = latency.get("first_audio_ms")
    return LatencyBar(
        segments=segments,
        first_audio_ms=None if first is None else _number(first),
        total_ms=round(total, 1),
        error=str(latency.get("error") or ""),
    )


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else 0.0
