"""The test chat in a real browser: microphone (a WAV of speech), WebSocket, playback."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Page, expect
from websockets.sync.client import ClientConnection, connect

from assistants.models import Membership
from sessions.models import Message, Session
from sessions.tokens import ws_path_for
from tests.fixtures.servers import Server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

WAIT_MS = 15_000
PASSWORD = "correct-horse-battery"  # tests/factories.py UserFactory
FULL_REPLY = "Sure, I would be happy to help with that. You said: I said something for"


def log_in(page: Page, server: Server, membership: Membership) -> None:
    """Through the sign-in form, as a person would."""
    page.goto(f"{server.http}/accounts/login/")
    page.fill("input[name=login]", membership.user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.http}/")


def open_chat(
    page: Page, server: Server, membership: Membership, assistant, *, mode: str = "hands-free"
) -> None:
    """Sign in, then "Talk to it" from the assistants list, and start in this mode."""
    log_in(page, server, membership)
    page.goto(f"{server.http}/assistants/")
    row = page.get_by_role("row").filter(has_text=assistant.name)
    row.get_by_role("link", name="Talk to it").click()
    expect(page).to_have_url(f"{server.http}/assistants/{assistant.pk}/chat/")
    page.check(f"input[name=chat-mode][value={mode}]")
    page.click("#chat-start")
    page.wait_for_function("() => window.chatStats.connected", timeout=WAIT_MS)


def stat(page: Page, name: str):
    return page.evaluate(f"window.chatStats.{name}")


def wait_for_stat(page: Page, condition: str) -> None:
    script = f"() => {{ const s = window.chatStats; return {condition}; }}"
    page.wait_for_function(script, timeout=WAIT_MS)


def test_hands_free_speech_gets_a_transcript_a_spoken_streamed_reply_and_can_barge_in(
    page: Page, chat_server, sims, member, voice_assistant
):
    open_chat(page, chat_server, member, voice_assistant)

    expect(page.locator("#chat-simulated")).to_contain_text("Simulated providers")
    user = page.locator(".turn.user")
    expect(user.first).to_contain_text("I said something for", timeout=WAIT_MS)
    # The simulated STT tells how long the utterance it received was: the ~1.9 s of speech,
    # plus the VAD's pre-roll and closing silence. At a wrong rate it would be 3x off.
    said = re.search(r"for ([\d.]+) seconds", user.first.inner_text())
    assert said is not None and 1.8 <= float(said.group(1)) <= 3.5, said
    reply = page.locator(".turn.assistant").first
    expect(reply).to_contain_text("You said: I said something for", timeout=WAIT_MS)
    wait_for_stat(page, "s.nonSilentSamplesPlayed > 24000 * 0.2")
    assert stat(page, "framesSent") > 50
    assert stat(page, "peakMicLevel") > 0.01  # the level meter saw the speech
    expect(reply.locator(".latency")).to_contain_text("STT", timeout=WAIT_MS)
    expect(reply.locator(".latency")).to_contain_text("first audio")
    session = Session.objects.unscoped().get(assistant=voice_assistant)
    expect(page.locator("#chat-session-href")).to_have_attribute("href", f"/sessions/{session.id}/")
    assert session.channel == Session.Channel.WEB
    assert session.metadata["started_by_user_id"] == member.user_id
    assert sims.requests(path="/v1/audio/transcriptions"), "the browser's speech reached STT"

    # The microphone says the question again ~8.8 s after it started, over the ~15 s reply:
    # the server's VAD hears it, stops the reply and sends `clear`; the page drops its queue.
    wait_for_stat(page, "s.clears >= 1")
    assert stat(page, "interruptsSent") == 0  # no button: the voice did it
    assert stat(page, "lastClearDropped") > 0  # queued audio was dropped, never played
    expect(reply.locator(".badge")).to_have_text("interrupted")
    stored = stored_reply(voice_assistant, interrupted=True)
    assert FULL_REPLY.startswith(stored.content[:20]) and len(stored.content) < 200, stored.content


def test_streaming_transcription_shows_live_captions_that_become_the_stored_words(
    page: Page, chat_server, sims, member, voice_assistant
):
    voice_assistant.transcriber_provider = "elevenlabs"
    voice_assistant.transcriber_mode = "streaming"
    voice_assistant.transcriber_model = "scribe_v2_realtime"
    voice_assistant.save()
    open_chat(page, chat_server, member, voice_assistant)

    caption = page.locator(".turn.user.live")
    expect(caption.first).to_contain_text("I said something for", timeout=WAIT_MS)
    assert caption.first.get_attribute("aria-busy") == "true"  # not read out word by word
    user = page.locator(".turn.user").first
    expect(user).not_to_have_class(re.compile(r"\blive\b"), timeout=WAIT_MS)
    reply = page.locator(".turn.assistant").first
    expect(reply).to_contain_text("You said: I said something for", timeout=WAIT_MS)
    stored = Message.objects.unscoped().filter(session__assistant=voice_assistant, role="user")
    first = stored.order_by("sequence").first()
    assert first is not None
    assert user.get_attribute("data-message-id") == str(first.id)  # captions and words: one bubble
    assert user.locator("p").inner_text() == first.content
    assert sims.requests(path="/v1/speech-to-text/realtime"), "the speech streamed to Scribe"


def test_the_interrupt_button_stops_playback_at_once_and_the_reply_is_stored_as_heard(
    page: Page, chat_server, member, voice_assistant
):
    open_chat(page, chat_server, member, voice_assistant)
    wait_for_stat(page, "s.samplesPlayed > 24000 * 0.5")  # half a second of the reply played

    page.click("#chat-interrupt")

    wait_for_stat(page, "s.clears >= 1 && s.bufferedSamples === 0 && s.interruptsSent === 1")
    played = stat(page, "samplesPlayed")
    page.wait_for_timeout(400)  # a playing reply would add ~9,600 samples meanwhile
    assert stat(page, "samplesPlayed") == played
    expect(page.locator(".turn.assistant.interrupted .badge")).to_have_text("interrupted")
    reply = stored_reply(voice_assistant, interrupted=True)
    assert len(reply.content) < len(FULL_REPLY), reply.content  # cut to what was heard (~0.5 s)
    assert stat(page, "marksSent") >= 1


def stored_reply(assistant, *, interrupted: bool, timeout_s: float = 10) -> Message:
    """The assistant's stored reply, once the server has written it so."""
    deadline = time.monotonic() + timeout_s
    replies = Message.objects.unscoped().filter(session__assistant=assistant, role="assistant")
    while time.monotonic() < deadline:
        reply = replies.filter(interrupted=interrupted).first()
        if reply is not None:
            return reply
        time.sleep(0.1)
    raise AssertionError(f"no stored reply with interrupted={interrupted}: {list(replies)}")


def test_a_typed_message_gets_its_reply_with_tool_calls_inline_and_provider_errors_shown(
    page: Page, chat_server, sims, member, voice_assistant
):
    sims.script_chat(
        {"tool_calls": [{"name": "current_time", "arguments": {"timezone": "Europe/Paris"}}]}
    )
    open_chat(page, chat_server, member, voice_assistant, mode="push-to-talk")

    page.fill("#chat-text", "What time is it in Paris?")
    page.press("#chat-text", "Enter")

    expect(page.locator(".turn.user")).to_contain_text("What time is it in Paris?")
    tool = page.locator(".tool")
    expect(tool).to_contain_text("current_time")
    expect(tool).to_contain_text("Europe/Paris")
    expect(tool.locator(".result")).to_contain_text("→", timeout=WAIT_MS)
    answer = page.locator(".turn.assistant").last
    expect(answer).to_contain_text("Okay, I checked that.", timeout=WAIT_MS)
    expect(answer.locator(".latency")).to_contain_text("LLM first token", timeout=WAIT_MS)
    assert stat(page, "framesSent") == 0  # push to talk, never held

    sims.script_chat({"fault": "500", "times": 3})
    page.fill("#chat-text", "And now?")
    page.press("#chat-text", "Enter")
    expect(page.locator("#chat-alert")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#chat-alert-text")).to_contain_text("provider_unavailable")

    page.click("#chat-end")
    expect(page.locator("#chat-status")).to_have_text("The session ended (user-ended).")
    expect(page.locator("#chat-start")).to_be_enabled()
    session = Session.objects.unscoped().get(assistant=voice_assistant)
    assert session.status == Session.Status.ENDED

    page.click("#chat-session-href")  # the stored conversation, with its latencies
    expect(page).to_have_url(f"{chat_server.http}/sessions/{session.id}/")
    expect(page.get_by_text("What time is it in Paris?").first).to_be_visible()
    expect(page.locator('[role=img][aria-label^="Latency:"]').first).to_be_visible()


def test_push_to_talk_sends_audio_only_while_held_then_commits_the_utterance(
    page: Page, chat_server, sims, member, voice_assistant
):
    open_chat(page, chat_server, member, voice_assistant, mode="push-to-talk")
    talk = page.locator("#chat-talk")
    expect(talk).to_be_focused()  # Space works at once
    page.wait_for_timeout(300)  # the microphone runs, but nothing is sent until held
    assert stat(page, "framesSent") == 0

    talk.hover()
    page.mouse.down()
    expect(talk).to_have_attribute("aria-pressed", "true")
    wait_for_stat(page, "s.framesSent >= 50")  # a second of speech, still mid-sentence
    page.mouse.up()

    wait_for_stat(page, "s.commitsSent === 1")
    sent = stat(page, "framesSent")
    # Released mid-sentence: only the commit can end this utterance (the VAD never heard
    # its end), so the transcript proves the server took the audio-commit.
    expect(page.locator(".turn.user").first).to_contain_text(
        "I said something for", timeout=WAIT_MS
    )
    assert stat(page, "framesSent") == sent
    assert sims.requests(path="/v1/audio/transcriptions")

    page.keyboard.down("Space")  # the keyboard way: Space held on the focused button
    expect(talk).to_have_attribute("aria-pressed", "true")
    wait_for_stat(page, f"s.framesSent >= {sent + 10}")
    page.keyboard.up("Space")
    expect(talk).to_have_attribute("aria-pressed", "false")
    wait_for_stat(page, "s.commitsSent === 2")


def test_a_denied_microphone_says_so_and_typing_still_works(
    browser_without_consent, chat_server, member, voice_assistant
):
    page = browser_without_consent.new_page()
    open_chat(page, chat_server, member, voice_assistant)

    expect(page.locator("#chat-alert-text")).to_contain_text("Microphone access was denied")
    page.fill("#chat-text", "Typing instead")
    page.press("#chat-text", "Enter")
    expect(page.locator(".turn.assistant").first).to_contain_text(
        "You said: Typing instead", timeout=WAIT_MS
    )
    assert stat(page, "framesSent") == 0


def test_an_outsider_gets_404_for_the_chat_and_its_session_endpoint(
    page: Page, chat_server, outsider, voice_assistant
):
    log_in(page, chat_server, outsider)
    chat = f"{chat_server.http}/assistants/{voice_assistant.pk}/chat/"

    response = page.goto(chat)
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    refused = page.request.post(f"{chat}session/", headers={"X-CSRFToken": token})

    assert response is not None and response.status == 404
    assert refused.status == 404
    assert not Session.objects.unscoped().filter(assistant=voice_assistant).exists()


@contextmanager
def another_connection(server, session_id: str) -> Iterator[ClientConnection]:
    """A second live connection to the session (say, another tab): it takes the session over."""
    with connect(server.ws + ws_path_for(uuid.UUID(session_id))) as ws:
        while json.loads(ws.recv(timeout=10))["type"] != "connected":
            pass
        yield ws


def test_a_lost_connection_resumes_the_same_session_or_a_new_one_once_it_ended(
    page: Page, chat_server, member, voice_assistant
):
    open_chat(page, chat_server, member, voice_assistant, mode="push-to-talk")
    first = stat(page, "sessionId")
    resume = page.locator("#chat-resume")

    with another_connection(chat_server, first):
        expect(page.locator("#chat-alert-text")).to_contain_text("opened somewhere else")
        resume.click()
        wait_for_stat(page, "s.connected")
    assert stat(page, "sessionId") == first
    expect(page.locator("#chat-alert")).to_be_hidden()

    with another_connection(chat_server, first) as other:
        expect(resume).to_be_visible()
        other.send(json.dumps({"type": "end-session"}))
        while json.loads(other.recv(timeout=10))["type"] != "session-ended":
            pass
    resume.click()
    wait_for_stat(page, f"s.connected && s.sessionId !== '{first}'")
    expect(page.locator(".notice").last).to_contain_text("That session had ended")
    assert Session.objects.unscoped().filter(assistant=voice_assistant).count() == 2

    second = stat(page, "sessionId")
    page.goto("about:blank")  # leaving the page ends its conversation
    ended = Session.objects.unscoped().filter(pk=second, ended_reason="user-ended")
    deadline = time.monotonic() + 10
    while not ended.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ended.exists()


RESAMPLE = """async ({ url, frequency }) => {
  const context = new OfflineAudioContext(1, 48000, 48000);  // one second at 48 kHz
  await context.audioWorklet.addModule(url);
  const frames = [];
  const capture = new AudioWorkletNode(context, "pcm16-capture", { numberOfOutputs: 0 });
  capture.port.onmessage = ({ data }) => frames.push(new Int16Array(data.pcm));
  const tone = new OscillatorNode(context, { frequency });
  const gain = new GainNode(context, { gain: 0.5 });
  tone.connect(gain).connect(capture);
  tone.start();
  await context.startRendering();
  await new Promise((resolve) => setTimeout(resolve, 200));  // the last frames' messages
  const samples = frames.flatMap((frame) => Array.from(frame)).slice(320);  // past the onset
  let crossings = 0;
  for (let i = 1; i < samples.length; i++) {
    if ((samples[i - 1] < 0) !== (samples[i] < 0)) crossings++;
  }
  const rms = Math.sqrt(samples.reduce((sum, s) => sum + s * s, 0) / samples.length) / 32768;
  return { sizes: [...new Set(frames.map((f) => f.length))], count: frames.length,
           seconds: samples.length / 16000, crossings, rms };
}"""


def test_the_capture_worklet_resamples_48_khz_to_16_khz_frames(page: Page, chat_server):
    page.goto(f"{chat_server.http}/accounts/login/")  # any page of ours: same-origin module
    url = f"{chat_server.http}/static/frontend/chat/capture-worklet.js"

    speech_band = page.evaluate(RESAMPLE, {"url": url, "frequency": 440})
    above_nyquist = page.evaluate(RESAMPLE, {"url": url, "frequency": 12_000})

    assert speech_band["sizes"] == [320]  # 20 ms frames of 16 kHz PCM16: 640 bytes
    assert 49 <= speech_band["count"] <= 50  # one second of audio makes 50 frames
    crossings_per_second = speech_band["crossings"] / speech_band["seconds"]
    assert abs(crossings_per_second - 880) < 10  # still 440 Hz after resampling
    assert speech_band["rms"] == pytest.approx(0.5 / 2**0.5, rel=0.05)  # level kept
    assert above_nyquist["rms"] < 0.4 * speech_band["rms"]  # low-passed before decimation
