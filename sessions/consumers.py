"""The live-session WebSocket: authenticate, then carry frames to and from a LiveSession.

Refusals accept and then close with a code, so the client can read the code (a close before
accept is an HTTP 403 without one): 4401 no valid token and no logged-in member (whether or not
the session exists), 4404 no such session for this member (another organization's is the
same: existence does not leak), 4403 the session has ended or a login cookie came from
another site, 4400 an unknown connect option (``output`` is ``audio`` or ``text``), 4429
organization at its concurrent-session limit. ``?output=text`` is a client that plays no audio:
no speech is made, so its replies are never cut to what the clock says it heard.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http.request import validate_host
from redis.exceptions import RedisError

from config import logs, metrics
from sessions import concurrency
from sessions.protocol import (
    Error,
    ProtocolError,
    ServerEvent,
    check_audio_frame,
    encode,
    parse_text_frame,
)
from sessions.runtime import store
from sessions.runtime.session import LiveSession, SessionOver
from sessions.runtime.store import SessionContext, StoreUnavailable
from sessions.services import session_group
from sessions.tokens import api_key_group, ws_token_claims

logger = logging.getLogger(__name__)
# What a live connection cannot go on without. The runtime turns database errors during a
# conversation into storage_unavailable events; these reach the consumer from the channel
# layer (Redis) or from connecting.
BACKING_SERVICE_DOWN: tuple[type[BaseException], ...] = (
    RedisError,
    OSError,
    OperationalError,
    InterfaceError,
    StoreUnavailable,
)
AUDIO_FRAMES_PER_SECOND = 200
# This process's open live sockets, to warn them when the process stops (see announce_shutdown).
_open_consumers: weakref.WeakSet[SessionConsumer] = weakref.WeakSet()


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


def _own_origin(scope: Mapping[str, Any]) -> bool:
    """A cookie travels with any page's request; only our own pages may use it here."""
    origin = dict(scope.get("headers", [])).get(b"origin")
    if origin is None:
        return True  # not a browser: no ambient cookie to abuse
    host = urlsplit(origin.decode("latin-1")).hostname or ""
    return bool(host) and validate_host(host, settings.ALLOWED_HOSTS)


class SessionConsumer(AsyncWebsocketConsumer):
    """The WebSocket transport of a live session: the session's ``Sink``."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Channels' ``AsyncConsumer.__call__``, with the messages pumped by ``_pump``."""
        self.scope, self.base_send = scope, send
        try:
            layer = get_channel_layer(self.channel_layer_alias)
            assert layer is not None, "config/settings.py always sets CHANNEL_LAYERS"
            self.channel_layer = layer
            self.channel_name = await layer.new_channel()
            with contextlib.suppress(StopConsumer):
                await self._pump([receive, functools.partial(layer.receive, self.channel_name)])
        except BACKING_SERVICE_DOWN as exc:  # Redis (the channel layer) or the database
            await self._backing_service_lost(exc)

    async def _pump(self, sources: list[Callable[[], Awaitable[Any]]]) -> None:
        """Dispatch what the client and the channel layer send, one message at a time, as
        Channels' ``await_many_dispatch`` does, but with one long-lived task per source:
        Channels makes a task and an ``asyncio.wait`` for every message, a fifth of the
        server's CPU per audio frame (docs/PERFORMANCE.md, "Audio intake"). Ends with the
        first source whose handler raises (``StopConsumer`` after a disconnect)."""
        one_at_a_time = asyncio.Lock()

        async def pump(source: Callable[[], Awaitable[Any]]) -> None:
            while True:
                message = await source()
                async with one_at_a_time:
                    await self.dispatch(message)

        pumps = [asyncio.ensure_future(pump(source)) for source in sources]
        try:
            done, _ = await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
        finally:
            for task in pumps:
                task.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)

    live: LiveSession | None = None
    lease: tuple[uuid.UUID, str] | None = None  # the organization's concurrent-session slot
    holds_session = False  # this is the session's one live connection
    accepted = False
    heartbeat: asyncio.Task[None] | None = None
    joined = False  # member of the session's (and its token's key's) channel-layer groups
    api_key_id: str | None = None  # the key that minted the connection's token
    # False once the client has gone or this side has closed the socket: what the session still
    # says (the stored reply's event after a hang-up) has nobody to reach, frames the client
    # sent before it saw the close are not answered, and the server refuses sends after a close.
    client_connected = True

    async def connect(self) -> None:
        session_id = self.session_id = self.scope["url_route"]["kwargs"]["session_id"]
        self.connection_id = uuid.uuid4().hex
        headers = dict(self.scope.get("headers", []))
        logs.request_id.set(logs.new_request_id(headers.get(b"x-request-id", b"").decode()))
        self.text_budget = TokenBucket(settings.WS_MESSAGES_PER_SECOND)
        self.audio_budget = TokenBucket(AUDIO_FRAMES_PER_SECOND)
        context = await store.load_context(session_id)
        refusal = await self._refusal(context, session_id)
        if refusal is None and self._query("output") not in ("", "audio", "text"):
            refusal = 4400
        if refusal is None and context is not None and not await self._take_lease(context):
            refusal = 4429
        await self.accept()
        self.accepted = True
        if refusal is not None or context is None:
            await self.close(code=refusal)
            return
        await self._go_live(context)

    async def _go_live(self, context: SessionContext) -> None:
        """Join the session's groups, become its one connection, and start the conversation."""
        session_id = context.session_id
        await self.channel_layer.group_add(session_group(session_id), self.channel_name)
        if self.api_key_id is not None:
            await self.channel_layer.group_add(api_key_group(self.api_key_id), self.channel_name)
        self.joined = True
        if await self._hold_session(session_id):  # the previous connection stored meanwhile
            fresh = await store.load_context(session_id)
            if fresh is None or fresh.is_over:
                await self._refuse_after_takeover()
                return
            context = fresh
        self.live = LiveSession(self, with_voice=self._query("output") != "text")
        metrics.LIVE_SESSIONS.inc()
        self.heartbeat = asyncio.create_task(self._keep_lease())
        _open_consumers.add(self)
        try:
            await self.live.start(context)
        except SessionOver:  # ended between the look-up and now
            self._stop_heartbeat()
            await self._let_go()
            await self.close(code=4403)

    def _query(self, name: str) -> str:
        return parse_qs(self.scope.get("query_string", b"").decode()).get(name, [""])[0]

    async def _backing_service_lost(self, exc: BaseException) -> None:
        """The channel layer or the database went away under this connection: stop the
        session here (its timers with it; what was said is stored if the database answers),
        tell the client it may resume, and close with 1013 (try again later)."""
        logger.warning("live connection lost a backing service: %s", type(exc).__name__)
        self._stop_heartbeat()
        if self.live is not None:
            with contextlib.suppress(*BACKING_SERVICE_DOWN):
                await self.live.close()
        notice = Error(
            code="service_unavailable",
            message="The server lost its database or message bus. Reconnect in a moment (a "
            "fresh token from POST /api/v1/sessions/{id}/token/) to resume this session.",
            retryable=True,
        )
        with contextlib.suppress(OSError, RuntimeError):
            if not self.accepted:
                await self.accept()
            await self.send_event(notice)
            await self.close(code=1013)
        with contextlib.suppress(*BACKING_SERVICE_DOWN):
            await self._let_go()

    def _stop_heartbeat(self) -> None:
        if self.heartbeat is not None:
            self.heartbeat.cancel()

    async def _refusal(self, context: SessionContext | None, session_id: uuid.UUID) -> int | None:
        token = self._query("token")
        claims = ws_token_claims(token, session_id) if token else None
        if claims is not None and claims.api_key_id is not None:
            if not await store.api_key_active(claims.api_key_id):
                return 4401  # the key that minted the token has been revoked
            self.api_key_id = claims.api_key_id
        if claims is None:
            user = self.scope.get("user")
            if user is None or not user.is_authenticated:
                return 4401
            if not _own_origin(self.scope):
                return 4403  # another site riding a member's cookie, whatever the session
            if context is None or not await store.is_member(user, context.organization_id):
                return 4404
        if context is None:
            return 4404
        if context.is_over:
            return 4403
        return None

    async def _hold_session(self, session_id: uuid.UUID) -> bool:
        """Become the session's one live connection, taking it over from an older one (which
        stores what was said and closes with 4409). True if there was one."""
        took_over = False
        while not await concurrency.claim_session(session_id, self.connection_id):
            took_over = True
            holder = await concurrency.session_holder(session_id)
            if holder is None:
                continue  # it let go meanwhile: claim again
            await self.channel_layer.group_send(
                session_group(session_id),
                {"type": "session.takeover", "holder": holder},
            )
            if not await concurrency.holder_left(session_id, holder) and (
                await concurrency.replace_holder(session_id, holder, self.connection_id)
            ):
                break  # the holder did not answer: its process is gone
        self.holds_session = True
        return took_over

    async def _refuse_after_takeover(self) -> None:
        await self._let_go()
        await self.close(code=4403)

    async def _take_lease(self, context: SessionContext) -> bool:
        limit = context.assistant.organization.max_concurrent_sessions
        granted = await concurrency.acquire(context.organization_id, self.connection_id, limit)
        if granted:
            self.lease = (context.organization_id, self.connection_id)
        return granted

    async def _keep_lease(self) -> None:
        assert self.lease is not None and self.live is not None
        while True:
            await asyncio.sleep(concurrency.REFRESH_SECONDS)
            try:
                await concurrency.refresh(*self.lease)
                await store.touch(self.live.session_id)  # connected: the session must not expire
                await concurrency.refresh_session(self.live.session_id, self.connection_id)
            except BACKING_SERVICE_DOWN as exc:  # the next beat tries again; leases outlast it
                logger.warning("live connection heartbeat failed: %s", type(exc).__name__)

    async def disconnect(self, code: int) -> None:
        self.client_connected = False
        _open_consumers.discard(self)
        if self.live is None:
            await self._let_go()
            return
        self._stop_heartbeat()
        try:
            await self.live.close()  # what was said is stored
            await self._let_go()
        finally:
            metrics.LIVE_SESSIONS.dec()  # counted until its hang-up is written

    async def _let_go(self) -> None:
        """Give up the session and the organization's slot, whatever the connection got to."""
        if self.holds_session:
            self.holds_session = False
            await concurrency.release_session(self.session_id, self.connection_id)
        if self.joined:
            self.joined = False
            layer = self.channel_layer
            await layer.group_discard(session_group(self.session_id), self.channel_name)
            if self.api_key_id is not None:
                await layer.group_discard(api_key_group(self.api_key_id), self.channel_name)
        if self.lease:
            await concurrency.release(*self.lease)
            self.lease = None

    # ---- frames in -------------------------------------------------------------------------

    async def dispatch(self, message: dict[str, Any]) -> None:
        """A client frame goes straight to ``receive``. Channels' dispatch first closes stale
        database connections, a round trip to the database thread for every message: at 50
        audio frames a second per caller that was most of the server's CPU per frame
        (docs/PERFORMANCE.md, "Audio intake"). A frame needs no connection, and what a frame
        leads to reaches the database through ``database_sync_to_async`` (sessions/runtime/
        store.py), which closes stale connections around each call itself."""
        if message["type"] != "websocket.receive":
            await super().dispatch(message)
        elif (text := message.get("text")) is not None:
            await self.receive(text_data=text)
        else:
            await self.receive(bytes_data=message.get("bytes"))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.live is None or not self.client_connected:
            return
        try:
            if bytes_data is not None:
                if not self.audio_budget.allow():
                    raise ProtocolError(
                        "rate_limited", "Too many audio frames; send 20-100 ms per frame."
                    )
                check_audio_frame(bytes_data)
                await self.live.audio(bytes_data)
            else:
                if not self.text_budget.allow():
                    raise ProtocolError("rate_limited", "Too many messages; slow down.")
                await self.live.handle(parse_text_frame(text_data or ""))
        except ProtocolError as exc:
            await self.send_event(exc.event())
        except Exception:  # whatever a client sends, the connection survives it
            logger.exception(
                "websocket frame failed", extra={"session_id": str(self.live.session_id)}
            )
            await self.send_event(Error(code="internal_error", message="Something went wrong."))

    # ---- channel layer ---------------------------------------------------------------------

    async def session_takeover(self, event: dict[str, Any]) -> None:
        """A newer connection to this session: store what was said, let go, close 4409."""
        if event.get("holder") != self.connection_id or self.live is None:
            return  # meant for an earlier holder
        await self.send_event(
            Error(code="session_taken_over", message="A newer connection took this session over.")
        )
        self._stop_heartbeat()
        await self.live.close()
        await self._let_go()
        await self.close(code=4409)

    async def api_key_revoked(self, event: dict[str, Any]) -> None:
        """The key that minted this connection's token was revoked: the connection ends too."""
        if self.live is None:
            return
        self._stop_heartbeat()
        await self.live.close()
        await self._let_go()
        await self.close(code=4401)

    async def session_end(self, event: dict[str, Any]) -> None:
        """`session.end` sent to the session's group, e.g. by POST /sessions/{id}/end/."""
        if self.live is not None:
            await self.live.end(str(event.get("reason") or "ended-by-api"))

    # ---- the LiveSession's sink ------------------------------------------------------------

    async def send_event(self, event: ServerEvent) -> None:
        await self._send_frame(text_data=encode(event))

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
        """Every close of this side goes here: nothing is sent after it."""
        self.client_connected = False
        await super().close(code=code, reason=reason)


async def announce_shutdown() -> None:
    """The server process is stopping (SIGTERM): tell every live client of this process that it
    may resume the session elsewhere, and store what was said, before the sockets close (1012)."""
    consumers = list(_open_consumers)
    notice = Error(
        code="server_restarting",
        message="The server is restarting. Reconnect (a fresh token from POST "
        "/api/v1/sessions/{id}/token/) to resume this session.",
        retryable=True,
    )
    await asyncio.gather(*(c.send_event(notice) for c in consumers), return_exceptions=True)
    await asyncio.gather(
        *(c.live.close() for c in consumers if c.live is not None), return_exceptions=True
    )


class UnknownPathConsumer(AsyncWebsocketConsumer):
    """A WebSocket to a path we do not serve: a readable 4404, not an HTTP 500."""

    async def connect(self) -> None:
        await self.accept()
        await self.close(code=4404)
