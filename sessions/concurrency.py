"""How many live connections an organization has, counted across every server process.

With Redis each connection holds a lease (a sorted-set member that expires unless refreshed),
so a crashed process cannot leak slots for longer than a lease. Without Redis there is only one
process (the in-memory channel layer cannot span several), and a local count is exact.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from uuid import UUID

import redis.asyncio as aioredis
from django.conf import settings

LEASE_SECONDS = 90
REFRESH_SECONDS = 30

_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[4]) == false
   and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""

_local: dict[UUID, set[str]] = {}
_clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _redis() -> aioredis.Redis:
    # One client per event loop: a client's connections belong to the loop that made them.
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        client = _clients[loop] = aioredis.from_url(settings.REDIS_URL)
    return client


def _key(organization_id: UUID) -> str:
    return f"live-sessions:{organization_id}"


async def acquire(organization_id: UUID, connection_id: str, limit: int) -> bool:
    if not settings.REDIS_URL:
        holders = _local.setdefault(organization_id, set())
        if connection_id not in holders and len(holders) >= limit:
            return False
        holders.add(connection_id)
        return True
    now = time.time()
    granted = await _redis().eval(
        _ACQUIRE,
        1,
        _key(organization_id),
        now,
        now + LEASE_SECONDS,
        limit,
        connection_id,
        LEASE_SECONDS * 2,
    )
    return bool(granted)


async def refresh(organization_id: UUID, connection_id: str) -> None:
    if settings.REDIS_URL:
        await _redis().zadd(_key(organization_id), {connection_id: time.time() + LEASE_SECONDS})


async def release(organization_id: UUID, connection_id: str) -> None:
    if not settings.REDIS_URL:
        _local.get(organization_id, set()).discard(connection_id)
        return
    await _redis().zrem(_key(organization_id), connection_id)


async def count(organization_id: UUID) -> int:
    if not settings.REDIS_URL:
        return len(_local.get(organization_id, ()))
    return await _redis().zcount(_key(organization_id), time.time(), "+inf")
