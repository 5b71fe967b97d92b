"""The organization's people and keys: members, API keys, integrations.

Views parse, call one service and render. A refusal of a service becomes a message or a field
error, never an error page; another organization's object is a 404 (every lookup is scoped).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from assistants.invitations import (
    MembershipRefused,
    grantable_roles,
    may_manage,
    member_invite,
    membership_remove,
    membership_role_change,
)
from assistants.models import ApiKey, Membership
from assistants.services import api_key_issue, api_key_revoke
from frontend.forms.team import (
    ApiKeyForm,
    InviteForm,
    NotionTokenForm,
    ProviderCredentialForm,
    RoleForm,
    add_service_errors,
    role_choices,
)
from frontend.organizations import DashboardRequest, member_required
from integrations.errors import ProviderError
from integrations.models import NotionConnection, ProviderCredential
from integrations.notion.oauth import OAuthRefused, oauth_config
from integrations.services import (
    notion_connection_delete,
    notion_connection_from_token,
    provider_credential_delete,
    provider_credential_set,
)

ADMIN = Membership.Role.ADMIN
#: a key ending is shown only for keys long enough that four characters give nothing away
KEY_HINT_MIN_LENGTH = 20

# Members


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
        return _confirm(
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


# API keys


@member_required(ADMIN)
@require_safe
def api_key_list(request: DashboardRequest) -> HttpResponse:
    keys = ApiKey.objects.for_org(request.organization).prefetch_related("allowed_assistants")
    return render(request, "frontend/team/api_keys.html", {"keys": keys})


@never_cache  # the page that shows a new key must not be kept by a browser or a proxy
@member_required(ADMIN)
@require_http_methods(["GET", "POST"])
def api_key_new(request: DashboardRequest) -> HttpResponse:
    form = ApiKeyForm(request.POST or None, organization=request.organization)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            api_key, raw_key = api_key_issue(
                organization=request.organization,
                name=data["name"],
                kind=data["kind"],
                allowed_origins=data["allowed_origins"],
                allowed_assistant_ids=[a.pk for a in data["allowed_assistants"]],
                created_by=request.user,
            )
        except ValidationError as error:
            add_service_errors(form, error, renamed=ApiKeyForm.SERVICE_FIELDS)
        else:
            context = {"key": api_key, "raw_key": raw_key}
            return render(request, "frontend/team/api_key_created.html", context, status=201)
    return render(request, "frontend/team/api_key_new.html", {"form": form})


@member_required(ADMIN)
@require_http_methods(["GET", "POST"])
def api_key_revoke_view(request: DashboardRequest, pk: uuid.UUID) -> HttpResponse:
    api_key = get_object_or_404(ApiKey.objects.for_org(request.organization), pk=pk)
    if request.method == "GET":
        return _confirm(
            request,
            title="Revoke API key",
            question=f"Revoke the key “{api_key.name}” ({api_key.prefix}…)?",
            detail="Requests with it are refused from now on and its open live sessions end."
            " This cannot be undone.",
            button="Revoke",
            back="dashboard:api-keys",
        )
    if api_key.is_active:
        api_key_revoke(api_key=api_key)
        messages.success(request, f"Revoked the key “{api_key.name}”.")
    else:
        messages.info(request, f"The key “{api_key.name}” was already revoked.")
    return redirect("dashboard:api-keys")


# Integrations


@dataclass(frozen=True)
class ProviderRow:
    provider: str
    label: str
    credential: ProviderCredential | None
    key_hint: str  # the key's last four characters, or "" (never more)
    form: ProviderCredentialForm


@member_required(ADMIN)
@require_safe
def integrations(request: DashboardRequest) -> HttpResponse:
    return _integrations_page(request)


def _integrations_page(
    request: DashboardRequest,
    token_form: NotionTokenForm | None = None,
    provider_forms: dict[str, ProviderCredentialForm] | None = None,
) -> HttpResponse:
    """The page, with the form that was just sent (and its errors) where there is one."""
    credentials = {c.provider: c for c in ProviderCredential.objects.for_org(request.organization)}
    sent = provider_forms or {}
    context = {
        "connections": NotionConnection.objects.for_org(request.organization),
        "oauth_available": _notion_oauth_available(),
        "token_form": token_form or NotionTokenForm(),
        "providers": [
            _provider_row(request, value, str(label), credentials.get(value), sent.get(value))
            for value, label in ProviderCredential.Provider.choices
        ],
    }
    return render(request, "frontend/team/integrations.html", context)


def _provider_row(
    request: DashboardRequest,
    provider: str,
    label: str,
    credential: ProviderCredential | None,
    form: ProviderCredentialForm | None,
) -> ProviderRow:
    if form is None:
        initial = {"base_url": credential.base_url} if credential else {}
        form = _provider_form(request, credential, initial=initial, prefix=provider)
    key = str(credential.api_key) if credential else ""
    hint = key[-4:] if len(key) >= KEY_HINT_MIN_LENGTH else ""
    return ProviderRow(provider, label, credential, hint, form)


def _provider_form(
    request: DashboardRequest, credential: ProviderCredential | None, **kwargs
) -> ProviderCredentialForm:
    # Only platform operators choose where the server sends requests (see credentials.py).
    return ProviderCredentialForm(
        is_set=credential is not None, with_base_url=request.user.is_superuser, **kwargs
    )


def _notion_oauth_available() -> bool:
    try:
        oauth_config()
    except OAuthRefused:
        return False
    return True


@member_required(ADMIN)
@require_POST
def notion_token(request: DashboardRequest) -> HttpResponse:
    form = NotionTokenForm(request.POST)
    if not form.is_valid():
        return _integrations_page(request, token_form=form)
    try:
        connection = notion_connection_from_token(
            organization=request.organization,
            token=form.cleaned_data["token"],
            name=form.cleaned_data["name"],
            connected_by=request.user,
        )
    except ValidationError as error:
        add_service_errors(form, error)
        return _integrations_page(request, token_form=form)
    except ProviderError as error:
        form.add_error(None, f"{error.message} Nothing was connected; try again in a moment.")
        return _integrations_page(request, token_form=form)
    messages.success(request, f"Connected the Notion workspace “{connection.name}”.")
    return redirect("dashboard:integrations")


@member_required(ADMIN)
@require_http_methods(["GET", "POST"])
def notion_disconnect(request: DashboardRequest, pk: uuid.UUID) -> HttpResponse:
    connections = NotionConnection.objects.for_org(request.organization)
    connection = get_object_or_404(connections, pk=pk)
    if request.method == "GET":
        return _confirm(
            request,
            title="Disconnect Notion",
            question=f"Disconnect the Notion workspace “{connection.name}”?",
            detail="Its token is forgotten; assistants that use this workspace stop using Notion.",
            button="Disconnect",
            back="dashboard:integrations",
        )
    notion_connection_delete(connection=connection)
    messages.success(request, f"Disconnected “{connection.name}”.")
    return redirect("dashboard:integrations")


@member_required(ADMIN)
@require_POST
def provider_credential(request: DashboardRequest, provider: str) -> HttpResponse:
    label = _provider_label(provider)
    credential = _credential(request, provider)
    form = _provider_form(request, credential, data=request.POST, prefix=provider)
    if form.is_valid():
        try:
            provider_credential_set(
                organization=request.organization,
                provider=provider,
                api_key=form.cleaned_data["api_key"],
                base_url=form.base_url_or_keep(),
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Saved the {label} key of {request.organization.name}.")
            return redirect("dashboard:integrations")
    return _integrations_page(request, provider_forms={provider: form})


@member_required(ADMIN)
@require_http_methods(["GET", "POST"])
def provider_credential_remove(request: DashboardRequest, provider: str) -> HttpResponse:
    label = _provider_label(provider)
    credential = _credential(request, provider)
    if credential is None:
        raise Http404(f"{request.organization.name} has no {label} key of its own.")
    if request.method == "GET":
        return _confirm(
            request,
            title=f"Remove the {label} key",
            question=f"Remove {request.organization.name}'s own {label} key?",
            detail="Sessions use the platform's key instead, if it has one.",
            button="Remove",
            back="dashboard:integrations",
        )
    provider_credential_delete(credential=credential)
    messages.success(request, f"Removed the {label} key.")
    return redirect("dashboard:integrations")


def _provider_label(provider: str) -> str:
    labels = dict(ProviderCredential.Provider.choices)
    if provider not in labels:
        raise Http404("No such provider.")
    return str(labels[provider])


def _credential(request: DashboardRequest, provider: str) -> ProviderCredential | None:
    credentials = ProviderCredential.objects.for_org(request.organization)
    return credentials.filter(provider=provider).first()


# Shared


def _confirm(
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


urls = [
    path("members/", member_list, name="members"),
    path("members/invite/", member_invite_view, name="member-invite"),
    path("members/<int:pk>/role/", member_role, name="member-role"),
    path("members/<int:pk>/remove/", member_remove, name="member-remove"),
    path("api-keys/", api_key_list, name="api-keys"),
    path("api-keys/new/", api_key_new, name="api-key-new"),
    path("api-keys/<uuid:pk>/revoke/", api_key_revoke_view, name="api-key-revoke"),
    path("integrations/", integrations, name="integrations"),
    path("integrations/notion/token/", notion_token, name="notion-token"),
    path(
        "integrations/notion/connections/<uuid:pk>/disconnect/",
        notion_disconnect,
        name="notion-disconnect",
    ),
    path("integrations/providers/<str:provider>/", provider_credential, name="provider-key"),
    path(
        "integrations/providers/<str:provider>/remove/",
        provider_credential_remove,
        name="provider-key-remove",
    ),
]
