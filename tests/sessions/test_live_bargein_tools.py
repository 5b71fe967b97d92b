"""Barge-in, tool calls (including the interrupted one) and disconnects keep every word."""

import asyncio

import pytest
from channels.db import database_sync_to_async

from sessions.models import Message, Session
from sessions.tokens import ws_path_for
from tests.sessions.live import LiveClient
from tests.sessions.test_live_protocol import HOSTILE_FRAMES

pytestmark = pytest.mark.django_db(transaction=True)
LONG_REPLY = (
    "Sure, here is a long answer. It goes on for a while so that there is time to interrupt it. "
    "The third sentence keeps talking. The fourth sentence is never heard."
)


@database_sync_to_async
def messages(session) -> list[Message]:
    return list(Message.objects.unscoped().filter(session=session).order_by("sequence"))


@database_sync_to_async
def status_of(session) -> tuple[str, str]:
    fresh = Session.objects.unscoped().get(pk=session.pk)
    return fresh.status, fresh.ended_reason


@pytest.fixture
def slow(providers):
    providers.configure(llm_token_ms=20, tts_realtime=True, tts_chunk_ms=40, tts_ttfb_ms=5)
    return providers


async def first_audio(client: LiveClient) -> None:
    async with asyncio.timeout(5):
        while (await client.next())[0] != "audio":
            pass


async def test_interrupt_stops_audio_at_once_and_stores_what_was_heard(slow, session):
    slow.script_chat({"text": LONG_REPLY})
    client = LiveClient.for_session(session.id)
    await client.connect()
    await client.send(type="user-message", content="Tell me a story")
    await first_audio(client)
    await asyncio.sleep(0.5)  # "Sure," (~0.3 s of speech) has been heard by now
    await client.send(type="interrupt")
    clear = await client.expect("clear")
    after_clear = []
    while not await client.no_more_output(0.4):
        after_clear.append(await client.next())
    assert not [f for f in after_clear if f[0] == "audio"]

    final = client.of_type("assistant-message")[-1]
    assert final["message_id"] == clear["message_id"] and final["interrupted"] is True
    stored = (await messages(session))[-1]
    assert stored.interrupted and stored.role == "assistant"
    assert stored.content.startswith("Sure,") and "It goes" not in stored.content
    await client.disconnect()


async def test_a_reply_stored_before_the_interrupt_is_announced_again_as_heard(providers, session):
    """Fast providers: the whole reply is generated, sent and stored while the listener is
    still hearing its first words. The interrupt cuts the stored reply, and the client gets
    the cut copy (same message id), so its transcript agrees with the stored one."""
    providers.script_chat({"text": LONG_REPLY})
    client = LiveClient.for_session(session.id)
    await client.connect()
    await client.send(type="user-message", content="Tell me a story")
    whole = await client.expect("assistant-message")
    assert whole["content"] == LONG_REPLY and whole["interrupted"] is False
    await client.send(type="interrupt")
    cut = await client.expect("assistant-message")
    assert cut["message_id"] == whole["message_id"] and cut["interrupted"] is True
    assert len(cut["content"]) < len(LONG_REPLY)
    assert cut["usage"] == whole["usage"] and cut["latency"] == whole["latency"]
    stored = (await messages(session))[-1]
    assert (stored.content, stored.interrupted) == (cut["content"], True)
    await client.disconnect()


@pytest.mark.parametrize(
    "played_ms",
    [
        0,  # the client says nothing was played yet
        60_000,  # beyond the audio sent: only what was sent counts, not even all of "Sure,"
    ],
)
async def test_mark_cuts_content_to_what_was_played_never_beyond_what_was_sent(
    slow, session, played_ms
):
    slow.script_chat({"text": LONG_REPLY})
    client = LiveClient.for_session(session.id)
    await client.connect()
    await client.send(type="user-message", content="Tell me a story")
    start = await client.expect("audio-start")
    await first_audio(client)
    await client.send(type="mark", message_id=start["message_id"], played_ms=played_ms)
    await client.send(type="interrupt")
    await client.expect("clear")
    stored = (await messages(session))[-1]
    assert stored.interrupted and stored.content == ""
    await client.disconnect()


async def test_user_message_while_replying_barges_in(slow, session):
    slow.script_chat({"text": LONG_REPLY}, {"text": "Okay, stopping."})
    client = LiveClient.for_session(session.id)
    await client.connect()
    await client.send(type="user-message", content="Tell me a story")
    await first_audio(client)
    await client.send(type="user-message", content="Stop, actually.")
    await client.expect("clear")
    done = await client.expect("assistant-message")
    while done["interrupted"]:
        done = await client.expect("assistant-message")
    assert done["content"] == "Okay, stopping."
    roles = [(m.role, m.interrupted) for m in await messages(session)]
    assert roles == [("user", False), ("assistant", True), ("user", False), ("assistant", False)]
    await client.disconnect()


async def test_tool_loop_runs_tool_and_feeds_result_back(providers, session):
    providers.script_chat(
        {"tool_calls": [{"name": "current_time", "arguments": {"timezone": "Europe/Paris"}}]},
        {"text": "It is noon in Paris."},
    )
    client = LiveClient.for_session(session.id)
    await client.connect()
    await client.send(type="user-message", content="What time is it in Paris?")
    call = await client.expect("tool-call")
    result = await client.expect("tool-result")
    final = await client.expect("assistant-message")
    while final["content"] != "It is noon in Paris.":
        final = await client.expect("assistant-message")
    assert call["name"] == "current_time" and call["arguments"] == {"timezone": "Europe/Paris"}
    assert result["id"] == call["id"] and result["ok"] is True
    assert result["result"]["timezone"] == "Europe/Paris"
    stored = await messages(session)
    assert [m.role for m in stored] == ["user", "assistant", "tool", "assistant"]
    assert stored[1].tool_calls[0]["name"] == "current_time"
    assert stored[2].tool_call_id == call["id"]
    second_request = providers.requests(path="/v1/chat/completions")[-1]["body"]["messages"]
    assert second_request[-1]["role"] == "tool"
    assert second_request[-1]["tool_call_id"] == call["id"]
    await client.disconnect()


async def test_unknown_tool_and_bad_arguments_become_tool_errors(providers, session):
    providers.script_chat(
        {"tool_calls": [{"name": "launch_rockets", "arguments": {}}]}, {"text": "I can't do that."}
    )
    client = LiveClient.for_session(session.id)
    await client.connect()
    await client.send(type="user-message", content="Launch!")
    result = await client.expect("tool-result")
    assert result["ok"] is False and "not available" in result["error"]
    await client.expect("assistant-message")
    await client.disconnect()


async def test_tool_rounds_are_capped_and_the_last_round_offers_no_tools(providers, session):
    loop = {"tool_calls": [{"name": "current_time", "arguments": {}}]}
    providers.script_chat(*[loop] * 5, {"text": "Enough tools."})
    client = LiveClient.for_session(session.id)
    await client.connect()
    await client.send(type="user-message", content="Loop forever")
    final = await client.expect("assistant-message")
    while final["content"] != "Enough tools.":
        final = await client.expect("assistant-message", timeout=10)
    requests = providers.requests(path="/v1/chat/completions")
    assert len(requests) == 6
    assert all("tools" in r["body"] for r in requests[:5])
    assert "tools" not in requests[5]["body"]
    assert len(client.of_type("tool-result")) == 5
    await client.disconnect()


async def test_tool_call_of_an_interrupted_generation_is_never_executed(slow, session):
    slow.script_chat(
        {
            "text": "Let me look that up for you right now, one moment please.",
            "tool_calls": [{"name": "end_session", "arguments": {"reason": "never"}}],
        }
    )
    client = LiveClient.for_session(session.id)
    await client.connect()
    await client.send(type="user-message", content="Look it up")
    await client.expect("assistant-delta")
    await client.send(type="interrupt")
    await client.expect("clear")
    await asyncio.sleep(1.0)  # longer than the rest of the stream would have taken
    while not await client.no_more_output(0.2):
        await client.next()
    assert not client.of_type("tool-call") and not client.of_type("tool-result")
    assert not client.of_type("session-ended")
    stored = await messages(session)
    assert [m.role for m in stored] == ["user", "assistant"]
    assert all(not c.get("executed", True) for c in stored[1].tool_calls)
    assert len(slow.requests(path="/v1/chat/completions")) == 1
    assert (await status_of(session))[0] == "active"
    await client.disconnect()


async def test_end_session_tool_ends_after_the_reply(providers, session):
    providers.script_chat(
        {"text": "Goodbye!", "tool_calls": [{"name": "end_session", "arguments": {}}]},
        {"text": ""},
    )
    client = LiveClient.for_session(session.id)
    await client.connect()
    await client.send(type="user-message", content="Bye")
    ended = await client.expect("session-ended", timeout=10)
    assert ended["reason"] == "assistant-ended"
    assert (await client.next())[0] == "close"
    assert await status_of(session) == ("ended", "assistant-ended")


async def test_disconnect_mid_reply_keeps_both_messages(slow, session):
    slow.script_chat({"text": LONG_REPLY})
    client = LiveClient.for_session(session.id)
    await client.connect()
    await client.send(type="user-message", content="Tell me everything")
    await first_audio(client)
    await client.disconnect()
    stored = await messages(session)
    assert [(m.role, m.interrupted) for m in stored] == [("user", False), ("assistant", True)]
    assert stored[0].content == "Tell me everything"
    assert (await status_of(session))[0] == "active"  # it may resume


async def test_hostile_frames_neither_interrupt_a_reply_nor_log_errors(slow, session, caplog):
    slow.script_chat({"text": "One sentence. And another sentence after it."})
    client = LiveClient.for_session(session.id)
    await client.connect()
    await client.send(type="user-message", content="Talk")
    await client.expect("audio-start")
    for frame, code in HOSTILE_FRAMES:
        await client.send_raw(frame)
        assert (await client.expect("error"))["code"] == code
    final = await client.expect("assistant-message", timeout=10)
    assert final["interrupted"] is False and not client.of_type("clear")
    stored = (await messages(session))[-1]
    assert (stored.role, stored.content, stored.interrupted) == (
        "assistant",
        final["content"],
        False,
    )
    assert not [r for r in caplog.records if r.name.startswith("sessions") and r.levelno >= 40]
    await client.disconnect()


async def test_without_marks_an_interrupted_reply_keeps_only_what_the_clock_says_was_played(
    slow, session
):
    slow.script_chat({"text": LONG_REPLY})
    client = LiveClient.for_session(session.id)
    await client.connect()
    await client.send(type="user-message", content="Tell me a story")
    await first_audio(client)
    await asyncio.sleep(0.1)
    await client.send(type="interrupt")
    await client.expect("clear")
    stored = (await messages(session))[-1]
    assert stored.interrupted
    # "Sure," takes ~0.3 s to say: 0.1 s in, not one whole word was heard (before, the
    # whole piece being sent was stored as heard).
    assert stored.content == ""
    await client.disconnect()


async def test_a_text_only_client_gets_no_audio_and_its_replies_are_never_cut(slow, session):
    slow.script_chat({"text": LONG_REPLY}, {"text": "Second."})
    client = LiveClient(f"{ws_path_for(session.id)}&output=text")
    connected = await client.connect()
    assert connected["audio"]["output"] is None
    await client.send(type="user-message", content="Tell me a story")
    await client.expect("assistant-message", timeout=10)
    await client.send(type="user-message", content="And then?")
    await client.expect("assistant-message", timeout=10)
    assert client.audio_bytes() == 0 and not client.of_type("clear")
    stored = await messages(session)
    assert [(m.role, m.interrupted) for m in stored][-3:] == [
        ("assistant", False),
        ("user", False),
        ("assistant", False),
    ]
    assert stored[-3].content == LONG_REPLY
    await client.disconnect()


async def test_an_unknown_connect_option_value_is_refused_4400(providers, session):
    assert await LiveClient(f"{ws_path_for(session.id)}&output=video").close_code() == 4400
