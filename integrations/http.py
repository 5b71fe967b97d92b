"""The one HTTP transport of the provider SDKs: aiohttp under their httpx clients.

Every SDK here takes an httpx client (``httpx`` for ElevenLabs and Notion, ``httpx2`` for
OpenAI, a fork with the same interface), and every one of those clients carries the maintained
``httpx-aiohttp`` transport (openai vendors the same code as ``DefaultAioHttpClient``). With
httpx's own transport (httpcore on anyio) each read of a streamed body is a trip through a
timeout scope and a pause/resume of the socket: reading the providers' streams was most of a
live turn's CPU (docs/PERFORMANCE.md: 60 -> 47 ms per turn at N = 100 with aiohttp).

Two settings matter beyond the defaults, and both come from here so every client has them:
- one TLS context per process: loading certifi's roots costs ~25 ms of CPU per client;
- keep-alive 60 s and a large connection limit: a caller listens to a reply for longer than the
  usual 5 s between turns, and every live reply keeps up to four requests open at once.

Proxies (HTTP(S)_PROXY, NO_PROXY) are read once per client by httpx itself, which mounts a
proxied transport per pattern; aiohttp's ``trust_env``, which re-read ~/.netrc on every request,
stays off. Clients are closed explicitly (``aclose``), never on garbage collection.
"""

from __future__ import annotations

import ssl
from functools import cache

import aiohttp
import certifi
import httpx
import httpx2
from httpx_aiohttp import HttpxAiohttpClient
from openai import DefaultAioHttpClient

KEEPALIVE_S = 60.0  # a caller listens to a reply for longer than the usual 5 s between turns
CONNECTION_LIMIT = 2_000  # per client: every live reply keeps up to 4 requests open


@cache
def tls_context() -> ssl.SSLContext:
    """Verifying as httpx does (certifi's roots), built once for every client of the process."""
    return ssl.create_default_context(cafile=certifi.where())


def httpx_client(*, timeout: float) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` on aiohttp, for the ElevenLabs and Notion SDKs."""
    return HttpxAiohttpClient(
        timeout=timeout,
        follow_redirects=True,
        verify=tls_context(),
        limits=httpx.Limits(max_connections=CONNECTION_LIMIT, keepalive_expiry=KEEPALIVE_S),
    )


def openai_http_client(*, timeout: float) -> httpx2.AsyncClient:
    """An ``httpx2.AsyncClient`` on aiohttp (the SDK's ``DefaultAioHttpClient``), for OpenAI."""
    client: httpx2.AsyncClient = DefaultAioHttpClient(
        timeout=timeout,
        verify=tls_context(),
        limits=httpx2.Limits(max_connections=CONNECTION_LIMIT, keepalive_expiry=KEEPALIVE_S),
    )
    return client


# httpx-aiohttp 0.2.0 (and openai's copy of it) reports every aiohttp connection error as
# ``ConnectTimeout``: a refused connection and a server hanging up mid-reply alike
# (openai/openai-python#3594). The aiohttp error it came from stays in the exception chain,
# also through the SDKs' own wrappers, and tells them apart.


def timed_out(exc: BaseException) -> bool:
    """Whether a failed request waited too long (rather than failing to connect or read)."""
    chain = _chain(exc)
    for link in chain:
        if isinstance(link, aiohttp.ClientError):
            return isinstance(link, aiohttp.ServerTimeoutError)
    return any(isinstance(link, _TIMEOUTS) for link in chain)


def never_connected(exc: BaseException) -> bool:
    """Whether a failed request never reached the server, so repeating it cannot act twice."""
    for link in _chain(exc):
        if isinstance(link, aiohttp.ClientError):
            return isinstance(link, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError)
        if isinstance(link, httpx.ConnectError | httpx2.ConnectError):
            return True
    return False


_TIMEOUTS = (httpx.TimeoutException, httpx2.TimeoutException, TimeoutError)


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it was raised from or while handling, outermost first."""
    chain: list[BaseException] = []
    link: BaseException | None = exc
    while link is not None and all(link is not seen for seen in chain):
        chain.append(link)
        link = link.__cause__ or link.__context__
    return chain
