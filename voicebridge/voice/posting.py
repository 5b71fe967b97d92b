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


class Channel(Protocol):
    async def send(self, content: str, **kwargs: Any) -> Any: ...


class Poster:
    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self._lines: asyncio.Queue[str] = asyncio.Queue()
        self._task = asyncio.create_task(self._send_all(), name="discord-voice-posts")

    def post(self, line: str) -> None:
        self._lines.put_nowait(line)

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
            line = await self._lines.get()
            try:
                for page in pages_of(line):
                    await self.channel.send(page, allowed_mentions=NO_PINGS)
            except discord.HTTPException as exc:
                logger.warning("could not post in the call's text channel: %s", exc)
            finally:
                self._lines.task_done()
