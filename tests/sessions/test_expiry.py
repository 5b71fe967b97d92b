"""Sessions left alone end on their own (sessions/expiry.py): unused ones, idle ones (a vanished
client, a REST-only session), never a connected one; by the command, by every server process,
once each however many runs overlap."""

from __future__ import annotations

import asyncio
import importlib
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from sessions import concurrency
from sessions.expiry import session_touch, sessions_expire
from sessions.models import Session
from sessions.services import session_activate, session_end
from tests.factories import SessionFactory, append_message
from tests.sessions.live import LiveClient

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]
SECOND = timedelta(seconds=1)


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.SESSION_UNUSED_TTL_SECONDS = 3600
    settings.SESSION_IDLE_TTL_SECONDS = 900


def unused_limit() -> timedelta:
    return timedelta(seconds=3600)


def idle_limit() -> timedelta:
    return timedelta(seconds=900)


def text_turn(raw_key: str, session: Session, content: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    url = f"/api/v1/sessions/{session.id}/messages/"
    return client.post(url, {"content": content}, format="json")


def reloaded(session: Session) -> Session:
    return Session.objects.unscoped().get(pk=session.pk)


def backdate(session: Session, by: timedelta) -> None:
    Session.objects.unscoped().filter(pk=session.pk).update(last_activity_at=timezone.now() - by)


# ---- what ends, and why -------------------------------------------------------------------


def test_a_session_never_used_ends_expired_unused_after_its_limit():
    session = SessionFactory()
    created = session.last_activity_at
    assert sessions_expire(now=created + unused_limit() - SECOND) == 0
    assert reloaded(session).status == "created"

    deadline = created + unused_limit() + SECOND
    assert sessions_expire(now=deadline) == 1
    ended = reloaded(session)
    assert (ended.status, ended.ended_reason) == ("ended", "expired-unused")
    assert ended.ended_at == deadline
    assert sessions_expire(now=deadline + unused_limit()) == 0  # once


def test_a_used_session_left_idle_ends_expired_idle_and_an_unused_one_waits_longer():
    used, unused = SessionFactory(), SessionFactory()
    session_activate(session_id=used.id)
    later = reloaded(used).last_activity_at + idle_limit() + SECOND
    assert sessions_expire(now=later) == 1
    assert (reloaded(used).status, reloaded(used).ended_reason) == ("ended", "expired-idle")
    assert reloaded(unused).status == "created"  # its own, longer limit


def test_activity_moves_the_deadline():
    session = SessionFactory()
    session_activate(session_id=session.id)
    backdate(session, timedelta(minutes=10))  # activated ten minutes ago
    first = reloaded(session).last_activity_at
    append_message(session_id=session.id, role="user", content="still here")
    stored = reloaded(session).last_activity_at
    assert stored > first
    assert sessions_expire(now=first + idle_limit() + SECOND) == 0  # idle from the message on
    assert sessions_expire(now=stored + idle_limit() + SECOND) == 1


def test_sessions_already_over_are_left_as_they_ended():
    ended, failed = SessionFactory(), SessionFactory()
    session_end(session_id=ended.id, reason="user-ended")
    session_end(session_id=failed.id, reason="provider-failed", failed=True)
    session_touch(session_id=ended.id)  # a late heartbeat does not bring it back
    assert sessions_expire(now=timezone.now() + 10 * unused_limit()) == 0
    assert (reloaded(ended).status, reloaded(ended).ended_reason) == ("ended", "user-ended")
    assert (reloaded(failed).status, reloaded(failed).ended_reason) == ("failed", "provider-failed")


def test_every_organizations_sessions_expire():
    first, second = SessionFactory(), SessionFactory()
    assert first.organization_id != second.organization_id
    assert sessions_expire(now=timezone.now() + unused_limit() + SECOND) == 2
    assert {reloaded(first).status, reloaded(second).status} == {"ended"}


def test_the_limits_come_from_the_settings(settings):
    session = SessionFactory()
    settings.SESSION_UNUSED_TTL_SECONDS = 600
    assert sessions_expire(now=session.last_activity_at + timedelta(seconds=601)) == 1


# ---- REST-only sessions -------------------------------------------------------------------


def test_a_session_used_only_over_rest_expires_once_idle(providers, session, private_key):
    providers.script_chat({"text": "Hello."})
    response = text_turn(private_key[1], session, "Hi")
    assert response.status_code == 201, response.json()
    used = reloaded(session)
    assert used.status == "active"
    last_message = used.messages.order_by("sequence").last()
    assert abs(used.last_activity_at - last_message.created_at) < SECOND

    assert sessions_expire(now=used.last_activity_at + idle_limit() - SECOND) == 0
    assert sessions_expire(now=used.last_activity_at + idle_limit() + SECOND) == 1
    assert reloaded(session).ended_reason == "expired-idle"
    again = text_turn(private_key[1], session, "Hi?")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "session_ended")


# ---- live connections ---------------------------------------------------------------------


@database_sync_to_async
def _reloaded(session: Session) -> Session:
    return reloaded(session)


@database_sync_to_async
def _backdate(session: Session, by: timedelta) -> None:
    backdate(session, by)


async def test_the_heartbeat_keeps_a_connected_session_from_expiring(
    providers, session, monkeypatch
):
    monkeypatch.setattr(concurrency, "REFRESH_SECONDS", 0.05)
    client = LiveClient.for_session(session.id)
    await client.connect()
    await _backdate(session, 2 * unused_limit())  # as if nothing had happened for two hours
    async with asyncio.timeout(5):
        while (await _reloaded(session)).last_activity_at < timezone.now() - idle_limit():
            await asyncio.sleep(0.05)
    assert await database_sync_to_async(sessions_expire)() == 0
    assert (await _reloaded(session)).status == "active"
    await client.disconnect()

    # The client vanished: nothing touches the session any more.
    await _backdate(session, idle_limit() + SECOND)
    await asyncio.sleep(0.2)  # a heartbeat would have run by now
    assert await database_sync_to_async(sessions_expire)() == 1
    assert (await _reloaded(session)).ended_reason == "expired-idle"


async def test_an_expired_session_still_connected_is_told_and_closed(providers, session):
    # Its heartbeat (every 30 s) does not run within this test: as if its process had lost the
    # database for longer than the idle limit.
    client = LiveClient.for_session(session.id)
    await client.connect()
    await _backdate(session, idle_limit() + SECOND)
    assert await database_sync_to_async(sessions_expire)() == 1
    ended = await client.expect("session-ended")
    assert ended["reason"] == "expired-idle"
    assert await client.next() == ("close", 1000)
    stored = await _reloaded(session)
    assert (stored.status, stored.ended_reason) == ("ended", "expired-idle")
    # Over for good: a new connection is refused.
    assert await LiveClient.for_session(session.id).close_code() == 4403


# ---- how it runs --------------------------------------------------------------------------


def test_the_command_ends_expired_sessions():
    stale, fresh = SessionFactory(), SessionFactory()
    backdate(stale, unused_limit() + SECOND)
    out = StringIO()
    call_command("expire_sessions", stdout=out)
    assert out.getvalue().strip() == "Ended 1 expired session."
    assert (reloaded(stale).status, reloaded(fresh).status) == ("ended", "created")


def test_overlapping_runs_end_each_session_once():
    sessions = [SessionFactory() for _ in range(40)]
    for session in sessions[::2]:
        session_activate(session_id=session.id)
    base = timezone.now() + unused_limit() + SECOND
    # Each run has its own clock, so a session's ended_at says which run ended it.
    runs = [base + timedelta(milliseconds=i) for i in range(4)]
    counts: dict = {}
    start = threading.Barrier(len(runs))

    def run(now):
        try:
            start.wait()
            counts[now] = sessions_expire(now=now)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(now,)) for now in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sum(counts.values()) == len(sessions), counts
    ended = Session.objects.unscoped().filter(pk__in=[s.pk for s in sessions])
    assert set(ended.values_list("status", flat=True)) == {"ended"}
    for now, count in counts.items():
        assert ended.filter(ended_at=now).count() == count  # nobody's ending was redone
    reasons = sorted(ended.values_list("ended_reason", flat=True))
    assert reasons == ["expired-idle"] * 20 + ["expired-unused"] * 20


@pytest.mark.slow
def test_every_server_process_ends_expired_sessions_on_its_own(asgi_server):
    stale, fresh = SessionFactory(), SessionFactory()
    backdate(stale, 2 * unused_limit())  # past the server's own default limit
    server = asgi_server(SESSION_EXPIRY_INTERVAL_SECONDS="1")
    deadline = time.monotonic() + 20
    while reloaded(stale).status != "ended" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert reloaded(stale).ended_reason == "expired-unused"
    assert reloaded(fresh).status == "created"
    server.process.terminate()  # the sweeping task is cancelled with the server
    # uvicorn shuts down gracefully, then raises SIGTERM again to exit as signalled.
    assert server.process.wait(timeout=15) == -signal.SIGTERM
    log = server.log.read_text()
    assert "Finished server process" in log
    assert "Traceback" not in log
    assert "Task was destroyed" not in log


# ---- settings and migration ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SESSION_IDLE_TTL_SECONDS", "60", "SESSION_IDLE_TTL_SECONDS must be at least 120"),
        ("SESSION_IDLE_TTL_SECONDS", "15m", "SESSION_IDLE_TTL_SECONDS must be an integer"),
        ("SESSION_UNUSED_TTL_SECONDS", "0", "SESSION_UNUSED_TTL_SECONDS must be a positive"),
        ("SESSION_UNUSED_TTL_SECONDS", "60", "SESSION_UNUSED_TTL_SECONDS must be at least WS_"),
        ("SESSION_EXPIRY_INTERVAL_SECONDS", "-1", "SESSION_EXPIRY_INTERVAL_SECONDS must be 0"),
    ],
)
def test_a_bad_limit_stops_start_up_naming_it(name, value, message):
    environ = {"PATH": os.environ["PATH"], "DEBUG": "1", name: value}
    environ |= {"ENV_FILE": os.devnull, "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert f"ImproperlyConfigured: {message}" in result.stderr, result.stderr[-1500:]


def test_the_migration_dates_existing_sessions_by_their_last_use():
    migration = importlib.import_module("sessions.migrations.0003_session_last_activity_at")
    never_used, started, talked = SessionFactory(), SessionFactory(), SessionFactory()
    session_activate(session_id=started.id)
    message = append_message(session_id=talked.id, role="user", content="hello")
    Session.objects.unscoped().update(last_activity_at=timezone.now() + timedelta(days=1))

    migration.backfill_last_activity(apps, None)
    assert reloaded(never_used).last_activity_at == reloaded(never_used).created_at
    assert reloaded(started).last_activity_at == reloaded(started).started_at
    assert reloaded(talked).last_activity_at == message.created_at
