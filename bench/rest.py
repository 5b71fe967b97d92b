"""REST throughput: 32 clients in a closed loop against one route for a fixed time."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from bench import proc
from bench.stack import Stack
from bench.stats import summary

CONCURRENCY = 32


async def measure(stack: Stack, path: str, seconds: float, *, auth: bool) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {stack.api_key}"} if auth else {}
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    latencies: list[float] = []
    errors: dict[str, int] = {}
    async with httpx.AsyncClient(
        base_url=stack.http, headers=headers, limits=limits, timeout=30
    ) as http:
        deadline = time.perf_counter() + seconds

        async def client() -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    response = await http.get(path)
                    kind = None if response.status_code == 200 else str(response.status_code)
                except httpx.HTTPError as exc:
                    kind = type(exc).__name__
                if kind is None:
                    latencies.append((time.perf_counter() - started) * 1000)
                else:
                    errors[kind] = errors.get(kind, 0) + 1

        started, cpu_before = time.perf_counter(), proc.cpu_seconds(stack.server_process().pid)
        await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
        server_cpu = proc.cpu_seconds(stack.server_process().pid) - cpu_before
    return {
        "path": path,
        "concurrency": CONCURRENCY,
        "seconds": round(elapsed, 1),
        "requests": len(latencies),
        "requests_per_second": round(len(latencies) / elapsed, 1),
        "latency_ms": summary(latencies),
        # Near 1000 ms per second: the server process was the bottleneck, not the client.
        "server_cpu_ms_per_second": round(1000 * server_cpu / elapsed),
        "server_cpu_ms_per_request": round(1000 * server_cpu / max(len(latencies), 1), 2),
        "errors": sum(errors.values()),
        "error_kinds": errors,
    }
