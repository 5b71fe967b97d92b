"""The browser test chat: talk to an assistant by voice or text from its page.

The page never holds a credential: the server creates the session for the signed-in member,
and the browser opens the session's WebSocket with the member's login cookie (accepted from
our own origin only; sessions/consumers.py).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from assistants.models import Assistant
from frontend.organizations import DashboardRequest, member_required
from integrations.tts import audio_format_for
from sessions.models import Session
from sessions.services import session_create

CHAT_SOURCE = "dashboard-test-chat"


def _assistant(request: DashboardRequest, pk: Any) -> Assistant:
    return get_object_or_404(Assistant.objects.for_org(request.organization), pk=pk)


def output_sample_rate(assistant: Assistant) -> int | None:
    """The rate of the assistant's speech; None for a text-only assistant."""
    if assistant.voice_provider == Assistant.VoiceProvider.NONE:
        return None
    return audio_format_for(assistant.voice_output_format).sample_rate


def chat_session_start(*, assistant: Assistant, user_id: int) -> Session:
    """A web session for a member trying the assistant out; ValidationError if archived."""
    return session_create(
        assistant=assistant,
        channel=Session.Channel.WEB,
        metadata={"source": CHAT_SOURCE, "started_by_user_id": user_id},
    )


def chat_session_payload(request: DashboardRequest, session: Session) -> dict[str, Any]:
    scheme = "wss" if request.is_secure() else "ws"
    ws_path = f"/ws/sessions/{session.id}/"
    simulated = list(settings.SIMULATED_PROVIDERS)
    return {
        "session_id": str(session.id),
        "ws_url": f"{scheme}://{request.get_host()}{ws_path}",
        "ws_path": ws_path,
        "output_sample_rate": output_sample_rate(session.assistant),
        "interruptions_enabled": session.assistant.interruptions_enabled,
        "simulated": bool(simulated),
        "simulated_providers": simulated,
        "session_url": reverse("dashboard:session-detail", args=[session.id]),
    }


@member_required()
def assistant_chat(request: DashboardRequest, pk: Any) -> HttpResponse:
    assistant = _assistant(request, pk)
    context = {
        "assistant": assistant,
        "archived": assistant.archived_at is not None,
        "output_sample_rate": output_sample_rate(assistant),
        "simulated_providers": list(settings.SIMULATED_PROVIDERS),
    }
    return render(request, "frontend/chat/chat.html", context)


@require_POST
@member_required()
def assistant_chat_session(request: DashboardRequest, pk: Any) -> HttpResponse:
    assistant = _assistant(request, pk)
    try:
        session = chat_session_start(assistant=assistant, user_id=request.user.pk)
    except ValidationError as exc:
        messages = [m for ms in exc.message_dict.values() for m in ms]
        return JsonResponse({"error": " ".join(messages)}, status=409)
    return JsonResponse(chat_session_payload(request, session), status=201)


urls = [
    path("assistants/<uuid:pk>/chat/", assistant_chat, name="assistant-chat"),
    path(
        "assistants/<uuid:pk>/chat/session/",
        assistant_chat_session,
        name="assistant-chat-session",
    ),
]
