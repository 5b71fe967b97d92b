"""The bridge process's own small HTTP server (aiohttp), for probes and Prometheus.

``/health``  200 while the process's loop answers (touches nothing).
``/ready``   JSON per leased bot (gateway connected, last error, next retry); 200 only when
             every bot this process runs is connected, else 503.
``/metrics`` Prometheus text: the bridge's gauges and counters, computed from the runner at
             scrape time, plus the process's other metrics (turns, stage latencies, tool calls
             of the runtime). With ``METRICS_TOKEN`` set, a Bearer token is required.

The port is not meant to be published: in docker-compose only the other containers reach it.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import TYPE_CHECKING

from aiohttp import web
from django.conf import settings
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from prometheus_client import REGISTRY as PROCESS_REGISTRY
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from voicebridge.runner import Runner


class BridgeCollector(Collector):
    """The runner's state as metrics, read when scraped (so never stale or double-counted)."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner

    def collect(self) -> Iterator[Metric]:
        runs = self.runner.bots.values()
        yield GaugeMetricFamily(
            "vp_discord_bots_leased", "Discord bots this process holds the lease of.", len(runs)
        )
        yield GaugeMetricFamily(
            "vp_discord_bots_connected",
            "Leased Discord bots whose gateway connection is up.",
            sum(run.connected for run in runs),
        )
        failures = CounterMetricFamily(
            "vp_discord_gateway_failures",
            "Ended gateway attempts by reason (login, intents, network, closed, crash).",
            labels=["reason"],
        )
        for reason, count in sorted(self.runner.gateway_failures.items()):
            failures.add_metric([reason], count)
        yield failures


class HealthServer:
    def __init__(self, runner: Runner, *, host: str = "0.0.0.0", port: int = 8090) -> None:  # noqa: S104
        self.runner = runner
        self.host, self.port = host, port
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(BridgeCollector(runner))
        app = web.Application()
        app.add_routes(
            [
                web.get("/health", self.health),
                web.get("/ready", self.ready),
                web.get("/metrics", self.metrics),
            ]
        )
        self._runner = web.AppRunner(app, access_log=None)  # probes every few seconds: no logs

    async def start(self) -> int:
        """Listen; returns the port (the one the system chose for ``port=0``)."""
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        sockets = self._runner.addresses
        return int(sockets[0][1]) if sockets else self.port

    async def close(self) -> None:
        await self._runner.cleanup()

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def ready(self, request: web.Request) -> web.Response:
        ready, body = self.runner.readiness()
        return web.json_response(body, status=200 if ready else 503)

    async def metrics(self, request: web.Request) -> web.Response:
        token = settings.METRICS_TOKEN
        if token and not _bearer_matches(request, token):
            return web.Response(
                status=401, text="Unauthorized\n", headers={"WWW-Authenticate": "Bearer"}
            )
        body = generate_latest(self.registry) + generate_latest(_process_registry())
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def _process_registry() -> CollectorRegistry:
    """This process's metrics, or every process's with PROMETHEUS_MULTIPROC_DIR (as /metrics
    of the web processes reports them)."""
    if not settings.PROMETHEUS_MULTIPROC_DIR:
        return PROCESS_REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def _bearer_matches(request: web.Request, token: str) -> bool:
    scheme, _, supplied = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        supplied.strip().encode(), token.encode()
    )
