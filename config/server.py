"""The server process: uvicorn on uvloop, serving ``config.asgi`` (HTTP and WebSockets).

``python -m config.server [--host H] [--port P] [--proxy-headers]`` is how the Dockerfile,
the real-socket tests and ``make bench`` start it. ``make run`` adds
``--simulate-missing-providers``: for OpenAI or ElevenLabs without credentials in the
environment (or ``.env``), the local simulators (``simulators/``) start on a thread of their
own before Django loads, and their URLs reach the settings through the environment like any
real provider's, with ``SIMULATED_PROVIDERS`` naming them. Nothing changes settings later, and
without the flag the simulators are never imported.

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
import signal
import socket
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING

import environ
import uvicorn

if TYPE_CHECKING:
    from simulators.server import SimulatorHandle

# WebSocket keep-alive: a dead peer (a phone that lost its network) is noticed within ~40 s.
WS_PING_INTERVAL_S = 20.0
WS_PING_TIMEOUT_S = 20.0
GRACEFUL_SHUTDOWN_S = 10  # live calls get this long to end on SIGTERM before they are cut
HOUSEKEEPING_TICK_S = 1.0

DOTENV = Path(__file__).resolve().parent.parent / ".env"
# The variables that configure each provider the simulators can stand in for.
PROVIDER_VARIABLES = {
    "openai": ("OPENAI_API_KEY", "OPENAI_BASE_URL"),
    "elevenlabs": ("ELEVENLABS_API_KEY", "ELEVENLABS_BASE_URL"),
}
SIMULATED_KEY = "simulated"  # the simulators only check that a key is present
BANNER = """
==============================================================================
  SIMULATED PROVIDERS: {names}
  No credentials are configured for them, so replies and voices come from the
  local simulators, not from real models. Set OPENAI_API_KEY / ELEVENLABS_API_KEY
  (or *_BASE_URL for compatible servers) to use real providers.
==============================================================================
"""


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
    Ctrl-C are noticed within a second instead of 0.1 s. While it serves, the process also
    ends the sessions left alone too long (sessions/expiry.py), as every other process does."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # Before uvicorn closes the WebSockets with 1012: live clients hear why, and can resume.
        from integrations.providers import aclose_clients
        from sessions.consumers import announce_shutdown

        await announce_shutdown()
        await super().shutdown(sockets)
        await aclose_clients()  # the provider SDKs' pooled connections, once no call needs them

    async def main_loop(self) -> None:
        from sessions.expiry import expiring_sessions  # Django is set up by now

        async with expiring_sessions():
            counter = 0
            while not await self.on_tick(counter):
                # on_tick does its once-a-second work when the counter is a multiple of ten.
                counter = (counter + 10) % 864_000
                await asyncio.sleep(HOUSEKEEPING_TICK_S)


def serve(host: str = "127.0.0.1", port: int = 8000, *, proxy_headers: bool = False) -> None:
    Server(server_config(host, port, proxy_headers=proxy_headers)).run()


def providers_without_credentials(environment: Mapping[str, str]) -> list[str]:
    """The providers for which neither an API key nor a base URL is set."""
    return [
        provider
        for provider, variables in PROVIDER_VARIABLES.items()
        if not any(environment.get(name) for name in variables)
    ]


def simulated_provider_environment(providers: list[str], handle: SimulatorHandle) -> dict[str, str]:
    """What config/settings.py reads for ``providers`` when the simulators stand in for them."""
    base_urls = {"openai": handle.openai_base_url, "elevenlabs": handle.elevenlabs_base_url}
    environment = {"SIMULATED_PROVIDERS": ",".join(providers)}
    for provider in providers:
        key_variable, url_variable = PROVIDER_VARIABLES[provider]
        environment[key_variable] = SIMULATED_KEY
        environment[url_variable] = base_urls[provider]
    return environment


@contextmanager
def simulating_missing_providers() -> Iterator[list[str]]:
    """Start the simulators for the providers without credentials and put their URLs in the
    environment; yields the simulated providers and stops the simulators on exit.

    Must run before Django loads its settings, which read the environment once.
    """
    if DOTENV.exists():  # keys kept in .env count (settings read it the same way)
        environ.Env.read_env(DOTENV)
    missing = providers_without_credentials(os.environ)
    if not missing:
        yield []
        return
    # Imported here only: the deployed server (no flag) never loads the simulators.
    from simulators.server import start_simulators

    # Their own thread and event loop: the simulated providers' work stays off the server's.
    with start_simulators() as handle:
        os.environ.update(simulated_provider_environment(missing, handle))
        print(BANNER.format(names=", ".join(missing)), file=sys.stderr, flush=True)
        yield missing


def serve_simulating_missing_providers(
    host: str, port: int, *, proxy_headers: bool = False
) -> None:
    """``serve``, with simulators for the providers without credentials; they stop after the
    server has shut down (live calls may need them until then)."""
    # uvicorn shuts down gracefully on SIGINT or SIGTERM and then raises the signal again; as
    # KeyboardInterrupt both, so that the simulators stop instead of dying with the process.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with suppress(KeyboardInterrupt), simulating_missing_providers():
        serve(host, port, proxy_headers=proxy_headers)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m config.server", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument(
        "--proxy-headers",
        action="store_true",
        help="trust X-Forwarded-For/-Proto from FORWARDED_ALLOW_IPS (the load balancer)",
    )
    parser.add_argument(
        "--simulate-missing-providers",
        action="store_true",
        help="development: local simulators stand in for OpenAI/ElevenLabs without credentials",
    )
    args = parser.parse_args(argv)
    if args.simulate_missing_providers:
        serve_simulating_missing_providers(args.host, args.port, proxy_headers=args.proxy_headers)
    else:
        serve(args.host, args.port, proxy_headers=args.proxy_headers)


if __name__ == "__main__":
    main()
