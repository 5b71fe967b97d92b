"""``python manage.py run_discord_bridge``: the Discord bridge process (``voicebridge.runner``)."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from voicebridge.health import HealthServer
from voicebridge.leases import leases_from_settings
from voicebridge.runner import Runner

logger = logging.getLogger("voicebridge.runner")


class Command(BaseCommand):
    help = (
        "Run every enabled Discord bot of every organization, and serve /health, /ready and "
        "/metrics on --port. Start several for more capacity or failover: leases (Redis with "
        "REDIS_URL, else the database) make each bot run in one process only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="0.0.0.0", help="Health server address.")  # noqa: S104
        parser.add_argument("--port", type=int, default=8090, help="Health server port.")
        parser.add_argument(
            "--poll", type=float, default=10.0, help="Seconds between looks at the bots."
        )
        parser.add_argument(
            "--lease-ttl",
            type=float,
            default=45.0,
            help="Seconds a lease lasts unrenewed: how soon another process takes over a "
            "bot when this one dies (at least 3 polls).",
        )
        parser.add_argument(
            "--max-bots", type=int, default=None, help="Run at most this many bots here."
        )
        parser.add_argument(
            "--retry-max", type=float, default=300.0, help="Longest wait between login attempts."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["lease_ttl"] < 3 * options["poll"]:
            raise CommandError("--lease-ttl must be at least three times --poll.")
        asyncio.run(self._serve(options))

    async def _serve(self, options: dict[str, Any]) -> None:
        runner = Runner(
            leases_from_settings(ttl=options["lease_ttl"]),
            poll_interval=options["poll"],
            retry_max=options["retry_max"],
            max_bots=options["max_bots"],
        )
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, runner.stop)
        server = HealthServer(runner, host=options["host"], port=options["port"])
        port = await server.start()
        logger.info("Discord bridge health server on port %s", port)
        try:
            await runner.run()
        finally:
            await server.close()
