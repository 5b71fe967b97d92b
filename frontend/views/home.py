"""The dashboard's front door: / and the organization switcher."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path
from django.views.decorators.http import require_POST

from frontend.organizations import choose_organization


@login_required
@require_POST
def switch_organization(request: HttpRequest) -> HttpResponse:
    """Work in another of one's organizations. One the user is not in does not exist (404).
    Lands on the overview: the page one was on may show an object of the old organization."""
    if choose_organization(request, request.POST.get("organization", "")) is None:
        raise Http404("No such organization among yours.")
    return redirect("dashboard:overview")


urls = [
    path("organization/switch/", switch_organization, name="switch-organization"),
]
