"""The bridge process: bots logging in through discord.py against a local Discord (REST and
gateway, tests/voicebridge/fake_discord.py), the health server over a real socket, leases
shared by two runners, and bots added, changed and disabled while it runs."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import aiohttp
import pytest
from asgiref.sync import sync_to_async

from tests.api.conftest import client_for
from tests.voicebridge.conftest import TOKEN, snowflake
from tests.voicebridge.fake_discord import FakeDiscord, eventually
from voicebridge.client import BridgeClient, ShardedBridgeClient, bridge_intents
from voicebridge.health import HealthServer
from voicebridge.leases import DatabaseLeases, Leases, RedisLeases
from voicebridge.models import DiscordBot, DiscordBotLease
from voicebridge.runner import BotConfig, Runner, discord_client
from voicebridge.services import discord_bot_create, discord_bot_update

pytestmark = pytest.mark.django_db(transaction=True)
POLL = 0.05


@pytest.fixture
async def fake_discord(monkeypatch):
    fake = FakeDiscord(tokens={TOKEN})
    await fake.start()
    fake.install(monkeypatch)
    yield fake
    await fake.close()


def quick_client(config: BotConfig) -> BridgeClient:
    """The production client, told not to wait 2 s for servers a new bot is not in yet."""
    client = discord_client(config)
    client._connection.guild_ready_timeout = 0
    return client


class Bridge:
    """A runner and its health server, running in this test's event loop."""

    def __init__(self, owner: str = "process-a", *, redis_url: str = "", **options) -> None:
        options = {"poll_interval": POLL, "retry_initial": 0.05, "retry_max": 0.2, **options}
        leases: Leases = (
            RedisLeases(redis_url, ttl=POLL * 6, owner=owner)
            if redis_url
            else DatabaseLeases(ttl=POLL * 6, owner=owner)
        )
        self.runner = Runner(leases, client_factory=quick_client, **options)
        self.server = HealthServer(self.runner, host="127.0.0.1", port=0)
        self.task: asyncio.Task | None = None
        self.url = ""

    async def __aenter__(self) -> Bridge:
        self.url = f"http://127.0.0.1:{await self.server.start()}"
        self.task = asyncio.create_task(self.runner.run())
        return self

    async def __aexit__(self, *exc) -> None:
        self.runner.stop()
        assert self.task is not None
        await asyncio.wait_for(self.task, 10)
        await self.server.close()

    async def get(self, path: str, **headers: str) -> tuple[int, str, dict | None]:
        async with aiohttp.ClientSession() as http, http.get(self.url + path, headers=headers) as r:
            body = await r.text()
            is_json = r.content_type == "application/json"
            return r.status, body, (await r.json() if is_json else None)

    def running(self) -> set:
        return {bot_id for bot_id, run in self.runner.bots.items() if run.connected}


@sync_to_async
def stored(bot: DiscordBot) -> DiscordBot:
    return DiscordBot.objects.unscoped().get(pk=bot.pk)


def async_status_is(bot: DiscordBot, status: str):
    async def check() -> bool:
        return (await stored(bot)).status == status

    return check


async def test_a_bot_logs_in_connects_and_the_probes_say_so(bot, fake_discord):
    async with Bridge() as bridge:
        await eventually(lambda: bridge.running() == {bot.id})
        status, _, ready = await bridge.get("/ready")
        assert status == 200
        assert ready["status"] == "ready"
        assert ready["bots"][str(bot.id)] == {
            "name": "Acme bot",
            "connected": True,
            "error": "",
            "failures": 0,
            "retry_in_seconds": None,
        }
        assert (await bridge.get("/health"))[:2] == (200, '{"status": "ok"}')
        status, metrics, _ = await bridge.get("/metrics")
        assert status == 200
        assert "vp_discord_bots_leased 1.0" in metrics
        assert "vp_discord_bots_connected 1.0" in metrics
        assert "vp_turns_total" in metrics  # the runtime's metrics of this process too
        await eventually(async_status_is(bot, DiscordBot.Status.CONNECTED))

    # It logged in with the stored (decrypted) token, asked for no privileged intent, and
    # published its slash commands; stopping gave the lease back and said so on the bot.
    assert fake_discord.logins == [TOKEN]
    [identify] = fake_discord.identified
    assert identify["token"] == TOKEN
    assert identify["intents"] == bridge_intents().value
    assert fake_discord.commands_published == 1
    assert (await stored(bot)).status == DiscordBot.Status.DISCONNECTED
    assert not await sync_to_async(DiscordBotLease.objects.unscoped().exists)()
    await eventually(lambda: fake_discord.open_sockets == 0)


async def test_a_revoked_token_is_stored_shown_and_retried_with_backoff_without_a_crash(
    bot, fake_discord, caplog
):
    fake_discord.tokens.clear()  # Discord no longer knows the token
    caplog.set_level(logging.ERROR, logger="voicebridge.runner")
    async with Bridge() as bridge:
        await eventually(lambda: len(fake_discord.logins) >= 4)
        status, _, ready = await bridge.get("/ready")
        assert status == 503
        report = ready["bots"][str(bot.id)]
        assert report["connected"] is False
        assert "Discord refused the bot token" in report["error"]
        assert report["failures"] >= 3
        assert 0 <= report["retry_in_seconds"] <= 0.2
        assert not bridge.task.done()  # still running, its other bots unaffected

        refused = await stored(bot)
        assert refused.status == DiscordBot.Status.ERROR
        assert "Reset Token" in refused.last_error
        assert TOKEN not in refused.last_error
        assert "failures_total" not in refused.last_error
        _, metrics, _ = await bridge.get("/metrics")
        assert 'vp_discord_gateway_failures_total{reason="login"}' in metrics

        # The admin saves a new token: the bot is restarted with it and connects.
        new_token = TOKEN.replace("acme", "acme2")
        fake_discord.tokens.add(new_token)
        await sync_to_async(discord_bot_update)(bot=refused, token=new_token)
        await eventually(lambda: bridge.running() == {bot.id})
        assert (await bridge.get("/ready"))[0] == 200
        assert fake_discord.logins[-1] == new_token

    lines = [r.getMessage() for r in caplog.records if r.name == "voicebridge.runner"]
    assert any("Discord refused the bot token" in line and "trying again" in line for line in lines)
    assert not any(TOKEN in line for line in lines)
    # backoff: attempts spread out (0.05, 0.1, 0.2, 0.2 s ...), not a busy loop
    assert len(fake_discord.logins) < 20


async def test_privileged_intents_refused_by_the_gateway_are_an_error_not_a_crash(
    bot, fake_discord
):
    fake_discord.refuse_intents = True
    async with Bridge() as bridge:
        await eventually(lambda: len(fake_discord.identified) >= 2)
        status, _, ready = await bridge.get("/ready")
        assert status == 503
        assert "Privileged Gateway Intents" in ready["bots"][str(bot.id)]["error"]
        assert (await stored(bot)).status == DiscordBot.Status.ERROR
        _, metrics, _ = await bridge.get("/metrics")
        assert 'vp_discord_gateway_failures_total{reason="intents"}' in metrics


async def test_a_bot_made_sharded_through_the_api_asks_discord_for_its_shards(
    bot, private_key, fake_discord
):
    api = client_for(private_key[1])
    response = await sync_to_async(api.patch)(
        f"/api/v1/discord/bots/{bot.id}/", {"sharded": True}, format="json"
    )
    assert (response.status_code, response.json()["sharded"]) == (200, True)
    async with Bridge() as bridge:
        await eventually(lambda: bridge.running() == {bot.id})
        assert isinstance(bridge.runner.bots[bot.id].client, ShardedBridgeClient)
    assert fake_discord.identified[0]["shard"] == [0, 1]


async def test_new_bots_are_picked_up_and_disabled_ones_stopped_without_a_restart(
    org, bot, fake_discord
):
    async with Bridge() as bridge:
        await eventually(lambda: bridge.running() == {bot.id})
        second = await sync_to_async(discord_bot_create)(
            organization=org, name="Second", application_id=snowflake(), token=TOKEN
        )
        await eventually(lambda: bridge.running() == {bot.id, second.id})

        await sync_to_async(discord_bot_update)(bot=bot, enabled=False)
        await eventually(lambda: set(bridge.runner.bots) == {second.id})
        await eventually(lambda: fake_discord.open_sockets == 1)
        await eventually(async_status_is(bot, DiscordBot.Status.DISCONNECTED))

        await sync_to_async(second.delete)()
        await eventually(lambda: not bridge.runner.bots)
        status, _, ready = await bridge.get("/ready")
        assert (status, ready["bots"]) == (200, {})


async def test_two_processes_never_run_the_same_bot(org, bot, fake_discord):
    others = [
        await sync_to_async(discord_bot_create)(
            organization=org, name=f"Bot {n}", application_id=snowflake(), token=TOKEN
        )
        for n in range(3)
    ]
    every = {bot.id, *(other.id for other in others)}
    overlaps = []

    async def watch(a: Bridge, b: Bridge) -> None:
        while True:
            overlaps.append(set(a.runner.bots) & set(b.runner.bots))
            await asyncio.sleep(POLL / 5)

    async with Bridge("process-a", max_bots=2) as a, Bridge("process-b", max_bots=2) as b:
        watcher = asyncio.create_task(watch(a, b))
        await eventually(lambda: a.running() | b.running() == every)
        assert len(a.runner.bots) == len(b.runner.bots) == 2
        await asyncio.sleep(POLL * 10)  # many renewals later, nothing moved
        assert a.running() | b.running() == every

    # Failover: process a stops (gives its leases back); b, free of its limit, takes them.
    async with Bridge("process-a") as a, Bridge("process-b") as b:
        await eventually(lambda: a.running() | b.running() == every)
        a.runner.stop()
        await asyncio.wait_for(a.task, 10)
        await eventually(lambda: b.running() == every)
    watcher.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watcher
    assert not any(overlaps)


async def test_two_processes_split_the_bots_through_redis(org, bot, fake_discord, private_redis):
    second = await sync_to_async(discord_bot_create)(
        organization=org, name="Second", application_id=snowflake(), token=TOKEN
    )
    url = private_redis.url
    async with (
        Bridge("process-a", redis_url=url, max_bots=1) as a,
        Bridge("process-b", redis_url=url, max_bots=1) as b,
    ):
        await eventually(lambda: a.running() | b.running() == {bot.id, second.id})
        assert len(a.running()) == len(b.running()) == 1
        a.runner.stop()
        await asyncio.wait_for(a.task, 10)
        b.runner.max_bots = None
        await eventually(lambda: b.running() == {bot.id, second.id})


async def test_a_process_that_loses_its_lease_stops_the_bot(bot, fake_discord):
    async with Bridge() as bridge:
        await eventually(lambda: bridge.running() == {bot.id})
        # Another process holds it now (this one was paused past the lease, say).
        await sync_to_async(DiscordBotLease.objects.unscoped().filter(bot=bot).update)(
            owner="process-b"
        )
        await eventually(lambda: not bridge.runner.bots)
        await eventually(lambda: fake_discord.open_sockets == 0)
        lease = await sync_to_async(DiscordBotLease.objects.unscoped().get)(bot=bot)
        assert lease.owner == "process-b"  # not released: it is not this process's


async def test_metrics_ask_for_the_token_when_one_is_set(bot, fake_discord, settings):
    settings.METRICS_TOKEN = "metrics-secret"
    async with Bridge() as bridge:
        assert (await bridge.get("/metrics"))[0] == 401
        status, body, _ = await bridge.get("/metrics", Authorization="Bearer metrics-secret")
        assert status == 200
        assert "vp_discord_bots_leased" in body
        assert (await bridge.get("/health"))[0] == 200  # the probes stay open


async def test_a_bug_in_a_bots_task_is_logged_and_the_bot_started_again(bot, fake_discord, caplog):
    made = []

    def buggy_once(config: BotConfig) -> BridgeClient:
        made.append(config.id)
        if len(made) == 1:
            raise RuntimeError("a bug while making the client")
        return quick_client(config)

    async with Bridge() as bridge:
        bridge.runner.client_factory = buggy_once
        await eventually(lambda: bridge.running() == {bot.id})
    assert len(made) == 2
    messages = [r.getMessage() for r in caplog.records]
    assert any("stopped on a bug" in m for m in messages)
    assert not any("poll failed" in m for m in messages)  # handled, not an error of the poll


def test_the_lease_must_outlive_three_polls():
    with pytest.raises(ValueError, match="three polls"):
        Runner(DatabaseLeases(ttl=10), poll_interval=5)
