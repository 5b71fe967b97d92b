"""Leases: which bridge process runs which bot, so several processes split the bots and no bot
is run (and every message answered) twice.

A lease is held by one owner (a process's random id) until it expires. The holder renews it
every poll, well before it expires (``ttl`` is at least three polls); a process that fails to
renew stops the bot at once, and another takes the lease only after it expired. Two stores:

``RedisLeases`` (``REDIS_URL`` set)
    ``SET key owner NX PX ttl`` takes a free lease; renewing and releasing are Lua scripts that
    compare the owner and act in one step, so a process never extends or drops another's lease.
``DatabaseLeases`` (otherwise; SQLite or PostgreSQL)
    One ``DiscordBotLease`` row per bot. Taking and renewing are one conditional UPDATE
    ("where owner is me or the lease expired"), atomic on either database; a missing row is
    created, and of two processes creating it at once the primary key lets one win. Expiry
    is computed and compared by the database's clock, so the hosts' clocks need not agree.

The cache framework is not used: a local-memory or database cache gives no compare-and-set.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Protocol

import redis.asyncio as aioredis
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import DateTimeField, ExpressionWrapper, Q
from django.db.models.functions import Now

from voicebridge.models import DiscordBotLease

KEY_PREFIX = "voicebridge:lease:"

# Extend the lease only while it is still ours; 1 when extended, 0 when it is someone else's.
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class Leases(Protocol):
    owner: str
    ttl: float

    async def acquire(self, bot_id: uuid.UUID) -> bool:
        """Take the bot's lease if it is free or expired, or renew it if it is ours."""

    async def renew(self, bot_id: uuid.UUID) -> bool:
        """Extend our lease; False when it is not ours any more."""

    async def release(self, bot_id: uuid.UUID) -> None:
        """Give our lease up (another process's lease is left alone)."""

    async def close(self) -> None: ...


def new_owner() -> str:
    return uuid.uuid4().hex


class DatabaseLeases:
    def __init__(self, *, ttl: float, owner: str | None = None) -> None:
        self.owner = owner or new_owner()
        self.ttl = ttl

    async def acquire(self, bot_id: uuid.UUID) -> bool:
        return await database_sync_to_async(self._acquire)(bot_id)

    async def renew(self, bot_id: uuid.UUID) -> bool:
        return await database_sync_to_async(self._extend)(bot_id, take_expired=False)

    async def release(self, bot_id: uuid.UUID) -> None:
        await database_sync_to_async(self._release)(bot_id)

    async def close(self) -> None:
        """Nothing to close: Django owns the database connections."""

    def _acquire(self, bot_id: uuid.UUID) -> bool:
        if self._extend(bot_id, take_expired=True):
            return True
        try:
            with transaction.atomic():
                DiscordBotLease.objects.create(
                    bot_id=bot_id, owner=self.owner, expires_at=self._expiry()
                )
        except IntegrityError:  # held by someone else, or another process created it first
            return False
        return True

    def _extend(self, bot_id: uuid.UUID, *, take_expired: bool) -> bool:
        ours = Q(owner=self.owner)
        if take_expired:
            ours |= Q(expires_at__lte=Now())
        updated = (
            DiscordBotLease.objects.unscoped()
            .filter(ours, bot_id=bot_id)
            .update(owner=self.owner, expires_at=self._expiry())
        )
        return updated == 1

    def _release(self, bot_id: uuid.UUID) -> None:
        DiscordBotLease.objects.unscoped().filter(bot_id=bot_id, owner=self.owner).delete()

    def _expiry(self) -> ExpressionWrapper:
        """Measured by the database's clock, the one clock every process shares."""
        return ExpressionWrapper(Now() + timedelta(seconds=self.ttl), output_field=DateTimeField())


class RedisLeases:
    def __init__(self, url: str, *, ttl: float, owner: str | None = None) -> None:
        self.owner = owner or new_owner()
        self.ttl = ttl
        self._redis = aioredis.from_url(url)
        self._renew = self._redis.register_script(_RENEW)
        self._release = self._redis.register_script(_RELEASE)

    @property
    def _ttl_ms(self) -> int:
        return int(self.ttl * 1000)

    async def acquire(self, bot_id: uuid.UUID) -> bool:
        if await self._redis.set(_key(bot_id), self.owner, nx=True, px=self._ttl_ms):
            return True
        return await self.renew(bot_id)

    async def renew(self, bot_id: uuid.UUID) -> bool:
        return bool(await self._renew(keys=[_key(bot_id)], args=[self.owner, self._ttl_ms]))

    async def release(self, bot_id: uuid.UUID) -> None:
        await self._release(keys=[_key(bot_id)], args=[self.owner])

    async def close(self) -> None:
        await self._redis.aclose()


def _key(bot_id: uuid.UUID) -> str:
    return f"{KEY_PREFIX}{bot_id}"


def leases_from_settings(*, ttl: float) -> Leases:
    """Redis when the deployment has it (docker-compose does), else the database."""
    if settings.REDIS_URL:
        return RedisLeases(settings.REDIS_URL, ttl=ttl)
    return DatabaseLeases(ttl=ttl)
