"""Refusals, bad input, provider faults, audio in, and ending: the socket never dies of them."""

import asyncio
import uuid

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from assistants.models import Membership
from sessions.models import Message, Session
from sessions.services import session_group
from sessions.tokens import ws_token_for
from tests.factories import MembershipFactory, SessionFactory, UserFactory
from tests.sessions.live import LiveClient, silence_pcm, voiced_pcm

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def messages(session) -> list[tuple[str, str]]:
    return [
        (m.role, m.content)
        for m in Message.objects.unscoped().filter(session=session).order_by("sequence")
    ]


@database_sync_to_async
def fresh(session) -> Session:
    return Session.objects.unscoped().get(pk=session.pk)


@database_sync_to_async
def save(obj) -> None:
    obj.save()


# ---- refusals -------------------------------------------------------------------------------


async def test_missing_or_bad_token_is_4401(providers, session):
    assert await LiveClient(f"/ws/sessions/{session.id}/").close_code() == 4401
    assert await LiveClient(f"/ws/sessions/{session.id}/?token=nope").close_code() == 4401


async def test_token_of_another_session_is_4401(providers, session, assistant):
    other = await database_sync_to_async(SessionFactory)(assistant=assistant)
    path = f"/ws/sessions/{session.id}/?token={ws_token_for(other.id)}"
    assert await LiveClient(path).close_code() == 4401


async def test_unknown_session_is_4404(providers, session):
    missing = uuid.uuid4()
    assert (
        await LiveClient(f"/ws/sessions/{missing}/?token={ws_token_for(missing)}").close_code()
        == 4404
    )


async def test_ended_session_is_4403(providers, session):
    session.status = "ended"
    await save(session)
    assert await LiveClient.for_session(session.id).close_code() == 4403


async def test_member_of_another_organization_gets_4404_as_for_a_made_up_id(
    providers, session, other_org, client
):
    outsider = await database_sync_to_async(UserFactory)()
    await database_sync_to_async(MembershipFactory)(user=outsider, organization=other_org)
    await database_sync_to_async(client.force_login)(outsider)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    live = LiveClient(f"/ws/sessions/{session.id}/", headers=[(b"cookie", cookie)])
    assert await live.close_code() == 4404
    made_up = LiveClient(f"/ws/sessions/{uuid.uuid4()}/", headers=[(b"cookie", cookie)])
    assert await made_up.close_code() == 4404


async def test_without_credentials_an_existing_and_a_made_up_session_answer_alike(
    providers, session
):
    assert await LiveClient(f"/ws/sessions/{session.id}/").close_code() == 4401
    assert await LiveClient(f"/ws/sessions/{uuid.uuid4()}/").close_code() == 4401


async def test_a_websocket_to_an_unknown_path_is_closed_4404_not_a_server_error(providers):
    for path in ("/ws/sessions/xyz/", "/ws/nothing-here/", "/"):
        assert await LiveClient(path).close_code() == 4404


async def test_member_of_the_organization_may_connect_with_cookie(providers, session, org, client):
    member = await database_sync_to_async(UserFactory)()
    await database_sync_to_async(MembershipFactory)(
        user=member, organization=org, role=Membership.Role.MEMBER
    )
    await database_sync_to_async(client.force_login)(member)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    live = LiveClient(f"/ws/sessions/{session.id}/", headers=[(b"cookie", cookie)])
    await live.connect()
    await live.disconnect()


async def test_logged_out_or_made_up_login_cookie_is_4401(providers, session, org, client):
    member = await database_sync_to_async(UserFactory)()
    await database_sync_to_async(MembershipFactory)(user=member, organization=org)
    await database_sync_to_async(client.force_login)(member)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    await database_sync_to_async(client.logout)()
    path = f"/ws/sessions/{session.id}/"
    assert await LiveClient(path, headers=[(b"cookie", cookie)]).close_code() == 4401
    made_up = [(b"cookie", b"theme=dark; sessionid=not-a-session")]
    assert await LiveClient(path, headers=made_up).close_code() == 4401


async def test_token_works_from_a_customers_page(providers, session):
    live = LiveClient.for_session(session.id, headers=[(b"origin", b"https://shop.example")])
    await live.connect()
    await live.disconnect()


async def test_login_cookie_from_a_foreign_page_is_4403(providers, session, org, client):
    member = await database_sync_to_async(UserFactory)()
    await database_sync_to_async(MembershipFactory)(user=member, organization=org)
    await database_sync_to_async(client.force_login)(member)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    path = f"/ws/sessions/{session.id}/"
    foreign = LiveClient(path, headers=[(b"cookie", cookie), (b"origin", b"https://evil.example")])
    assert await foreign.close_code() == 4403
    own = LiveClient(path, headers=[(b"cookie", cookie), (b"origin", b"http://testserver")])
    await own.connect()
    await own.disconnect()


async def test_concurrent_session_limit_is_4429(providers, session, assistant, org):
    org.max_concurrent_sessions = 1
    await save(org)
    other = await database_sync_to_async(SessionFactory)(assistant=assistant)
    first = LiveClient.for_session(session.id)
    await first.connect()
    assert await LiveClient.for_session(other.id).close_code() == 4429
    await first.disconnect()
    again = LiveClient.for_session(other.id)
    await again.connect()  # the slot was released on disconnect
    await again.disconnect()


# ---- bad input ------------------------------------------------------------------------------

BAD_FRAMES = [
    ("{not json", "invalid_json"),
    ("[1, 2]", "invalid_message"),
    ('{"type": "dance"}', "unknown_type"),
    ('{"content": "no type"}', "unknown_type"),
    ('{"type": "user-message", "content": 42}', "invalid_field"),
    ('{"type": "user-message", "content": "   "}', "invalid_field"),
    ('{"type": "user-message", "content": "' + "x" * 8001 + '"}', "text_too_long"),
    ('{"type": "mark", "message_id": "nope", "played_ms": 10}', "invalid_field"),
    (
        '{"type": "mark", "message_id": "00000000-0000-0000-0000-000000000000", "played_ms": -1}',
        "invalid_field",
    ),
]
MARK = '{"type": "mark", "message_id": "00000000-0000-0000-0000-000000000000", "played_ms": %s}'
# What an outside test sent to keep replies out of the transcript or flood the error log.
HOSTILE_FRAMES = [
    (MARK % "1e400", "invalid_json"),  # overflows to inf
    (MARK % "NaN", "invalid_json"),
    (MARK % "Infinity", "invalid_json"),
    (MARK % "1e12", "invalid_field"),  # finite, but no reply plays for 31 years
    ('{"type": "user-message", "content": "a\\u0000b"}', "invalid_field"),
    ('{"type": "user-message", "content": "\\ud800"}', "invalid_field"),
    ("[" * 32_000 + "]" * 32_000, "invalid_json"),
    ('{"type": "ping", "n": ' + "9" * 5_000 + "}", "invalid_json"),
]


async def test_bad_frames_get_error_events_and_the_socket_stays_open(providers, session):
    client = LiveClient.for_session(session.id)
    await client.connect()
    for frame, code in BAD_FRAMES + HOSTILE_FRAMES:
        await client.send_raw(frame)
        error = await client.expect("error")
        assert error["code"] == code, frame[:60]
        assert error["message"]
    await client.send_audio(b"\x00" * (64 * 1024 + 2))
    assert (await client.expect("error"))["code"] == "audio_frame_too_large"
    await client.send_audio(b"\x00" * 3)
    assert (await client.expect("error"))["code"] == "invalid_audio"
    await client.send(type="ping")
    await client.expect("pong")
    assert await messages(session) == []
    await client.disconnect()


async def test_audio_without_a_transcriber_is_an_error(providers, session, settings):
    settings.OPENAI_API_KEY = settings.OPENAI_BASE_URL = ""  # no STT credentials at all
    client = LiveClient.for_session(session.id)
    connected = await client.connect()
    assert connected["audio"]["input"] is None
    await client.send_audio(silence_pcm(0.1))
    assert (await client.expect("error"))["code"] == "no_transcriber"
    await client.send(type="audio-commit")
    assert (await client.expect("error"))["code"] == "no_transcriber"
    await client.disconnect()


async def test_message_flood_is_rate_limited(providers, session, settings):
    settings.WS_MESSAGES_PER_SECOND = 5
    client = LiveClient.for_session(session.id)
    await client.connect()
    for _ in range(30):
        await client.send(type="ping")
    await client.expect("error")
    assert any(e["code"] == "rate_limited" for e in client.of_type("error"))
    await client.disconnect()


# ---- provider faults ------------------------------------------------------------------------


async def test_llm_failing_before_first_token_keeps_user_message_and_session(providers, session):
    providers.script_chat({"fault": "500", "times": 3}, {"text": "Back again."})
    client = LiveClient.for_session(session.id)
    await client.connect()
    await client.send(type="user-message", content="Hello?")
    error = await client.expect("error", timeout=10)
    assert error["code"] == "provider_unavailable"
    assert "sk-sim" not in str(client.events)
    await client.send(type="user-message", content="Try again")
    assert (await client.expect("assistant-message"))["content"] == "Back again."
    stored = await messages(session)
    assert stored[0] == ("user", "Hello?") and stored[-1] == ("assistant", "Back again.")
    await client.disconnect()


async def test_llm_rate_limit_is_retried_transparently(providers, session):
    providers.script_chat({"fault": "429"}, {"text": "Fine."})
    client = LiveClient.for_session(session.id)
    await client.connect()
    await client.send(type="user-message", content="Hi")
    assert (await client.expect("assistant-message", timeout=10))["content"] == "Fine."
    assert not client.of_type("error")
    await client.disconnect()


async def test_stream_breaking_mid_reply_stores_partial_and_reports(providers, session):
    providers.script_chat(
        {
            "text": "Sure, this reply will break halfway through.",
            "fault": "break",
            "after_tokens": 3,
        }
    )
    client = LiveClient.for_session(session.id)
    await client.connect()
    await client.send(type="user-message", content="Go")
    assert (await client.expect("error", timeout=10))["code"] == "provider_unavailable"
    stored = await messages(session)
    assert stored[0] == ("user", "Go") and stored[1][0] == "assistant"
    await client.disconnect()


async def test_tts_failure_still_delivers_the_text(providers, session):
    providers.script_tts({"fault": "500", "times": 10})
    providers.script_chat({"text": "Sure, text without audio."})
    client = LiveClient.for_session(session.id)
    await client.connect()
    await client.send(type="user-message", content="Speak")
    final = await client.expect("assistant-message", timeout=10)
    assert final["content"] == "Sure, text without audio."
    assert any(e["code"] == "tts_unavailable" for e in client.of_type("error"))
    assert client.audio_bytes() == 0
    await client.disconnect()


# ---- audio in -------------------------------------------------------------------------------


async def test_spoken_utterance_is_transcribed_and_answered(providers, session):
    providers.script_transcription("What time is it?")
    providers.script_chat({"text": "Sure, it is noon."})
    client = LiveClient.for_session(session.id)
    await client.connect()
    audio = silence_pcm(0.2) + voiced_pcm(0.8) + silence_pcm(0.8)
    for i in range(0, len(audio), 640):
        await client.send_audio(audio[i : i + 640])
    await client.expect("speech-started")
    await client.expect("speech-stopped")
    transcript = await client.expect("transcript")
    assert transcript == {
        **transcript,
        "role": "user",
        "content": "What time is it?",
        "final": True,
    }
    final = await client.expect("assistant-message")
    assert final["latency"]["stt_ms"] is not None
    assert final["usage"]["stt_audio_seconds"] > 0.8
    assert await messages(session) == [
        ("user", "What time is it?"),
        ("assistant", "Sure, it is noon."),
    ]
    wav = providers.requests(path="/v1/audio/transcriptions")
    assert len(wav) == 1
    await client.disconnect()


async def test_push_to_talk_commit_ends_the_utterance(providers, session):
    providers.script_transcription("Push to talk works.")
    client = LiveClient.for_session(session.id)
    await client.connect()
    await client.send_audio(voiced_pcm(0.5))
    await client.send(type="audio-commit")
    assert (await client.expect("transcript"))["content"] == "Push to talk works."
    await client.expect("assistant-message")
    await client.disconnect()


async def test_speech_while_assistant_talks_barges_in(providers, session):
    providers.configure(llm_token_ms=20, tts_realtime=True, tts_chunk_ms=40)
    providers.script_chat({"text": "Sure, this is a long reply that will be cut. " * 4})
    client = LiveClient.for_session(session.id)
    await client.connect()
    await client.send(type="user-message", content="Talk")
    await client.expect("audio-start")
    audio = voiced_pcm(0.4)
    for i in range(0, len(audio), 640):
        await client.send_audio(audio[i : i + 640])
    await client.expect("speech-started")
    await client.expect("clear")
    await client.disconnect()


# ---- ending ---------------------------------------------------------------------------------


async def test_end_session_marks_it_ended_and_closes_1000(providers, session):
    client = LiveClient.for_session(session.id)
    await client.connect()
    await client.send(type="end-session")
    assert (await client.expect("session-ended"))["reason"] == "user-ended"
    assert await client.next() == ("close", 1000)
    assert (await fresh(session)).status == "ended"


async def test_end_from_anywhere_through_the_channel_layer(providers, session):
    client = LiveClient.for_session(session.id)
    await client.connect()
    await get_channel_layer().group_send(
        session_group(session.id), {"type": "session.end", "reason": "ended-by-api"}
    )
    assert (await client.expect("session-ended"))["reason"] == "ended-by-api"
    assert (await fresh(session)).ended_reason == "ended-by-api"


async def test_silence_timeout_ends_the_session(providers, session, assistant):
    assistant.silence_timeout_seconds = 1
    await save(assistant)
    client = LiveClient.for_session(session.id)
    await client.connect()
    ended = await client.expect("session-ended", timeout=4)
    assert ended["reason"] == "silence-timeout"
    assert (await fresh(session)).ended_reason == "silence-timeout"


async def test_interrupt_when_disabled_is_an_error(providers, session, assistant):
    assistant.interruptions_enabled = False
    await save(assistant)
    client = LiveClient.for_session(session.id)
    await client.connect()
    await client.send(type="interrupt")
    assert (await client.expect("error"))["code"] == "interruptions_disabled"
    await asyncio.sleep(0)
    await client.disconnect()


# ---- secrets --------------------------------------------------------------------------------


async def test_no_secret_reaches_the_client_over_a_full_session(providers, session, private_key):
    providers.script_chat(
        {"fault": "401"},
        {"tool_calls": [{"name": "current_time", "arguments": {}}]},
        {"text": "Sure, done."},
    )
    providers.script_transcription("Hello")
    client = LiveClient.for_session(session.id)
    await client.connect()
    await client.send(type="user-message", content="First")
    await client.expect("error", timeout=10)
    await client.send(type="user-message", content="Second")
    final = await client.expect("assistant-message")
    while final["content"] != "Sure, done.":
        final = await client.expect("assistant-message")
    await client.send_audio(voiced_pcm(0.3))
    await client.send(type="audio-commit")
    await client.expect("transcript")
    await client.expect("assistant-message")
    await client.send(type="end-session")
    await client.expect("session-ended")
    seen = "\n".join(str(value) for _, value in client.frames)
    token = client.comm.scope["query_string"].decode().split("token=")[1]
    for secret in ("sk-sim-openai-secret", "xi-sim-elevenlabs-secret", private_key[1], token):
        assert secret not in seen


async def test_a_stalled_model_fails_the_turn_at_the_first_token_timeout(
    providers, session, settings
):
    settings.LLM_FIRST_TOKEN_TIMEOUT_SECONDS = 0.5
    providers.script_chat({"fault": "stall", "times": 5})
    client = LiveClient.for_session(session.id)
    await client.connect()
    started = asyncio.get_running_loop().time()
    await client.send(type="user-message", content="Hello?")
    error = await client.expect("error", timeout=5)
    assert error["code"] == "provider_unavailable" and "timeout" in error["message"]
    assert asyncio.get_running_loop().time() - started < 3  # not 3 attempts x 10 s
    assert await messages(session) == [("user", "Hello?")]  # no empty assistant message
    await client.disconnect()


async def test_a_session_ended_after_its_look_up_is_not_revived(providers, session):
    """Ended between a transport's look-up and the session's start (POST /end/ or expiry on
    another process): start refuses, and nothing is sent or stored."""
    from sessions.runtime import store
    from sessions.runtime.session import LiveSession, SessionOver
    from sessions.runtime.text_turn import CollectingSink
    from sessions.services import session_end

    context = await store.load_context(session.id)
    await database_sync_to_async(session_end)(session_id=session.id, reason="ended-by-api")
    sink = CollectingSink()
    with pytest.raises(SessionOver):
        await LiveSession(sink).start(context)
    assert sink.events == []
    assert await messages(session) == []
