"""The SDKs' shared transport (integrations/http.py) and the closing of provider clients
(integrations/providers.py), against a real local HTTP server that counts its open connections.

The server runs on a thread with its own event loop, so a test can end the client's loop (as
asgiref's async_to_sync does after every call) and still ask the server what stayed open.
"""

from __future__ import annotations

import asyncio
import gc
import gzip
import json
import socket
import threading
import time
import warnings
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any

import httpx
import httpx2
import pytest
from aiohttp import web
from asgiref.sync import async_to_sync

from integrations import providers
from integrations.http import httpx_client, never_connected, openai_http_client, timed_out
from integrations.llm import TextDelta
from integrations.providers import ProviderCredentials, aclose_clients, build_llm, build_tts
from integrations.tts import audio_format_for

READ_TIMEOUT = 0.5
REPLY = [
    {"choices": [{"index": 0, "delta": {"content": "Hi"}}]},
    {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
]
AUDIO = b"\x01\x00" * 800


class Recorder:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.peers: list[int] = []  # the client port of each request: one per connection


RECORDER = web.AppKey("recorder", Recorder)


async def _echo(request: web.Request) -> web.Response:
    recorder = request.app[RECORDER]
    recorder.requests.append(
        {
            "method": request.method,
            "path": request.path_qs,
            "headers": dict(request.headers),
            "body": await request.read(),
        }
    )
    recorder.peers.append(request.transport.get_extra_info("peername")[1])
    return web.json_response({"ok": True}, status=int(request.query.get("status", 200)))


async def _chunks(request: web.Request) -> web.StreamResponse:
    request.app[RECORDER].peers.append(request.transport.get_extra_info("peername")[1])
    response = web.StreamResponse()
    await response.prepare(request)
    for index in range(int(request.query.get("n", 5))):
        await response.write(f"chunk-{index};".encode())
        await asyncio.sleep(float(request.query.get("gap", 0.01)))
    if request.query.get("then") == "break":
        request.transport.abort()
        return response
    if request.query.get("then") == "stall":
        await asyncio.sleep(30)
    await response.write_eof()
    return response


async def _gzipped(request: web.Request) -> web.Response:
    return web.Response(body=gzip.compress(b"hello " * 100), headers={"Content-Encoding": "gzip"})


async def _redirect(request: web.Request) -> web.Response:
    raise web.HTTPFound("/echo")


async def _slow_head(request: web.Request) -> web.Response:
    await asyncio.sleep(30)
    return web.Response(text="too late")


async def _chat(request: web.Request) -> web.StreamResponse:
    request.app[RECORDER].peers.append(request.transport.get_extra_info("peername")[1])
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    for chunk in REPLY:
        await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
    await response.write(b"data: [DONE]\n\n")
    await asyncio.sleep(0.02)  # the body's end comes on its own, after [DONE]
    await response.write_eof()
    return response


async def _speech(request: web.Request) -> web.Response:
    return web.Response(body=AUDIO, content_type="application/octet-stream")


def _app() -> web.Application:
    app = web.Application()
    app[RECORDER] = Recorder()
    app.router.add_route("*", "/echo", _echo)
    app.router.add_get("/chunks", _chunks)
    app.router.add_get("/gzip", _gzipped)
    app.router.add_get("/redirect", _redirect)
    app.router.add_get("/slow", _slow_head)
    app.router.add_post("/v1/chat/completions", _chat)
    app.router.add_post("/v1/text-to-speech/{voice_id}/stream", _speech)
    return app


class ServerThread:
    """The app on a thread of its own; ``open_connections`` asks it what is still connected."""

    def __init__(self) -> None:
        self.app = _app()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner = web.AppRunner(self.app, handler_cancellation=True, shutdown_timeout=0.1)

    def start(self) -> str:
        self._thread.start()
        port = self._call(self._start())
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self._call(self._runner.cleanup())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    @property
    def recorder(self) -> Recorder:
        return self.app[RECORDER]

    def open_connections(self) -> int:
        server = self._runner.server
        assert server is not None
        return len(server.connections)

    def wait_for_connections(self, count: int, timeout: float = 2.0) -> int:
        """The open connections once they are ``count`` (the server sees a close a moment
        after the client made it), or what they still are after ``timeout``."""
        deadline = time.monotonic() + timeout
        while self.open_connections() != count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.open_connections()

    async def connections_once(self, count: int, timeout: float = 2.0) -> int:
        """``wait_for_connections`` for a test whose own loop must keep running meanwhile."""
        deadline = time.monotonic() + timeout
        while self.open_connections() != count and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        return self.open_connections()

    async def _start(self) -> int:
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        return int(self._runner.addresses[0][1])

    def _call(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(5)


@pytest.fixture
def server() -> Iterator[tuple[ServerThread, str]]:
    thread = ServerThread()
    url = thread.start()
    yield thread, url
    thread.stop()


@pytest.fixture(params=["httpx", "httpx2"])
async def client(request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    make: Callable[..., Any] = httpx_client if request.param == "httpx" else openai_http_client
    async with make(timeout=READ_TIMEOUT) as http:
        yield http


@pytest.fixture
def no_unclosed_alarms(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """aiohttp reports a session or connector collected unclosed as a ResourceWarning and an
    "Unclosed ..." error log: neither may appear, wherever the garbage collector runs."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        yield
        gc.collect()
    assert "Unclosed" not in caplog.text
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []


def _port_nobody_listens_on() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- the transport -------------------------------------------------------------------------


async def test_request_method_headers_and_body_reach_the_server(server, client):
    thread, url = server

    response = await client.post(
        f"{url}/echo?x=1", json={"text": "héllo"}, headers={"Authorization": "Bearer k"}
    )

    assert response.status_code == 200 and response.json() == {"ok": True}
    seen = thread.recorder.requests[0]
    assert (seen["method"], seen["path"]) == ("POST", "/echo?x=1")
    assert seen["headers"]["Authorization"] == "Bearer k"
    assert seen["headers"]["Content-Type"] == "application/json"
    assert json.loads(seen["body"]) == {"text": "héllo"}


async def test_error_statuses_come_back_as_responses(server, client):
    _, url = server

    response = await client.get(f"{url}/echo?status=429")

    assert response.status_code == 429 and response.json() == {"ok": True}


async def test_a_stream_arrives_in_order_and_the_connection_is_reused(server, client):
    thread, url = server

    for _ in range(2):
        async with client.stream("GET", f"{url}/chunks?n=5") as response:
            body = b"".join([chunk async for chunk in response.aiter_bytes()])
        assert body == b"".join(f"chunk-{i};".encode() for i in range(5))

    peers = thread.recorder.peers
    assert len(peers) == 2 and peers[0] == peers[1]  # kept alive


async def test_a_stream_closed_early_does_not_return_its_connection(server, client):
    thread, url = server

    async with client.stream("GET", f"{url}/chunks?n=50") as response:
        async for _ in response.aiter_bytes():
            break
    await client.get(f"{url}/echo")

    assert thread.recorder.peers[0] != thread.recorder.peers[1]  # the half-read one was closed


async def test_gzip_is_decoded_and_redirects_are_followed(server, client):
    _, url = server

    assert (await client.get(f"{url}/gzip")).content == b"hello " * 100
    followed = await client.get(f"{url}/redirect", follow_redirects=True)
    assert followed.status_code == 200 and followed.url.path == "/echo"


async def test_a_refused_connection_never_connected_and_did_not_time_out(client):
    with pytest.raises((httpx.TransportError, httpx2.TransportError)) as caught:
        await client.get(f"http://127.0.0.1:{_port_nobody_listens_on()}/")

    # httpx-aiohttp 0.2.0 says ConnectTimeout here: the chain says what happened.
    assert never_connected(caught.value)
    assert not timed_out(caught.value)


async def test_no_response_head_within_the_read_timeout_timed_out(server, client):
    _, url = server

    with pytest.raises((httpx.TimeoutException, httpx2.TimeoutException)) as caught:
        await client.get(f"{url}/slow")

    assert timed_out(caught.value) and not never_connected(caught.value)


@pytest.mark.parametrize(("then", "stalled"), [("break", False), ("stall", True)])
async def test_a_stream_that_breaks_or_stalls_raises_a_transport_error(
    server, client, then, stalled
):
    _, url = server
    received = []

    with pytest.raises((httpx.TransportError, httpx2.TransportError)) as caught:
        async with client.stream("GET", f"{url}/chunks?n=3&then={then}") as response:
            async for chunk in response.aiter_bytes():
                received.append(chunk)

    assert timed_out(caught.value) is stalled
    assert not never_connected(caught.value)
    assert b"".join(received).startswith(b"chunk-0;")


async def test_a_slow_steady_stream_outlasting_the_read_timeout_completes(server, client):
    _, url = server  # 0.3 s between chunks, 1.2 s in all, against a read timeout of 0.5 s

    async with client.stream("GET", f"{url}/chunks?n=4&gap=0.3") as response:
        body = b"".join([chunk async for chunk in response.aiter_bytes()])

    assert body == b"chunk-0;chunk-1;chunk-2;chunk-3;"


async def test_a_reader_pausing_longer_than_the_read_timeout_is_no_stall(server, client):
    """A TTS piece waits for its turn without reading: its audio waits in the buffer."""
    _, url = server

    async with client.stream("GET", f"{url}/chunks?n=3&gap=0") as response:
        stream = response.aiter_bytes()
        first = await anext(stream)
        await asyncio.sleep(1.2)  # over two read timeouts, the rest long arrived
        body = first + b"".join([chunk async for chunk in stream])

    assert body == b"chunk-0;chunk-1;chunk-2;"


@pytest.mark.parametrize("make", [httpx_client, openai_http_client])
async def test_http_proxy_and_no_proxy_from_the_environment(server, monkeypatch, make):
    thread, proxy_url = server  # the local server plays the proxy: it records what it gets
    monkeypatch.setenv("HTTP_PROXY", proxy_url)
    monkeypatch.setenv("NO_PROXY", "localhost")
    monkeypatch.delenv("http_proxy", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    async with make(timeout=2.0) as http:
        proxied = await http.get("http://provider.invalid/echo?via=proxy")
        with pytest.raises((httpx.TransportError, httpx2.TransportError)) as caught:
            await http.get(f"http://localhost:{_port_nobody_listens_on()}/echo")

    assert proxied.status_code == 200
    assert thread.recorder.requests[-1]["headers"]["Host"] == "provider.invalid"
    assert len(thread.recorder.requests) == 1  # bypassed: straight to a host that is not there
    assert never_connected(caught.value)


# -- closing provider clients --------------------------------------------------------------


def _creds(url: str, key: str = "sk-test-http-0123456789") -> ProviderCredentials:
    return ProviderCredentials(api_key=key, base_url=f"{url}/v1")


async def _reply(creds: ProviderCredentials) -> str:
    events = build_llm("openai", creds).stream_chat(
        model="gpt-4o-mini", messages=[], tools=None, temperature=0.0, max_tokens=10
    )
    return "".join([event.text async for event in events if isinstance(event, TextDelta)])


async def _speech_of(url: str) -> bytes:
    tts = build_tts("elevenlabs", ProviderCredentials(api_key="xi-test", base_url=url))
    chunks = tts.stream_speech(
        text="Hi",
        voice_id="voice",
        model_id="eleven_flash_v2_5",
        voice_settings={},
        output_format=audio_format_for("pcm_16000"),
    )
    return b"".join([chunk async for chunk in chunks])


@pytest.fixture
async def own_clients() -> AsyncIterator[None]:
    yield
    await aclose_clients()


async def test_garbage_collection_at_any_point_changes_nothing(
    server, own_clients, no_unclosed_alarms
):
    """The old transport cleaned up in ``__del__``: a young-generation collection between
    building a client and its first request finalized aiohttp's connector first, which then
    reported itself unclosed. Nothing is left to the collector now."""
    thread, url = server
    build_llm("openai", _creds(url))
    gc.collect()  # between building the client and its first request
    assert await _reply(_creds(url)) == "Hi"
    gc.collect()  # while its connection idles in the pool
    assert thread.open_connections() == 1

    await aclose_clients()
    gc.collect()

    assert thread.wait_for_connections(0) == 0


async def test_aclose_clients_leaves_no_open_connections(server, own_clients, no_unclosed_alarms):
    thread, url = server
    replies = await asyncio.gather(*(_reply(_creds(url)) for _ in range(3)))
    speech = await asyncio.gather(_speech_of(url), _speech_of(url))
    assert replies == ["Hi"] * 3 and speech == [AUDIO] * 2
    assert thread.open_connections() >= 2  # pooled, kept alive between turns

    await aclose_clients()

    assert thread.wait_for_connections(0) == 0


async def test_a_reply_read_to_done_leaves_its_connection_to_the_next(server, own_clients):
    thread, url = server

    replies = [await _reply(_creds(url)) for _ in range(3)]

    assert replies == ["Hi"] * 3
    assert len(set(thread.recorder.peers)) == 1  # [DONE], then the body's end: back to the pool


async def test_an_evicted_client_closes_its_connections(
    server, own_clients, monkeypatch, no_unclosed_alarms
):
    thread, url = server
    monkeypatch.setattr(providers, "CACHE_SIZE", 1)
    first = build_llm("openai", _creds(url, "sk-test-first-0123456789"))
    assert await _reply(_creds(url, "sk-test-first-0123456789")) == "Hi"
    assert thread.open_connections() == 1

    build_llm("openai", _creds(url, "sk-test-second-0123456789"))  # evicts the first

    assert await thread.connections_once(0) == 0  # closed by a task of this loop
    assert build_llm("openai", _creds(url, "sk-test-first-0123456789")) is not first


def test_a_loop_that_ends_without_aclose_clients_still_closes_them(server, no_unclosed_alarms):
    """asgiref's async_to_sync runs each call in an event loop of its own (a sync view, a
    management command): the loop's end closes what was built in it."""
    thread, url = server

    assert async_to_sync(_reply)(_creds(url)) == "Hi"
    gc.collect()

    assert thread.wait_for_connections(0) == 0


async def test_clients_are_reused_within_a_loop_until_the_cache_is_cleared(
    server, own_clients, no_unclosed_alarms
):
    thread, url = server
    first = build_llm("openai", _creds(url))
    assert build_llm("openai", _creds(url)) is first
    assert await _reply(_creds(url)) == "Hi"

    providers.clear_client_cache()

    assert build_llm("openai", _creds(url)) is not first
    assert await thread.connections_once(0) == 0  # the cleared client closed its connection
