"""Spoken turns on streaming speech-to-text (ElevenLabs Scribe v2 Realtime through the SDK, against
the realtime simulator): live captions, the batch fallback, and preemptive replies."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async

from sessions.models import Message, Session
from tests.factories import AssistantFactory, SessionFactory
from tests.sessions.live import LiveClient, silence_pcm, voiced_pcm

pytestmark = pytest.mark.django_db(transaction=True)

REALTIME = "/v1/speech-to-text/realtime"
CHAT = "/v1/chat/completions"


@database_sync_to_async
def streaming_session(org, **fields) -> Session:
    assistant = AssistantFactory(
        organization=org,
        first_message="",
        voice_output_format="pcm_16000",
        transcriber_provider="elevenlabs",
        transcriber_mode="streaming",
        transcriber_model="scribe_v2_realtime",
        tools=[{"name": "current_time"}, {"name": "end_session"}],
        **fields,
    )
    return SessionFactory(assistant=assistant)


@pytest.fixture
def fast(providers):
    providers.configure(
        llm_ttft_ms=20, llm_token_ms=2, tts_ttfb_ms=20, stt_realtime_commit_ms=30, stt_ms=30
    )
    return providers


@database_sync_to_async
def stored(session) -> list[Message]:
    return list(Message.objects.unscoped().filter(session=session).order_by("sequence"))


@database_sync_to_async
def status_of(session) -> str:
    return Session.objects.unscoped().get(pk=session.pk).status


def batch_requests(sims) -> list[dict]:
    return [r for r in sims.requests() if r["path"] == "/v1/speech-to-text"]


def chat_requests(sims, words: str) -> list[dict]:
    """The model requests whose user turn holds ``words``."""
    requests = sims.requests(path=CHAT)
    return [r for r in requests if words in r["body"]["messages"][-1]["content"]]


async def speak(client: LiveClient, audio: bytes) -> None:
    for i in range(0, len(audio), 640):
        await client.send_audio(audio[i : i + 640])


async def until(condition, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def test_captions_stream_while_speaking_and_the_final_transcript_starts_the_turn(fast, org):
    session = await streaming_session(org, preemptive_replies=False)
    fast.script_chat({"text": "Sure, it is noon."})
    client = LiveClient.for_session(session.id)
    await client.connect()
    await speak(client, silence_pcm(0.2) + voiced_pcm(1.2) + silence_pcm(0.6))
    await client.expect("speech-started")
    final = await client.expect("transcript")
    while not final["final"]:
        final = await client.expect("transcript")
    partials = [e for e in client.of_type("transcript") if not e["final"]]
    assert partials, "no live captions"
    assert {p["message_id"] for p in partials} == {final["message_id"]}
    assert all(p["content"].startswith("I said something for") for p in partials)
    # Committed at the end of turn: the simulated model heard the onset and the speech (the
    # trailing silence holds no words).
    assert final["content"] == "I said something for 1.4 seconds."
    reply = await client.expect("assistant-message")
    assert reply["content"] == "Sure, it is noon."
    messages = await stored(session)
    assert [(m.role, m.content) for m in messages] == [
        ("user", final["content"]),
        ("assistant", "Sure, it is noon."),
    ]
    assert str(messages[0].id) == final["message_id"]
    assert messages[0].latency["stt_ms"] is not None
    assert reply["usage"]["stt_audio_seconds"] == pytest.approx(1.9, abs=0.05)
    streams = fast.requests(path=REALTIME)
    assert len(streams) == 1
    assert streams[0]["query"]["model_id"] == "scribe_v2_realtime"
    assert not batch_requests(fast)
    await client.disconnect()


async def test_a_stream_broken_mid_utterance_falls_back_to_batch_with_nothing_lost(fast, org):
    session = await streaming_session(org, preemptive_replies=False)
    fast.state.script("elevenlabs_realtime_stt", [{"fault": "break", "after_chunks": 3}])
    fast.script_chat({"text": "Got it."})
    client = LiveClient.for_session(session.id)
    await client.connect()
    await speak(client, voiced_pcm(1.0) + silence_pcm(0.6))
    final = await client.expect("transcript")
    while not final["final"]:
        final = await client.expect("transcript")
    # The batch simulator hears the whole utterance: onset, speech and the end-of-turn silence.
    assert final["content"] == "I said something for 1.5 seconds."
    assert (await client.expect("assistant-message"))["content"] == "Got it."
    batch = batch_requests(fast)
    assert len(batch) == 1
    assert batch[0]["body"]["model_id"] == "scribe_v1"
    assert [m.content for m in await stored(session)] == [final["content"], "Got it."]
    assert not client.of_type("error")
    await client.disconnect()


async def test_a_refused_stream_falls_back_to_batch(fast, org):
    session = await streaming_session(org, preemptive_replies=False)
    fast.state.script("elevenlabs_realtime_stt", [{"fault": "429"}])
    fast.script_chat({"text": "Fine."})
    client = LiveClient.for_session(session.id)
    await client.connect()
    await speak(client, voiced_pcm(0.8) + silence_pcm(0.6))
    final = await client.expect("transcript")
    assert final == {**final, "final": True, "content": "I said something for 1.3 seconds."}
    assert (await client.expect("assistant-message"))["content"] == "Fine."
    await client.disconnect()


async def test_a_preemptive_reply_is_played_at_the_end_of_turn_without_a_second_request(fast, org):
    session = await streaming_session(org, end_of_turn_silence_ms=600)
    # At the pause the caption may still lag the speech ("... 0.8 seconds"): that reply is
    # started, then restarted on the newer caption. The scripted one answers the whole words.
    fast.script_chat({"match": "for 1.0 seconds", "text": "Sure, it is noon."})
    client = LiveClient.for_session(session.id)
    await client.connect()
    await speak(client, voiced_pcm(1.0) + silence_pcm(0.3))  # a pause
    await until(lambda: fast.requests(path=CHAT))  # the model answers the words so far ...
    await asyncio.sleep(0.3)
    assert not client.of_type("assistant-delta")  # ... and nobody hears it yet
    asked = len(fast.requests(path=CHAT))
    await speak(client, silence_pcm(0.4))  # the end of turn
    final = await client.expect("transcript")
    while not final["final"]:
        final = await client.expect("transcript")
    reply = await client.expect("assistant-message")
    assert reply["content"] == "Sure, it is noon."
    assert client.audio_bytes() > 0
    assert final["content"] == "I said something for 1.0 seconds."
    request = fast.requests(path=CHAT)[-1]["body"]["messages"]
    assert request[-1] == {"role": "user", "content": final["content"]}
    assert len(fast.requests(path=CHAT)) == asked  # no request after the end of turn
    # Heard after the end of turn: the transcript first, then the reply.
    kinds = [e["type"] for e in client.events]
    assert kinds.index("transcript") < kinds.index("assistant-delta")
    messages = await stored(session)
    assert [(m.role, m.content) for m in messages] == [
        ("user", final["content"]),
        ("assistant", "Sure, it is noon."),
    ]
    assert reply["latency"]["first_audio_ms"] < 100  # it was ready: played at once
    await client.disconnect()


async def test_a_preemptive_reply_the_user_talks_over_is_never_heard_stored_or_run(fast, org):
    session = await streaming_session(org, end_of_turn_silence_ms=600)
    fast.script_chat(
        {"match": "for 1.9 seconds", "text": "Now I have heard it all."},  # the whole utterance
        {"tool_calls": [{"name": "end_session", "arguments": {"reason": "early"}}], "times": 20},
    )
    client = LiveClient.for_session(session.id)
    await client.connect()
    await speak(client, voiced_pcm(1.0) + silence_pcm(0.3))
    await until(lambda: fast.requests(path=CHAT))
    await asyncio.sleep(0.3)  # the tool call is in, held
    await speak(client, voiced_pcm(0.6) + silence_pcm(0.7))  # the user goes on
    final = await client.expect("transcript")
    while not final["final"]:
        final = await client.expect("transcript")
    reply = await client.expect_reply()
    assert reply["content"] == "Now I have heard it all."
    assert await status_of(session) == "active"  # end_session never ran
    assert not client.of_type("tool-call") and not client.of_type("tool-result")
    messages = await stored(session)
    assert [(m.role, m.content) for m in messages] == [
        ("user", final["content"]),
        ("assistant", "Now I have heard it all."),
    ]
    # One utterance, the pause inside it: 1.0 s, 0.3 s of pause, 0.6 s.
    assert final["content"] == "I said something for 1.9 seconds."
    asked = [r["body"]["messages"][-1]["content"] for r in fast.requests(path=CHAT)]
    assert asked[-1] == final["content"]  # the answer is to the whole utterance ...
    assert asked[:-1] and all(a != final["content"] for a in asked[:-1])  # ... not the pause's
    await client.disconnect()


async def test_short_speech_over_the_assistant_is_not_a_barge_in(fast, org):
    fast.configure(llm_token_ms=20, tts_realtime=True, tts_chunk_ms=40)
    session = await streaming_session(org, barge_in_min_speech_ms=400)
    fast.script_chat({"text": "Sure, this is a long reply that keeps going. " * 4})
    client = LiveClient.for_session(session.id)
    await client.connect()
    await client.send(type="user-message", content="Talk")
    await client.expect("audio-start")
    await speak(client, voiced_pcm(0.25) + silence_pcm(0.6))  # "mm-hmm"
    await client.expect("speech-stopped")
    await asyncio.sleep(0.2)
    assert not client.of_type("clear")
    await speak(client, voiced_pcm(0.6))  # a real barge-in
    await client.expect("clear")
    await client.disconnect()


async def test_a_preemptive_reply_that_failed_is_replaced_by_a_fresh_one_unseen(fast, org):
    session = await streaming_session(org, end_of_turn_silence_ms=600)
    words = "for 1.0 seconds"  # a reply started on a lagging caption is restarted unscripted
    fast.script_chat(
        {"match": words, "fault": "500", "times": 3}, {"match": words, "text": "Second try worked."}
    )
    client = LiveClient.for_session(session.id)
    await client.connect()
    await speak(client, voiced_pcm(1.0) + silence_pcm(0.3))
    await until(lambda: len(chat_requests(fast, words)) >= 3)  # the SDK's retries, all failed
    await asyncio.sleep(0.2)
    await speak(client, silence_pcm(0.4))
    reply = await client.expect("assistant-message")
    assert reply["content"] == "Second try worked."
    assert not client.of_type("error")  # the failure was never the caller's
    assert len(chat_requests(fast, words)) == 4
    await client.disconnect()


async def test_leaving_mid_utterance_stops_the_stream_and_its_tasks(fast, org):
    session = await streaming_session(org)
    client = LiveClient.for_session(session.id)
    await client.connect()
    await speak(client, voiced_pcm(0.6))  # speaking: a stream is open
    await client.expect("transcript")  # a caption: the stream is up

    def stream_tasks() -> list[str]:
        names = ("stt-stream", "stt-read", "transcribe")
        return [t.get_name() for t in asyncio.all_tasks() if t.get_name() in names]

    assert sorted(stream_tasks()) == ["stt-read", "stt-stream"]
    await client.disconnect()
    await until(lambda: not stream_tasks())
    assert await status_of(session) == "active"  # the session may resume; nothing was said yet


async def test_push_to_talk_commits_the_stream_at_once(fast, org):
    session = await streaming_session(org, end_of_turn_silence_ms=3_000)
    fast.script_chat({"text": "Heard you."})
    client = LiveClient.for_session(session.id)
    await client.connect()
    await speak(client, voiced_pcm(0.6))
    await client.send(type="audio-commit")  # released: no 3 s of silence to wait for
    final = await client.expect("transcript")
    while not final["final"]:
        final = await client.expect("transcript")
    assert final["content"] == "I said something for 0.6 seconds."
    assert (await client.expect("assistant-message"))["content"] == "Heard you."
    assert len(fast.requests(path=REALTIME)) == 1
    assert not batch_requests(fast)
    await client.disconnect()
