"""An httpx transport on aiohttp, for the provider SDKs' streaming hot path.

Both SDKs take an httpx client (``httpx`` for ElevenLabs and Notion, ``httpx2`` for OpenAI, a
fork with the same transport interface), and httpx lets a client carry any transport. With
httpx's own (httpcore on anyio) every read of a streamed response is a trip through a timeout
scope and a pause/resume of the socket, which made reading the providers' streams most of a
live turn's CPU (docs/PERFORMANCE.md). aiohttp reads into a buffer with a C parser and wakes
the reader once per arrival. The SDKs keep doing everything else: requests, auth, retries,
decoding, error types; this module only moves bytes, and turns aiohttp's errors into the
httpx exceptions the SDKs already handle.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Callable
from functools import cache
from types import ModuleType
from typing import Any
from urllib.request import getproxies, proxy_bypass_environment

import aiohttp
import certifi

KEEPALIVE_S = 60  # a caller listens to a reply for longer than the usual 5 s between turns
CONNECTION_LIMIT = 2_000  # per transport: every live reply keeps up to 4 requests open


class _ReadWatchdog:
    """The read timeout of a response body, checked twice per timeout period.

    aiohttp's own (``sock_read``) cancels and re-arms a timer on every arrival: ~6 % of a
    live turn's CPU with ~150 provider reads a reply (docs/PERFORMANCE.md). This one looks at
    how many bytes have arrived; when none arrived for a whole period while the reader was
    waiting for them, it fails the read, one to one and a half periods after the last byte.
    A reader that is not reading (a TTS piece waiting for its turn, its buffer full) is not
    the peer stalling, as with aiohttp's, which stops while reading is paused."""

    def __init__(
        self, content: aiohttp.StreamReader, seconds: float, waiting: Callable[[], bool]
    ) -> None:
        self._content = content
        self._waiting = waiting
        self._interval = seconds / 2
        self._seen = -1
        self._idle_checks = 0
        self._handle = asyncio.get_running_loop().call_later(self._interval, self._check)

    def _check(self) -> None:
        arrived = self._content.total_bytes
        stalled = arrived == self._seen and self._waiting()
        self._idle_checks = self._idle_checks + 1 if stalled else 0
        self._seen = arrived
        if self._content.at_eof():
            return
        if self._idle_checks >= 2:
            self._content.set_exception(TimeoutError("read timed out"))
            return
        self._handle = asyncio.get_running_loop().call_later(self._interval, self._check)

    def stop(self) -> None:
        self._handle.cancel()


class _ResponseStream:
    """The body of one response, as httpx's ``AsyncByteStream``."""

    def __init__(
        self,
        httpx: ModuleType,
        request: Any,
        response: aiohttp.ClientResponse,
        read_timeout: float | None,
    ) -> None:
        self._httpx = httpx
        self._request = request
        self._response = response
        self._read_timeout = read_timeout
        self._waiting = False  # inside readany(): the next bytes are the peer's to send

    async def __aiter__(self) -> AsyncIterator[bytes]:
        httpx, request = self._httpx, self._request
        content = self._response.content
        watchdog = None
        if self._read_timeout:
            watchdog = _ReadWatchdog(content, self._read_timeout, lambda: self._waiting)
        try:
            while True:
                self._waiting = True
                chunk = await content.readany()
                self._waiting = False
                if not chunk:
                    break
                yield chunk
        except TimeoutError as exc:
            raise httpx.ReadTimeout(str(exc) or "read timed out", request=request) from exc
        except aiohttp.ClientPayloadError as exc:
            raise httpx.RemoteProtocolError(str(exc), request=request) from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from exc
        finally:
            if watchdog is not None:
                watchdog.stop()

    async def aclose(self) -> None:
        # Read to the end: the connection goes back to the pool. Not: it is closed.
        self._response.release()


@cache
def _stream_class(httpx: ModuleType) -> type:
    # httpx checks that a response body is its own AsyncByteStream (httpx2 has its own class).
    return type("ResponseStream", (_ResponseStream, httpx.AsyncByteStream), {})


class AiohttpTransport:
    """``handle_async_request`` for an ``httpx.AsyncClient(transport=...)`` (or httpx2)."""

    def __init__(self, httpx: ModuleType, *, limit: int = CONNECTION_LIMIT) -> None:
        self._httpx = httpx
        self._limit = limit
        self._session: aiohttp.ClientSession | None = None
        # HTTP(S)_PROXY and NO_PROXY, as httpx's own transport honours them; read once here,
        # not per request as aiohttp's trust_env does (it also reads ~/.netrc every time).
        self._env_proxies = getproxies()
        self._proxy_by_origin: dict[tuple[str, str], str | None] = {}

    def _client_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._limit,
                keepalive_timeout=KEEPALIVE_S,
                ttl_dns_cache=300,
                ssl=_tls_context(),
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=False,  # httpx decodes Content-Encoding itself
                skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept"),
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._session

    async def handle_async_request(self, request: Any) -> Any:
        httpx = self._httpx
        body = await request.aread()
        timeouts = request.extensions.get("timeout") or {}
        try:
            response = await self._client_session().request(
                request.method,
                str(request.url),
                headers=request.headers.multi_items(),
                data=body or None,
                allow_redirects=False,
                proxy=self._proxy_for(request.url.scheme, request.url.host),
                timeout=_timeout(timeouts),
            )
        except aiohttp.ConnectionTimeoutError as exc:
            raise httpx.ConnectTimeout(str(exc) or "connect timed out", request=request) from exc
        except TimeoutError as exc:  # no response head within the read timeout
            raise httpx.ReadTimeout(str(exc) or "read timed out", request=request) from exc
        except aiohttp.ClientConnectorError as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc
        except aiohttp.ServerDisconnectedError as exc:
            raise httpx.RemoteProtocolError(str(exc), request=request) from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from exc
        protocol = response.connection.protocol if response.connection else None
        if protocol is not None:
            # The head is in: from here on the body's read timeout is _ReadWatchdog's.
            protocol.read_timeout = None
        return httpx.Response(
            status_code=response.status,
            headers=response.raw_headers,
            stream=_stream_class(httpx)(httpx, request, response, timeouts.get("read")),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": b""},
            request=request,
        )

    def _proxy_for(self, scheme: str, host: str) -> str | None:
        origin = (scheme, host)
        if origin not in self._proxy_by_origin:
            proxy = self._env_proxies.get(scheme)
            bypass = proxy and proxy_bypass_environment(host, self._env_proxies)
            self._proxy_by_origin[origin] = None if bypass else proxy
        return self._proxy_by_origin[origin]

    async def __aenter__(self) -> AiohttpTransport:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def __del__(self) -> None:
        # Dropped without aclose(): evicted from the client cache, or its event loop already
        # ended (a one-off loop, as async_to_sync makes outside a server) so it cannot be
        # awaited any more. Close the idle connections now, without aiohttp's "unclosed
        # session/connector" alarms.
        session = self._session
        if session is None or session.closed:
            return
        connector = session.connector
        session.detach()
        if connector is not None:
            connector._close()  # close()'s synchronous part; on a closed loop it only marks it


@cache
def _tls_context() -> ssl.SSLContext:
    """Verifying as httpx does (certifi's roots). Loading them takes ~25 ms of CPU, so every
    client of the process shares one context instead of building its own."""
    return ssl.create_default_context(cafile=certifi.where())


def _timeout(timeouts: dict[str, float | None]) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(
        total=None,
        connect=timeouts.get("pool"),
        sock_connect=timeouts.get("connect"),
        sock_read=timeouts.get("read"),
    )
