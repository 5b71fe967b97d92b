"""Per-organization rate limit: a fixed one-minute window counted in the shared cache.

All of an organization's keys count against one budget, its ``api_rate_limit_per_minute``
(read when the key was verified): counted per key, minting keys multiplied it. With REDIS_URL
set the cache is Redis, so every server process counts against the same window.
"""

from __future__ import annotations

import time

from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

from assistants.api.auth import ApiKeyUser

WINDOW_SECONDS = 60


class OrganizationRateThrottle(BaseThrottle):
    """Requests made with an organization's keys, per organization and minute."""

    def __init__(self) -> None:
        self.retry_after: float | None = None

    def allow_request(self, request, view) -> bool:
        user = request.user
        if not isinstance(user, ApiKeyUser):
            return True  # unauthenticated requests are refused before they cost anything
        now = time.time()
        window = int(now // WINDOW_SECONDS)
        count = _count_request(f"ratelimit:org:{user.organization.pk}:{window}")
        if count <= user.organization.api_rate_limit_per_minute:
            return True
        self.retry_after = (window + 1) * WINDOW_SECONDS - now
        return False

    def wait(self) -> float | None:
        return self.retry_after


def _count_request(key: str) -> int:
    # Two windows of lifetime: a counter never expires while its window is still current.
    cache.add(key, 0, timeout=2 * WINDOW_SECONDS)
    try:
        return cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.add(key, 1, timeout=2 * WINDOW_SECONDS)
        return 1
