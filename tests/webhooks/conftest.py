"""A real HTTP receiver (aiohttp, in a thread) and a real worker (``manage.py db_worker``)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.fixtures.servers import ROOT, free_port, server_env

# Retries in tests: a fraction of a second each (full jitter under these caps).
TEST_SCHEDULE = "0.2,0.3,0.4"


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers each request with the next scripted reply (status, delay); 200 when none is left."""

    port: int
    received: list[Received] = field(default_factory=list)
    replies: list[tuple[int, float]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def script(self, *replies: tuple[int, float]) -> None:
        self.replies.extend(replies)

    def wait_for(self, condition: Callable[[list[Received]], bool], timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition(list(self.received)):
                return
            time.sleep(0.05)
        raise AssertionError(f"not received in {timeout} s: {[r.json for r in self.received]}")

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.received.append(Received(dict(request.headers), body))
        status, delay = self.replies.pop(0) if self.replies else (200, 0.0)
        if delay:
            await asyncio.sleep(delay)
        return web.Response(status=status, text=f"answer {status} " + "x" * 2000)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    box = Receiver(port=free_port())
    app = web.Application()
    app.router.add_post("/hooks", box.handle)
    runner = web.AppRunner(app)

    async def start() -> None:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", box.port).start()

    asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    yield box
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()  # an event loop left open is a ResourceWarning in a later test


@pytest.fixture
def allow_private(settings):
    """The receiver listens on loopback, which tenant URLs may reach only when allowed."""
    settings.WEBHOOK_URLS_ALLOW_PRIVATE = True


@pytest.fixture
def fast_retries(settings):
    settings.WEBHOOK_RETRY_SCHEDULE_SECONDS = [float(v) for v in TEST_SCHEDULE.split(",")]


@dataclass
class Worker:
    process: subprocess.Popen
    log: Path


@pytest.fixture
def worker(transactional_db, tmp_path, settings) -> Iterator[Callable[..., Worker]]:
    """``worker(**env)``: ``manage.py db_worker`` on this test's database, polling every 0.1 s."""
    started: list[Worker] = []

    def start(**extra: str) -> Worker:
        log = tmp_path / f"worker-{len(started)}.log"
        env = server_env(
            {
                "WEBHOOK_URLS_ALLOW_PRIVATE": "1",
                "WEBHOOK_RETRY_SCHEDULE_SECONDS": TEST_SCHEDULE,
                "WEBHOOK_TIMEOUT_SECONDS": "1",
                **extra,
            }
        )
        command = [sys.executable, "manage.py", "db_worker", "--interval", "0.1"]
        process = subprocess.Popen(
            [*command, "--no-startup-delay", "-v", "2"],
            cwd=ROOT,
            env=env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        started.append(Worker(process, log))
        return started[-1]

    yield start
    for each in started:
        each.process.terminate()
    for each in started:
        try:
            each.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            each.process.kill()
