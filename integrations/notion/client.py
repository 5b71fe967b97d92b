"""The Notion API for one token: notion-client underneath, ProviderError and bounded retries on top.

The SDK's own retries are switched off (they wait up to 60 s on a Retry-After); this wrapper owns
the policy so a voice turn never stalls: 429 is retried honouring Retry-After up to a small cap,
5xx and timeouts are retried with backoff only where repeating cannot write twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from time import time
from types import TracebackType
from typing import Any

import httpx
from notion_client import AsyncClient, RequestTimeoutError
from notion_client.errors import HTTPResponseError

from integrations.errors import ProviderError
from integrations.http import httpx_client, never_connected, timed_out

PROVIDER = "notion"
DEFAULT_BASE_URL = "https://api.notion.com"
DEFAULT_TIMEOUT_SECONDS = 10.0
_sdk_logger = logging.getLogger("integrations.notion.sdk")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3  # tries in all, for a failure that may succeed when repeated
    base_delay: float = 0.5
    max_delay: float = 4.0
    max_retry_after: float = 5.0  # a longer Retry-After goes back to the caller instead

    def delay(self, error: ProviderError, attempt: int, *, may_repeat: bool) -> float | None:
        """Seconds to wait before the next try, or None to give up with ``error``."""
        if attempt >= self.attempts or not error.retryable:
            return None
        if error.code == "rate_limited":  # Notion did not process a rate-limited request
            if error.retry_after is None:
                return self._backoff(attempt)
            return error.retry_after if error.retry_after <= self.max_retry_after else None
        return self._backoff(attempt) if may_repeat else None

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return ceiling * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not security


def notion_base_url() -> str:
    from django.conf import settings

    return getattr(settings, "NOTION_API_BASE_URL", "") or DEFAULT_BASE_URL


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time())
    except (TypeError, ValueError):
        return None


def provider_error(exc: Exception, what: str) -> ProviderError:
    """A notion-client or transport failure as our one error type. ``what`` names the object
    the call was about ("page", "database"...) for a message a user can act on."""
    if isinstance(exc, RequestTimeoutError | httpx.TimeoutException) and timed_out(exc):
        return ProviderError(PROVIDER, "timeout", "Notion didn't answer in time.", retryable=True)
    if not isinstance(exc, HTTPResponseError):
        return ProviderError(PROVIDER, "unavailable", "Couldn't reach Notion.", retryable=True)
    status = exc.status
    if status == 401:
        message = "Notion no longer accepts this workspace's connection; reconnect Notion."
        return ProviderError(PROVIDER, "auth_failed", message, retryable=False, status=status)
    if status == 403:
        message = f"The Notion integration isn't allowed to do that with this {what}."
        return ProviderError(PROVIDER, "forbidden", message, retryable=False, status=status)
    if status == 404:
        message = f"That {what} isn't shared with the Notion integration, or it doesn't exist."
        return ProviderError(PROVIDER, "not_found", message, retryable=False, status=status)
    if status == 429:
        return ProviderError(
            PROVIDER,
            "rate_limited",
            "Notion is busy (rate limited); try again in a moment.",
            retryable=True,
            status=status,
            retry_after=retry_after_seconds(exc.headers),
        )
    if status >= 500 or status == 409:
        message = f"Notion is having trouble (HTTP {status}); try again in a moment."
        return ProviderError(PROVIDER, "unavailable", message, retryable=True, status=status)
    message = f"Notion refused the request ({_notion_code(exc)}): {_notion_message(exc)}"
    return ProviderError(PROVIDER, "bad_request", message[:400], retryable=False, status=status)


def _error_body(exc: HTTPResponseError) -> dict[str, Any]:
    try:
        body = json.loads(exc.body)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _notion_code(exc: HTTPResponseError) -> str:
    # Codes outside notion-client's list (e.g. OAuth's invalid_grant) only survive in the body.
    body = _error_body(exc)
    code = body.get("code") or body.get("error") or exc.code
    return str(getattr(code, "value", code))


def _notion_message(exc: HTTPResponseError) -> str:
    body = _error_body(exc)
    return str(body.get("message") or body.get("error_description") or exc)


class NotionAPI:
    """One token's Notion client. Use ``async with NotionAPI(token) as api``."""

    def __init__(
        self,
        token: str,
        *,
        base_url: str | None = None,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.retry = retry or RetryPolicy()
        # The SDK sets base URL, timeout and headers on the client it is given.
        self.client = AsyncClient(
            client=httpx_client(timeout=timeout_seconds),
            auth=token,
            base_url=(base_url or notion_base_url()).rstrip("/"),
            timeout_ms=int(timeout_seconds * 1000),
            retry=False,
            logger=_sdk_logger,
        )

    async def __aenter__(self) -> NotionAPI:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.client.aclose()

    async def call(
        self,
        what: str,
        idempotent: bool,
        method: Callable[..., Awaitable[Any]],
        /,
        **arguments: Any,
    ) -> dict[str, Any]:
        """Run one SDK call with the retry policy. ``idempotent`` says whether repeating a
        request that may have reached Notion is harmless (reads; POST search/query are reads)."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return dict(await method(**arguments))
            except (HTTPResponseError, RequestTimeoutError, httpx.HTTPError) as exc:
                error = provider_error(exc, what)
                never_sent = never_connected(exc)
                wait = self.retry.delay(error, attempt, may_repeat=idempotent or never_sent)
                if wait is None:
                    raise error from exc
            await asyncio.sleep(wait)

    # -- endpoints -------------------------------------------------------------------------

    async def retrieve_bot_user(self) -> dict[str, Any]:
        """The token's bot user (GET /v1/users/me): proves the token works, names its workspace."""
        return await self.call("token", True, self.client.users.me)

    async def search(self, **body: Any) -> dict[str, Any]:
        return await self.call("page", True, self.client.search, **body)

    async def retrieve_page(self, page_id: str) -> dict[str, Any]:
        return await self.call("page", True, self.client.pages.retrieve, page_id=page_id)

    async def list_children(self, block_id: str, **query: Any) -> dict[str, Any]:
        method = self.client.blocks.children.list
        return await self.call("page", True, method, block_id=block_id, **query)

    async def create_page(self, **body: Any) -> dict[str, Any]:
        return await self.call("parent page or database", False, self.client.pages.create, **body)

    async def append_children(
        self, block_id: str, children: list[dict[str, Any]]
    ) -> dict[str, Any]:
        method = self.client.blocks.children.append
        return await self.call("page", False, method, block_id=block_id, children=children)

    async def retrieve_database(self, database_id: str) -> dict[str, Any]:
        method = self.client.databases.retrieve
        return await self.call("database", True, method, database_id=database_id)

    async def retrieve_data_source(self, data_source_id: str) -> dict[str, Any]:
        method = self.client.data_sources.retrieve
        return await self.call("database", True, method, data_source_id=data_source_id)

    async def query_data_source(self, data_source_id: str, **body: Any) -> dict[str, Any]:
        method = self.client.data_sources.query
        return await self.call("database", True, method, data_source_id=data_source_id, **body)


async def exchange_oauth_code(
    *, client_id: str, client_secret: str, code: str, redirect_uri: str, base_url: str | None = None
) -> dict[str, Any]:
    """Trade an OAuth authorization code for an access token (POST /v1/oauth/token).

    Codes are single-use, so only a request that never left is retried."""
    async with NotionAPI("", base_url=base_url) as api:
        return await api.call(
            "authorization code",
            False,
            api.client.oauth.token,
            client_id=client_id,
            client_secret=client_secret,
            grant_type="authorization_code",
            code=code,
            redirect_uri=redirect_uri,
        )
