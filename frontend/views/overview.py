"""The overview: how the organization's assistants are doing today and this month."""

from __future__ import annotations

from datetime import UTC

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from frontend import selectors
from frontend.organizations import DashboardRequest, member_required
from sessions.models import Session
from sessions.selectors import month_bounds, usage_report, usage_report_totals, usage_this_month


@member_required()
def overview(request: DashboardRequest) -> HttpResponse:
    figures = selectors.overview(organization=request.organization)
    context = {
        "overview": figures,
        "periods": [("Today", "today", figures.today), ("This month", "month", figures.month)],
        "usage": usage_this_month(organization=request.organization),
        "cost": month_cost(request.organization),
        "chart_days": selectors.CHART_DAYS,
        "sample_limit": selectors.LATENCY_SAMPLE_LIMIT,
    }
    return render(request, "frontend/overview.html", context)


def month_cost(organization) -> dict:
    """This month's cost (UTC), summed in the database from each session's stored cost."""
    start, _ = month_bounds(timezone.now())
    rows = usage_report(
        sessions=Session.objects.for_org(organization),
        first_day=start.date(),
        last_day=timezone.now().astimezone(UTC).date(),
        group_by="day",
    )
    return usage_report_totals(rows)["cost"]


urls = [path("", overview, name="overview")]
