"""Which organization a dashboard page works in, and who may open it.

A person may belong to several organizations; the one they work in is kept in their login
session (switched with the organization switcher) and checked against their memberships on
every request, so a stale or forged choice falls back to one they really belong to. Every
dashboard view is wrapped in ``member_required``: it sets ``request.organization`` and
``request.membership``, and every query of the view is scoped to that organization.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from assistants.models import Membership, Organization

SESSION_KEY = "dashboard_organization_id"
ROLE_RANK = {Membership.Role.MEMBER: 0, Membership.Role.ADMIN: 1, Membership.Role.OWNER: 2}


class DashboardRequest(HttpRequest):
    """A request let through by ``member_required``."""

    user: User
    organization: Organization
    membership: Membership


def memberships_of(user: User):
    return user.memberships.select_related("organization").order_by("organization__name")


def current_membership(request: HttpRequest) -> Membership | None:
    """The membership of the organization chosen in this login session, else the first one."""
    memberships = memberships_of(request.user)  # type: ignore[arg-type]
    chosen = request.session.get(SESSION_KEY)
    if chosen:
        membership = memberships.filter(organization_id=chosen).first()
        if membership is not None:
            return membership
    return memberships.first()


def choose_organization(request: HttpRequest, organization_id: str) -> Membership | None:
    """Work in ``organization_id`` from now on, if the user belongs to it."""
    try:
        organization_id = str(uuid.UUID(organization_id))
    except ValueError:
        return None
    membership = memberships_of(request.user).filter(organization_id=organization_id).first()  # type: ignore[arg-type]
    if membership is not None:
        request.session[SESSION_KEY] = str(membership.organization_id)
    return membership


def has_role(membership: Membership, role: str) -> bool:
    return ROLE_RANK[Membership.Role(membership.role)] >= ROLE_RANK[Membership.Role(role)]


def member_required(
    role: str = Membership.Role.MEMBER,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Signed in, a member of an organization, with at least ``role`` in it (else 403).
    Someone in no organization gets a page that says so (operators: the admin)."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            membership = current_membership(request)
            if membership is None and request.user.is_staff:
                return redirect("admin:index")  # an operator of the platform, not of a tenant
            if membership is None:
                return render(
                    request, "frontend/no_organization.html"
                )  # a page that says what to do
            if not has_role(membership, role):
                raise PermissionDenied(f"This page needs the {role} role or higher.")
            request.membership = membership  # type: ignore[attr-defined]
            request.organization = membership.organization  # type: ignore[attr-defined]
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
