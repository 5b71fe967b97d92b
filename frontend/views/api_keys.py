"""API keys: created (the secret shown once, on the response page) and revoked."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from assistants.models import ApiKey, Membership
from assistants.services import api_key_issue, api_key_revoke
from frontend.forms.team import (
    ApiKeyForm,
    add_service_errors,
)
from frontend.organizations import DashboardRequest, member_required
from frontend.views.confirm import confirm_page

ADMIN = Membership.Role.ADMIN


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
        return confirm_page(
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


urls = [
    path("api-keys/", api_key_list, name="api-keys"),
    path("api-keys/new/", api_key_new, name="api-key-new"),
    path("api-keys/<uuid:pk>/revoke/", api_key_revoke_view, name="api-key-revoke"),
]
