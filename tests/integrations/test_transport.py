"""The aiohttp transport under httpx (and httpx2), against a real local HTTP server."""

from __future__ import annotations

import asyncio
import gc
import gzip
import json
import socket
from collections.abc import AsyncIterator

import httpx
import httpx2
import pytest
from aiohttp import web

from integrations.transport import AiohttpTransport


class Server:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.peers: list[int] = []  # the client port of each request: one per connection


STATE = web.AppKey("state", Server)


async def _echo(request: web.Request) -> web.Response:
    request.app[STATE].requests.append(
        {
            "method": request.method,
            "path": request.path_qs,
            "headers": dict(request.headers),
            "body": await request.read(),
        }
    )
    request.app[STATE].peers.append(request.transport.get_extra_info("peername")[1])
    return web.json_response({"ok": True}, status=int(request.query.get("status", 200)))


async def _chunks(request: web.Request) -> web.StreamResponse:
    request.app[STATE].peers.append(request.transport.get_extra_info("peername")[1])
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


@pytest.fixture
async def server() -> AsyncIterator[tuple[Server, str]]:
    app = web.Application()
    app[STATE] = state = Server()
    app.router.add_route("*", "/echo", _echo)
    app.router.add_get("/chunks", _chunks)
    app.router.add_get("/gzip", _gzipped)
    app.router.add_get("/redirect", _redirect)
    app.router.add_get("/slow", _slow_head)
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield state, f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.fixture(params=[httpx, httpx2], ids=["httpx", "httpx2"])
async def client(request) -> AsyncIterator[httpx.AsyncClient]:
    module = request.param
    async with module.AsyncClient(
        transport=AiohttpTransport(module), timeout=module.Timeout(2, read=0.5)
    ) as http:
        yield http


async def test_request_method_headers_and_body_reach_the_server(server, client):
    state, url = server

    response = await client.post(
        f"{url}/echo?x=1", json={"text": "héllo"}, headers={"Authorization": "Bearer k"}
    )

    assert response.status_code == 200 and response.json() == {"ok": True}
    seen = state.requests[0]
    assert (seen["method"], seen["path"]) == ("POST", "/echo?x=1")
    assert seen["headers"]["Authorization"] == "Bearer k"
    assert seen["headers"]["Content-Type"] == "application/json"
    assert json.loads(seen["body"]) == {"text": "héllo"}


async def test_error_statuses_come_back_as_responses(server, client):
    _, url = server

    response = await client.get(f"{url}/echo?status=429")

    assert response.status_code == 429 and response.json() == {"ok": True}


async def test_a_stream_arrives_in_order_and_the_connection_is_reused(server, client):
    state, url = server

    for _ in range(2):
        async with client.stream("GET", f"{url}/chunks?n=5") as response:
            body = b"".join([chunk async for chunk in response.aiter_bytes()])
        assert body == b"".join(f"chunk-{i};".encode() for i in range(5))

    assert len(state.peers) == 2 and state.peers[0] == state.peers[1]  # kept alive


async def test_a_stream_closed_early_does_not_return_its_connection(server, client):
    state, url = server

    async with client.stream("GET", f"{url}/chunks?n=50") as response:
        async for _ in response.aiter_bytes():
            break
    await client.get(f"{url}/echo")

    assert state.peers[0] != state.peers[1]  # the half-read connection was not reused


async def test_gzip_is_decoded_and_redirects_are_followed(server, client):
    _, url = server

    assert (await client.get(f"{url}/gzip")).content == b"hello " * 100
    followed = await client.get(f"{url}/redirect", follow_redirects=True)
    assert followed.status_code == 200 and followed.url.path == "/echo"


async def test_refused_connection_is_a_connect_error(client):
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(Exception) as caught:
        await client.get(f"http://127.0.0.1:{port}/")

    assert type(caught.value).__name__ == "ConnectError"


async def test_no_response_head_within_the_read_timeout_is_a_read_timeout(server, client):
    _, url = server

    with pytest.raises(Exception) as caught:
        await client.get(f"{url}/slow")

    assert type(caught.value).__name__ == "ReadTimeout"


@pytest.mark.parametrize(("then", "error"), [("break", "Error"), ("stall", "ReadTimeout")])
async def test_a_stream_that_breaks_or_stalls_raises_an_httpx_error(server, client, then, error):
    _, url = server
    received = []

    with pytest.raises(Exception) as caught:
        async with client.stream("GET", f"{url}/chunks?n=3&then={then}") as response:
            async for chunk in response.aiter_bytes():
                received.append(chunk)

    module = httpx if isinstance(client, httpx.AsyncClient) else httpx2
    assert isinstance(caught.value, module.HTTPError)
    assert error in type(caught.value).__name__
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
        await asyncio.sleep(1.2)  # over two read timeouts of 0.5 s, the rest long arrived
        body = first + b"".join([chunk async for chunk in stream])

    assert body == b"chunk-0;chunk-1;chunk-2;"


async def test_a_transport_dropped_unclosed_lets_its_pool_go_quietly(server, caplog):
    _, url = server
    http = httpx.AsyncClient(transport=AiohttpTransport(httpx))
    assert (await http.get(f"{url}/echo")).status_code == 200  # one idle pooled connection

    del http
    gc.collect()
    await asyncio.sleep(0.05)

    assert "Unclosed" not in caplog.text


async def test_http_proxy_and_no_proxy_from_the_environment(server, monkeypatch):
    state, proxy_url = server  # the local server plays the proxy: it records what it gets
    monkeypatch.setenv("HTTP_PROXY", proxy_url)
    monkeypatch.setenv("NO_PROXY", "localhost")
    monkeypatch.delenv("http_proxy", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    async with httpx.AsyncClient(transport=AiohttpTransport(httpx)) as http:
        proxied = await http.get("http://provider.invalid/echo?via=proxy")
        with pytest.raises(httpx.ConnectError):  # bypassed: straight to a host that is not there
            await http.get("http://localhost:9/echo")

    assert proxied.status_code == 200
    assert state.requests[-1]["headers"]["Host"] == "provider.invalid"
    assert len(state.requests) == 1
