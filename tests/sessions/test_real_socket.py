"""Over real sockets: the server (config/server.py) in its own process, a real WebSocket
client, real HTTP.

With REDIS_URL set (CI), the channel layer and the concurrency leases are Redis, so the
cross-process tests below exercise exactly what a scaled-out deployment relies on.
"""

import asyncio
import contextlib
import json
import signal

import httpx
import pytest
import websockets

from sessions.tokens import ws_path_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


async def read_until(ws, event_type: str, timeout: float = 10) -> tuple[dict, list]:
    frames = []
    async with asyncio.timeout(timeout):
        while True:
            frame = await ws.recv()
            frames.append(frame)
            if isinstance(frame, str) and json.loads(frame)["type"] == event_type:
                return json.loads(frame), frames


async def test_a_spoken_turn_over_a_real_socket(providers, session, asgi_server):
    providers.script_chat({"text": "Sure, over a real socket."})
    server = asgi_server()
    async with websockets.connect(server.ws + ws_path_for(session.id)) as ws:
        connected, _ = await read_until(ws, "connected")
        assert connected["session_id"] == str(session.id)
        await ws.send(json.dumps({"type": "user-message", "content": "Hello over TCP"}))
        final, frames = await read_until(ws, "assistant-message")
        assert final["content"] == "Sure, over a real socket."
        audio = [f for f in frames if isinstance(f, bytes)]
        assert audio and sum(map(len, audio)) % 2 == 0
        await ws.send("{broken")
        error, _ = await read_until(ws, "error")
        assert error["code"] == "invalid_json"
        await ws.send(json.dumps({"type": "end-session"}))
        await read_until(ws, "session-ended")
        with pytest.raises(websockets.ConnectionClosedOK):
            await ws.recv()
        assert ws.close_code == 1000
    server.process.terminate()
    server.process.wait(timeout=10)
    log = server.log.read_text()
    assert ws_path_for(session.id).split("?")[0] in log  # the server's access log line
    assert ws_path_for(session.id) not in log  # ... without the token


async def test_concurrency_limit_holds_across_two_server_processes(
    providers, session, assistant, org, asgi_server, redis_url
):
    from channels.db import database_sync_to_async

    from tests.factories import SessionFactory

    org.max_concurrent_sessions = 1
    await database_sync_to_async(org.save)()
    other = await database_sync_to_async(SessionFactory)(assistant=assistant)
    first, second = asgi_server(), asgi_server()
    async with websockets.connect(first.ws + ws_path_for(session.id)) as ws:
        await read_until(ws, "connected")
        async with websockets.connect(second.ws + ws_path_for(other.id)) as refused:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await refused.recv()
            assert closed.value.rcvd.code == 4429
    async with websockets.connect(second.ws + ws_path_for(other.id)) as ws:
        await read_until(ws, "connected")  # released when the first one left


async def test_a_session_has_one_live_connection_across_two_server_processes(
    providers, session, asgi_server, redis_url
):
    first, second = asgi_server(), asgi_server()
    async with websockets.connect(first.ws + ws_path_for(session.id)) as older:
        await read_until(older, "connected")
        async with websockets.connect(second.ws + ws_path_for(session.id)) as newer:
            await read_until(newer, "connected")
            notice, _ = await read_until(older, "error")
            assert notice["code"] == "session_taken_over"
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await older.recv()
            assert closed.value.rcvd.code == 4409
            await newer.send(json.dumps({"type": "ping"}))
            await read_until(newer, "pong")


async def test_rest_end_on_one_process_ends_the_socket_on_another(
    providers, session, private_key, asgi_server, redis_url
):
    first, second = asgi_server(), asgi_server()
    async with websockets.connect(first.ws + ws_path_for(session.id)) as ws:
        await read_until(ws, "connected")
        async with httpx.AsyncClient() as http:
            response = await http.post(
                f"{second.http}/api/v1/sessions/{session.id}/end/",
                headers={"Authorization": f"Bearer {private_key[1]}"},
            )
        assert response.status_code == 200
        ended, _ = await read_until(ws, "session-ended")
        assert ended["reason"] == "ended-by-api"


async def test_hanging_up_mid_reply_stores_the_reply_and_logs_no_error(
    providers, session, asgi_server
):
    from channels.db import database_sync_to_async

    from sessions.models import Message

    providers.configure(tts_realtime=True)  # the reply is still playing when the caller leaves
    providers.script_chat({"text": "Sure, this reply is long enough to be cut off halfway."})
    server = asgi_server()
    async with websockets.connect(server.ws + ws_path_for(session.id)) as ws:
        await read_until(ws, "connected")
        await ws.send(json.dumps({"type": "user-message", "content": "Talk to me"}))
        while not isinstance(await ws.recv(), bytes):  # the first audio frame
            pass
    # The caller is gone; the server stores what was said and sends nothing more.

    async def stored() -> list:
        return await database_sync_to_async(list)(
            Message.objects.unscoped().filter(session=session).order_by("sequence")
        )

    async with asyncio.timeout(10):
        while len(messages := await stored()) < 2:
            await asyncio.sleep(0.05)
    assert [m.role for m in messages] == ["user", "assistant"]
    assert messages[1].interrupted
    server.process.terminate()
    server.process.wait(timeout=10)
    log = server.log.read_text()
    assert "Traceback" not in log and "ERROR" not in log


async def test_frames_after_the_server_closed_get_no_reply_and_log_no_error(
    providers, session, asgi_server
):
    """The client's frames already on the wire when the server closes the socket still reach
    the consumer; answering them would be a send after close (an error in the server)."""
    server = asgi_server()
    async with websockets.connect(server.ws + ws_path_for(session.id)) as ws:
        await read_until(ws, "connected")
        await ws.send(json.dumps({"type": "end-session"}))
        silence = bytes(640)  # 20 ms of 16 kHz PCM
        with contextlib.suppress(websockets.ConnectionClosed):
            for _ in range(50):
                await ws.send(silence)
                await ws.send(json.dumps({"type": "user-message", "content": "Still there?"}))
        await read_until(ws, "session-ended")
        with pytest.raises(websockets.ConnectionClosedOK):
            while True:
                await ws.recv()
    server.process.terminate()
    server.process.wait(timeout=10)
    log = server.log.read_text()
    assert "Traceback" not in log and "ERROR" not in log


async def test_sigterm_ends_a_live_call_and_the_process_within_seconds(
    providers, session, asgi_server
):
    """The housekeeping tick is a second (config/server.py): a deployment's SIGTERM still
    closes open calls cleanly — a server_restarting error event first, then close 1012 — and
    the process exits well within its grace period."""
    server = asgi_server()
    async with websockets.connect(server.ws + ws_path_for(session.id)) as ws:
        await read_until(ws, "connected")
        server.process.terminate()
        notice, _ = await asyncio.wait_for(read_until(ws, "error"), 5)
        assert notice["code"] == "server_restarting" and notice["retryable"] is True
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
    # uvicorn re-raises the signal once it has shut down: the exit status says SIGTERM.
    assert await asyncio.to_thread(server.process.wait, 5) == -signal.SIGTERM
