"""One text turn driven over HTTP, through the same LiveSession as a voice call (no audio)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from channels.db import database_sync_to_async

from sessions.models import Message
from sessions.runtime import store
from sessions.runtime.session import LiveSession


@dataclass
class CollectingSink:
    events: list[dict[str, Any]] = field(default_factory=list)

    async def send_event(self, event: dict[str, Any]) -> None:
        self.events.append(event)

    async def send_audio(self, chunk: bytes) -> None:
        """A text turn has no audio; with_voice=False means none is produced."""

    async def close(self) -> None:
        """Nothing to close: the HTTP response ends the exchange."""


@dataclass
class TextTurnResult:
    messages: list[Message]
    errors: list[dict[str, Any]]
    session_ended: str | None


@database_sync_to_async
def _messages_from(session_id: uuid.UUID, sequence: int) -> list[Message]:
    return list(Message.objects.filter(session_id=session_id, sequence__gte=sequence))


async def run_text_turn(session_id: uuid.UUID, content: str) -> TextTurnResult:
    sink = CollectingSink()
    context = await store.load_context(session_id)
    live = LiveSession(sink, with_voice=False, timers=False)
    await live.start(context, greet=False)
    try:
        user_message = await live.user_text(content)
        await live.wait_idle()
    finally:
        await live.close()
    ended = [e["reason"] for e in sink.events if e["type"] == "session-ended"]
    return TextTurnResult(
        messages=await _messages_from(session_id, user_message.sequence),
        errors=[e for e in sink.events if e["type"] == "error"],
        session_ended=ended[0] if ended else None,
    )
