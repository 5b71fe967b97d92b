"""A new user's first visit, in a real browser: sign in, build an assistant without JSON, talk
to it by voice and by typing, read the stored conversation with its latencies.

Each page is photographed on the way (for docs/DASHBOARD.md: ``SCREENSHOT_DIR=docs/screenshots``
writes them there; otherwise into the test's temporary folder, where a failure leaves them).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from assistants.models import Assistant, Membership
from sessions.models import Message, Session
from tests.browser.test_chat import WAIT_MS, log_in, wait_for_stat
from tests.factories import MembershipFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def owner(transactional_db, org) -> Membership:
    return MembershipFactory(organization=org, role=Membership.Role.OWNER)


@pytest.fixture
def shots(tmp_path: Path):
    folder = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)

    def shoot(page: Page, name: str, *, full_page: bool = False) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        assert path.stat().st_size > 10_000, f"{name}: a blank page?"
        return path

    return shoot


def nav(page: Page, section: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name=section, exact=True
    ).click()


def build_assistant(page: Page, shoot) -> Assistant:
    """Every kind of structured editor of the builder, then Create."""
    nav(page, "Assistants")
    page.get_by_role("link", name="New assistant").click()
    page.get_by_label("Name", exact=True).fill("Front Desk")
    page.get_by_label("First message").fill("")
    page.get_by_label("System prompt").fill("You answer the front desk's phone. Be brief.")
    page.locator("input[name=tools][value=current_time]").check()
    page.get_by_label("Set speed").check()
    page.locator("#id_voice_settings_speed").fill("1.1")
    expect(page.locator("#id_voice_settings_speed_value")).to_have_text("1.10")
    page.get_by_label("Phrase 1", exact=True).fill("goodbye")
    page.get_by_role("button", name="Add a phrase").click()
    page.get_by_label("Phrase 2", exact=True).fill(
        "see you"
    )  # added rows are numbered for screen readers
    page.get_by_role("button", name="Remove phrase 2").click()
    page.get_by_label("Key 1").fill("team")
    page.get_by_label("Value 1").fill("support")
    shoot(page, "assistant-builder", full_page=True)
    page.get_by_role("button", name="Create assistant").click()
    expect(page.locator(".message.success")).to_contain_text("Front Desk is ready")
    return Assistant.objects.unscoped().get(name="Front Desk")


def test_a_new_user_builds_an_assistant_talks_to_it_and_reads_the_conversation(
    page: Page, chat_server, sims, owner, shots
):
    page.goto(f"{chat_server.http}/")
    expect(page).to_have_url(f"{chat_server.http}/accounts/login/?next=/")
    shots(page, "sign-in")
    log_in(page, chat_server, owner)

    assistant = build_assistant(page, shots)
    assert assistant.organization_id == owner.organization_id
    assert assistant.tools == [{"name": "current_time"}]
    assert assistant.voice_settings == {"speed": 1.1}
    assert assistant.end_call_phrases == ["goodbye"]
    assert assistant.metadata == {"team": "support"}

    nav(page, "Assistants")
    shots(page, "assistants")
    page.get_by_role("row").filter(has_text="Front Desk").get_by_role(
        "link", name="Talk to it"
    ).click()
    page.click("#chat-start")  # hands-free: the microphone hears the WAV of speech
    user = page.locator(".turn.user").first
    expect(user).to_contain_text("I said something for", timeout=WAIT_MS)
    reply = page.locator(".turn.assistant").first
    expect(reply).to_contain_text("You said:", timeout=WAIT_MS)
    wait_for_stat(page, "s.nonSilentSamplesPlayed > 24000 * 0.2")  # heard, not just received
    page.click("#chat-interrupt")  # barge in by the button
    wait_for_stat(page, "s.clears >= 1")
    page.fill("#chat-text", "Thanks, that is all.")
    page.press("#chat-text", "Enter")
    expect(page.locator(".turn.user").last).to_contain_text("Thanks, that is all.")
    expect(page.locator(".turn.assistant").last.locator(".latency")).to_contain_text(
        "first audio", timeout=WAIT_MS
    )
    shots(page, "test-chat", full_page=True)
    page.click("#chat-end")
    expect(page.locator("#chat-session-href")).to_be_visible()

    session = Session.objects.unscoped().get(assistant=assistant)
    stored = Message.objects.unscoped().filter(session=session)
    assert stored.filter(role="user", content="Thanks, that is all.").exists()
    assert stored.filter(role="assistant").exclude(latency={}).exists()
    cut = stored.get(role="assistant", interrupted=True)  # the page shows what was heard
    shown = reply.locator(".text").inner_text()
    assert shown == (cut.content or "(cut off before a word was heard)"), (shown, cut.content)

    page.click("#chat-session-href")
    expect(page).to_have_url(f"{chat_server.http}/sessions/{session.id}/")
    expect(page.get_by_text("Thanks, that is all.").first).to_be_visible()
    expect(page.locator('[role=img][aria-label^="Latency:"]').first).to_be_visible()
    shots(page, "session-detail", full_page=True)

    for name, link in [
        ("sessions", "Sessions"),
        ("overview", "Overview"),
        ("members", "Members"),
        ("api-keys", "API keys"),
        ("integrations", "Integrations"),
        ("discord", "Discord"),
    ]:
        nav(page, link)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        shots(page, name, full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    nav(page, "Sessions")
    shots(page, "phone-sessions")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1  # no sideways scroll
