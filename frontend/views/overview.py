"""The overview: how the organization's assistants are doing today and this month."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import path

from frontend import selectors
from frontend.organizations import DashboardRequest, member_required
from sessions.selectors import usage_this_month


@member_required()
def overview(request: DashboardRequest) -> HttpResponse:
    figures = selectors.overview(organization=request.organization)
    context = {
        "overview": figures,
        "periods": [("Today", "today", figures.today), ("This month", "month", figures.month)],
        "usage": usage_this_month(organization=request.organization),
        "chart_days": selectors.CHART_DAYS,
        "sample_limit": selectors.LATENCY_SAMPLE_LIMIT,
    }
    return render(request, "frontend/overview.html", context)


urls = [path("", overview, name="overview")]
