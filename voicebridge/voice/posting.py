"""Messages of a voice call in its text channel, sent in order by one task.

The runtime's events only queue a line here: a slow Discord (rate limits are waited out by
discord.py) never holds up a turn or the audio.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from typing import Any, Protocol

import discord

from voicebridge.reply import NO_PINGS, pages_of

logger = logging.getLogger(__name__)
REMEMBERED_POSTS = 32


class Channel(Protocol):
    async def send(self, content: str, **kwargs: Any) -> Any: ...


class Poster:
    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self._lines: asyncio.Queue[tuple[str, str | None, bool]] = asyncio.Queue()
        self._sent: dict[str, Any] = {}  # key -> the first Discord message of the post
        self._task = asyncio.create_task(self._send_all(), name="discord-voice-posts")

    def post(self, line: str, *, key: str | None = None) -> None:
        """Send ``line``; a ``key`` lets a later ``edit`` change it."""
        self._lines.put_nowait((line, key, False))

    def edit(self, key: str, line: str) -> None:
        """Change what was posted under ``key`` (its first 2,000 characters)."""
        self._lines.put_nowait((line, key, True))

    async def drain(self) -> None:
        """Until everything posted so far has been sent."""
        await self._lines.join()

    async def close(self) -> None:
        with suppress(TimeoutError):
            await asyncio.wait_for(self.drain(), timeout=5)
        self._task.cancel()
        with suppress(asyncio.CancelledError):
            await self._task

    async def _send_all(self) -> None:
        while True:
            line, key, edit = await self._lines.get()
            try:
                await (self._edit(key, line) if edit else self._send(key, line))
            except discord.HTTPException as exc:
                logger.warning("could not post in the call's text channel: %s", exc)
            finally:
                self._lines.task_done()

    async def _send(self, key: str | None, line: str) -> None:
        for index, page in enumerate(pages_of(line)):
            message = await self.channel.send(page, allowed_mentions=NO_PINGS)
            if index == 0 and key is not None:
                self._sent[key] = message
        while len(self._sent) > REMEMBERED_POSTS:
            self._sent.pop(next(iter(self._sent)))

    async def _edit(self, key: str | None, line: str) -> None:
        message = self._sent.get(key) if key is not None else None
        if message is not None:
            await message.edit(content=pages_of(line)[0], allowed_mentions=NO_PINGS)
