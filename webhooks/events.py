"""The events the sessions app raises, each inside the transaction that stores its data.

Called from sessions/services.py (started, ended), sessions/expiry.py (ended by expiry) and
sessions/runtime/store.py (``message_append``: message.created, and tool.called for a tool's
result). Each costs one query when the organization has no endpoint that wants it.
"""

from __future__ import annotations

from uuid import UUID

from sessions.models import Message, Session
from webhooks import payloads
from webhooks.analysis import wants_analysis
from webhooks.services import event_emit


def _session(session_id: UUID) -> Session:
    return Session.objects.unscoped().select_related("assistant").get(pk=session_id)


def session_started(session_id: UUID) -> None:
    session = _session(session_id)
    event_emit(
        organization_id=session.organization_id,
        assistant_id=session.assistant_id,
        event_type="session.started",
        data=lambda: {"session": payloads.session_data(session)},
    )


def session_ended(session_id: UUID) -> None:
    session = _session(session_id)
    event_emit(
        organization_id=session.organization_id,
        assistant_id=session.assistant_id,
        event_type="session.ended",
        data=lambda: {
            "session": payloads.session_data(session),
            "report": payloads.end_of_call_report(session),
        },
        analysis=wants_analysis(session.assistant),
    )


def message_stored(session: Session, message: Message) -> None:
    """message.created for every stored message; tool.called too for a tool's result.
    ``session``: the row the message was stored under (its organization and assistant)."""
    organization_id, assistant_id = session.organization_id, session.assistant_id
    session_id = str(session.pk)
    event_emit(
        organization_id=organization_id,
        assistant_id=assistant_id,
        event_type="message.created",
        data=lambda: {"session_id": session_id, "message": payloads.message_data(message)},
    )
    if message.role == Message.Role.TOOL:
        event_emit(
            organization_id=organization_id,
            assistant_id=assistant_id,
            event_type="tool.called",
            data=lambda: {"session_id": session_id, "tool_call": _tool_call(message)},
        )


def _tool_call(result: Message) -> dict:
    asked = Message.objects.unscoped().filter(
        session_id=result.session_id, role=Message.Role.ASSISTANT, sequence__lt=result.sequence
    )
    calls = payloads.calls_by_id(list(asked.order_by("-sequence")[:20]))
    return payloads.tool_call_data(result, calls)
