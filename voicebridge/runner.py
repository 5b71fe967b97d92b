"""The bridge process: every enabled Discord bot of every organization, in one asyncio loop.

Every ``poll_interval`` seconds the runner reads the enabled bots, stops those that were
disabled, deleted or changed (a changed bot starts again with its new token or sharding),
renews the leases of the bots it runs and takes the lease of each bot nobody runs, up to
``max_bots``. A bot whose lease it could not renew is stopped at once (``voicebridge.leases``).

Each bot runs in its own task: a fresh client per attempt (``client_factory``), which
discord.py keeps connected (it reconnects and resumes by itself). When the attempt ends —
Discord refused the token (``LoginFailure``), the privileged intents the client asked for are
not enabled (``PrivilegedIntentsRequired``), the network failed — the reason is stored on the
bot (status and last error, for its admins), logged, shown by ``/ready``, and the bot is tried
again after an exponential backoff (``retry_initial`` doubling up to ``retry_max``): a wrong
token costs one log line every few minutes, never a crash loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import discord
from channels.db import database_sync_to_async
from redis.exceptions import RedisError

from voicebridge.client import BridgeClient, ShardedBridgeClient, report_status
from voicebridge.leases import Leases
from voicebridge.models import DiscordBot
from voicebridge.text import DATABASE_DOWN

logger = logging.getLogger(__name__)

CLOSE_TIMEOUT_SECONDS = 10.0
LOGIN_REFUSED = (
    "Discord refused the bot token (reset it in the Developer Portal, Bot, Reset Token, "
    "and save the new one here)"
)
INTENTS_REFUSED = (
    "Discord refused the gateway intents this bot asks for (enable them in the Developer "
    "Portal, Bot, Privileged Gateway Intents)"
)
#: what the lease store raises when it cannot answer (then the lease counts until it expires)
LEASE_STORE_DOWN = (RedisError, OSError, *DATABASE_DOWN)
NETWORK_ERRORS = (
    discord.HTTPException,
    discord.GatewayNotFound,
    discord.ConnectionClosed,
    aiohttp.ClientError,
    OSError,
    TimeoutError,
)


@dataclass(frozen=True)
class BotConfig:
    """What the runner needs of a bot; a different ``version`` means: restart it."""

    id: uuid.UUID
    name: str
    token: str = field(repr=False)
    sharded: bool
    version: str


ClientFactory = Callable[[BotConfig], BridgeClient]


def discord_client(config: BotConfig) -> BridgeClient:
    """The real client: sharded when the bot says so."""
    return (ShardedBridgeClient if config.sharded else BridgeClient)(config.id)


@dataclass
class BotRun:
    """One bot this process holds the lease of, and how its gateway connection is doing."""

    config: BotConfig
    lease_until: float  # event-loop time: until then, the lease is ours even if unconfirmed
    task: asyncio.Task[None] | None = None
    client: BridgeClient | None = None
    error: str = ""
    failures: int = 0
    retry_at: float | None = None

    @property
    def connected(self) -> bool:
        return self.client is not None and self.client.gateway_connected

    def describe(self, now: float) -> dict[str, Any]:
        retry_in = round(self.retry_at - now, 1) if self.retry_at is not None else None
        return {
            "name": self.config.name,
            "connected": self.connected,
            "error": self.error,
            "failures": self.failures,
            "retry_in_seconds": retry_in if not self.connected else None,
        }


@database_sync_to_async
def enabled_bots() -> dict[uuid.UUID, BotConfig]:
    """Every organization's enabled bots (system access: the bridge serves all of them)."""
    bots = DiscordBot.objects.unscoped().filter(enabled=True).order_by("created_at")
    return {
        bot.pk: BotConfig(
            id=bot.pk,
            name=bot.name,
            token=bot.token,
            sharded=bot.sharded,
            version=bot.updated_at.isoformat(),
        )
        for bot in bots
    }


class Runner:
    def __init__(
        self,
        leases: Leases,
        *,
        client_factory: ClientFactory = discord_client,
        poll_interval: float = 10.0,
        retry_initial: float = 5.0,
        retry_max: float = 300.0,
        max_bots: int | None = None,
    ) -> None:
        if leases.ttl < 3 * poll_interval:
            raise ValueError("the lease must outlive three polls (ttl >= 3 * poll_interval)")
        self.leases = leases
        self.client_factory = client_factory
        self.poll_interval = poll_interval
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self.max_bots = max_bots
        self.bots: dict[uuid.UUID, BotRun] = {}
        self.gateway_failures: Counter[str] = Counter()  # by reason, for /metrics
        self._stopping = asyncio.Event()

    # -- the loop ------------------------------------------------------------------------------

    async def run(self) -> None:
        """Poll until ``stop()``, then stop every bot and give the leases back."""
        logger.info("Discord bridge %s started", self.leases.owner)
        try:
            while not self._stopping.is_set():
                try:
                    await self.sync()
                except Exception:  # a bug in one poll: say so, keep the bots, poll again
                    logger.exception("Discord bridge poll failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.poll_interval)
        finally:
            await self.stop_all()
            logger.info("Discord bridge %s stopped", self.leases.owner)

    def stop(self) -> None:
        self._stopping.set()

    async def sync(self) -> None:
        """One poll: follow the database's bots and keep the leases."""
        try:
            wanted = await enabled_bots()
        except DATABASE_DOWN:
            logger.warning("database unavailable: the Discord bots were not refreshed")
            wanted = None
        if wanted is not None:
            for bot_id, run in list(self.bots.items()):
                if bot_id not in wanted:
                    logger.info("Discord bot %s was disabled or deleted: stopping it", bot_id)
                    await self._stop(bot_id, release=True, status=DiscordBot.Status.DISCONNECTED)
                elif wanted[bot_id].version != run.config.version:
                    logger.info("Discord bot %s changed: restarting it", bot_id)
                    await self._stop(bot_id, release=True)
        await self._restart_crashed()
        await self._renew_leases()
        if wanted is not None:
            await self._take_free(wanted)

    async def _restart_crashed(self) -> None:
        """A bot task that ended on a bug (``_keep_running`` never ends by itself): log it and
        let the bot start again, here or elsewhere."""
        for bot_id, run in list(self.bots.items()):
            if run.task is not None and run.task.done():
                error = None if run.task.cancelled() else run.task.exception()
                logger.error("Discord bot %s stopped on a bug", bot_id, exc_info=error)
                await self._stop(bot_id, release=True)

    async def _renew_leases(self) -> None:
        loop = asyncio.get_running_loop()
        for bot_id, run in list(self.bots.items()):
            asked_at = loop.time()  # the new expiry counts from (at the latest) the request
            try:
                ours = await self.leases.renew(bot_id)
            except LEASE_STORE_DOWN as exc:
                # Unconfirmed: keep the bot while the lease surely lasts, not a poll longer.
                ours = loop.time() + self.poll_interval < run.lease_until
                logger.warning("lease of Discord bot %s not renewed: %s", bot_id, exc)
            else:
                if ours:
                    run.lease_until = asked_at + self.leases.ttl
            if not ours:
                logger.warning("lost the lease of Discord bot %s: stopping it here", bot_id)
                await self._stop(bot_id, release=False)

    async def _take_free(self, wanted: dict[uuid.UUID, BotConfig]) -> None:
        loop = asyncio.get_running_loop()
        for bot_id, config in wanted.items():
            if bot_id in self.bots:
                continue
            if self.max_bots is not None and len(self.bots) >= self.max_bots:
                return
            asked_at = loop.time()
            try:
                taken = await self.leases.acquire(bot_id)
            except LEASE_STORE_DOWN as exc:
                logger.warning("lease store unavailable: %s", exc)
                return
            if taken:
                run = BotRun(config, lease_until=asked_at + self.leases.ttl)
                run.task = asyncio.create_task(self._keep_running(run), name=f"discord-{bot_id}")
                self.bots[bot_id] = run
                logger.info("running Discord bot %s (%s)", bot_id, config.name)

    async def _stop(self, bot_id: uuid.UUID, *, release: bool, status: str | None = None) -> None:
        run = self.bots.pop(bot_id)
        if run.task is not None:
            run.task.cancel()
            await asyncio.wait([run.task])  # ended: cancelled here, or on a bug logged before
        if release:
            with contextlib.suppress(*LEASE_STORE_DOWN):  # it expires on its own
                await self.leases.release(bot_id)
        if status is not None:
            await report_status(bot_id, status)

    async def stop_all(self) -> None:
        for bot_id in list(self.bots):
            await self._stop(bot_id, release=True, status=DiscordBot.Status.DISCONNECTED)
        await self.leases.close()

    # -- one bot -------------------------------------------------------------------------------

    async def _keep_running(self, run: BotRun) -> None:
        """Run the bot's client; after each failure store why and wait before the next try."""
        while True:
            run.client = client = self.client_factory(run.config)
            try:
                status, reason, error = await self._attempt(client, run.config)
            finally:
                await _close(client)
            run.failures = 1 if client.gateway_connected_once else run.failures + 1
            delay = min(self.retry_max, self.retry_initial * 2 ** (run.failures - 1))
            run.error, run.retry_at = error, asyncio.get_running_loop().time() + delay
            self.gateway_failures[reason] += 1
            logger.error(
                "Discord bot %s (%s): %s; trying again in %.3g s",
                run.config.id,
                run.config.name,
                error,
                delay,
            )
            await report_status(run.config.id, status, error)
            await asyncio.sleep(delay)

    async def _attempt(self, client: BridgeClient, config: BotConfig) -> tuple[str, str, str]:
        """Log in and stay connected; when that ends, (status, reason, what to tell the admin)."""
        error_status = DiscordBot.Status.ERROR
        try:
            await client.start(config.token)
        except discord.LoginFailure:
            return error_status, "login", LOGIN_REFUSED
        except discord.PrivilegedIntentsRequired:
            return error_status, "intents", INTENTS_REFUSED
        except NETWORK_ERRORS as exc:
            unreachable = f"Discord unreachable ({type(exc).__name__}: {exc})"[:500]
            return DiscordBot.Status.DISCONNECTED, "network", unreachable
        except Exception as exc:  # a bug must not end the process's other bots: log, retry
            logger.exception("Discord bot %s crashed", config.id)
            return error_status, "crash", f"unexpected error: {type(exc).__name__}"
        return DiscordBot.Status.DISCONNECTED, "closed", "the gateway connection was closed"

    # -- what the health server shows ---------------------------------------------------------

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        now = asyncio.get_running_loop().time()
        bots = {str(bot_id): run.describe(now) for bot_id, run in self.bots.items()}
        ready = all(run.connected for run in self.bots.values())
        return ready, {
            "status": "ready" if ready else "unavailable",
            "owner": self.leases.owner,
            "bots": bots,
        }


async def _close(client: BridgeClient) -> None:
    """Close the client (its HTTP session too, which a failed login leaves open)."""
    try:
        await asyncio.wait_for(client.close(), CLOSE_TIMEOUT_SECONDS)
    except (TimeoutError, *NETWORK_ERRORS) as exc:
        logger.warning("Discord client of bot %s did not close cleanly: %r", client.bot_id, exc)
