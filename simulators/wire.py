"""HTTP plumbing shared by the provider simulators: state access, pacing and faults."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from simulators.state import SimState

STATE_KEY = web.AppKey("sim_state", SimState)
DEFAULT_HOLD_S = 300.0  # "timeout"/"stall": long enough that any sane client gives up first
DEFAULT_RETRY_AFTER_MS = 200
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def client_hang_ups(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A client that hangs up mid-response (the TTS request of a reply the caller cut off) is
    a disconnection, not a simulator error. Most hang-ups cancel the handler; one that closes
    the transport while a response is being written surfaces here as ConnectionResetError,
    which aiohttp would log as an error with a traceback. Answered with a response that
    aiohttp's own write then files, quietly, as a premature client disconnection."""
    try:
        return await handler(request)
    except ConnectionResetError:
        return web.Response(status=499, reason="Client Closed Request")


def state_of(request: web.Request) -> SimState:
    return request.app[STATE_KEY]


async def sleep_ms(ms: float) -> None:
    if ms > 0:
        await asyncio.sleep(ms / 1000)


async def read_json(request: web.Request) -> Any:
    """The JSON body, or None when there is none or it does not parse."""
    try:
        return await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


@dataclass(frozen=True)
class Upload:
    """A multipart form: its text fields and its ``file`` part, read into memory."""

    fields: dict[str, str]
    data: bytes
    filename: str | None = None
    content_type: str | None = None

    def summary(self) -> dict[str, Any]:
        """What the request log keeps of the file: never the audio itself."""
        return {
            "filename": self.filename,
            "content_type": self.content_type,
            "bytes": len(self.data),
        }


async def read_upload(request: web.Request) -> Upload:
    form = await request.post()
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    part = form.get("file")
    if not isinstance(part, web.FileField):
        return Upload(fields, b"")
    with part.file:  # aiohttp spools uploads to a temporary file; release it now
        data = part.file.read()
    return Upload(fields, data, part.filename, part.content_type)


def query_of(request: web.Request) -> dict[str, str]:
    return dict(request.query)


def fault_status(item: dict[str, Any]) -> int | None:
    """The HTTP status a fault like "429" or "503" asks for, or None for other faults."""
    fault = item.get("fault") or ""
    if fault.isdigit() and 400 <= int(fault) < 600:
        return int(fault)
    return None


def retry_after_headers(item: dict[str, Any]) -> dict[str, str]:
    """Both spellings: ``retry-after-ms`` as OpenAI sends it, whole seconds for everyone else."""
    ms = float(item.get("retry_after_ms", DEFAULT_RETRY_AFTER_MS))
    return {"retry-after-ms": f"{ms:g}", "retry-after": str(max(1, -(-int(ms) // 1000)))}


async def hold(item: dict[str, Any]) -> None:
    """Send nothing for a long time; the handler is cancelled when the client hangs up."""
    await asyncio.sleep(float(item.get("hold_s", DEFAULT_HOLD_S)))


async def break_connection(request: web.Request) -> None:
    """Drop the TCP connection mid-response, as a crashed upstream or proxy would.

    The client sees a truncated chunked body. The handler's task is cancelled by the
    disconnect; the short sleep just gives that a moment to happen.
    """
    transport = request.transport
    if transport is not None:
        transport.close()
    await asyncio.sleep(1)
