"""Sessions: the list with filters and the transcript of one session."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import path

from frontend.organizations import DashboardRequest, member_required
from sessions.models import Session


@member_required()
def session_list(request: DashboardRequest) -> HttpResponse:
    sessions = Session.objects.for_org(request.organization).select_related("assistant")[:50]
    return render(request, "frontend/sessions/list.html", {"sessions": sessions})


urls = [path("sessions/", session_list, name="sessions")]
