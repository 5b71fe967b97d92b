"""Custom tools against a real local server: signed calls verified with the Standard Webhooks
verifier, results to the model, failures as clear errors, interrupted generations never call,
and non-public addresses refused at call time."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web
from channels.db import database_sync_to_async
from standardwebhooks import Webhook

from sessions.models import Message
from tests.factories import AssistantFactory, SessionFactory
from tests.sessions.live import LiveClient

pytestmark = pytest.mark.django_db(transaction=True)

LOOKUP = {
    "name": "lookup_order",
    "description": "Find an order by its number.",
    "parameters": {
        "type": "object",
        "properties": {"order_id": {"type": "string"}},
        "required": ["order_id"],
    },
}


class ToolServer:
    """The customer's server: an aiohttp app on 127.0.0.1 in its own thread and event loop,
    so that the runtime's loop (the test's) and the server's never wait for each other."""

    def __init__(self) -> None:
        self.secret = ""
        self.calls: list[dict[str, Any]] = []
        self.refused: list[str] = []  # requests whose signature did not verify
        self.loop = asyncio.new_event_loop()
        self.port = 0

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        try:
            payload = Webhook(self.secret).verify(body, dict(request.headers))
        except Exception as exc:  # the verifier's errors: the call is not the platform's
            self.refused.append(str(exc))
            return web.json_response({"error": "bad signature"}, status=401)
        self.calls.append({"path": request.path, "payload": payload})
        behaviour = request.path.strip("/")
        if behaviour == "slow":
            await asyncio.sleep(3)
        if behaviour == "fail":
            return web.Response(status=500, text="boom")
        if behaviour == "notjson":
            return web.Response(text="<html>not json</html>", content_type="text/html")
        if behaviour == "error":
            return web.json_response({"error": "No order 42 in our books."})
        return web.json_response({"result": {"order_id": "42", "status": "shipped"}})

    def start(self) -> None:
        ready = threading.Event()
        self.thread = threading.Thread(target=self._serve, args=(ready,), daemon=True)
        self.thread.start()
        assert ready.wait(5)

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        app = web.Application()
        app.router.add_post("/{behaviour}", self._handle)
        self.runner = web.AppRunner(app)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = self.runner.addresses[0][1]
        ready.set()
        self.loop.run_forever()
        self.loop.close()  # an event loop left open is a ResourceWarning in a later test

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    def url(self, behaviour: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}/{behaviour}"


@pytest.fixture
def tool_server() -> Iterator[ToolServer]:
    server = ToolServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def private_urls_allowed(settings):
    settings.CUSTOM_TOOLS_ALLOW_PRIVATE_URLS = True


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/ok"


def session_with_tool(org, tool_server: ToolServer, url: str, **tool: Any):
    assistant = AssistantFactory(
        organization=org,
        first_message="",
        voice_output_format="pcm_16000",
        tools=[{"name": "current_time"}],
        custom_tools=[{**LOOKUP, "server_url": url, **tool}],
    )
    tool_server.secret = assistant.tool_signing_secret
    return SessionFactory(assistant=assistant)


@database_sync_to_async
def stored(session) -> list[Message]:
    return list(Message.objects.unscoped().filter(session=session).order_by("sequence"))


async def ask(providers, session, *scripts: dict) -> LiveClient:
    providers.script_chat(*scripts)
    client = LiveClient.for_session(session.id)
    await client.connect()
    await client.send(type="user-message", content="Where is my order 42?")
    return client


CALL = {"tool_calls": [{"name": "lookup_order", "arguments": {"order_id": "42"}}]}


async def test_a_signed_call_reaches_the_server_and_its_result_the_model(
    providers, private_urls_allowed, tool_server, org
):
    session = await database_sync_to_async(session_with_tool)(
        org, tool_server, tool_server.url("ok")
    )
    client = await ask(providers, session, CALL, {"text": "It has shipped."})
    call = await client.expect("tool-call")
    result = await client.expect("tool-result")
    assert result["ok"] is True and result["result"] == {"order_id": "42", "status": "shipped"}
    await client.expect("assistant-message")
    assert tool_server.refused == []
    [received] = tool_server.calls
    assert received["payload"] == {
        "type": "tool.call",
        "tool_call_id": call["id"],
        "name": "lookup_order",
        "arguments": {"order_id": "42"},
        "session_id": str(session.id),
        "assistant_id": str(session.assistant_id),
        "organization_id": str(org.id),
    }
    first, second = providers.requests(path="/v1/chat/completions")[:2]
    offered = {t["function"]["name"]: t["function"] for t in first["body"]["tools"]}
    assert set(offered) == {"current_time", "lookup_order"}
    assert offered["lookup_order"]["parameters"] == LOOKUP["parameters"]
    tool_message = second["body"]["messages"][-1]
    assert tool_message["role"] == "tool" and tool_message["tool_call_id"] == call["id"]
    assert json.loads(tool_message["content"])["result"]["status"] == "shipped"
    await client.disconnect()


FAILURES = [
    ("slow", {"timeout_seconds": 1}, "timed out after 1 s"),
    ("fail", {}, "answered HTTP 500"),
    ("missing/path", {}, "answered HTTP 404"),
    ("notjson", {}, "did not answer with JSON"),
    ("error", {}, "No order 42 in our books."),
    ("refused", {}, "Could not connect to the tool's server."),
]


@pytest.mark.parametrize(("behaviour", "tool", "error"), FAILURES, ids=[f[0] for f in FAILURES])
async def test_a_failing_tool_is_a_clear_error_and_the_turn_goes_on(
    providers, private_urls_allowed, tool_server, org, behaviour, tool, error
):
    url = closed_port_url() if behaviour == "refused" else tool_server.url(behaviour)
    session = await database_sync_to_async(session_with_tool)(org, tool_server, url, **tool)
    client = await ask(providers, session, CALL, {"text": "Sorry, I could not look it up."})
    result = await client.expect("tool-result", timeout=8)
    assert result["ok"] is False and error in result["error"]
    problem = await client.expect("error")
    assert problem["code"] == "tool_failed" and error in problem["message"]
    final = await client.expect("assistant-message")
    while final["content"] != "Sorry, I could not look it up.":
        final = await client.expect("assistant-message")
    messages = await stored(session)
    assert [m.role for m in messages] == ["user", "assistant", "tool", "assistant"]
    assert json.loads(messages[2].content) == {"ok": False, "error": result["error"]}
    sent = providers.requests(path="/v1/chat/completions")[-1]["body"]["messages"][-1]
    assert error in json.loads(sent["content"])["error"]  # the model is told why
    answered = behaviour not in ("refused", "missing/path")  # no route: aiohttp's own 404
    assert len(tool_server.calls) == answered and tool_server.refused == []
    await client.disconnect()


async def test_arguments_off_the_tools_schema_never_reach_the_server(
    providers, private_urls_allowed, tool_server, org
):
    session = await database_sync_to_async(session_with_tool)(
        org, tool_server, tool_server.url("ok")
    )
    wrong = {"tool_calls": [{"name": "lookup_order", "arguments": {"order": 42}}]}
    client = await ask(providers, session, wrong, {"text": "Which order?"})
    result = await client.expect("tool-result")
    assert result["ok"] is False
    assert result["error"] == "Invalid arguments: 'order_id' is a required property"
    await client.expect("assistant-message")
    assert tool_server.calls == []
    await client.disconnect()


async def test_a_call_of_an_interrupted_generation_never_reaches_the_server(
    providers, private_urls_allowed, tool_server, org
):
    providers.configure(llm_token_ms=20, tts_realtime=True, tts_chunk_ms=40, tts_ttfb_ms=5)
    session = await database_sync_to_async(session_with_tool)(
        org, tool_server, tool_server.url("ok")
    )
    client = await ask(
        providers,
        session,
        {"text": "Let me look that up for you right now, one moment please.", **CALL},
    )
    await client.expect("assistant-delta")
    await client.send(type="interrupt")
    await client.expect("clear")
    await asyncio.sleep(1.0)  # longer than the rest of the stream would have taken
    while not await client.no_more_output(0.2):
        await client.next()
    assert not client.of_type("tool-call") and not client.of_type("tool-result")
    assert tool_server.calls == [] and tool_server.refused == []
    messages = await stored(session)
    assert [m.role for m in messages] == ["user", "assistant"]
    assert all(not c.get("executed", True) for c in messages[1].tool_calls)
    await client.disconnect()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_a_non_public_address_is_refused_at_call_time(
    providers, settings, tool_server, org, host
):
    """Saved while allowed, or a name whose DNS answer changed since it was saved (rebinding):
    with the setting off, the call never leaves, whatever the stored URL says."""
    settings.CUSTOM_TOOLS_ALLOW_PRIVATE_URLS = False
    session = await database_sync_to_async(session_with_tool)(
        org, tool_server, tool_server.url("ok", host=host)
    )
    client = await ask(providers, session, CALL, {"text": "I cannot reach it."})
    result = await client.expect("tool-result")
    assert result["ok"] is False and "not public" in result["error"]
    await client.expect("assistant-message")
    assert tool_server.calls == []
    await client.disconnect()
