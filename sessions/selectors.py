"""Reads over sessions that are more than a scoped queryset."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import Count, FloatField, Sum
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from sessions.models import Session, empty_usage

INTEGER_USAGE_KEYS = ("prompt_tokens", "completion_tokens", "tts_characters")


@dataclass(frozen=True)
class UsageTotals:
    period_start: datetime
    period_end: datetime
    sessions: int
    prompt_tokens: int
    completion_tokens: int
    tts_characters: int
    stt_audio_seconds: float


def month_bounds(now: datetime) -> tuple[datetime, datetime]:
    """The calendar month (UTC) containing ``now``: [start, end)."""
    start = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start, end


def usage_this_month(*, organization, now: datetime | None = None) -> UsageTotals:
    """Usage of the sessions created this month, summed in the database (no rows in Python).

    Usage values are cast to floats before summing: the JSON may hold 10 or 10.0 for a count.
    """
    start, end = month_bounds(now or timezone.now())
    sums = {
        key: Coalesce(Sum(Cast(KeyTextTransform(key, "usage"), FloatField())), 0.0)
        for key in empty_usage()
    }
    totals = (
        Session.objects.for_org(organization)
        .filter(created_at__gte=start, created_at__lt=end)
        .aggregate(sessions=Count("pk"), **sums)
    )
    return UsageTotals(
        period_start=start,
        period_end=end,
        sessions=totals["sessions"],
        **{key: round(totals[key]) for key in INTEGER_USAGE_KEYS},
        stt_audio_seconds=round(totals["stt_audio_seconds"], 3),
    )
