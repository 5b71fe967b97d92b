"""The overview: figures of today and this month, and the charts of the last days."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from frontend import selectors
from sessions.models import Message, Session
from tests.factories import AssistantFactory, SessionFactory, append_message

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)


def latency(first_audio=None, **others):
    return {"stt_ms": None, "llm_ttft_ms": None, "tts_ttfb_ms": None,
            "first_audio_ms": first_audio, **others}  # fmt: skip


def call(call_id, name="notion_append"):
    return {"id": call_id, "name": name, "arguments": '{"text": "milk"}', "executed": True}


def session_at(org, created, *, minutes=None, status=Session.Status.ENDED, messages=()):
    """A session created at ``created`` (lasting ``minutes`` if it ended), its messages stored
    as the runtime stores them, all dated a second apart from ``created`` on."""
    session = SessionFactory(
        assistant=AssistantFactory(organization=org),
        status=status,
        started_at=created,
        ended_at=created + timedelta(minutes=minutes) if minutes is not None else None,
    )
    for role, fields in messages:
        append_message(session_id=session.id, role=role, **fields)
    Session.objects.for_org(org).filter(pk=session.pk).update(created_at=created)
    for offset, message in enumerate(Message.objects.for_org(org).filter(session=session)):
        message.created_at = created + timedelta(seconds=offset)
        message.save(update_fields=["created_at"])
    return session


def reply(first_audio=None, **fields):
    return ("assistant", {"content": "Sure.", "latency": latency(first_audio), **fields})


def test_a_turn_counts_its_first_audio_once(org):
    """Spoken before a tool call: that reply's first audio, not the follow-up's (measured from
    the same start); a second tool round that says nothing does not change it."""
    session_at(org, NOW.replace(hour=8), messages=[
        USER, reply(500, tool_calls=[call("a")]),
        ("tool", {"content": OK_RESULT, "tool_call_id": "a"}),
        reply(None, content="", tool_calls=[call("b")]),
        ("tool", {"content": OK_RESULT, "tool_call_id": "b"}),
        reply(3000),
        USER, reply(700),
    ])  # fmt: skip
    today = selectors.overview(organization=org, now=NOW).today
    assert (today.turns, today.first_audio.samples, today.first_audio.p95) == (2, 2, 700)


USER = ("user", {"content": "Hello"})
OK_RESULT = '{"ok": true, "result": {"appended": 1}}'
FAILED_RESULT = '{"ok": false, "error": "Notion is unavailable"}'


@pytest.fixture
def dataset(org, other_org):
    today = NOW.replace(hour=9)
    session_at(org, today, minutes=3, messages=[
        USER, reply(400),
        USER, reply(600, tool_calls=[call("c1")]),
        ("tool", {"content": OK_RESULT, "tool_call_id": "c1"}),
        reply(1500),  # after the tool's result: same turn, not counted again
    ])  # fmt: skip
    session_at(org, today.replace(hour=10), minutes=1.5, status=Session.Status.FAILED, messages=[
        USER, ("assistant", {"content": "", "latency": latency(None, error="rate_limited")}),
    ])  # fmt: skip
    session_at(org, today.replace(hour=11), status=Session.Status.ACTIVE)  # still running
    session_at(org, datetime(2026, 3, 2, 8, tzinfo=UTC), minutes=10, messages=[
        reply(300),  # the greeting opens a turn
        USER, reply(None, content="", tool_calls=[call("a"), call("b")]),  # says nothing
        ("tool", {"content": FAILED_RESULT, "tool_call_id": "a"}),
        ("tool", {"content": OK_RESULT, "tool_call_id": "b"}),
        reply(2000),  # so the turn's first audio is this follow-up's
    ])  # fmt: skip
    # last month, and another organization's: never counted
    session_at(org, datetime(2026, 2, 20, 8, tzinfo=UTC), minutes=7, messages=[USER, reply(5000)])
    session_at(other_org, today, minutes=60, status=Session.Status.FAILED, messages=[
        USER, reply(9000, tool_calls=[call("x")]),
        ("tool", {"content": FAILED_RESULT, "tool_call_id": "x"}),
        ("assistant", {"content": "", "latency": latency(None, error="timeout")}),
    ])  # fmt: skip


def test_today_figures_match_the_fixture(org, dataset):
    today = selectors.overview(organization=org, now=NOW).today
    assert today.sessions == 3
    assert today.minutes == 4.5
    assert today.turns == 3  # two in the first session, the failed reply in the second
    assert (today.first_audio.p50, today.first_audio.p95) == (400, 600)
    assert today.first_audio.samples == 2
    assert (today.failed_sessions, today.failed_replies, today.errors) == (1, 1, 2)
    assert (today.tool_calls, today.failed_tool_calls) == (1, 0)


def test_month_figures_match_the_fixture(org, dataset):
    month = selectors.overview(organization=org, now=NOW).month
    assert month.sessions == 4
    assert month.minutes == 14.5
    assert month.turns == 5
    # the turns' first audio 300, 400, 600, 2000: nearest rank 2 of 4 and 4 of 4
    assert (month.first_audio.p50, month.first_audio.p95) == (400, 2000)
    assert not month.first_audio.sampled
    assert month.errors == 2
    assert (month.tool_calls, month.failed_tool_calls) == (3, 1)


def test_the_days_cover_the_last_two_weeks(org, dataset):
    days = selectors.overview(organization=org, now=NOW).days
    assert len(days) == selectors.CHART_DAYS
    assert (days[0].day.isoformat(), days[-1].day.isoformat()) == ("2026-03-02", "2026-03-15")
    assert [(d.sessions, d.first_audio_p50) for d in days if d.sessions] == [(1, 300), (3, 400)]
    assert sum(d.first_audio_p50 is not None for d in days) == 2


def test_an_organization_without_sessions_has_empty_figures(other_org, org, dataset):
    empty = selectors.overview(organization=org, now=datetime(2025, 1, 1, tzinfo=UTC))
    assert (empty.month.sessions, empty.month.turns, empty.month.minutes) == (0, 0, 0)
    assert empty.month.first_audio.p50 is None


@pytest.mark.parametrize(
    ("values", "p50", "p95"),
    [
        ([5.0], 5.0, 5.0),
        ([1.0, 2.0, 3.0, 4.0], 2.0, 4.0),
        (list(map(float, range(1, 101))), 50.0, 95.0),
    ],
)
def test_percentiles_are_nearest_rank(values, p50, p95):
    assert selectors.percentile(values, 50) == p50
    assert selectors.percentile(values, 95) == p95
    assert selectors.percentile([], 50) is None


def test_latency_samples_are_bounded(org, monkeypatch):
    monkeypatch.setattr(selectors, "LATENCY_SAMPLE_LIMIT", 2)
    session_at(
        org, NOW.replace(hour=8), messages=[USER, reply(100), USER, reply(200), USER, reply(900)]
    )
    figures = selectors.overview(organization=org, now=NOW).today.first_audio
    assert (figures.samples, figures.sampled) == (2, True)
    assert figures.p95 == 900  # the newest two: 200 and 900


def figure(page, name):
    return re.search(rf'data-figure="{name}">([^<]*)<', page).group(1)


def test_the_page_shows_todays_figures_and_excludes_other_organizations(
    member_client, org, other_org
):
    now = datetime.now(UTC)
    for owner, first_audio in ((org, 700), (other_org, 9000)):
        session = SessionFactory(assistant=AssistantFactory(organization=owner),
                                 started_at=now - timedelta(minutes=2), ended_at=now)  # fmt: skip
        append_message(session_id=session.id, role="user", content="Hi")
        append_message(
            session_id=session.id, role="assistant", content="Hello", latency=latency(first_audio)
        )
    page = member_client.get("/").content.decode()
    assert figure(page, "today-sessions") == "1"
    assert figure(page, "today-minutes") == "2.0"
    assert figure(page, "today-turns") == "1"
    assert figure(page, "today-p50") == "700 ms"
    assert figure(page, "month-p95") == "700 ms"
    assert "9,000" not in page


def test_the_charts_have_a_bar_per_day_and_a_point_per_day_with_latency(member_client, org):
    session = SessionFactory(assistant=AssistantFactory(organization=org))
    append_message(session_id=session.id, role="assistant", content="Hi", latency=latency(321))
    page = member_client.get("/").content.decode()
    sessions_chart = re.search(r'<svg class="chart chart-bar".*?</svg>', page, re.S).group(0)
    latency_chart = re.search(r'<svg class="chart chart-line".*?</svg>', page, re.S).group(0)
    assert sessions_chart.count('<rect class="bar"') == selectors.CHART_DAYS
    assert latency_chart.count('<circle class="point"') == 1
    assert "321 ms" in latency_chart
    assert 'role="img"' in sessions_chart
    assert '<title id="chart-sessions-title">Sessions per day</title>' in sessions_chart


def test_the_month_cost_is_the_sum_of_the_sessions_stored_costs(member_client, org, other_org):
    def cost(llm: str, tts: str, stt: str, total: str) -> dict:
        return {"currency": "USD", "llm": llm, "tts": tts, "stt": stt, "total": total}

    assistant = AssistantFactory(organization=org)
    SessionFactory(assistant=assistant, usage={"cost": cost("0.001000", "0.010000", "0", "0.011")})
    SessionFactory(
        assistant=assistant, usage={"cost": cost("0.000500", "0.002500", "0.000125", "0.003125")}
    )
    SessionFactory(  # another organization's money is not ours
        assistant=AssistantFactory(organization=other_org),
        usage={"cost": cost("9", "9", "9", "27")},
    )
    page = member_client.get("/").content.decode()
    assert "$0.014125" in page
    assert "model $0.001500 · voice $0.012500 · transcription $0.000125" in page
