"""What one incoming microphone frame costs the server: ``python -m bench.intake``.

K callers stream 20 ms PCM16 frames (640 bytes, 50 a second each) in real time over real
sockets to one server process (config/server.py, started as ``make bench`` starts it) for a
few seconds; the server's CPU time (user + system, /proc) over the stream, less what the
same K idle connections cost over as long, divided by the frames sent, is the CPU per frame:
uvicorn's WebSocket protocol, Channels' dispatch, the consumer's ``receive`` and
``LiveSession.audio`` (the VAD) together.

The callers are raw sockets that write a frame masked once in advance, so that the client
(on the same machine) takes as little CPU from the server as it can. ``--ws`` starts the
server with another uvicorn WebSocket implementation, to compare them. Prints one JSON
report. See docs/PERFORMANCE.md, "Audio intake".
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import secrets
import shutil
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench import proc, stack
from bench.phases import create_sessions
from bench.speech import FRAME_BYTES
from bench.stack import ProviderLatency, Stack

FRAME_S = 0.02
IDLE_S = 3.0
DRAIN_S = 0.5  # after the last frame: what the server still had queued


def masked_frame(payload: bytes, *, opcode: int = 0x2) -> bytes:
    """One final client frame (RFC 6455 5.2), masked with a random key."""
    key = secrets.token_bytes(4)
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
    else:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return header + key + masked


@dataclass
class Caller:
    """One raw WebSocket: handshake, then frames written as they are; what the server sends
    is parsed only as far as counting its events."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    events: dict[str, int] = field(default_factory=dict)
    connected: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    async def open(cls, ws_url: str) -> Caller:
        url = urlsplit(ws_url)
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        key = base64.b64encode(secrets.token_bytes(16)).decode()
        request = (
            f"GET {url.path}?{url.query} HTTP/1.1\r\nHost: {url.netloc}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        writer.write(request.encode())
        status = (await reader.readuntil(b"\r\n\r\n")).split(b"\r\n", 1)[0]
        if b" 101 " not in status:
            raise RuntimeError(f"handshake refused: {status!r}")
        return cls(reader, writer)

    async def read_events(self) -> None:
        try:
            while True:
                first, second = await self.reader.readexactly(2)
                length = second & 0x7F
                if length == 126:
                    (length,) = struct.unpack("!H", await self.reader.readexactly(2))
                elif length == 127:
                    (length,) = struct.unpack("!Q", await self.reader.readexactly(8))
                payload = await self.reader.readexactly(length)
                if first & 0x0F == 0x1:
                    self._count(json.loads(payload))
                elif first & 0x0F == 0x8:
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            return

    def _count(self, event: dict[str, Any]) -> None:
        kind = event["type"] if event["type"] != "error" else f"error:{event.get('code')}"
        self.events[kind] = self.events.get(kind, 0) + 1
        if kind == "connected":
            self.connected.set()

    def close(self) -> None:
        self.writer.close()


async def stream(callers: list[Caller], frame: bytes, seconds: float) -> tuple[int, float]:
    """Every 20 ms, one frame to each caller (a late tick catches up at once, as a client's
    buffer drains). Returns the frames sent and the ticker's worst lateness in ms."""
    ticks = int(seconds / FRAME_S)
    started, worst = time.perf_counter(), 0.0
    for tick in range(ticks):
        delay = started + tick * FRAME_S - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            worst = max(worst, -delay * 1000)
        for caller in callers:
            caller.writer.write(frame)
    return ticks * len(callers), worst


@contextmanager
def sampled(pid: int, profile: Path | None, seconds: float) -> Iterator[None]:
    """py-spy samples the server while the callers stream, if a ``profile`` is asked for
    (figures from such a run include py-spy's own cost: they are not comparable)."""
    if profile is None:
        yield
        return
    spy = shutil.which("py-spy")
    if spy is None:
        raise RuntimeError("--profile needs py-spy on PATH (pip install py-spy)")
    command = [spy, "record", "--pid", str(pid), "--duration", str(int(seconds))]
    command += ["--format", "raw", "--nonblocking", "--output", str(profile)]
    sampler = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        sampler.wait(timeout=seconds + 30)


async def measure(
    system: Stack, count: int, seconds: float, profile: Path | None = None
) -> dict[str, Any]:
    pid = system.server_process().pid
    callers = [await Caller.open(url) for url in await create_sessions(system, count)]
    readers = [asyncio.create_task(c.read_events()) for c in callers]
    try:
        async with asyncio.timeout(20):
            await asyncio.gather(*(c.connected.wait() for c in callers))
        await asyncio.sleep(1)  # the sessions' start-up work (greetings, stores) is over
        before = proc.cpu_seconds(pid)
        await asyncio.sleep(IDLE_S)
        idle_per_s = (proc.cpu_seconds(pid) - before) / IDLE_S
        frame = masked_frame(bytes(FRAME_BYTES))
        before, clock = proc.cpu_seconds(pid), time.perf_counter()
        with sampled(pid, profile, seconds):
            frames, worst_lateness = await stream(callers, frame, seconds)
        await asyncio.sleep(DRAIN_S)
        cpu, elapsed = proc.cpu_seconds(pid) - before, time.perf_counter() - clock
    finally:
        for caller in callers:
            caller.close()
        await asyncio.gather(*readers, return_exceptions=True)
    events: dict[str, int] = {}
    for caller in callers:
        for kind, n in caller.events.items():
            events[kind] = events.get(kind, 0) + n
    return {
        "callers": count,
        "frames": frames,
        "seconds": round(elapsed, 2),
        "server_cpu_share": round(cpu / elapsed, 3),  # of one core
        "idle_cpu_share": round(idle_per_s, 3),
        "cpu_us_per_frame": round(cpu / frames * 1e6, 1),
        "net_cpu_us_per_frame": round((cpu - idle_per_s * elapsed) / frames * 1e6, 1),
        "ticker_worst_lateness_ms": round(worst_lateness, 1),
        "events": events,
    }


def start_server(system: Stack, ws: str | None) -> None:
    """The stack's server again, with uvicorn's ``ws`` implementation if one is named."""
    if ws is None:
        stack.restart_server(system)
        return
    old = system.server_process()
    old.terminate()
    old.wait(timeout=15)
    system.processes.remove(old)
    port = stack.free_port()
    system.server = stack._spawn(
        system, "server", ["-m", "bench.intake", "--serve", str(port), "--ws", ws]
    )
    stack._wait_listening(system, system.server, "server", port)
    system.http, system.ws = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}"


def serve(port: int, ws: str) -> None:
    """config/server.py's server, with another WebSocket implementation."""
    from config.server import Server, server_config

    config = server_config("127.0.0.1", port)
    config.ws = ws
    Server(config).run()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.intake", description=__doc__)
    parser.add_argument("--callers", default="20,100", help="concurrent callers per run")
    parser.add_argument("--seconds", type=float, default=10, help="seconds each run streams")
    parser.add_argument("--rounds", type=int, default=1, help="runs per caller count")
    parser.add_argument(
        "--ws", help="uvicorn's WebSocket implementation (default: config/server.py's)"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="py-spy samples the server during each run; raw (collapsed) stacks go to"
        " PROFILE-<callers>.txt",
    )
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)  # the server's own process
    return parser.parse_args()


async def run(system: Stack, args: argparse.Namespace) -> list[dict[str, Any]]:
    results = []
    for count in (int(n) for n in args.callers.split(",")):
        for _ in range(args.rounds):
            start_server(system, args.ws)  # a fresh process: no earlier run's sessions
            profile = args.profile and args.profile.with_name(f"{args.profile.name}-{count}.txt")
            results.append(await measure(system, count, args.seconds, profile))
            print(json.dumps(results[-1]), file=sys.stderr, flush=True)
    return results


def main() -> None:
    args = parse_args()
    if args.serve is not None:
        serve(args.serve, args.ws)
        return
    stack.raise_file_limit()
    system = stack.build(ProviderLatency())
    try:
        results = asyncio.run(run(system, args))
    finally:
        stack.teardown(system)
    report = {"ws": args.ws or "config/server.py", "cpus": os.cpu_count(), "runs": results}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    try:
        main()
    except subprocess.CalledProcessError as exc:
        sys.exit(exc.returncode)
