"""One text turn driven over HTTP, through the same LiveSession as a voice call (no audio).

Failures leave as typed exceptions for the view to map: ``TurnFailed`` (the provider failed
after its retries; the user's message is stored) and ``TurnCrashed`` (a bug on our side).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from integrations.errors import ProviderError
from sessions.models import Message
from sessions.protocol import ServerEvent, SessionEnded, Sink
from sessions.runtime import store
from sessions.runtime.session import LiveSession, SessionOver
from sessions.runtime.turn import TurnState

__all__ = ["SessionOver", "TextTurnResult", "TurnCrashed", "TurnFailed", "run_text_turn"]


class TurnFailed(Exception):
    def __init__(self, error: ProviderError) -> None:
        super().__init__(error.message)
        self.error = error


class TurnCrashed(Exception):
    """The turn stopped on an unexpected error (logged with its traceback)."""


@dataclass
class CollectingSink:
    """The session's events, kept for the HTTP response and passed on, as they happen, to a
    transport that shows the reply while it is written (the Discord bridge); no audio."""

    events: list[ServerEvent] = field(default_factory=list)
    listener: Sink | None = None

    async def send_event(self, event: ServerEvent) -> None:
        self.events.append(event)
        if self.listener is not None:
            await self.listener.send_event(event)

    async def send_audio(self, chunk: bytes) -> None:
        raise AssertionError("a text turn runs with_voice=False: no audio is produced")

    async def close(self) -> None:
        """The HTTP response ends the exchange: nothing to close."""


@dataclass
class TextTurnResult:
    messages: list[Message]
    session_ended: str | None


async def run_text_turn(
    session_id: uuid.UUID, content: str, *, listener: Sink | None = None
) -> TextTurnResult:
    context = await store.load_context(session_id)
    if context is None or context.is_over:
        raise SessionOver()
    sink = CollectingSink(listener=listener)
    live = LiveSession(sink, with_voice=False, timers=False)
    await live.start(context, greet=False)
    try:
        user_message = await live.user_text(content)
        await live.wait_idle()
    finally:
        await live.close()
    turn = live.turn
    if turn is None or turn.state is not TurnState.DONE:
        if turn is not None and turn.error is not None:
            raise TurnFailed(turn.error)
        raise TurnCrashed()
    ended = [e.reason for e in sink.events if isinstance(e, SessionEnded)]
    return TextTurnResult(
        messages=await store.messages_from(session_id, user_message.sequence),
        session_ended=ended[0] if ended else None,
    )
