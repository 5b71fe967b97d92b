"""A reply streamed into a Discord channel: one message, edited as the assistant writes.

Discord allows about five message edits per channel every five seconds and bursts are
punished with 429s (which discord.py then waits out, stalling the reply), so the text is
published at most once per ``interval`` (1 s): the first words at once, then whatever arrived
in the meantime, and a final edit with the full text when the turn is over. The runtime's
events only change the text in memory; one task owned by the stream does the sending, so a
slow Discord never slows the model down. Messages longer than Discord's 2,000 characters
continue in a second message.

Tool calls are shown as one line each ("🔧 notion_append_todo text=Buy milk ✓").
"""

from __future__ import annotations

import asyncio
import json
import logging
from contextlib import suppress
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import discord

from sessions.protocol import (
    AssistantDelta,
    AssistantMessage,
    Error,
    ServerEvent,
    ToolCall,
    ToolResult,
)

logger = logging.getLogger(__name__)

EDIT_INTERVAL_SECONDS = 1.0
MAX_MESSAGE_CHARS = 2_000
TOOL_ARGUMENTS_CHARS = 60
TOOL_ERROR_CHARS = 80
NO_PINGS = discord.AllowedMentions.none()  # the model's text must never ping @everyone


@dataclass
class ToolLine:
    name: str
    arguments: dict[str, Any] | str
    ok: bool | None = None
    error: str | None = None

    def render(self) -> str:
        line = f"🔧 {self.name}"
        if shown := brief_arguments(self.arguments):
            line += f" {shown}"
        if self.ok is True:
            line += " ✓"
        elif self.ok is False:
            line += f" ⚠️ {shorten(self.error or 'failed', TOOL_ERROR_CHARS)}"
        return line


def brief_arguments(arguments: dict[str, Any] | str) -> str:
    if isinstance(arguments, dict):
        parts = [f"{key}={_brief_value(value)}" for key, value in arguments.items()]
        return shorten(" ".join(parts), TOOL_ARGUMENTS_CHARS)
    return shorten(arguments, TOOL_ARGUMENTS_CHARS)


def _brief_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def pages_of(text: str, limit: int = MAX_MESSAGE_CHARS) -> list[str]:
    """``text`` cut into Discord messages, at a line break or space where there is one."""
    pages = []
    while len(text) > limit:
        cut = max(text.rfind("\n", 0, limit), text.rfind(" ", 0, limit))
        cut = cut if cut > limit // 2 else limit
        pages.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    return [*pages, text] if text else pages


@dataclass
class ReplyText:
    """The turn's visible text: replies and tool lines in the order they happened."""

    blocks: list[str | ToolLine] = field(default_factory=list)
    _replies: dict[str, int] = field(default_factory=dict)  # message id -> index in blocks
    _tools: dict[str, ToolLine] = field(default_factory=dict)
    notice: str = ""

    def apply(self, event: ServerEvent) -> bool:
        """Take one runtime event; True if the visible text changed."""
        match event:
            case AssistantDelta(message_id=message_id, content=content):
                self._reply_block(message_id, append=content)
            case AssistantMessage(message_id=message_id, content=content):
                self._reply_block(message_id, replace=content)
            case ToolCall(id=call_id, name=name, arguments=arguments):
                self._tools[call_id] = ToolLine(name, arguments)
                self.blocks.append(self._tools[call_id])
            case ToolResult(id=call_id, ok=ok, error=error) if call_id in self._tools:
                self._tools[call_id].ok, self._tools[call_id].error = ok, error
            case _:
                return False
        return True

    def _reply_block(
        self, message_id: str, *, append: str = "", replace: str | None = None
    ) -> None:
        index = self._replies.get(message_id)
        if index is None:
            index = self._replies[message_id] = len(self.blocks)
            self.blocks.append("")
        current = self.blocks[index]
        assert isinstance(current, str)
        self.blocks[index] = replace if replace is not None else current + append

    def render(self) -> str:
        lines = [b.render() if isinstance(b, ToolLine) else b.strip() for b in self.blocks]
        return "\n".join(line for line in [*lines, self.notice] if line)


class ReplyStream:
    """A ``Sink`` for one text turn that shows it in a channel; use as ``async with``."""

    def __init__(
        self,
        channel: discord.abc.Messageable,
        *,
        reference: discord.Message | None = None,
        interval: float = EDIT_INTERVAL_SECONDS,
    ) -> None:
        self.channel = channel
        self.reference = reference
        self.interval = interval
        self.text = ReplyText()
        self.messages: list[discord.Message] = []
        self._shown: list[str] = []
        self._changed = asyncio.Event()
        self._publisher: asyncio.Task[None] | None = None

    async def __aenter__(self) -> ReplyStream:
        self._publisher = asyncio.create_task(self._publish_while_open(), name="discord-reply")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._publisher is not None:
            self._publisher.cancel()
            with suppress(asyncio.CancelledError):
                await self._publisher
        await self._publish(final=True)

    # ---- the runtime's side (Sink) ---------------------------------------------------------

    async def send_event(self, event: ServerEvent) -> None:
        if isinstance(event, Error) and event.code != "tool_failed":  # the tool line says it
            logger.info("turn error shown in Discord: %s", event.code)
        if self.text.apply(event):
            self._changed.set()

    async def send_audio(self, chunk: bytes) -> None:
        raise AssertionError("Discord text turns run without voice")

    async def close(self) -> None:
        """The session ended; the final edit happens when the stream's block exits."""

    def fail(self, notice: str) -> None:
        """Show why the turn has no (complete) answer; published by the final edit."""
        self.text.notice = f"⚠️ {notice}"

    @property
    def message_ids(self) -> list[str]:
        return [str(message.id) for message in self.messages]

    # ---- Discord's side --------------------------------------------------------------------

    async def _publish_while_open(self) -> None:
        while True:
            await self._changed.wait()
            self._changed.clear()
            await self._publish(final=False)
            await asyncio.sleep(self.interval)

    async def _publish(self, *, final: bool) -> None:
        text = self.text.render()
        if not text and final and not self.messages:
            text = "(no reply)"
        for index, page in enumerate(pages_of(text)):
            try:
                await self._show_page(index, page)
            except discord.HTTPException as exc:  # rate limits are waited out by discord.py
                logger.warning("could not show the reply in Discord: %s", exc)
                return

    async def _show_page(self, index: int, page: str) -> None:
        if index < len(self.messages):
            if self._shown[index] != page:
                await self.messages[index].edit(content=page, allowed_mentions=NO_PINGS)
                self._shown[index] = page
            return
        reference = self.reference if index == 0 else None
        kwargs: dict[str, Any] = {"allowed_mentions": NO_PINGS}
        if reference is not None:
            kwargs.update(reference=reference, mention_author=False)
        self.messages.append(await self.channel.send(page, **kwargs))
        self._shown.append(page)
