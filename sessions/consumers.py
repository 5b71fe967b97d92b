"""The live-session WebSocket: authenticate, then translate frames to LiveSession calls.

Refusals accept and then close with a code, so the client can read the code (a close before
accept is an HTTP 403 without one): 4401 bad or expired token, 4403 wrong organization or
ended session, 4404 no such session, 4429 organization at its concurrent-session limit.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.http.request import validate_host

from assistants.models import Membership
from config import logs, metrics
from sessions import concurrency
from sessions.protocol import ProtocolError, check_audio_frame, parse_text_frame
from sessions.runtime import store
from sessions.runtime.session import LiveSession
from sessions.services import session_group
from sessions.tokens import ws_token_valid

logger = logging.getLogger(__name__)
AUDIO_FRAMES_PER_SECOND = 200


class TokenBucket:
    def __init__(self, rate: float) -> None:
        self.rate, self.capacity = rate, rate * 2
        self.tokens, self.stamp = self.capacity, time.monotonic()

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def _own_origin(scope) -> bool:
    """A cookie travels with any page's request; only our own pages may use it here."""
    origin = dict(scope.get("headers", [])).get(b"origin")
    if origin is None:
        return True  # not a browser: no ambient cookie to abuse
    host = urlsplit(origin.decode("latin-1")).hostname or ""
    return bool(host) and validate_host(host, settings.ALLOWED_HOSTS)


@database_sync_to_async
def _is_member(user, organization_id) -> bool:
    return Membership.objects.filter(user=user, organization_id=organization_id).exists()


class SessionConsumer(AsyncWebsocketConsumer):
    live: LiveSession | None = None
    lease: tuple | None = None
    # False once the client has gone: what the session still says (the stored reply's event
    # after a hang-up) has nobody to reach, and the server refuses sends on a closed socket.
    client_connected = True

    async def connect(self) -> None:
        session_id = self.scope["url_route"]["kwargs"]["session_id"]
        self.connection_id = uuid.uuid4().hex
        headers = dict(self.scope.get("headers", []))
        logs.request_id.set(logs.new_request_id(headers.get(b"x-request-id", b"").decode()))
        self.text_budget = TokenBucket(settings.WS_MESSAGES_PER_SECOND)
        self.audio_budget = TokenBucket(AUDIO_FRAMES_PER_SECOND)
        context = await store.load_context(session_id)
        refusal = await self._refusal(context, session_id)
        if refusal is None and not await self._take_lease(context):
            refusal = 4429
        await self.accept()
        if refusal is not None:
            await self.close(code=refusal)
            return
        await self.channel_layer.group_add(session_group(session_id), self.channel_name)
        self.live = LiveSession(self)
        metrics.LIVE_SESSIONS.inc()
        self.heartbeat = asyncio.create_task(self._keep_lease())
        await self.live.start(context)

    async def _refusal(self, context, session_id) -> int | None:
        if context is None:
            return 4404
        token = parse_qs(self.scope.get("query_string", b"").decode()).get("token", [""])[0]
        if not (token and ws_token_valid(token, session_id)):
            user = self.scope.get("user")
            if user is None or not user.is_authenticated:
                return 4401
            if not _own_origin(self.scope) or not await _is_member(user, context.organization_id):
                return 4403
        if context.status in ("ended", "failed"):
            return 4403
        return None

    async def _take_lease(self, context) -> bool:
        limit = context.assistant.organization.max_concurrent_sessions
        granted = await concurrency.acquire(context.organization_id, self.connection_id, limit)
        if granted:
            self.lease = (context.organization_id, self.connection_id)
        return granted

    async def _keep_lease(self) -> None:
        while True:
            await asyncio.sleep(concurrency.REFRESH_SECONDS)
            await concurrency.refresh(*self.lease)

    async def disconnect(self, code: int) -> None:
        self.client_connected = False
        if self.live is None:
            return
        metrics.LIVE_SESSIONS.dec()
        self.heartbeat.cancel()
        await self.live.close()
        await self.channel_layer.group_discard(
            session_group(self.live.session_id), self.channel_name
        )
        if self.lease:
            await concurrency.release(*self.lease)
            self.lease = None

    # ---- frames ----------------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None):
        if self.live is None:
            return
        try:
            if self.live.ended:
                raise ProtocolError("session_ended", "The session has ended.")
            if bytes_data is not None:
                await self._audio(bytes_data)
            else:
                await self._command(*parse_text_frame(text_data or ""))
        except ProtocolError as exc:
            await self.send_event(exc.event())
        except Exception:  # whatever a client sends, the connection survives it
            logger.exception(
                "websocket frame failed", extra={"session_id": str(self.live.session_id)}
            )
            await self.send_event(
                {"type": "error", "code": "internal_error", "message": "Something went wrong."}
            )

    async def _audio(self, frame: bytes) -> None:
        if not self.audio_budget.allow():
            raise ProtocolError("rate_limited", "Too many audio frames; send 20-100 ms per frame.")
        check_audio_frame(frame)
        if not self.live.can_hear:
            raise ProtocolError("no_transcriber", "This assistant has no transcriber configured.")
        await self.live.audio(frame)

    async def _command(self, kind: str, fields: dict) -> None:
        if not self.text_budget.allow():
            raise ProtocolError("rate_limited", "Too many messages; slow down.")
        if kind == "ping":
            await self.send_event({"type": "pong"})
        elif kind == "user-message":
            await self.live.user_text(fields["content"])
        elif kind == "interrupt":
            if not self.live.interruptions_enabled:
                raise ProtocolError(
                    "interruptions_disabled", "This assistant cannot be interrupted."
                )
            await self.live.interrupt()
        elif kind == "mark":
            self.live.mark(fields["message_id"], fields["played_ms"])
        elif kind == "audio-commit":
            if not self.live.can_hear:
                raise ProtocolError(
                    "no_transcriber", "This assistant has no transcriber configured."
                )
            await self.live.audio_commit()
        elif kind == "end-session":
            await self.live.end("user-ended")

    # ---- channel layer ---------------------------------------------------------------------

    async def session_end(self, event: dict) -> None:
        """`session.end` sent to the session's group, e.g. by POST /sessions/{id}/end/."""
        if self.live is not None:
            await self.live.end(str(event.get("reason") or "ended-by-api"))

    # ---- the LiveSession's sink ------------------------------------------------------------

    async def send_event(self, event: dict) -> None:
        await self._send_frame(text_data=json.dumps(event))

    async def send_audio(self, chunk: bytes) -> None:
        await self._send_frame(bytes_data=chunk)

    async def _send_frame(self, **frame: Any) -> None:
        if not self.client_connected:
            return
        try:
            await self.send(**frame)
        except OSError:  # the peer went away between our check and the write
            self.client_connected = False

    async def close(self, code: int | bool | None = 1000, reason: str | None = None) -> None:
        await super().close(code=code, reason=reason)
