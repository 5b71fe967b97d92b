"""Writes for sessions and their transcripts. Sync functions: async callers wrap them once."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from assistants.models import Assistant
from sessions.models import Message, Session, empty_usage

USAGE_KEYS = tuple(empty_usage())


def session_create(
    *,
    assistant: Assistant,
    channel: str = Session.Channel.API,
    metadata: dict | None = None,
) -> Session:
    if assistant.archived_at is not None:
        raise ValidationError({"assistant_id": "This assistant has been deleted."})
    session = Session(
        organization_id=assistant.organization_id,
        assistant=assistant,
        channel=channel,
        metadata=metadata or {},
    )
    session.full_clean()
    session.save()
    return session


@transaction.atomic
def message_append(*, session_id, role: str, content: str = "", **fields: Any) -> Message:
    """Store the next message of a session. Sequences are gap-free and strictly increasing,
    even with several writers (the counter row is locked by the UPDATE until commit)."""
    Session.objects.filter(pk=session_id).update(last_sequence=F("last_sequence") + 1)
    sequence = Session.objects.filter(pk=session_id).values_list("last_sequence", flat=True).get()
    return Message.objects.create(
        session_id=session_id, sequence=sequence, role=role, content=content, **fields
    )


def message_update(*, message_id, **fields: Any) -> None:
    Message.objects.filter(pk=message_id).update(**fields)


@transaction.atomic
def session_add_usage(*, session_id, usage: dict[str, float]) -> None:
    session = Session.objects.select_for_update().get(pk=session_id)
    totals = {**empty_usage(), **session.usage}
    for key in USAGE_KEYS:
        totals[key] = round(totals[key] + usage.get(key, 0), 3)
    session.usage = totals
    session.save(update_fields=["usage"])


def session_activate(*, session_id) -> bool:
    """Mark a session active. False if it has already ended."""
    updated = Session.objects.filter(
        pk=session_id, status__in=[Session.Status.CREATED, Session.Status.ACTIVE]
    ).update(status=Session.Status.ACTIVE)
    Session.objects.filter(pk=session_id, started_at__isnull=True).update(started_at=timezone.now())
    return bool(updated)


def session_end(*, session_id, reason: str, failed: bool = False) -> bool:
    """End a session once. Returns False if it was already over."""
    status = Session.Status.FAILED if failed else Session.Status.ENDED
    updated = Session.objects.filter(
        pk=session_id, status__in=[Session.Status.CREATED, Session.Status.ACTIVE]
    ).update(status=status, ended_at=timezone.now(), ended_reason=reason[:100])
    return bool(updated)
