"""Integrations: Notion connections and the organization's own provider keys (never shown back)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from assistants.models import Membership
from frontend.forms.team import (
    NotionTokenForm,
    ProviderCredentialForm,
    add_service_errors,
)
from frontend.organizations import DashboardRequest, member_required
from frontend.providers import forget_catalogs
from frontend.views.confirm import confirm_page
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
        return confirm_page(
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
            forget_catalogs(request.organization)  # the model and voice lists of the new key
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
        return confirm_page(
            request,
            title=f"Remove the {label} key",
            question=f"Remove {request.organization.name}'s own {label} key?",
            detail="Sessions use the platform's key instead, if it has one.",
            button="Remove",
            back="dashboard:integrations",
        )
    provider_credential_delete(credential=credential)
    forget_catalogs(request.organization)
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


urls = [
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
