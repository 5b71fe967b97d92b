"""Sessions end on their own when nobody uses them.

A session nobody ever used (still ``created``) ends ``expired-unused`` after
``SESSION_UNUSED_TTL_SECONDS``; a used one (``active``) ends ``expired-idle`` after
``SESSION_IDLE_TTL_SECONDS`` without activity: its client vanished, the process serving it
died, or it was only used over REST and its last text turn is long past. Activity is
``Session.last_activity_at``, set when the session is created or activated, with every stored
message (in ``store.message_append``'s own UPDATE) and, every 30 s, by a live connection's heartbeat
(``session_touch``): a connected session never looks idle, however quiet its caller is (its
assistant's silence timeout handles that).

The sweep, ``sessions_expire``, runs in every server process (``expiring_sessions``, started by
config/server.py, every ``SESSION_EXPIRY_INTERVAL_SECONDS``) and from any scheduler
(``manage.py expire_sessions``). Runs may overlap: each batch locks the rows it ends (FOR UPDATE
SKIP LOCKED on PostgreSQL; SQLite takes its single write lock at BEGIN), so every session is
ended, and announced to a live connection, by exactly one run. The sweep is the platform's
own housekeeping across every organization: its queries are ``unscoped()`` on purpose.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from sessions.models import Session
from sessions.services import session_group
from webhooks import events as webhook_events

logger = logging.getLogger(__name__)

EXPIRED_UNUSED = "expired-unused"
EXPIRED_IDLE = "expired-idle"
# Rows ended per transaction: short row locks, and a backlog (the first sweep after an
# outage) does not become one huge statement.
BATCH_SIZE = 500


@dataclass(frozen=True)
class Expiry:
    status: str
    ttl_setting: str
    reason: str

    def cutoff(self, now: datetime) -> datetime:
        return now - timedelta(seconds=getattr(settings, self.ttl_setting))


EXPIRIES = (
    Expiry(Session.Status.CREATED, "SESSION_UNUSED_TTL_SECONDS", EXPIRED_UNUSED),
    Expiry(Session.Status.ACTIVE, "SESSION_IDLE_TTL_SECONDS", EXPIRED_IDLE),
)


def session_touch(*, session_id: UUID) -> None:
    """A live connection is still there: the session is in use. One UPDATE, every 30 s per
    connection; an ended session stays as it ended."""
    Session.objects.unscoped().live().filter(pk=session_id).update(last_activity_at=timezone.now())


def sessions_expire(*, now: datetime | None = None) -> int:
    """End every session, of any organization, that has been left alone too long; returns how
    many this run ended. Safe to run in several processes at once."""
    now = now or timezone.now()
    total = 0
    for expiry in EXPIRIES:
        while True:
            ended = _end_batch(expiry, now)
            _announce(ended, expiry.reason)
            total += len(ended)
            if len(ended) < BATCH_SIZE:
                break
    if total:
        logger.info("ended %d expired sessions", total)
    return total


@transaction.atomic
def _end_batch(expiry: Expiry, now: datetime) -> list[UUID]:
    stale = Session.objects.unscoped().filter(
        status=expiry.status, last_activity_at__lt=expiry.cutoff(now)
    )
    # Rows another run has locked are its to end; a heartbeat's UPDATE that commits first
    # takes its row out of the WHERE (PostgreSQL re-checks it on a row it had to wait for).
    ids = list(
        stale.select_for_update(skip_locked=True)
        .order_by("last_activity_at")
        .values_list("pk", flat=True)[:BATCH_SIZE]
    )
    if ids:
        stale.filter(pk__in=ids).update(
            status=Session.Status.ENDED, ended_at=now, ended_reason=expiry.reason
        )
        for session_id in ids:  # session.ended, in this transaction (webhooks/)
            webhook_events.session_ended(session_id)
    return ids


def _announce(session_ids: list[UUID], reason: str) -> None:
    """Tell any live connection of these sessions, on any process, as POST .../end/ does. There
    should be none (its heartbeat keeps a connected session in use), unless that process lost
    its database for longer than the idle limit: then the caller hears why the call ended."""
    if session_ids:
        async_to_sync(_send_session_end)(session_ids, reason)


async def _send_session_end(session_ids: list[UUID], reason: str) -> None:
    layer = get_channel_layer()
    assert layer is not None, "CHANNEL_LAYERS is always configured (config/settings.py)"
    for session_id in session_ids:
        await layer.group_send(session_group(session_id), {"type": "session.end", "reason": reason})


async def expire_periodically(interval_seconds: float) -> None:
    """Sweep every ``interval_seconds`` until cancelled."""
    while True:
        await asyncio.sleep(interval_seconds)
        try:
            await database_sync_to_async(sessions_expire)()
        except Exception:  # a database or Redis outage must not stop expiry for good
            logger.exception("session expiry failed; next try in %s s", interval_seconds)


@asynccontextmanager
async def expiring_sessions() -> AsyncIterator[None]:
    """While the block runs, this process sweeps every ``SESSION_EXPIRY_INTERVAL_SECONDS``
    (0: never). The sweeping task is cancelled and awaited when the block exits."""
    interval = settings.SESSION_EXPIRY_INTERVAL_SECONDS
    if not interval:
        yield
        return
    task = asyncio.create_task(expire_periodically(interval), name="session-expiry")
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
