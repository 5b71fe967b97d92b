"""Reads for the dashboard: the overview's figures and charts, and the session list (a
session's transcript: ``frontend.transcripts``).

Counts and sums run in the database, on SQLite and PostgreSQL alike. Percentiles do not
(SQLite has no percentile function): they are taken in Python over at most
``LATENCY_SAMPLE_LIMIT`` values per figure, the newest first, and a figure says when it rests
on such a sample. Days and months are UTC, as in ``sessions.selectors.month_bounds``.

A *turn* is one answer of the assistant: the reply that opens it (to a user's message, or the
greeting), not the follow-up written after a tool's result (that one belongs to the same turn).
A turn's first audio is that of its first reply that played any (see ``_first_audio_values``).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db.models import (
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, TruncDate
from django.utils import timezone

from sessions.models import Message, Session
from sessions.selectors import month_bounds

LATENCY_SAMPLE_LIMIT = 10_000
CHART_DAYS = 14
# A tool message's content as sessions/runtime/tools.py outcome_payload writes a failure.
FAILED_TOOL_PREFIX = '{"ok": false'


# ---- overview ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Percentiles:
    p50: float | None
    p95: float | None
    samples: int  # how many values the percentiles were taken over
    sampled: bool  # more values existed than were read (the newest were kept)


@dataclass(frozen=True)
class PeriodFigures:
    start: datetime
    end: datetime
    sessions: int
    minutes: float  # summed over sessions that started and ended
    turns: int
    first_audio: Percentiles
    failed_sessions: int
    failed_replies: int  # assistant replies whose latency records a provider error
    tool_calls: int  # tools run (one stored result each)
    failed_tool_calls: int

    @property
    def errors(self) -> int:
        return self.failed_sessions + self.failed_replies


@dataclass(frozen=True)
class DayPoint:
    day: date
    sessions: int
    first_audio_p50: float | None


@dataclass(frozen=True)
class Overview:
    today: PeriodFigures
    month: PeriodFigures
    days: list[DayPoint]
    latency_days_sampled: bool


def overview(*, organization: Any, now: datetime | None = None) -> Overview:
    now = (now or timezone.now()).astimezone(UTC)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    month_start, month_end = month_bounds(now)
    days, sampled = daily_points(organization=organization, last_day=today.date())
    return Overview(
        today=period_figures(organization=organization, start=today, end=today + timedelta(1)),
        month=period_figures(organization=organization, start=month_start, end=month_end),
        days=days,
        latency_days_sampled=sampled,
    )


def period_figures(*, organization: Any, start: datetime, end: datetime) -> PeriodFigures:
    """Sessions created in [start, end), and the messages stored in it."""
    sessions = Session.objects.for_org(organization).filter(
        created_at__gte=start, created_at__lt=end
    )
    duration = ExpressionWrapper(F("ended_at") - F("started_at"), output_field=DurationField())
    session_totals = sessions.aggregate(
        sessions=Count("pk"),
        failed=Count("pk", filter=Q(status=Session.Status.FAILED)),
        duration=Sum(duration, filter=Q(started_at__isnull=False, ended_at__isnull=False)),
    )
    messages = Message.objects.for_org(organization).filter(
        created_at__gte=start, created_at__lt=end
    )
    assistant, tool = Message.Role.ASSISTANT, Message.Role.TOOL
    message_totals = messages.aggregate(
        turns=Count("pk", filter=Q(role=assistant) & ~Q(_follows_tool_result())),
        failed_replies=Count("pk", filter=Q(role=assistant, latency__has_key="error")),
        tool_calls=Count("pk", filter=Q(role=tool)),
        failed_tool_calls=Count("pk", filter=Q(role=tool, content__startswith=FAILED_TOOL_PREFIX)),
    )
    values = [value for _, value in _first_audio_values(messages)]
    total = session_totals["duration"] or timedelta(0)
    return PeriodFigures(
        start=start,
        end=end,
        sessions=session_totals["sessions"],
        minutes=round(total.total_seconds() / 60, 1),
        turns=message_totals["turns"],
        first_audio=percentiles(values[:LATENCY_SAMPLE_LIMIT], len(values) > LATENCY_SAMPLE_LIMIT),
        failed_sessions=session_totals["failed"],
        failed_replies=message_totals["failed_replies"],
        tool_calls=message_totals["tool_calls"],
        failed_tool_calls=message_totals["failed_tool_calls"],
    )


def daily_points(
    *, organization: Any, last_day: date, days: int = CHART_DAYS
) -> tuple[list[DayPoint], bool]:
    """Sessions and the median first audio per day for ``days`` days up to ``last_day``."""
    start = datetime.combine(last_day - timedelta(days - 1), datetime.min.time(), tzinfo=UTC)
    end = datetime.combine(last_day + timedelta(1), datetime.min.time(), tzinfo=UTC)
    sessions = (
        Session.objects.for_org(organization)
        .filter(created_at__gte=start, created_at__lt=end)
        .annotate(day=TruncDate("created_at", tzinfo=UTC))
        .order_by()
        .values("day")
        .annotate(count=Count("pk"))
    )
    counts = {row["day"]: row["count"] for row in sessions}
    messages = Message.objects.for_org(organization).filter(
        created_at__gte=start, created_at__lt=end
    )
    pairs = _first_audio_values(messages)
    by_day: dict[date, list[float]] = defaultdict(list)
    for created_at, value in pairs[:LATENCY_SAMPLE_LIMIT]:
        by_day[created_at.astimezone(UTC).date()].append(value)
    points = []
    for offset in range(days):
        day = start.date() + timedelta(offset)
        p50 = percentile(by_day[day], 50) if by_day[day] else None
        points.append(DayPoint(day=day, sessions=counts.get(day, 0), first_audio_p50=p50))
    return points, len(pairs) > LATENCY_SAMPLE_LIMIT


def percentiles(values: Sequence[float], sampled: bool = False) -> Percentiles:
    return Percentiles(
        p50=percentile(values, 50), p95=percentile(values, 95), samples=len(values), sampled=sampled
    )


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest rank: the smallest value with at least p % of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def _follows_tool_result() -> Exists:
    """The message right before this one is a tool's result: a follow-up reply."""
    previous = Message.objects.filter(
        session=OuterRef("session"), sequence=OuterRef("sequence") - 1, role=Message.Role.TOOL
    )
    return Exists(previous)  # run inside the outer, scoped query only


def _first_audio_values(messages: QuerySet[Message]) -> list[tuple[datetime, float]]:
    """(stored at, first_audio_ms) of each turn's first audio, newest first: the first reply of
    the turn that played any (a reply that only called a tool plays none; its follow-up's first
    audio is measured from the same start). One more than the sample limit, so the caller can
    tell that there were more."""
    rows = (
        _with_first_audio(messages.filter(role=Message.Role.ASSISTANT))
        .annotate(turn_start=Coalesce(_last_user_sequence_before(), 0))
        .exclude(Exists(_with_first_audio(_earlier_replies_of_the_turn())))
        .annotate(first_audio=Cast(KeyTextTransform("first_audio_ms", "latency"), FloatField()))
        .order_by("-created_at")
        .values_list("created_at", "first_audio")
    )
    return list(rows[: LATENCY_SAMPLE_LIMIT + 1])


def _with_first_audio(messages: QuerySet[Message]) -> QuerySet[Message]:
    # A JSON null would be cast to 0 on SQLite: the key must hold a value.
    return messages.filter(latency__has_key="first_audio_ms").exclude(latency__first_audio_ms=None)


def _last_user_sequence_before() -> Subquery:
    """Where the reply's turn starts: the caller's last message before it (0: the greeting's)."""
    before = Message.objects.filter(
        session=OuterRef("session"), sequence__lt=OuterRef("sequence"), role=Message.Role.USER
    )
    return Subquery(before.order_by("-sequence").values("sequence")[:1])  # inside a scoped query


def _earlier_replies_of_the_turn() -> QuerySet[Message]:
    return Message.objects.filter(  # inside the scoped query only
        session=OuterRef("session"),
        role=Message.Role.ASSISTANT,
        sequence__gt=OuterRef("turn_start"),
        sequence__lt=OuterRef("sequence"),
    )


# ---- the session list --------------------------------------------------------------------


def session_list(
    *,
    organization: Any,
    assistant: Any = None,
    status: str = "",
    channel: str = "",
    created_from: date | None = None,
    created_to: date | None = None,
) -> QuerySet[Session]:
    """The organization's sessions, newest first, narrowed by any filter given (dates are the
    UTC days of creation, both ends included), each with its number of turns' replies."""
    sessions = Session.objects.for_org(organization).select_related("assistant")
    if assistant is not None:
        sessions = sessions.filter(assistant=assistant)
    if status:
        sessions = sessions.filter(status=status)
    if channel:
        sessions = sessions.filter(channel=channel)
    if created_from:
        sessions = sessions.filter(created_at__date__gte=created_from)
    if created_to:
        sessions = sessions.filter(created_at__date__lte=created_to)
    replies = Count("messages", filter=Q(messages__role=Message.Role.ASSISTANT))
    return sessions.annotate(replies=replies).order_by("-created_at")
