"""What the ElevenLabs adapters share: the SDK client on our transport, and its errors as
ProviderError."""

from __future__ import annotations

from typing import Any

import httpx
from elevenlabs.client import AsyncElevenLabs
from elevenlabs.core.api_error import ApiError

from integrations.errors import ProviderError
from integrations.http import httpx_client, timed_out
from integrations.resilience import redact, retry_after_seconds, status_error

PROVIDER = "elevenlabs"


def map_elevenlabs_error(exc: ApiError | httpx.HTTPError, api_key: str) -> ProviderError:
    """Translate an SDK/httpx exception into our one error type, without leaking the key."""
    if isinstance(exc, httpx.HTTPError):
        if timed_out(exc):
            return ProviderError(PROVIDER, "timeout", "request timed out", retryable=True)
        return ProviderError(PROVIDER, "unavailable", "connection failed", retryable=True)
    if exc.status_code is None:
        return ProviderError(PROVIDER, "unavailable", "no status in response", retryable=True)
    return status_error(
        PROVIDER,
        exc.status_code,
        redact(_detail_text(exc.body), api_key),
        retry_after=retry_after_seconds(exc.headers),
    )


def _detail_text(body: Any) -> str:
    """Pull the human part out of ``{"detail": {...}}`` / validation-list / plain bodies."""
    detail = body.get("detail", body) if isinstance(body, dict) else body
    if isinstance(detail, dict):
        return str(detail.get("message") or detail.get("status") or detail)
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        return str(detail[0].get("msg", detail[0]))
    return str(detail)


def elevenlabs_client(
    api_key: str, base_url: str | None, timeout: float
) -> tuple[httpx.AsyncClient, AsyncElevenLabs]:
    """The SDK client on an httpx client we own (AsyncElevenLabs itself cannot be closed), on
    the shared aiohttp transport (integrations/http.py): a reply's audio is ~150 reads."""
    http = httpx_client(timeout=timeout)
    return http, AsyncElevenLabs(
        api_key=api_key, base_url=base_url, timeout=timeout, httpx_client=http
    )
