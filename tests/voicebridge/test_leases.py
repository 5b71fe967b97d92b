"""Leases in both stores, with the real thing: the project's database (SQLite here, the same
conditional UPDATE on PostgreSQL) and a private redis-server."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from voicebridge.leases import DatabaseLeases, RedisLeases, leases_from_settings
from voicebridge.models import DiscordBotLease

pytestmark = pytest.mark.django_db(transaction=True)
TTL = 0.4


@pytest.fixture(params=["database", "redis"])
def pair(request, bot):
    """Two processes' leases over one store, and the bot they compete for."""
    if request.param == "database":
        leases = [DatabaseLeases(ttl=TTL, owner=name) for name in ("a", "b")]
    else:
        url = request.getfixturevalue("private_redis").url
        leases = [RedisLeases(url, ttl=TTL, owner=name) for name in ("a", "b")]
    return leases[0], leases[1], bot.id


async def close(*leases):
    for each in leases:
        await each.close()


async def test_only_one_process_holds_a_lease(pair):
    a, b, bot_id = pair
    assert await a.acquire(bot_id)
    assert not await b.acquire(bot_id)
    assert await a.acquire(bot_id)  # taking it again is renewing it
    assert await a.renew(bot_id)
    assert not await b.renew(bot_id)
    await b.release(bot_id)  # not b's to give up: nothing happens
    assert not await b.acquire(bot_id)
    await close(a, b)


async def test_a_released_lease_is_free_at_once(pair):
    a, b, bot_id = pair
    assert await a.acquire(bot_id)
    await a.release(bot_id)
    assert await b.acquire(bot_id)
    assert not await a.renew(bot_id)
    await close(a, b)


async def test_an_expired_lease_goes_to_another_process_and_the_old_holder_cannot_renew(pair):
    a, b, bot_id = pair
    assert await a.acquire(bot_id)
    await asyncio.sleep(TTL / 2)
    assert await a.renew(bot_id)  # renewed before expiry: still a's after the first TTL
    await asyncio.sleep(TTL * 0.75)
    assert not await b.acquire(bot_id)
    await asyncio.sleep(TTL * 0.5)  # not renewed for longer than TTL: expired
    assert await b.acquire(bot_id)
    assert not await a.renew(bot_id)
    await close(a, b)


async def test_processes_racing_for_a_new_lease_get_one_winner(pair):
    a, b, bot_id = pair
    results = await asyncio.gather(*(x.acquire(bot_id) for x in (a, b, a, b)))
    owners = {x.owner for x, won in zip((a, b, a, b), results, strict=True) if won}
    assert len(owners) == 1
    await close(a, b)


def test_the_database_row_names_its_owner(bot):
    leases = DatabaseLeases(ttl=30, owner="process-1")
    assert leases._acquire(bot.id)
    row = DiscordBotLease.objects.unscoped().get(bot=bot)
    assert row.owner == "process-1"
    # computed by the database's clock, read back as an aware datetime 30 s ahead
    assert timedelta(seconds=28) < row.expires_at - timezone.now() <= timedelta(seconds=30)
    bot.delete()  # the lease goes with its bot
    assert not DiscordBotLease.objects.unscoped().exists()


def test_leases_use_redis_only_when_the_deployment_has_it(settings, private_redis):
    settings.REDIS_URL = ""
    assert isinstance(leases_from_settings(ttl=30), DatabaseLeases)
    settings.REDIS_URL = private_redis.url
    leases = leases_from_settings(ttl=30)
    assert isinstance(leases, RedisLeases)
    asyncio.run(leases.close())


def test_owners_are_unique_per_process():
    assert len({DatabaseLeases(ttl=1).owner for _ in range(20)}) == 20
    assert uuid.UUID(DatabaseLeases(ttl=1).owner)
