"""What the OpenAI adapters share: the provider's name and its errors as ProviderError."""

from __future__ import annotations

import openai

from integrations.errors import ProviderError
from integrations.resilience import redact, retry_after_seconds, status_error

PROVIDER = "openai"


def map_openai_error(exc: openai.OpenAIError, api_key: str) -> ProviderError:
    """Translate an SDK exception into our one error type, without leaking the key."""
    if isinstance(exc, openai.APITimeoutError):
        return ProviderError(PROVIDER, "timeout", "request timed out", retryable=True)
    if isinstance(exc, openai.APIConnectionError):
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
    if isinstance(exc.body, dict) and isinstance(exc.body.get("message"), str):
        return exc.body["message"]
    return exc.message
