"""Connecting Notion from the dashboard (signed-in users): the OAuth round trip and its result.

Each view parses the request, calls one function of ``integrations.notion.oauth`` or one
service, and renders. A refusal is a page that says what happened; nothing is stored then.
"""

from __future__ import annotations

import uuid

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET

from assistants.admin_scoping import organizations_of
from integrations.errors import ProviderError
from integrations.models import NotionConnection
from integrations.notion.oauth import (
    START_AGAIN,
    OAuthRefused,
    authorize_url,
    exchange_refused,
    oauth_config,
    organization_from_state,
    organization_to_connect,
    sign_state,
)
from integrations.services import notion_connection_from_oauth_code

DENIED = "Access was declined on Notion's consent screen, so nothing was connected."


class AuthenticatedHttpRequest(HttpRequest):
    """What ``login_required`` lets through: the user is signed in, not anonymous."""

    user: User


@login_required
@require_GET
def notion_connect(request: AuthenticatedHttpRequest) -> HttpResponse:
    try:
        config = oauth_config()
        organization = organization_to_connect(request.user, request.GET.get("organization"))
    except OAuthRefused as refusal:
        return refused_page(request, refusal)
    state = sign_state(organization=organization, user=request.user)
    return redirect(authorize_url(config, state))


@login_required
@require_GET
def notion_callback(request: AuthenticatedHttpRequest) -> HttpResponse:
    if request.GET.get("error"):
        message = DENIED if request.GET["error"] == "access_denied" else notion_error(request)
        return message_page(request, message, status=200)
    code = request.GET.get("code", "")
    try:
        config = oauth_config()
        if not code:
            raise OAuthRefused(f"Notion sent no authorization code. {START_AGAIN}")
        organization = organization_from_state(request.GET.get("state", ""), request.user)
        connection = notion_connection_from_oauth_code(
            organization=organization, code=code, config=config, connected_by=request.user
        )
    except OAuthRefused as refusal:
        return refused_page(request, refusal)
    except ProviderError as exc:
        return refused_page(request, exchange_refused(exc))
    return redirect("integrations:notion-connection", pk=connection.pk)


@login_required
@require_GET
def notion_connection(request: AuthenticatedHttpRequest, pk: uuid.UUID) -> HttpResponse:
    """The result page: this connection and the organization's others (never a token)."""
    mine = NotionConnection.objects.for_orgs(organizations_of(request.user))
    connection = get_object_or_404(mine.select_related("organization"), pk=pk)
    context = {
        "connection": connection,
        "connections": mine.for_org(connection.organization_id),
    }
    return render(request, "integrations/notion_connection.html", context)


def notion_error(request: HttpRequest) -> str:
    return f"Notion reported an error ({request.GET['error'][:100]}); nothing was connected."


def refused_page(request: HttpRequest, refusal: OAuthRefused) -> HttpResponse:
    return message_page(request, refusal.message, status=refusal.status, choices=refusal.choices)


def message_page(
    request: HttpRequest, message: str, *, status: int, choices: list | None = None
) -> HttpResponse:
    context = {"message": message, "choices": choices or []}
    return render(request, "integrations/notion_message.html", context, status=status)
