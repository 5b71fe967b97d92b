"""Build provider clients by name, and reuse them so a session does not open one per turn."""

from __future__ import annotations

import asyncio
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from threading import Lock
from typing import Any

from django.conf import settings

from integrations.elevenlabs.stt import ElevenLabsSTT
from integrations.elevenlabs.tts import ElevenLabsTTS
from integrations.llm import LLMClient
from integrations.openai.llm import OpenAILLM
from integrations.openai.stt import OpenAISTT
from integrations.stt import STTClient
from integrations.tts import TTSClient

CACHE_SIZE = 32  # a handful of organizations with their own keys, per process


@dataclass(frozen=True)
class ProviderCredentials:
    api_key: str = field(repr=False)  # never in reprs, logs or tracebacks
    base_url: str | None = None


_LLM_BUILDERS: dict[str, Callable[[str, str | None], LLMClient]] = {"openai": OpenAILLM}
_TTS_BUILDERS: dict[str, Callable[[str, str | None], TTSClient]] = {"elevenlabs": ElevenLabsTTS}
_STT_BUILDERS: dict[str, Callable[[str, str | None], STTClient]] = {
    "openai": OpenAISTT,
    "elevenlabs": ElevenLabsSTT,
}
_SETTING_NAMES = {
    "openai": ("OPENAI_API_KEY", "OPENAI_BASE_URL"),
    "elevenlabs": ("ELEVENLABS_API_KEY", "ELEVENLABS_BASE_URL"),
}

_cache: OrderedDict[tuple[str, str, str, str | None], Any] = OrderedDict()
_cache_lock = Lock()
_loop_caches: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def build_llm(provider: str, creds: ProviderCredentials) -> LLMClient:
    client: LLMClient = _cached("llm", provider, creds, _LLM_BUILDERS)
    return client


def build_tts(provider: str, creds: ProviderCredentials) -> TTSClient:
    client: TTSClient = _cached("tts", provider, creds, _TTS_BUILDERS)
    return client


def build_stt(provider: str, creds: ProviderCredentials) -> STTClient:
    client: STTClient = _cached("stt", provider, creds, _STT_BUILDERS)
    return client


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


def clear_client_cache() -> None:
    """Forget built clients (tests; or after credentials were rotated)."""
    with _cache_lock:
        _cache.clear()
        _loop_caches.clear()


def _cached(
    kind: str,
    provider: str,
    creds: ProviderCredentials,
    builders: dict[str, Callable[[str, str | None], Any]],
) -> Any:
    try:
        builder = builders[provider]
    except KeyError:
        raise ValueError(f"unknown {kind} provider {provider!r}") from None
    # An async client's connection pool belongs to the event loop that opened it; a client
    # used from another loop fails with "Event loop is closed". So: one cache per loop.
    cache = _loop_cache()
    key = (kind, provider, creds.api_key, creds.base_url)
    with _cache_lock:
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
        client = builder(creds.api_key, creds.base_url)
        cache[key] = client
        if len(cache) > CACHE_SIZE:
            cache.popitem(last=False)  # least recently used
        return client


def _loop_cache() -> OrderedDict:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # built outside a loop: it will meet its loop on first use
        return _cache
    with _cache_lock:
        if loop not in _loop_caches:
            _loop_caches[loop] = OrderedDict()
        return _loop_caches[loop]
