"""The overview: how the organization's assistants are doing today and this month."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import path

from frontend.organizations import DashboardRequest, member_required
from sessions.selectors import usage_this_month


@member_required()
def overview(request: DashboardRequest) -> HttpResponse:
    usage = usage_this_month(organization=request.organization)
    return render(request, "frontend/overview.html", {"usage": usage})


urls = [path("", overview, name="overview")]
