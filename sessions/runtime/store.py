"""The runtime's one door to the database. Every call runs in Django's sync thread."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from channels.db import database_sync_to_async

from assistants.models import Assistant
from sessions import services
from sessions.models import Message, Session
from sessions.runtime.history import build_history


@dataclass
class SessionContext:
    session_id: uuid.UUID
    organization_id: uuid.UUID
    assistant: Assistant
    status: str
    history: list[dict[str, Any]]
    message_count: int


@database_sync_to_async
def load_context(session_id: uuid.UUID) -> SessionContext | None:
    session = (
        Session.objects.select_related("assistant__organization").filter(pk=session_id).first()
    )
    if session is None:
        return None
    messages = list(session.messages.order_by("sequence"))
    return SessionContext(
        session_id=session.id,
        organization_id=session.organization_id,
        assistant=session.assistant,
        status=session.status,
        history=build_history(session.assistant.system_prompt, messages),
        message_count=len(messages),
    )


@database_sync_to_async
def append_message(session_id: uuid.UUID, **fields: Any) -> Message:
    return services.message_append(session_id=session_id, **fields)


@database_sync_to_async
def activate(session_id: uuid.UUID) -> bool:
    return services.session_activate(session_id=session_id)


@database_sync_to_async
def end(session_id: uuid.UUID, reason: str, failed: bool = False) -> bool:
    return services.session_end(session_id=session_id, reason=reason, failed=failed)


@database_sync_to_async
def save_assistant_message(session_id: uuid.UUID, **fields: Any) -> Message:
    """Store an assistant message and add its usage to the session's, in one transaction."""
    return services.message_append(session_id=session_id, role="assistant", **fields)


@database_sync_to_async
def mark_interrupted(message_id: uuid.UUID, heard: str) -> None:
    services.message_update(message_id=message_id, interrupted=True, content=heard)
