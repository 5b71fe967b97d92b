"""Build provider clients by name, and reuse them so a session does not open one per turn.

A client's connections belong to the event loop that opened them, so every loop keeps its own
clients, at most ``CACHE_SIZE``, least recently used first. They are closed explicitly, never on
garbage collection:
- an evicted client is closed by a task of its loop, which the loop's clients own and await;
- ``aclose_clients()`` closes the running loop's clients: the server calls it when it shuts
  down, the test fixtures at teardown;
- a loop that ends without it (asgiref's ``async_to_sync`` runs each call in a loop of its own)
  closes them all the same: its runner (``asyncio.run``, ``asyncio.Runner``) cancels the tasks
  still pending, and the loop's keeper task closes its clients when it is cancelled.

So a caller must not keep a client past its use: look it up again for the next turn (a dict
hit). One kept for a whole session would be closed under it if ``CACHE_SIZE`` other credentials
came into use in the meantime.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from threading import Lock
from typing import Protocol, TypeVar, cast

from django.conf import settings

from integrations.elevenlabs.realtime_stt import ElevenLabsRealtimeSTT
from integrations.elevenlabs.stt import ElevenLabsSTT
from integrations.elevenlabs.tts import ElevenLabsTTS
from integrations.llm import LLMClient
from integrations.openai.llm import OpenAILLM
from integrations.openai.stt import OpenAISTT
from integrations.stt import StreamingSTTClient, STTClient
from integrations.tts import TTSClient

CACHE_SIZE = 32  # a handful of organizations with their own keys, per process

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProviderCredentials:
    api_key: str = field(repr=False)  # never in reprs, logs or tracebacks
    base_url: str | None = None


class _Closable(Protocol):
    async def aclose(self) -> None: ...


class _ClosableLLM(LLMClient, _Closable, Protocol): ...


class _ClosableTTS(TTSClient, _Closable, Protocol): ...


class _ClosableSTT(STTClient, _Closable, Protocol): ...


_C = TypeVar("_C", bound=_Closable)
_Key = tuple[str, str, str, str | None]  # kind, provider, api key, base URL
_Builders = Mapping[str, Callable[[str, str | None], _C]]

_LLM_BUILDERS: _Builders[_ClosableLLM] = {"openai": OpenAILLM}
_TTS_BUILDERS: _Builders[_ClosableTTS] = {"elevenlabs": ElevenLabsTTS}
_STT_BUILDERS: _Builders[_ClosableSTT] = {"openai": OpenAISTT, "elevenlabs": ElevenLabsSTT}
_SETTING_NAMES = {
    "openai": ("OPENAI_API_KEY", "OPENAI_BASE_URL"),
    "elevenlabs": ("ELEVENLABS_API_KEY", "ELEVENLABS_BASE_URL"),
}


class _LoopClients:
    """The clients of one event loop, and the closing of the ones it no longer hands out."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._clients: OrderedDict[_Key, _Closable] = OrderedDict()
        self._closing: set[asyncio.Task[None]] = set()
        self._stop = loop.create_future()
        self.keeper = loop.create_task(self._close_at_the_end(loop), name="provider-clients")

    def get(self, key: _Key, build: Callable[[], _Closable]) -> _Closable:
        """The client for ``key``, built if missing; may evict the least recently used one."""
        if key in self._clients:
            self._clients.move_to_end(key)
            return self._clients[key]
        client = self._clients[key] = build()
        while len(self._clients) > CACHE_SIZE:
            self._close_soon(self._clients.popitem(last=False)[1])
        return client

    def retire_all(self) -> None:
        """Hand out new clients from now on; the current ones close as soon as they can."""
        while self._clients:
            self._close_soon(self._clients.popitem()[1])

    def stop(self) -> None:
        if not self._stop.done():
            self._stop.set_result(None)

    def _close_soon(self, client: _Closable) -> None:
        # A close in flight can outlive the request that evicted the client: owned here and
        # awaited when the loop's clients close, not left to run unwatched.
        task = asyncio.get_running_loop().create_task(_aclose(client))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _close_at_the_end(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            await self._stop
        finally:
            self.retire_all()
            if self._closing:
                await asyncio.wait(self._closing)
            with _lock:
                if _by_loop.get(loop) is self:
                    del _by_loop[loop]


async def _aclose(client: _Closable) -> None:
    try:
        await client.aclose()
    except Exception:  # one client failing to close must not keep the others open
        logger.exception("closing a provider client failed")


_by_loop: dict[asyncio.AbstractEventLoop, _LoopClients] = {}
_lock = Lock()  # loops in several threads (async_to_sync) build clients at the same time


def build_llm(provider: str, creds: ProviderCredentials) -> LLMClient:
    return _cached("llm", provider, creds, _LLM_BUILDERS)


def build_tts(provider: str, creds: ProviderCredentials) -> TTSClient:
    return _cached("tts", provider, creds, _TTS_BUILDERS)


def build_stt(provider: str, creds: ProviderCredentials) -> STTClient:
    return _cached("stt", provider, creds, _STT_BUILDERS)


# Realtime (streaming) transcription, by provider. A client only keeps its key and URL (each
# stream is a WebSocket of its own), so there is nothing to cache or close.
_STREAMING_STT_BUILDERS: Mapping[str, Callable[[str, str | None], StreamingSTTClient]] = {
    "elevenlabs": ElevenLabsRealtimeSTT
}
# The batch model that finishes an utterance whose realtime stream failed.
BATCH_FALLBACK_MODELS = {"elevenlabs": "scribe_v1"}


def streams_speech(provider: str) -> bool:
    return provider in _STREAMING_STT_BUILDERS


def build_streaming_stt(provider: str, creds: ProviderCredentials) -> StreamingSTTClient:
    return _STREAMING_STT_BUILDERS[provider](creds.api_key, creds.base_url)


def default_credentials(provider: str) -> ProviderCredentials | None:
    """The platform's own credentials for ``provider`` from settings, or None if unset."""
    try:
        key_name, url_name = _SETTING_NAMES[provider]
    except KeyError:
        raise ValueError(f"unknown provider {provider!r}") from None
    api_key = getattr(settings, key_name, "") or ""
    base_url = getattr(settings, url_name, "") or ""
    if not api_key and not base_url:
        return None
    return ProviderCredentials(api_key=api_key, base_url=base_url or None)


async def aclose_clients() -> None:
    """Close every client built in the running loop, and wait until they are closed."""
    with _lock:
        clients = _by_loop.get(asyncio.get_running_loop())
    if clients is not None:
        clients.stop()
        await asyncio.wait({clients.keeper})


def clear_client_cache() -> None:
    """Build new clients from now on (tests; or after credentials were rotated).

    The clients built so far close in their own loops, as soon as those run; a loop that has
    ended closed its clients at its end."""
    with _lock:
        records = list(_by_loop.items())
    for loop, clients in records:
        if not loop.is_closed():
            _in_loop(loop, clients.retire_all)


def _in_loop(loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        callback()
    else:
        loop.call_soon_threadsafe(callback)


def _cached(kind: str, provider: str, creds: ProviderCredentials, builders: _Builders[_C]) -> _C:
    try:
        builder = builders[provider]
    except KeyError:
        raise ValueError(f"unknown {kind} provider {provider!r}") from None
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        raise RuntimeError("provider clients are built in the event loop that uses them") from None
    with _lock:
        clients = _by_loop.get(loop)
        if clients is None:
            clients = _by_loop[loop] = _LoopClients(loop)
        key = (kind, provider, creds.api_key, creds.base_url)
        return cast(_C, clients.get(key, lambda: builder(creds.api_key, creds.base_url)))
