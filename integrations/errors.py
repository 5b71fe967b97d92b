"""The one error type every provider integration raises."""

from __future__ import annotations


class ProviderError(Exception):
    """A provider call failed.

    ``code`` is stable and safe to show a client ("rate_limited", "timeout", "unavailable",
    "auth_failed", "bad_request", "stream_broken", "not_found", "forbidden").
    ``retryable`` says whether the same call may succeed if tried again.
    The message never contains credentials.
    """

    def __init__(
        self,
        provider: str,
        code: str,
        message: str,
        *,
        retryable: bool,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{provider}: {code}: {message}")
        self.provider = provider
        self.code = code
        self.message = message
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after
