"""The organization's people and keys: members, API keys, integrations."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import path

from assistants.models import ApiKey, Membership
from frontend.organizations import DashboardRequest, member_required
from integrations.models import NotionConnection


@member_required()
def member_list(request: DashboardRequest) -> HttpResponse:
    members = Membership.objects.for_org(request.organization).select_related("user")
    return render(request, "frontend/team/members.html", {"members": members})


@member_required(Membership.Role.ADMIN)
def api_key_list(request: DashboardRequest) -> HttpResponse:
    keys = ApiKey.objects.for_org(request.organization)
    return render(request, "frontend/team/api_keys.html", {"keys": keys})


@member_required(Membership.Role.ADMIN)
def integrations(request: DashboardRequest) -> HttpResponse:
    connections = NotionConnection.objects.for_org(request.organization)
    return render(request, "frontend/team/integrations.html", {"connections": connections})


urls = [
    path("members/", member_list, name="members"),
    path("api-keys/", api_key_list, name="api-keys"),
    path("integrations/", integrations, name="integrations"),
]
