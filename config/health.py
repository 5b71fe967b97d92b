"""Probes. /health: the process answers (touches nothing). /ready: it can do its work."""

from __future__ import annotations

import asyncio
import logging
import uuid

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

logger = logging.getLogger(__name__)
CHANNEL_LAYER_TIMEOUT_S = 2.0
_migrated = False  # once true for this process's code, it stays true


@never_cache
def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
def ready(request: HttpRequest) -> JsonResponse:
    """200 when the database is reachable and migrated and the channel layer round-trips;
    503 naming each check that failed."""
    checks = {"database": _database(), "channel_layer": _channel_layer()}
    failed = {name: problem for name, problem in checks.items() if problem != "ok"}
    if failed:
        logger.warning("not ready: %s", failed)
        return JsonResponse({"status": "unavailable", "checks": checks}, status=503)
    return JsonResponse({"status": "ready", "checks": checks})


def _database() -> str:
    global _migrated
    try:
        connection.ensure_connection()
        if not _migrated:
            executor = MigrationExecutor(connection)
            pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
            if pending:
                return f"{len(pending)} migration(s) not applied"
            _migrated = True
    except DatabaseError as exc:
        return f"unreachable ({type(exc).__name__})"  # the message may name hosts and users
    return "ok"


def _channel_layer() -> str:
    layer = get_channel_layer()
    if layer is None:
        return "not configured"
    try:
        async_to_sync(_round_trip)(layer)
    except TimeoutError:
        return f"no reply within {CHANNEL_LAYER_TIMEOUT_S:g}s"
    except Exception as exc:  # any backend failure (Redis down, refused, auth) means not ready
        return f"unreachable ({type(exc).__name__})"
    return "ok"


async def _round_trip(layer) -> None:
    channel = await layer.new_channel()
    nonce = uuid.uuid4().hex
    async with asyncio.timeout(CHANNEL_LAYER_TIMEOUT_S):
        await layer.send(channel, {"type": "ready.check", "nonce": nonce})
        message = await layer.receive(channel)
    if message.get("nonce") != nonce:
        raise RuntimeError("the channel layer returned another message")
