"""A page that asks before a destructive POST (works without JavaScript)."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse

from frontend.organizations import DashboardRequest


def confirm_page(
    request: DashboardRequest, *, title: str, question: str, detail: str, button: str, back: str
) -> HttpResponse:
    """A page that asks before a destructive POST (works without JavaScript)."""
    context = {
        "title": title,
        "question": question,
        "detail": detail,
        "button": button,
        "back": reverse(back),
    }
    return render(request, "frontend/team/confirm.html", context)
