"""The events of a streamed chat completion, read from the response's lines.

The SDK's own stream builds a pydantic ``ChatCompletionChunk`` per token; the adapter only needs
a few fields of each, so it reads the server-sent events itself and decodes each ``data`` as a
plain dict: a third of the CPU per reply (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Any, cast

import httpx2
import openai

from integrations.errors import ProviderError
from integrations.openai.client import PROVIDER

DONE = "[DONE]"


async def stream_data(
    response: openai.AsyncAPIResponse[Any],
) -> AsyncGenerator[dict[str, Any], None]:
    """Each event's decoded ``data``, up to ``[DONE]``.

    Raises the SDK's own errors for what its stream would raise (an ``error`` object in the
    stream, a timeout or a broken connection) and ProviderError for data that is not JSON.
    """
    request = response.http_request
    # An async generator underneath: closed with this one, not left to the garbage collector.
    lines = cast(AsyncGenerator[str, None], response.iter_lines())
    try:
        async with aclosing(lines), aclosing(_event_payloads(lines)) as payloads:
            async for payload in payloads:
                if payload == DONE:
                    # Read on to the end of the body: the connection goes back to the pool
                    # instead of being closed with the response.
                    async for _ in payloads:
                        pass
                    return
                yield _decoded(payload, request)
    except httpx2.TimeoutException as exc:
        raise openai.APITimeoutError(request=request) from exc
    except httpx2.TransportError as exc:
        raise openai.APIConnectionError(request=request) from exc


async def _event_payloads(lines: AsyncIterator[str]) -> AsyncGenerator[str, None]:
    """The ``data`` of each event (its lines joined); other fields and comments are skipped."""
    data: list[str] = []
    async for line in lines:
        if line.startswith("data:"):
            value = line[5:]
            data.append(value[1:] if value.startswith(" ") else value)
        elif not line and data:  # a blank line ends the event
            yield "\n".join(data)
            data = []
    if data:
        yield "\n".join(data)


def _decoded(payload: str, request: httpx2.Request) -> dict[str, Any]:
    try:
        data = json.loads(payload)
    except ValueError as exc:
        raise _malformed() from exc
    if not isinstance(data, dict):
        raise _malformed()
    if error := data.get("error"):
        # What the API sends when generation fails after the 200; the SDK raises the same.
        message = error.get("message") if isinstance(error, dict) else None
        raise openai.APIError(
            message if isinstance(message, str) else "An error occurred during streaming",
            request,
            body=error,
        )
    return data


def _malformed() -> ProviderError:
    return ProviderError(PROVIDER, "unavailable", "malformed stream event", retryable=True)
