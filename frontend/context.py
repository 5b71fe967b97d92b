"""Template context for dashboard pages: the organization switcher and the navigation."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from assistants.models import Membership
from frontend.organizations import has_role, memberships_of

# (url name, label, least role that sees it)
NAVIGATION = [
    ("dashboard:overview", "Overview", Membership.Role.MEMBER),
    ("dashboard:assistants", "Assistants", Membership.Role.MEMBER),
    ("dashboard:sessions", "Sessions", Membership.Role.MEMBER),
    ("dashboard:api-keys", "API keys", Membership.Role.ADMIN),
    ("dashboard:integrations", "Integrations", Membership.Role.ADMIN),
    ("dashboard:discord", "Discord", Membership.Role.ADMIN),
    ("dashboard:members", "Members", Membership.Role.MEMBER),
]


def dashboard(request: HttpRequest) -> dict:
    membership = getattr(request, "membership", None)
    if membership is None:
        return {"signup_open": settings.SIGNUP_OPEN}
    return {
        "signup_open": settings.SIGNUP_OPEN,
        "current_membership": membership,
        "current_organization": membership.organization,
        "switchable_memberships": memberships_of(request.user),  # type: ignore[arg-type]
        "navigation": _navigation(request, membership),
        "is_admin": has_role(membership, Membership.Role.ADMIN),
        "is_owner": has_role(membership, Membership.Role.OWNER),
    }


def _navigation(request: HttpRequest, membership: Membership) -> list[tuple[str, str, bool]]:
    """(href, label, is the current section) for the pages this member's role may see."""
    items = []
    for name, label, role in NAVIGATION:
        if not has_role(membership, role):
            continue
        href = reverse(name)
        current = request.path == href if href == "/" else request.path.startswith(href)
        items.append((href, label, current))
    return items
