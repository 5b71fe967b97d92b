"""Assistants: the list and the builder (create, edit, inline validation, voice preview,
archive). Members build assistants; archiving one takes an admin."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from assistants.models import Assistant, Membership
from assistants.services import assistant_archive, assistant_create, assistant_update
from frontend.forms.assistant import AssistantForm, VoicePreviewForm
from frontend.organizations import DashboardRequest, member_required
from frontend.providers import (
    PreviewUnavailable,
    cached_voice_names,
    model_catalog,
    voice_catalog,
    voice_preview_wav,
)


def _assistant(request: DashboardRequest, pk: UUID | None) -> Assistant | None:
    """The organization's live assistant ``pk`` (another organization's: 404), or None."""
    if pk is None:
        return None
    return get_object_or_404(Assistant.objects.for_org(request.organization).live(), pk=pk)


@member_required()
def assistant_list(request: DashboardRequest) -> HttpResponse:
    assistants = Assistant.objects.for_org(request.organization).live().order_by("name")
    voice_names = cached_voice_names(request.organization)
    rows = [(a, voice_names.get(a.voice_id, a.voice_id)) for a in assistants]
    return render(request, "frontend/assistants/list.html", {"rows": rows})


@member_required()
def assistant_builder(request: DashboardRequest, pk: UUID | None = None) -> HttpResponse:
    assistant = _assistant(request, pk)
    form = AssistantForm(
        request.POST if request.method == "POST" else None,
        organization=request.organization,
        assistant=assistant,
        models=model_catalog(request.organization),
        voices=voice_catalog(request.organization),
    )
    if request.method == "POST" and form.is_valid():
        fields = form.assistant_fields()
        if assistant is None:
            assistant = assistant_create(organization=request.organization, **fields)
            messages.success(request, f"{assistant.name} is ready. Talk to it to hear it.")
        else:
            assistant = assistant_update(assistant=assistant, **fields)
            messages.success(request, f"{assistant.name} is saved.")
        return redirect("dashboard:assistant-edit", pk=assistant.pk)
    return render(request, "frontend/assistants/builder.html", _builder_context(form, assistant))


def _builder_context(form: AssistantForm, assistant: Assistant | None) -> dict[str, Any]:
    error_lists: list[tuple[str, Any]] = [
        (name, form.errors.get(name, [])) for name in [*form.fields, "__all__"]
    ]
    return {"form": form, "assistant": assistant, "error_lists": error_lists}


@member_required()
@require_POST
def assistant_validate(request: DashboardRequest, pk: UUID | None = None) -> HttpResponse:
    """htmx: the builder's fields checked as they would be on save; answers every field's
    error list (out-of-band swaps), empty ones too, so fixed fields lose their errors."""
    form = AssistantForm(
        request.POST, organization=request.organization, assistant=_assistant(request, pk)
    )
    form.is_valid()
    return render(request, "frontend/assistants/_errors.html", _builder_context(form, None))


@member_required()
@require_POST
def assistant_preview(request: DashboardRequest, pk: UUID | None = None) -> HttpResponse:
    """A short sample of the chosen voice with the chosen settings, as a WAV file."""
    _assistant(request, pk)
    form = VoicePreviewForm(request.POST)
    if not form.is_valid():
        return _text(form.problem(), status=400)
    try:
        wav = voice_preview_wav(
            organization=request.organization,
            voice_id=form.cleaned_data["voice_id"],
            model_id=form.cleaned_data["voice_model"],
            voice_settings=form.cleaned_data["voice_settings"],
            output_format=form.cleaned_data["voice_output_format"],
            text=form.cleaned_data["first_message"],
        )
    except PreviewUnavailable as exc:
        return _text(str(exc), status=502)
    response = HttpResponse(wav, content_type="audio/wav")
    response["Cache-Control"] = "no-store"
    return response


def _text(message: str, *, status: int) -> HttpResponse:
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


@member_required(Membership.Role.ADMIN)
@require_POST
def assistant_archive_view(request: DashboardRequest, pk: UUID) -> HttpResponse:
    assistant = _assistant(request, pk)
    assert assistant is not None
    name = assistant.name
    assistant_archive(assistant=assistant)
    messages.success(request, f"{name} is archived. Its sessions stay readable.")
    return redirect("dashboard:assistants")


urls = [
    path("assistants/", assistant_list, name="assistants"),
    path("assistants/new/", assistant_builder, name="assistant-new"),
    path("assistants/new/validate/", assistant_validate, name="assistant-new-validate"),
    path("assistants/new/preview/", assistant_preview, name="assistant-new-preview"),
    path("assistants/<uuid:pk>/", assistant_builder, name="assistant-edit"),
    path("assistants/<uuid:pk>/validate/", assistant_validate, name="assistant-validate"),
    path("assistants/<uuid:pk>/preview/", assistant_preview, name="assistant-preview"),
    path("assistants/<uuid:pk>/archive/", assistant_archive_view, name="assistant-archive"),
]
