"""Live sessions over the WebSocket protocol: connect, text turns, audio out, storage."""

import pytest
from channels.db import database_sync_to_async

from sessions.models import Message, Session
from tests.sessions.live import LiveClient

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def stored(session) -> list[tuple[str, str, bool]]:
    return [
        (m.role, m.content, m.interrupted)
        for m in Message.objects.unscoped().filter(session=session).order_by("sequence")
    ]


@database_sync_to_async
def refreshed(session) -> Session:
    return Session.objects.unscoped().get(pk=session.pk)


async def test_connected_describes_session_and_audio(providers, session, assistant):
    client = LiveClient.for_session(session.id)
    connected = await client.connect()
    assert connected["session_id"] == str(session.id)
    assert connected["assistant"] == {"id": str(assistant.id), "name": assistant.name}
    assert connected["audio"]["input"] == {
        "encoding": "pcm_s16le",
        "sample_rate": 16000,
        "channels": 1,
    }
    assert connected["audio"]["output"] == {
        "encoding": "pcm_s16le",
        "sample_rate": 16000,
        "channels": 1,
    }
    assert (await refreshed(session)).status == "active"
    await client.disconnect()


async def test_text_turn_streams_deltas_then_audio_and_stores_both_messages(providers, session):
    providers.script_chat({"text": "Sure, it is sunny. Anything else?"})
    client = LiveClient.for_session(session.id)
    await client.connect()
    await client.send(type="user-message", content="What's the weather?")
    final = await client.expect("assistant-message")

    deltas = client.of_type("assistant-delta")
    assert "".join(d["content"] for d in deltas) == "Sure, it is sunny. Anything else?"
    assert {d["message_id"] for d in deltas} == {final["message_id"]}
    kinds = [k if k == "audio" else v["type"] for k, v in client.frames]
    assert kinds.index("audio-start") < kinds.index("audio") < kinds.index("audio-end")
    assert client.audio_bytes() > 0 and client.audio_bytes() % 2 == 0
    assert final["content"] == "Sure, it is sunny. Anything else?"
    assert final["interrupted"] is False
    assert set(final["latency"]) >= {"stt_ms", "llm_ttft_ms", "tts_ttfb_ms", "first_audio_ms"}
    assert final["latency"]["first_audio_ms"] > 0
    assert await stored(session) == [
        ("user", "What's the weather?", False),
        ("assistant", "Sure, it is sunny. Anything else?", False),
    ]
    usage = (await refreshed(session)).usage
    assert usage["completion_tokens"] > 0 and usage["prompt_tokens"] > 0
    spoken = [r["body"]["text"] for r in providers.requests(provider="elevenlabs")]
    assert usage["tts_characters"] == sum(len(t) for t in spoken) > 0
    await client.disconnect()


async def test_first_piece_goes_to_tts_at_the_first_clause(providers, session):
    providers.script_chat({"text": "Sure, here is a longer answer. It has two sentences."})
    client = LiveClient.for_session(session.id)
    await client.connect()
    await client.send(type="user-message", content="hi")
    await client.expect("assistant-message")
    texts = [r["body"]["text"] for r in providers.requests(provider="elevenlabs")]
    # The pieces' requests run concurrently, so they may reach the provider in any order.
    assert sorted(texts) == sorted(["Sure,", "here is a longer answer.", "It has two sentences."])
    await client.disconnect()


async def test_first_message_is_spoken_once_and_not_repeated_on_reconnect(
    providers, session, assistant
):
    assistant.first_message = "Hello! How can I help?"
    await database_sync_to_async(assistant.save)()
    client = LiveClient.for_session(session.id)
    await client.connect()
    greeting = await client.expect("assistant-message")
    assert greeting["content"] == "Hello! How can I help?"
    assert client.audio_bytes() > 0
    await client.disconnect()

    again = LiveClient.for_session(session.id)
    await again.connect()
    assert await again.no_more_output(0.3)
    await again.disconnect()
    assert await stored(session) == [("assistant", "Hello! How can I help?", False)]


async def test_reconnect_continues_the_conversation(providers, session):
    providers.script_chat({"text": "Nice to meet you, Ada."}, {"text": "You are Ada."})
    client = LiveClient.for_session(session.id)
    await client.connect()
    await client.send(type="user-message", content="My name is Ada.")
    await client.expect("assistant-message")
    await client.disconnect()

    again = LiveClient.for_session(session.id)
    await again.connect()
    await again.send(type="user-message", content="What is my name?")
    await again.expect("assistant-message")
    await again.disconnect()
    sent = providers.requests(path="/v1/chat/completions")[-1]["body"]["messages"]
    assert [(m["role"], m["content"]) for m in sent] == [
        ("system", "You are helpful."),
        ("user", "My name is Ada."),
        ("assistant", "Nice to meet you, Ada."),
        ("user", "What is my name?"),
    ]


async def test_text_only_assistant_sends_no_audio(providers, session, assistant):
    assistant.voice_provider = "none"
    await database_sync_to_async(assistant.save)()
    providers.script_chat({"text": "Just text."})
    client = LiveClient.for_session(session.id)
    connected = await client.connect()
    assert connected["audio"]["output"] is None
    await client.send(type="user-message", content="hi")
    await client.expect("assistant-message")
    assert client.audio_bytes() == 0
    await client.disconnect()


async def test_ping_pong(providers, session):
    client = LiveClient.for_session(session.id)
    await client.connect()
    await client.send(type="ping")
    await client.expect("pong")
    await client.disconnect()


async def test_the_user_message_is_stored_before_the_model_is_called(providers, session):
    """If what the user said cannot be stored, nothing else happens: no model call at all."""
    client = LiveClient.for_session(session.id)
    await client.connect()
    await database_sync_to_async(Session.objects.unscoped().filter(pk=session.pk).delete)()
    await client.send(type="user-message", content="This cannot be stored")
    assert (await client.expect("error"))["code"] == "internal_error"
    assert providers.requests(path="/v1/chat/completions") == []
    await client.disconnect()


async def test_a_session_outlives_the_clients_it_used(providers, session):
    """The process's client cache may close a client it evicts: a session looks its clients up
    at each use instead of keeping them, so its next turn gets a working one."""
    from integrations.providers import aclose_clients

    providers.script_chat({"text": "First."}, {"text": "Second."})
    client = LiveClient.for_session(session.id)
    await client.connect()
    await client.send(type="user-message", content="One")
    assert (await client.expect("assistant-message"))["content"] == "First."
    await aclose_clients()  # as an eviction would close them
    await client.send(type="user-message", content="Two")
    reply = await client.expect_reply()  # "First." may still be playing: it is cut, not answered
    assert reply["content"] == "Second." and not client.of_type("error")
    await client.disconnect()
