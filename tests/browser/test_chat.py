"""The test chat in a real browser: microphone (a WAV of speech), WebSocket, playback."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from sessions.models import Message, Session
from tests.browser.conftest import log_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

WAIT_MS = 15_000


def open_chat(page: Page, server, membership, assistant, *, mode: str = "hands-free") -> None:
    log_in(page, server, membership)
    page.goto(f"{server.http}/assistants/{assistant.pk}/chat/")
    page.check(f"input[name=chat-mode][value={mode}]")
    page.click("#chat-start")
    page.wait_for_function("() => window.chatStats.connected", timeout=WAIT_MS)


def stat(page: Page, name: str):
    return page.evaluate(f"window.chatStats.{name}")


def wait_for_stat(page: Page, condition: str) -> None:
    script = f"() => {{ const s = window.chatStats; return {condition}; }}"
    page.wait_for_function(script, timeout=WAIT_MS)


def test_speaking_hands_free_gets_a_transcript_and_a_spoken_streamed_reply(
    page: Page, chat_server, sims, member, voice_assistant
):
    open_chat(page, chat_server, member, voice_assistant)

    expect(page.locator("#chat-simulated")).to_contain_text("Simulated providers")
    user = page.locator(".turn.user")
    expect(user.first).to_contain_text("I said something for", timeout=WAIT_MS)
    reply = page.locator(".turn.assistant").first
    expect(reply).to_contain_text("You said: I said something for", timeout=WAIT_MS)
    wait_for_stat(page, "s.nonSilentSamplesPlayed > 24000 * 0.2")
    assert stat(page, "framesSent") > 50
    expect(reply.locator(".latency")).to_contain_text("STT", timeout=WAIT_MS)
    expect(reply.locator(".latency")).to_contain_text("first audio")
    session = Session.objects.unscoped().get(assistant=voice_assistant)
    assert session.channel == Session.Channel.WEB
    assert session.metadata["started_by_user_id"] == member.user_id
    transcription = sims.requests(path="/v1/audio/transcriptions")
    assert transcription, "the server sent the browser's speech to the simulated STT"
    assert Message.objects.unscoped().filter(session=session, role="user").exists()
