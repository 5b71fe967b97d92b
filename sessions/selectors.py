"""Reads over sessions that are more than a scoped queryset."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, DecimalField, FloatField, QuerySet, Sum
from django.db.models.fields.json import KT, KeyTextTransform
from django.db.models.functions import Cast, Coalesce, TruncDate
from django.utils import timezone

from integrations import pricing
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


# Enough digits for any organization's total; six places: a micro-dollar (integrations/pricing).
MONEY = DecimalField(max_digits=20, decimal_places=6)
GROUPINGS = {"day": ("day",), "assistant": ("assistant_id", "assistant__name")}


def usage_report(
    *, sessions: QuerySet[Session], first_day: date, last_day: date, group_by: str
) -> list[dict[str, Any]]:
    """Usage and cost of ``sessions`` (already scoped to one organization) created from
    ``first_day`` to ``last_day`` (UTC, both included), one row per day or per assistant.

    Summed in the database: each session's ``usage`` holds its totals, its cost as six-decimal
    strings cast to a decimal before summing. A session counts on the day it was created."""
    start = datetime.combine(first_day, time.min, tzinfo=UTC)
    rows = (
        sessions.filter(created_at__gte=start, created_at__lt=start + _days(first_day, last_day))
        .annotate(day=TruncDate("created_at", tzinfo=UTC))
        .values(*GROUPINGS[group_by])
        .annotate(sessions=Count("pk"), **_usage_sums())
        .order_by(*GROUPINGS[group_by][::-1])
    )
    return [_report_row(row) for row in rows]


def _days(first_day: date, last_day: date) -> timedelta:
    return timedelta(days=(last_day - first_day).days + 1)


def _usage_sums() -> dict[str, Any]:
    units = {
        key: Coalesce(Sum(Cast(KeyTextTransform(key, "usage"), FloatField())), 0.0)
        for key in empty_usage()
    }
    money = {
        f"cost_{kind}": Coalesce(
            Sum(Cast(KT(f"usage__cost__{kind}"), MONEY)), Decimal(0), output_field=MONEY
        )
        for kind in pricing.KINDS
    }
    return {**units, **money}


def _report_row(row: dict[str, Any]) -> dict[str, Any]:
    cost = pricing.cost_sum({kind: row.pop(f"cost_{kind}") for kind in pricing.KINDS})
    for key in INTEGER_USAGE_KEYS:
        row[key] = round(row[key])
    row["stt_audio_seconds"] = round(row["stt_audio_seconds"], 3)
    if "assistant__name" in row:
        row["assistant_name"] = row.pop("assistant__name")
    return {**row, "cost": cost}


def usage_report_totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The sum of a report's rows."""
    totals: dict[str, Any] = {"sessions": sum(row["sessions"] for row in rows)}
    for key in empty_usage():
        totals[key] = sum(row[key] for row in rows)
    totals["stt_audio_seconds"] = round(totals["stt_audio_seconds"], 3)
    totals["cost"] = pricing.cost_sum(*(row["cost"] for row in rows))
    return totals
