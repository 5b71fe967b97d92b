"""Live connections, counted across every server process: how many an organization has, and
which one holds each session (a session has at most one).

With Redis each connection holds a lease (a sorted-set member that expires unless refreshed),
so a crashed process cannot leak slots for longer than a lease. Without Redis there is only one
process (the in-memory channel layer cannot span several), and a local count is exact.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from typing import Any
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
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis] = (
    weakref.WeakKeyDictionary()
)


def _redis() -> aioredis.Redis:
    # One client per event loop: a client's connections belong to the loop that made them.
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        client = _clients[loop] = aioredis.from_url(settings.REDIS_URL)
    return client


async def _eval(script: str, key: str, *args: str | float) -> Any:
    """Run a Lua ``script`` on one ``key``. redis-py types the asyncio client's eval as the sync
    one's, ``Awaitable[str] | str`` (redis/redis-py#2399); here it is always awaitable."""
    return await _redis().eval(script, 1, key, *args)  # type: ignore[misc]


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
    granted = await _eval(
        _ACQUIRE,
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


# ---- one live connection per session ---------------------------------------------------------
# The holder's connection id under the session's key. A newer connection takes the session over:
# it tells the holder (the session's channel-layer group) and waits until the holder has stored
# what was said and let go, or until TAKEOVER_WAIT_SECONDS for a holder that does not answer
# (a dead process; its key expires with its lease).

TAKEOVER_WAIT_SECONDS = 3.0
TAKEOVER_POLL_SECONDS = 0.05
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_SWAP = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
end
return false
"""
_REFRESH = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_session_holders: dict[UUID, str] = {}


def _session_key(session_id: UUID) -> str:
    return f"live-session:{session_id}"


async def session_holder(session_id: UUID) -> str | None:
    if not settings.REDIS_URL:
        return _session_holders.get(session_id)
    holder = await _redis().get(_session_key(session_id))
    return holder.decode() if holder is not None else None


async def claim_session(session_id: UUID, connection_id: str) -> bool:
    """Hold the session if nobody does."""
    if not settings.REDIS_URL:
        return _session_holders.setdefault(session_id, connection_id) == connection_id
    key = _session_key(session_id)
    return bool(await _redis().set(key, connection_id, ex=LEASE_SECONDS, nx=True))


async def replace_holder(session_id: UUID, holder: str, connection_id: str) -> bool:
    """Hold the session in place of ``holder``, which did not let go (its process is gone)."""
    if not settings.REDIS_URL:
        if _session_holders.get(session_id) != holder:
            return False
        _session_holders[session_id] = connection_id
        return True
    key = _session_key(session_id)
    swapped = await _eval(_SWAP, key, holder, connection_id, LEASE_SECONDS)
    return bool(swapped)


async def holder_left(session_id: UUID, holder: str) -> bool:
    """Whether ``holder`` lets go of the session within TAKEOVER_WAIT_SECONDS. Polled: the
    holder may be in another process, and lets go by deleting its key."""
    for _ in range(round(TAKEOVER_WAIT_SECONDS / TAKEOVER_POLL_SECONDS)):
        if await session_holder(session_id) != holder:
            return True
        await asyncio.sleep(TAKEOVER_POLL_SECONDS)
    return False


async def refresh_session(session_id: UUID, connection_id: str) -> None:
    """Keep holding the session, if this connection still does."""
    if settings.REDIS_URL:
        await _eval(_REFRESH, _session_key(session_id), connection_id, LEASE_SECONDS)


async def release_session(session_id: UUID, connection_id: str) -> None:
    """Let go of the session, if this connection still holds it."""
    if not settings.REDIS_URL:
        if _session_holders.get(session_id) == connection_id:
            del _session_holders[session_id]
        return
    await _eval(_RELEASE, _session_key(session_id), connection_id)
