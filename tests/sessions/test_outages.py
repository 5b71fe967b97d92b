"""Redis and PostgreSQL going away under live sessions: real processes the tests stop and
start on ports of their own, a real server process, real sockets."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys

import httpx
import pytest
import websockets
from channels.db import database_sync_to_async

from sessions.models import Message, Session
from sessions.tokens import ws_path_for
from tests.fixtures.servers import ROOT, server_env
from tests.sessions.test_real_socket import read_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

LONG_REPLY = (
    "Sure, here is a long answer. It goes on for a while so that there is time to cut it. "
    "The third sentence keeps talking. The fourth sentence is never heard."
)


@database_sync_to_async
def stored(session) -> tuple[str, list[tuple[str, str, bool]]]:
    fresh = Session.objects.unscoped().get(pk=session.pk)
    messages = Message.objects.unscoped().filter(session=session).order_by("sequence")
    return fresh.status, [(m.role, m.content, m.interrupted) for m in messages]


async def closed_code(ws) -> int:
    with pytest.raises(websockets.ConnectionClosed) as closed:
        async with asyncio.timeout(5):
            while True:
                await ws.recv()
    assert closed.value.rcvd is not None, "closed without a close frame"
    return closed.value.rcvd.code


async def test_redis_killed_mid_reply(providers, session, asgi_server, private_redis):
    providers.configure(llm_token_ms=20, tts_realtime=True, tts_chunk_ms=40)
    providers.script_chat({"text": LONG_REPLY})
    session.assistant.silence_timeout_seconds = 2
    await database_sync_to_async(session.assistant.save)()
    server = asgi_server(REDIS_URL=private_redis.url)
    async with websockets.connect(server.ws + ws_path_for(session.id)) as ws:
        await read_until(ws, "connected")
        await ws.send(json.dumps({"type": "user-message", "content": "Tell me a story"}))
        await read_until(ws, "audio-start")
        private_redis.kill()
        error, _ = await read_until(ws, "error", timeout=5)
        assert error["code"] == "service_unavailable" and error["retryable"] is True
        assert await closed_code(ws) == 1013
    status, messages = await stored(session)
    assert status == "active"  # not ended: resumable
    assert messages[0][:2] == ("user", "Tell me a story")
    assert messages[-1][0] == "assistant" and messages[-1][2]  # kept as far as it was heard
    await asyncio.sleep(3)  # longer than the silence timeout: no timer outlived its connection
    assert (await stored(session))[0] == "active"
    private_redis.start()  # the same port: the server's clients reconnect
    async with websockets.connect(server.ws + ws_path_for(session.id)) as ws:
        connected, _ = await read_until(ws, "connected")  # resumed
        assert connected["session_id"] == str(session.id)


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    return done.stdout


async def test_postgresql_stopped_mid_reply(providers, asgi_server, private_postgres):
    providers.configure(llm_token_ms=20, tts_realtime=True, tts_chunk_ms=40)
    providers.script_chat({"text": "One short sentence. And one more to end it."})
    env = server_env({"DATABASE_URL": private_postgres.url})
    await asyncio.to_thread(manage, env, "migrate", "--noinput", "-v0")
    report = await asyncio.to_thread(manage, env, "bootstrap_demo", "--base-url", "http://x")
    key = re.search(r"API key:\s+(\S+)", report)[1]
    assistant_id = re.search(r"assistant id:\s+(\S+)", report)[1]
    server = asgi_server(DATABASE_URL=private_postgres.url)
    auth = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=server.http, headers=auth, timeout=30) as api:
        created = await api.post("/api/v1/sessions/", json={"assistant_id": assistant_id})
        assert created.status_code == 201, created.text
        session_id = created.json()["id"]
        transcript = f"/api/v1/sessions/{session_id}/messages/"
        async with websockets.connect(created.json()["ws_url"]) as ws:
            await read_until(ws, "connected")
            await read_until(ws, "assistant-message", timeout=15)  # the greeting
            await ws.send(json.dumps({"type": "user-message", "content": "Talk to me"}))
            await read_until(ws, "audio-start")
            await asyncio.to_thread(private_postgres.stop)
            error, frames = await read_until(ws, "error", timeout=10)
            assert error["code"] == "storage_unavailable" and error["retryable"] is True
            reply = next(json.loads(f) for f in frames if '"assistant-message"' in str(f))
            assert reply["content"] == "One short sentence. And one more to end it."

            started = asyncio.get_running_loop().time()
            refused = await api.get(transcript)
            assert refused.status_code == 503
            assert refused.json()["error"]["code"] == "database_unavailable"
            assert asyncio.get_running_loop().time() - started < 5

            await asyncio.to_thread(private_postgres.start)
            async with asyncio.timeout(30):  # the session writes what it kept, once it can
                while True:
                    await asyncio.sleep(1)
                    response = await api.get(transcript)
                    if response.status_code != 200:
                        continue
                    contents = [m["content"] for m in response.json()["results"]]
                    if reply["content"] in contents:
                        break
            assert contents[-2:] == ["Talk to me", reply["content"]]
