"""What the OpenAI adapters share: the SDK client on our transport, and its errors as
ProviderError."""

from __future__ import annotations

import openai
from openai import AsyncOpenAI

from integrations.errors import ProviderError
from integrations.http import openai_http_client, timed_out
from integrations.resilience import redact, retry_after_seconds, status_error

PROVIDER = "openai"


def openai_client(api_key: str, base_url: str | None, timeout: float) -> AsyncOpenAI:
    """The SDK client on the shared aiohttp transport (integrations/http.py).

    ``max_retries=0``: the adapters retry themselves, only before output reached the caller and
    with a short back-off; the SDK's retries would multiply attempts and latency."""
    return AsyncOpenAI(
        api_key=api_key,
        base_url=base_url,
        timeout=timeout,
        max_retries=0,
        http_client=openai_http_client(timeout=timeout),
    )


def map_openai_error(exc: openai.OpenAIError, api_key: str) -> ProviderError:
    """Translate an SDK exception into our one error type, without leaking the key."""
    if isinstance(exc, openai.APIConnectionError):  # and its subclass APITimeoutError
        if timed_out(exc):
            return ProviderError(PROVIDER, "timeout", "request timed out", retryable=True)
        return ProviderError(PROVIDER, "unavailable", "connection failed", retryable=True)
    if isinstance(exc, openai.APIStatusError):
        return status_error(
            PROVIDER,
            exc.status_code,
            redact(_status_detail(exc), api_key),
            retry_after=retry_after_seconds(exc.response.headers),
        )
    # e.g. an error event inside the stream or a malformed response: transient on their side.
    return ProviderError(PROVIDER, "unavailable", redact(str(exc), api_key), retryable=True)


def _status_detail(exc: openai.APIStatusError) -> str:
    # The SDK puts the error object's fields in ``body``; its ``message`` repeats the status.
    message = exc.body.get("message") if isinstance(exc.body, dict) else None
    return message if isinstance(message, str) else exc.message
