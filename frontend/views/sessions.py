"""Sessions: the list with filters, and one session's transcript, live while it runs."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from assistants.models import Assistant
from frontend import selectors, transcripts
from frontend.organizations import DashboardRequest, member_required
from frontend.templatetags.dashboard import CHANNELS
from sessions.models import Session
from sessions.services import session_stop

PAGE_SIZE = 25
POLL_SECONDS = 2
ENDED_IN_DASHBOARD = "ended-in-dashboard"


class SessionFilterForm(forms.Form):
    assistant = forms.ModelChoiceField(
        queryset=Assistant.objects.none(), required=False, empty_label="Any assistant"
    )
    status = forms.ChoiceField(
        choices=[("", "Any status"), *Session.Status.choices], required=False
    )
    channel = forms.ChoiceField(
        choices=[("", "Any channel")]
        + [(value, CHANNELS.get(value, label)) for value, label in Session.Channel.choices],
        required=False,
    )
    created_from = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    created_to = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, organization: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # archived assistants too: their transcripts are kept
        assistants = Assistant.objects.for_org(organization).order_by("name")
        self.fields["assistant"].queryset = assistants  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("created_from"), data.get("created_to")
        if start and end and start > end:
            self.add_error("created_to", "The end date is before the start date.")
        return data

    def filters(self) -> dict[str, Any]:
        """The filters that are valid (an invalid one is shown with its error and ignored)."""
        return {name: value for name, value in getattr(self, "cleaned_data", {}).items() if value}


@member_required()
def session_list(request: DashboardRequest) -> HttpResponse:
    form = SessionFilterForm(request.GET, organization=request.organization)
    form.is_valid()  # an unfiltered list is a valid form too
    sessions = selectors.session_list(organization=request.organization, **form.filters())
    page = Paginator(sessions, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode(), "partial": _partial(request)}
    template = "_results.html" if context["partial"] else "list.html"
    return render(request, f"frontend/sessions/{template}", context)


@member_required()
def session_detail(request: DashboardRequest, pk: str) -> HttpResponse:
    session = _session_of(request, pk)
    return render(request, "frontend/sessions/detail.html", _live_context(session))


@member_required()
def session_live(request: DashboardRequest, pk: str) -> HttpResponse:
    """The part of the detail page that changes while the session runs, for htmx to poll.
    Nothing new since the version the page holds: 204, and htmx leaves the page alone (an open
    tool call stays open). An ended session's part no longer asks to be polled."""
    context = _live_context(_session_of(request, pk))
    if request.GET.get("v") == context["version"]:
        return HttpResponse(status=204)
    return render(request, "frontend/sessions/_live.html", context)


@member_required()
@require_POST
def session_end(request: DashboardRequest, pk: str) -> HttpResponse:
    session = _session_of(request, pk)
    if session.is_over:
        messages.info(request, "This session had already ended.")
    else:
        session_stop(session=session, reason=ENDED_IN_DASHBOARD)
        messages.success(request, "The session was ended.")
    return redirect("dashboard:session-detail", pk=session.pk)


def _session_of(request: DashboardRequest, pk: str) -> Session:
    sessions = Session.objects.for_org(request.organization).select_related("assistant")
    return get_object_or_404(sessions, pk=pk)


def _live_context(session: Session) -> dict[str, Any]:
    entries = transcripts.transcript(session)
    return {
        "session": session,
        "entries": entries,
        "version": transcripts.transcript_version(session, entries),
        "live": not session.is_over,
        "poll_seconds": POLL_SECONDS,
        "segments": transcripts.LATENCY_SEGMENTS,
    }


def _partial(request: DashboardRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request  # type: ignore[union-attr]


urls = [
    path("sessions/", session_list, name="sessions"),
    path("sessions/<uuid:pk>/", session_detail, name="session-detail"),
    path("sessions/<uuid:pk>/live/", session_live, name="session-live"),
    path("sessions/<uuid:pk>/end/", session_end, name="session-end"),
]
