"""Sessions: the list with its filters, a session's transcript, live updates and ending one."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from assistants.models import Membership
from sessions.models import Session
from tests.factories import AssistantFactory, MembershipFactory, SessionFactory, append_message
from tests.frontend.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def assistant(org):
    return AssistantFactory(organization=org, name="Front desk")


@pytest.fixture
def conversation(assistant):
    """An ended session: a greeting, a question, a tool call and its result, a follow-up,
    and a reply the caller cut short."""
    started = datetime(2026, 3, 15, 9, 0, tzinfo=UTC)
    session = SessionFactory(
        assistant=assistant,
        status=Session.Status.ENDED,
        channel=Session.Channel.WEB,
        started_at=started,
        ended_at=started + timedelta(minutes=2, seconds=5),
        ended_reason="user-ended",
        metadata={"customer": "c-42"},
    )
    say = {"session_id": session.id}
    append_message(
        **say, role="assistant", content="Hi, how can I help?", latency=timing(None, 310, 120, 505)
    )
    append_message(**say, role="user", content="Add milk to my list", latency={"stt_ms": 180.0})
    call = {"id": "call_1", "name": "notion_append", "arguments": '{"text": "milk"}'}
    usage = {"prompt_tokens": 40, "completion_tokens": 9, "tts_characters": 0}
    append_message(
        **say,
        role="assistant",
        content="",
        latency=timing(180, 420, None, None),
        tool_calls=[{**call, "executed": True}],
        usage={**usage, "stt_audio_seconds": 1.5},
    )
    append_message(
        **say,
        role="tool",
        content='{"ok": true, "result": {"block_id": "b-77"}}',
        tool_call_id="call_1",
    )
    append_message(
        **say,
        role="assistant",
        content="Milk is on your list.",
        latency=timing(180, 390, 140, 1650),
    )
    append_message(**say, role="user", content="Thanks, and")
    append_message(
        **say,
        role="assistant",
        content="You're welc",
        interrupted=True,
        latency=timing(None, 200, 90, 380),
    )
    return session


def timing(stt, llm, tts, first_audio):
    return {"stt_ms": stt, "llm_ttft_ms": llm, "tts_ttfb_ms": tts, "first_audio_ms": first_audio}


def detail(client, session):
    return client.get(f"/sessions/{session.pk}/")


# ---- the list ----------------------------------------------------------------------------


def test_the_list_shows_only_the_organizations_sessions(member_client, assistant, other_org):
    ours = SessionFactory(assistant=assistant)
    theirs = SessionFactory(assistant=AssistantFactory(organization=other_org, name="Rival bot"))
    page = member_client.get("/sessions/").content.decode()
    assert f"/sessions/{ours.pk}/" in page
    assert f"/sessions/{theirs.pk}/" not in page
    assert "Rival bot" not in page


def test_the_list_is_filtered_by_assistant_status_channel_and_date(member_client, org, assistant):
    other = AssistantFactory(organization=org, name="Sales")
    wanted = SessionFactory(
        assistant=assistant, status=Session.Status.FAILED, channel=Session.Channel.WEB
    )
    others = [
        SessionFactory(assistant=other, status=Session.Status.FAILED, channel=Session.Channel.WEB),
        SessionFactory(
            assistant=assistant, status=Session.Status.ENDED, channel=Session.Channel.WEB
        ),
        SessionFactory(
            assistant=assistant, status=Session.Status.FAILED, channel=Session.Channel.API
        ),
    ]
    old = SessionFactory(
        assistant=assistant, status=Session.Status.FAILED, channel=Session.Channel.WEB
    )
    Session.objects.for_org(org).filter(pk=old.pk).update(
        created_at=datetime(2025, 1, 10, tzinfo=UTC)
    )
    today = datetime.now(UTC).date().isoformat()
    query = {"assistant": assistant.pk, "status": "failed", "channel": "web", "created_from": today}
    page = member_client.get("/sessions/", query).content.decode()
    assert f"/sessions/{wanted.pk}/" in page
    for session in [*others, old]:
        assert f"/sessions/{session.pk}/" not in page
    january = member_client.get(
        "/sessions/", {"created_from": "2025-01-10", "created_to": "2025-01-10"}
    )
    assert re.findall(r'href="/sessions/([0-9a-f-]{36})/"', january.content.decode()) == [
        str(old.pk)
    ]


def test_bad_filters_are_shown_with_their_errors_and_ignored(member_client, assistant, other_org):
    SessionFactory(assistant=assistant)
    foreign = AssistantFactory(organization=other_org)
    response = member_client.get(
        "/sessions/",
        {
            "assistant": foreign.pk,
            "status": "nope",
            "created_from": "2026-02-10",
            "created_to": "2026-02-01",
        },
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {"assistant", "status", "created_to"}
    page = response.content.decode()
    assert "The end date is before the start date." in page
    assert "Select a valid choice" in page
    assert response.context["page"].paginator.count == 1  # the bad filters were left out


def test_an_htmx_request_gets_the_table_only(member_client, assistant):
    SessionFactory(assistant=assistant)
    response = member_client.get(
        "/sessions/", {"status": "created"}, headers={"HX-Request": "true"}
    )
    page = response.content.decode()
    assert page.startswith('<div id="session-results">')
    assert "<html" not in page
    assert "1 session" in page
    full = member_client.get("/sessions/").content.decode()
    assert 'hx-get="/sessions/"' in full and 'hx-target="#session-results"' in full


def test_the_list_is_paginated(member_client, assistant):
    for _ in range(27):
        SessionFactory(assistant=assistant, channel=Session.Channel.WEB)
    first = member_client.get("/sessions/", {"channel": "web"})
    assert len(first.context["page"]) == 25
    page = first.content.decode()
    assert "Page 1 of 2" in page
    assert "?channel=web&amp;page=2" in page
    second = member_client.get("/sessions/", {"channel": "web", "page": 2})
    assert len(second.context["page"]) == 2
    assert member_client.get("/sessions/", {"page": "x"}).status_code == 200


# ---- the detail --------------------------------------------------------------------------


def test_the_detail_shows_the_transcript_as_a_conversation(member_client, conversation):
    page = detail(member_client, conversation).content.decode()
    for text in [
        "Hi, how can I help?",
        "Add milk to my list",
        "Milk is on your list.",
        "You&#x27;re welc",
    ]:
        assert text in page
    assert page.count('class="bubble user') == 2
    assert page.count('class="bubble assistant') == 4
    assert 'class="bubble assistant interrupted"' in page
    assert "cut short by the caller" in page
    assert "after the tool results" in page  # the follow-up reply
    assert "The caller ended it" in page and "2 min 05 s" in page
    assert "c-42" in page  # metadata


def test_tool_calls_are_expandable_with_arguments_and_result(member_client, conversation):
    page = detail(member_client, conversation).content.decode()
    call = re.search(r'<details class="tool-call">.*?</details>', page, re.S).group(0)
    assert "notion_append" in call
    assert "&quot;text&quot;: &quot;milk&quot;" in call
    assert "&quot;block_id&quot;: &quot;b-77&quot;" in call
    assert 'class="badge ok"' in call
    assert 'class="bubble tool' not in page  # the result sits with its call


def test_latency_is_shown_as_stacked_bars_with_numbers(member_client, conversation):
    page = detail(member_client, conversation).content.decode()
    bar = re.search(r'<div class="bars" role="img" aria-label="([^"]*)">(.*?)</div>', page, re.S)
    label = (
        "Latency: Model first token 310 ms, Voice first byte 120 ms, Rest until first audio 75 ms"
    )
    assert " ".join(bar.group(1).split()) == label
    # the follow-up: 180 + 390 + 140 measured, the rest is 1650 - 710 = 940; the widest bar
    assert 'class="audio" style="width: 56.97%"' in page  # 940 / 1650
    assert "First audio 1,650 ms" in page
    assert 'class="stt" style="width: 10.91%"' in page  # 180 / 1650
    assert "Usage" in page and ">40<" in page  # model tokens in


def test_a_live_session_polls_and_an_ended_one_does_not(member_client, assistant, conversation):
    live = SessionFactory(assistant=assistant, status=Session.Status.ACTIVE)
    append_message(session_id=live.id, role="user", content="Are you there?")
    partial = member_client.get(f"/sessions/{live.pk}/live/").content.decode()
    assert partial.startswith('<div id="session-live" hx-get="/sessions/')
    assert 'hx-trigger="every 2s"' in partial
    assert "Are you there?" in partial
    assert 'hx-trigger="every 2s"' in detail(member_client, live).content.decode()
    ended = member_client.get(f"/sessions/{conversation.pk}/live/").content.decode()
    assert "hx-trigger" not in ended and "hx-get" not in ended
    assert "End session" not in ended


def test_a_poll_with_nothing_new_is_answered_with_no_content(member_client, assistant):
    live = SessionFactory(assistant=assistant, status=Session.Status.ACTIVE)
    url = f"/sessions/{live.pk}/live/"
    version = re.search(r"\?v=([0-9a-f]+)", member_client.get(url).content.decode()).group(1)
    assert member_client.get(url, {"v": version}).status_code == 204
    append_message(session_id=live.id, role="user", content="New words")
    changed = member_client.get(url, {"v": version})
    assert changed.status_code == 200 and "New words" in changed.content.decode()


def test_a_member_ends_a_live_session(member_client, assistant):
    live = SessionFactory(assistant=assistant, status=Session.Status.ACTIVE)
    assert "End session" in detail(member_client, live).content.decode()
    response = member_client.post(f"/sessions/{live.pk}/end/")
    assert response.status_code == 302 and response["Location"] == f"/sessions/{live.pk}/"
    live.refresh_from_db()
    assert (live.status, live.ended_reason) == (Session.Status.ENDED, "ended-in-dashboard")
    again = member_client.post(f"/sessions/{live.pk}/end/", follow=True)
    assert "already ended" in again.content.decode()
    assert member_client.get(f"/sessions/{live.pk}/end/").status_code == 405


# ---- tenancy -----------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "live/"])
def test_an_outsider_gets_404_on_a_sessions_pages(outsider_client, assistant, suffix):
    session = SessionFactory(assistant=assistant, status=Session.Status.ACTIVE)
    assert outsider_client.get(f"/sessions/{session.pk}/{suffix}").status_code == 404


def test_an_outsider_cannot_end_a_session(outsider_client, assistant):
    session = SessionFactory(assistant=assistant, status=Session.Status.ACTIVE)
    assert outsider_client.post(f"/sessions/{session.pk}/end/").status_code == 404
    session.refresh_from_db()
    assert session.status == Session.Status.ACTIVE


def test_every_role_may_read_and_end_sessions(org, assistant):
    for role in Membership.Role:
        client = client_for(MembershipFactory(organization=org, role=role))
        session = SessionFactory(assistant=assistant, status=Session.Status.ACTIVE)
        assert client.get("/sessions/").status_code == 200
        assert detail(client, session).status_code == 200
        assert client.post(f"/sessions/{session.pk}/end/").status_code == 302


def test_signed_out_visitors_are_sent_to_sign_in(client, assistant):
    session = SessionFactory(assistant=assistant)
    for url in ["/sessions/", f"/sessions/{session.pk}/", f"/sessions/{session.pk}/live/"]:
        assert client.get(url)["Location"].startswith("/accounts/login/")


def test_a_reply_that_measured_nothing_has_no_bar(member_client, assistant):
    session = SessionFactory(assistant=assistant, channel=Session.Channel.API)
    silent = {**timing(None, None, None, None), "error": "rate_limited"}
    append_message(session_id=session.id, role="assistant", content="", latency=silent)
    append_message(
        session_id=session.id, role="assistant", content="", latency=timing(None, None, None, None)
    )
    page = detail(member_client, session).content.decode()
    assert 'class="bars"' not in page
    assert page.count("rate_limited") == 1  # the failed reply still says why
    assert "<dd>API</dd>" in page


def test_the_session_page_shows_its_cost(member_client, org):
    cost = {
        "currency": "USD",
        "llm": "0.000228",
        "tts": "0.015500",
        "stt": "0",
        "total": "0.015728",
    }
    session = SessionFactory(assistant=AssistantFactory(organization=org), usage={"cost": cost})
    page = member_client.get(f"/sessions/{session.pk}/").content.decode()
    assert "$0.015728" in page and "voice $0.015500" in page
