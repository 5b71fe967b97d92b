"""Reads for the bridge's slash commands: the timings of a member's last turns (``/status``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sessions.models import Message, Session

NOTION_TOOL_PREFIX = "notion_"


@dataclass(frozen=True)
class TurnTimes:
    """Where the time of one turn went, in milliseconds (None: not measured, e.g. no speech)."""

    question: str
    stt_ms: float | None
    llm_ms: float | None  # the model's first token (of the first reply that had text)
    tts_ms: float | None  # the voice's first byte
    notion_ms: float | None  # the turn's Notion tool calls, from call to stored result
    total_ms: float | None  # to the first audio when spoken, else to the last stored reply


def last_turns(
    *, organization_id: Any, bot_id: Any, guild_id: str, user_id: str, limit: int = 3
) -> list[TurnTimes]:
    """The last ``limit`` turns (oldest first) of the member's latest session in the server,
    typed in a text channel or spoken in a voice channel."""
    session = (
        Session.objects.for_org(organization_id)
        .filter(
            channel=Session.Channel.DISCORD,
            metadata__discord__bot_id=str(bot_id),
            metadata__discord__guild_id=guild_id,
            metadata__discord__user_id=user_id,
        )
        .order_by("-created_at")
        .first()
    )
    if session is None:
        return []
    messages = list(
        Message.objects.for_org(organization_id).filter(session=session).order_by("sequence")
    )
    return [turn_times(turn) for turn in split_turns(messages)[-limit:]]


def split_turns(messages: list[Message]) -> list[list[Message]]:
    """The messages grouped by turn: each user message and what answered it."""
    turns: list[list[Message]] = []
    for message in messages:
        if message.role == Message.Role.USER:
            turns.append([message])
        elif turns:
            turns[-1].append(message)
    return turns


def turn_times(turn: list[Message]) -> TurnTimes:
    question, answers = turn[0], turn[1:]
    replies = [m for m in answers if m.role == Message.Role.ASSISTANT]
    total = _first(replies, "first_audio_ms")
    if total is None and answers:
        total = _ms_between(question, answers[-1])
    return TurnTimes(
        question=question.content,
        stt_ms=_first(replies, "stt_ms"),
        llm_ms=_first(replies, "llm_ttft_ms"),
        tts_ms=_first(replies, "tts_ttfb_ms"),
        notion_ms=_notion_ms(answers),
        total_ms=total,
    )


def _first(replies: list[Message], key: str) -> float | None:
    """The turn's first measured value (a reply that only called tools has no first token)."""
    return next((r.latency[key] for r in replies if r.latency.get(key) is not None), None)


def _notion_ms(answers: list[Message]) -> float | None:
    """From each assistant message that called Notion tools to the last of their results."""
    calls = {
        call.get("id"): message
        for message in answers
        if message.role == Message.Role.ASSISTANT
        for call in message.tool_calls
        if str(call.get("name", "")).startswith(NOTION_TOOL_PREFIX)
    }
    finished: dict[int, tuple[Message, Message]] = {}
    for result in answers:
        caller = calls.get(result.tool_call_id) if result.role == Message.Role.TOOL else None
        if caller is not None:
            finished[caller.sequence] = (caller, result)  # the later result wins
    if not finished:
        return None
    return sum(_ms_between(caller, result) for caller, result in finished.values())


def _ms_between(earlier: Message, later: Message) -> float:
    return round((later.created_at - earlier.created_at).total_seconds() * 1000, 1)
