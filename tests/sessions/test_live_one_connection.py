"""A session has at most one live connection, across processes; a revoked key's tokens stop."""

import asyncio

import pytest
from channels.db import database_sync_to_async

from assistants.services import api_key_revoke
from sessions.models import Message
from sessions.tokens import ws_path_for
from tests.sessions.live import LiveClient

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def assistant_messages(session) -> list[Message]:
    return list(Message.objects.unscoped().filter(session=session, role="assistant"))


async def test_a_newer_connection_takes_the_session_over(providers, session):
    providers.script_chat({"text": "First answer."}, {"text": "Second answer."})
    older = LiveClient.for_session(session.id)
    await older.connect()
    await older.send(type="user-message", content="Hello")
    await older.expect("assistant-message")
    newer = LiveClient.for_session(session.id)
    await newer.connect()
    notice = await older.expect("error")
    assert notice["code"] == "session_taken_over"
    assert (await older.next())[1] == 4409  # closed: ("close", 4409)
    await newer.send(type="user-message", content="Still there?")
    assert (await newer.expect_reply())["content"] == "Second answer."
    await newer.disconnect()


async def test_many_sockets_at_once_leave_one_conversation_and_one_greeting(providers, session):
    assistant = session.assistant
    assistant.first_message = "Hi, how can I help?"
    await database_sync_to_async(assistant.save)()
    clients = [LiveClient.for_session(session.id) for _ in range(8)]
    results = await asyncio.gather(*(c.comm.connect() for c in clients))
    assert all(connected for connected, _ in results)
    await asyncio.sleep(3)
    open_ones = [c for c in clients if not await _closed(c)]
    assert len(open_ones) == 1
    greetings = await assistant_messages(session)
    assert len(greetings) <= 1
    await open_ones[0].disconnect()


async def _closed(client: LiveClient) -> bool:
    while not await client.no_more_output(0.05):
        kind, _ = await client.next()
        if kind == "close":
            return True
    return False


async def test_a_token_of_a_revoked_key_stops_working_at_once(providers, session, private_key):
    api_key, _ = private_key
    path = ws_path_for(session.id, api_key.pk)
    live = LiveClient(path)
    await live.connect()
    await database_sync_to_async(api_key_revoke)(api_key=api_key)
    async with asyncio.timeout(5):
        while (frame := await live.next())[0] != "close":
            pass
    assert frame[1] == 4401
    assert await LiveClient(path).close_code() == 4401
