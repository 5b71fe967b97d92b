"""A preemptive reply: a turn started on the words of a short pause, before the end of turn.

It runs like any turn (the model streams, the voice speaks, both as fast as they can) behind a
``HeldSink``: nothing reaches the client, nothing is stored and no tool runs until the session
releases it at the end of turn, with the same words. Otherwise it is discarded unheard.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from sessions.protocol import ServerEvent, Sink
from sessions.runtime.turn import Turn

_Held = tuple[Literal["event"], ServerEvent] | tuple[Literal["audio"], bytes]


class HeldSink:
    """A sink that keeps everything until ``release`` (then passes it all on, in order, and
    everything after it) or ``discard`` (then drops it all, and everything after it)."""

    def __init__(self, sink: Sink) -> None:
        self._sink = sink
        self._held: list[_Held] = []
        self.released = False
        self.discarded = False

    async def send_event(self, event: ServerEvent) -> None:
        if self.released:
            await self._sink.send_event(event)
        elif not self.discarded:
            self._held.append(("event", event))

    async def send_audio(self, chunk: bytes) -> None:
        if self.released:
            await self._sink.send_audio(chunk)
        elif not self.discarded:
            self._held.append(("audio", chunk))

    async def close(self) -> None:
        """The turn never closes the session's transport."""

    async def release(self) -> None:
        while self._held:  # what arrives while this awaits is held, and sent in its turn
            kind, item = self._held.pop(0)
            if kind == "event":
                await self._sink.send_event(item)  # type: ignore[arg-type]
            else:
                await self._sink.send_audio(item)  # type: ignore[arg-type]
        self.released = True

    def discard(self) -> None:
        self.discarded = True
        self._held.clear()


@dataclass
class Speculation:
    text: str  # the words it answers
    turn: Turn
    sink: HeldSink

    def answers(self, text: str) -> bool:
        return self.turn.active and _words(self.text) == _words(text)

    def discard(self) -> None:
        self.sink.discard()
        if self.turn.task is not None:
            self.turn.task.cancel()


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())
