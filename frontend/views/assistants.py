"""Assistants: the list and the builder."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import path

from assistants.models import Assistant
from frontend.organizations import DashboardRequest, member_required


@member_required()
def assistant_list(request: DashboardRequest) -> HttpResponse:
    assistants = Assistant.objects.for_org(request.organization).live()
    return render(request, "frontend/assistants/list.html", {"assistants": assistants})


urls = [path("assistants/", assistant_list, name="assistants")]
