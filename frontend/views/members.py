"""Members: the list, invitations by email, roles and removal (rules in assistants/invitations.py).

Views parse, call one service and render; a refusal becomes a message, never an error page,
and another organization's membership is a 404.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from assistants.invitations import (
    MembershipRefused,
    grantable_roles,
    may_manage,
    member_invite,
    membership_remove,
    membership_role_change,
)
from assistants.models import Membership
from frontend.forms.team import (
    InviteForm,
    RoleForm,
    role_choices,
)
from frontend.organizations import DashboardRequest, member_required
from frontend.views.confirm import confirm_page

ADMIN = Membership.Role.ADMIN


@member_required()
@require_safe
def member_list(request: DashboardRequest) -> HttpResponse:
    return _members_page(request)


def _members_page(request: DashboardRequest, invite_form: InviteForm | None = None) -> HttpResponse:
    actor = request.membership
    roles = grantable_roles(actor)
    members = Membership.objects.for_org(request.organization).select_related("user")
    rows = [(m, may_manage(actor, m)) for m in members.order_by("user__email", "user__username")]
    context = {
        "rows": rows,
        "role_choices": role_choices(roles),
        "invite_form": invite_form or (InviteForm(roles=roles) if roles else None),
    }
    return render(request, "frontend/team/members.html", context)


@member_required(ADMIN)
@require_POST
def member_invite_view(request: DashboardRequest) -> HttpResponse:
    form = InviteForm(request.POST, roles=grantable_roles(request.membership))
    if not form.is_valid():
        return _members_page(request, invite_form=form)
    try:
        invitation = member_invite(
            organization=request.organization,
            invited_by=request.membership,
            base_url=settings.PUBLIC_BASE_URL or request.build_absolute_uri("/"),
            **form.cleaned_data,
        )
    except MembershipRefused as refusal:
        form.add_error(None, refusal.message)
        return _members_page(request, invite_form=form)
    _say_invited(request, form.cleaned_data["email"], invitation.link_sent, invitation.mailed)
    return redirect("dashboard:members")


def _say_invited(request: DashboardRequest, email: str, link_sent: bool, mailed: bool) -> None:
    if not mailed:
        messages.warning(
            request,
            f"{email} is a member now, but the email could not be sent (the server's email"
            " settings need a look). Invite them again to resend it.",
        )
    elif link_sent:
        messages.success(request, f"Invited {email}: they got an email to choose a password.")
    else:
        messages.success(request, f"Added {email}; they got an email saying so.")


@member_required(ADMIN)
@require_POST
def member_role(request: DashboardRequest, pk: int) -> HttpResponse:
    membership = _membership(request, pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the roles.")
        return redirect("dashboard:members")
    try:
        membership_role_change(
            membership=membership, role=form.cleaned_data["role"], changed_by=request.membership
        )
    except MembershipRefused as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, f"{_person(membership)} is now {form.cleaned_data['role']}.")
    return redirect("dashboard:members")


@member_required(ADMIN)
@require_http_methods(["GET", "POST"])
def member_remove(request: DashboardRequest, pk: int) -> HttpResponse:
    membership = _membership(request, pk)
    if request.method == "GET":
        return confirm_page(
            request,
            title="Remove member",
            question=f"Remove {_person(membership)} from {request.organization.name}?",
            detail="They can no longer open this organization's pages. Their account stays.",
            button="Remove",
            back="dashboard:members",
        )
    try:
        membership_remove(membership=membership, removed_by=request.membership)
    except MembershipRefused as refusal:
        messages.error(request, refusal.message)
        return redirect("dashboard:members")
    messages.success(request, f"Removed {_person(membership)}.")
    if membership.pk == request.membership.pk:
        return redirect("dashboard:overview")  # in another organization now, or in none
    return redirect("dashboard:members")


def _membership(request: DashboardRequest, pk: int) -> Membership:
    members = Membership.objects.for_org(request.organization).select_related("user")
    return get_object_or_404(members, pk=pk)


def _person(membership: Membership) -> str:
    return membership.user.email or membership.user.get_username()


urls = [
    path("members/", member_list, name="members"),
    path("members/invite/", member_invite_view, name="member-invite"),
    path("members/<int:pk>/role/", member_role, name="member-role"),
    path("members/<int:pk>/remove/", member_remove, name="member-remove"),
]
