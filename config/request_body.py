"""Request bodies before Django sees them: every body has a length, none outgrows the limit.

uvicorn hands a chunked request body (``Transfer-Encoding: chunked``, no ``Content-Length``) to
the application piece by piece. Django's ASGI handler buffers the pieces, but DRF
(``Request._load_stream``) and Django's own size check both take a missing ``CONTENT_LENGTH``
for an empty body: a chunked ``PATCH`` answered 200 and changed nothing, and a 20 MB chunked
body was buffered whole, then answered 400. So, in front of Django:

- a body without ``Content-Length`` is read here, at most ``DATA_UPLOAD_MAX_MEMORY_SIZE`` of it,
  and handed on with its ``Content-Length``;
- a body that outgrows the limit, or declares a length over it, is answered with the API's 413
  at once, without reading the rest, and the connection is closed.

A multipart body with a declared length passes untouched: Django limits its form fields itself
and lets files be larger (the project takes no uploads today). A chunked one is limited like
any other, since its parts cannot be told apart before it is parsed.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from django.conf import settings

from assistants.api.parsers import too_large_message

Scope = dict[str, Any]
# As Django's ASGIHandler takes them.
Receive = Callable[[], Awaitable[Mapping[str, Any]]]
Send = Callable[[Mapping[str, Any]], Awaitable[None]]


class RequestBodyLimit:
    """ASGI middleware for HTTP: see the module docstring."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        declared = _header(scope, b"content-length")
        if declared is not None:
            content_type = _header(scope, b"content-type") or b""
            if _over(declared, limit) and not content_type.startswith(b"multipart/form-data"):
                await _refuse_too_large(send, limit)
                return
            await self.app(scope, receive, send)
            return
        try:
            body = await _read_body(receive, limit)
        except _ClientGone:
            return
        if body is None:
            await _refuse_too_large(send, limit)
            return
        if body:
            length = (b"content-length", str(len(body)).encode())
            scope = {**scope, "headers": [*scope["headers"], length]}
        await self.app(scope, _replay(body, receive), send)


class _ClientGone(Exception):
    pass


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return value
    return None


def _over(declared: bytes, limit: int | None) -> bool:
    try:
        return limit is not None and int(declared) > limit
    except ValueError:  # not a number: the HTTP server or Django refuses it
        return False


async def _read_body(receive: Receive, limit: int | None) -> bytes | None:
    """The whole body, or None as soon as it is longer than ``limit``."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone
        part = message.get("body", b"")
        size += len(part)
        if limit is not None and size > limit:
            return None
        parts.append(part)
        if not message.get("more_body", False):
            return b"".join(parts)


def _replay(body: bytes, receive: Receive) -> Receive:
    """``receive`` for the application: the body in one message, then the client's own events
    (Django listens for the disconnect while a view runs)."""
    delivered = False

    async def receive_again() -> Mapping[str, Any]:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive_again


async def _refuse_too_large(send: Send, limit: int | None) -> None:
    error = {"code": "payload_too_large", "message": too_large_message(limit)}
    body = json.dumps({"error": error}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),  # the rest of the body is not read
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
