"""Retry timing, status-code mapping and safe error text shared by the provider adapters.

The SDKs' own retries are switched off: we only retry while nothing has reached the caller,
and a voice turn cannot afford the SDKs' multi-second back-off.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from contextlib import aclosing
from typing import TypeVar

from integrations.errors import ProviderError

T = TypeVar("T")

BASE_DELAY_S = 0.2
MAX_DELAY_S = 2.0  # a caller is waiting to hear something; longer waits are better reported
MAX_DETAIL_CHARS = 200

# Provider error messages sometimes echo a (partly masked) key back, e.g. "sk-ab***yz".
_KEY_LIKE = re.compile(r"\b(?:sk|xi)[-_][A-Za-z0-9*_\-]{6,}")


def backoff_delay(attempt: int, retry_after: float | None = None) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (counting from 1)."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), MAX_DELAY_S)
    return min(BASE_DELAY_S * 2.0 ** (attempt - 1), MAX_DELAY_S)


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """Read ``retry-after-ms`` (OpenAI) or ``retry-after`` in seconds; HTTP dates are ignored."""
    if not headers:
        return None
    lowered = {key.lower(): value for key, value in headers.items()}
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        try:
            return float(lowered[name]) * scale
        except (KeyError, ValueError):
            continue
    return None


def redact(text: str, secret: str) -> str:
    """Strip the API key (and anything that looks like one) from provider-supplied text."""
    if secret:
        text = text.replace(secret, "***")
    text = _KEY_LIKE.sub("***", text)
    return text[:MAX_DETAIL_CHARS]


def status_error(
    provider: str, status: int, detail: str, *, retry_after: float | None = None
) -> ProviderError:
    """The ProviderError for an HTTP error status; ``detail`` must already be redacted."""
    code, retryable = _classify_status(status)
    if code in ("auth_failed", "forbidden"):
        detail = "the provider rejected the credentials"  # provider text may echo the key
    return ProviderError(
        provider,
        code,
        f"HTTP {status}: {detail}",
        retryable=retryable,
        status=status,
        retry_after=retry_after,
    )


def _classify_status(status: int) -> tuple[str, bool]:
    if status == 401:
        return "auth_failed", False
    if status == 403:
        return "forbidden", False
    if status == 404:
        return "not_found", False
    if status == 408:
        return "timeout", True
    if status == 429:
        return "rate_limited", True
    if status == 409 or status >= 500:  # 409: provider-side lock contention, worth one more try
        return "unavailable", True
    return "bad_request", False


def _may_retry(err: ProviderError, attempt: int, max_attempts: int) -> bool:
    return err.retryable and attempt < max_attempts


async def call_with_retries(call: Callable[[], Awaitable[T]], *, max_attempts: int) -> T:
    """Await ``call()`` until it succeeds, fails for good, or ``max_attempts`` are used."""
    attempt = 1
    while True:
        try:
            return await call()
        except ProviderError as err:
            if not _may_retry(err, attempt, max_attempts):
                raise
            delay = backoff_delay(attempt, err.retry_after)
        await asyncio.sleep(delay)
        attempt += 1


async def stream_with_retries(
    start: Callable[[], AsyncGenerator[T, None]], *, provider: str, max_attempts: int
) -> AsyncIterator[T]:
    """Yield from ``start()``, starting over only while nothing has been yielded yet.

    Once an item reached the caller a retry would duplicate output, so a later failure
    becomes a non-retryable ``stream_broken``.
    """
    attempt = 1
    while True:
        emitted = False
        try:
            async with aclosing(start()) as items:
                async for item in items:
                    emitted = True
                    yield item
            return
        except ProviderError as err:
            if emitted:
                raise ProviderError(
                    provider,
                    "stream_broken",
                    f"stream failed after output began ({err.code}: {err.message})",
                    retryable=False,
                    status=err.status,
                ) from err
            if not _may_retry(err, attempt, max_attempts):
                raise
            delay = backoff_delay(attempt, err.retry_after)
        await asyncio.sleep(delay)
        attempt += 1
