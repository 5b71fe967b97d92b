"""Run the provider simulators: in the current event loop, or in a background thread.

One aiohttp application serves both providers (their paths do not overlap). It listens on one
port, or on two when the ElevenLabs port is given separately; either way the state is shared.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from aiohttp import web

from simulators import control, elevenlabs, openai
from simulators.state import SimConfig, SimState
from simulators.wire import STATE_KEY, client_hang_ups

MAX_UPLOAD_BYTES = 64 * 1024 * 1024  # a few minutes of WAV for the STT endpoints
SHUTDOWN_TIMEOUT_S = 1.0  # held "timeout"/"stall" responses are cancelled, not awaited
START_TIMEOUT_S = 10.0


def build_app(state: SimState) -> web.Application:
    app = web.Application(client_max_size=MAX_UPLOAD_BYTES, middlewares=[client_hang_ups])
    app[STATE_KEY] = state
    openai.add_routes(app)
    elevenlabs.add_routes(app)
    control.add_routes(app)
    return app


class SimulatorControls:
    """Script, configure and inspect the simulators from Python (safe from any thread)."""

    def __init__(self, state: SimState, host: str, openai_port: int, elevenlabs_port: int) -> None:
        self.state = state
        self.openai_port = openai_port
        self.elevenlabs_port = elevenlabs_port
        url_host = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host  # noqa: S104
        self.openai_base_url = f"http://{url_host}:{openai_port}/v1"
        self.elevenlabs_base_url = f"http://{url_host}:{elevenlabs_port}"

    def script_chat(self, *items: str | dict[str, Any]) -> int:
        """Queue chat replies/faults; returns how many are queued."""
        return self.state.script("openai_chat", list(items))

    def script_transcription(self, *items: str | dict[str, Any], provider: str = "openai") -> int:
        queue = {"openai": "openai_stt", "elevenlabs": "elevenlabs_stt"}[provider]
        return self.state.script(queue, list(items))

    def script_tts(self, *items: dict[str, Any]) -> int:
        return self.state.script("elevenlabs_tts", list(items))

    def configure(self, **changes: Any) -> SimConfig:
        return self.state.configure(changes)

    def reset(self) -> None:
        """Clear scripts and the request log; restore the config the simulators started with."""
        self.state.reset()

    def requests(
        self, path: str | None = None, provider: str | None = None
    ) -> list[dict[str, Any]]:
        return self.state.requests(path=path, provider=provider)


class AsyncSimulatorHandle(SimulatorControls):
    def __init__(self, runner: web.AppRunner, state: SimState, host: str, ports: tuple[int, int]):
        super().__init__(state, host, *ports)
        self._runner = runner

    async def stop(self) -> None:
        await self._runner.cleanup()


class SimulatorHandle(SimulatorControls):
    """Simulators running on their own event loop in a daemon thread."""

    def __init__(
        self, inner: AsyncSimulatorHandle, loop: asyncio.AbstractEventLoop, thread: threading.Thread
    ) -> None:
        super().__init__(inner.state, "127.0.0.1", inner.openai_port, inner.elevenlabs_port)
        self.openai_base_url = inner.openai_base_url
        self.elevenlabs_base_url = inner.elevenlabs_base_url
        self._inner, self._loop, self._thread = inner, loop, thread

    def stop(self) -> None:
        if self._loop.is_closed():
            return
        asyncio.run_coroutine_threadsafe(self._inner.stop(), self._loop).result(START_TIMEOUT_S)
        _stop_loop(self._loop, self._thread)

    def __enter__(self) -> SimulatorHandle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


async def start_simulators_async(
    host: str = "127.0.0.1", port: int = 0, *, elevenlabs_port: int | None = None, **latency: Any
) -> AsyncSimulatorHandle:
    """Start in the running loop.

    ``elevenlabs_port=None`` (or equal to ``port``) serves both providers on one port;
    ``elevenlabs_port=0`` picks a second free port.
    """
    state = SimState(SimConfig().updated(latency))
    runner = web.AppRunner(
        build_app(state),
        handler_cancellation=True,  # a client hanging up ends held/stalled responses
        shutdown_timeout=SHUTDOWN_TIMEOUT_S,
        access_log=None,
    )
    await runner.setup()
    try:
        openai_port = await _start_site(runner, host, port)
        el_port = openai_port
        if elevenlabs_port is not None and (elevenlabs_port == 0 or elevenlabs_port != port):
            el_port = await _start_site(runner, host, elevenlabs_port)
    except OSError:
        await runner.cleanup()
        raise
    return AsyncSimulatorHandle(runner, state, host, (openai_port, el_port))


async def _start_site(runner: web.AppRunner, host: str, port: int) -> int:
    before = set(runner.addresses)
    await web.TCPSite(runner, host, port).start()
    added = [address for address in runner.addresses if address not in before]
    return int(added[0][1])


def start_simulators(
    host: str = "127.0.0.1", port: int = 0, *, elevenlabs_port: int | None = None, **latency: Any
) -> SimulatorHandle:
    """Start in a background thread with its own loop, usable from sync and async tests."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="provider-simulators", daemon=True)
    thread.start()
    starting = start_simulators_async(host, port, elevenlabs_port=elevenlabs_port, **latency)
    try:
        inner = asyncio.run_coroutine_threadsafe(starting, loop).result(START_TIMEOUT_S)
    except BaseException:
        _stop_loop(loop, thread)
        raise
    return SimulatorHandle(inner, loop, thread)


def _stop_loop(loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
    loop.call_soon_threadsafe(loop.stop)
    thread.join(START_TIMEOUT_S)
    loop.close()
