"""The server process: uvicorn on uvloop, serving ``config.asgi`` (HTTP and WebSockets).

``python -m config.server [--host H] [--port P] [--proxy-headers]`` is how the Dockerfile,
``make run`` (``manage.py serve``), the real-socket tests and ``make bench`` start it.

Why uvicorn and not daphne: a live reply is ~120 WebSocket frames out and ~120 provider reads
in, and a frame through daphne (Twisted, autobahn, a writer registered per write) cost about
20 % of a turn's CPU more than through uvicorn's sans-I/O websockets protocol on uvloop
(docs/PERFORMANCE.md). Channels runs unchanged on either. ``daphne`` stays installed for
``manage.py runserver``, Django's development server with WebSockets.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os

import uvicorn

# WebSocket keep-alive: a dead peer (a phone that lost its network) is noticed within ~40 s.
WS_PING_INTERVAL_S = 20.0
WS_PING_TIMEOUT_S = 20.0
GRACEFUL_SHUTDOWN_S = 10  # live calls get this long to end on SIGTERM before they are cut
HOUSEKEEPING_TICK_S = 1.0


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def server_config(
    host: str = "127.0.0.1", port: int = 8000, *, proxy_headers: bool = False
) -> uvicorn.Config:
    from config.asgi import application  # sets Django (and its logging) up first

    return uvicorn.Config(
        application,
        host=host,
        port=port,
        loop="uvloop" if _installed("uvloop") else "asyncio",  # uvloop has no Windows build
        http="httptools" if _installed("httptools") else "h11",
        ws="websockets-sansio",
        lifespan="off",  # Django's ASGI handler does not speak lifespan
        log_config=None,  # Django's LOGGING (JSON, request ids, redaction) covers uvicorn too
        proxy_headers=proxy_headers,
        forwarded_allow_ips=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        server_header=False,
        ws_ping_interval=WS_PING_INTERVAL_S,
        ws_ping_timeout=WS_PING_TIMEOUT_S,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )


class Server(uvicorn.Server):
    """uvicorn's server with its housekeeping (the Date header, the exit check) once a second
    instead of ten times: each tick wakes the process, ~0.2 ms of CPU on this kind of VM, so
    an idle process spent 2 ms of CPU a second on it (docs/PERFORMANCE.md). SIGTERM and
    Ctrl-C are noticed within a second instead of 0.1 s."""

    async def main_loop(self) -> None:
        counter = 0
        while not await self.on_tick(counter):
            # on_tick does its once-a-second work when the counter is a multiple of ten.
            counter = (counter + 10) % 864_000
            await asyncio.sleep(HOUSEKEEPING_TICK_S)


def serve(host: str = "127.0.0.1", port: int = 8000, *, proxy_headers: bool = False) -> None:
    Server(server_config(host, port, proxy_headers=proxy_headers)).run()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m config.server", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument(
        "--proxy-headers",
        action="store_true",
        help="trust X-Forwarded-For/-Proto from FORWARDED_ALLOW_IPS (the load balancer)",
    )
    args = parser.parse_args(argv)
    serve(args.host, args.port, proxy_headers=args.proxy_headers)


if __name__ == "__main__":
    main()
