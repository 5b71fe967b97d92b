"""Writes for sessions. Sync functions: async callers wrap them once.

The functions that take a ``session_id`` serve the live runtime, which holds a session it was
let into by a scoped lookup (the API view, or the WebSocket token signed for that session):
their queries are ``unscoped()`` by design, not by accident. A transcript's messages are
written by the runtime's store (sessions/runtime/store.py), its one door to the database.
"""

from __future__ import annotations

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from assistants.models import ApiKey, Assistant
from sessions.models import Session
from sessions.overrides import session_metadata
from webhooks import events as webhook_events


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


def session_start(
    *,
    api_key: ApiKey,
    assistant_id,
    metadata: dict | None = None,
    overrides: dict | None = None,
    origin: str | None = None,
) -> Session:
    """Create a session as this API key may, with the caller's overrides (sessions/overrides.py).

    A private key may use any live assistant of its organization (channel "api"). A public key,
    shipped in browsers, only its allowed assistants, and only from its allowed origins when the
    request carries an Origin (channel "web"). Another organization's assistant does not exist.
    """
    if api_key.kind == ApiKey.Kind.PUBLIC:
        if origin is not None and origin.lower() not in api_key.allowed_origins:
            raise PermissionDenied("This key may not be used from this origin.")
        allowed = api_key.allowed_assistants.values("pk")
        assistant = _assistant_of(api_key, assistant_id, extra={"pk__in": allowed})
        if assistant is None:
            raise PermissionDenied("This key may not start sessions for this assistant.")
        channel = Session.Channel.WEB
    else:
        assistant = _assistant_of(api_key, assistant_id, extra={"archived_at__isnull": True})
        if assistant is None:
            raise ValidationError({"assistant_id": "No assistant with this id."})
        channel = Session.Channel.API
    metadata = session_metadata(metadata, overrides)
    return session_create(assistant=assistant, channel=channel, metadata=metadata)


def _assistant_of(api_key: ApiKey, assistant_id, *, extra: dict) -> Assistant | None:
    assistants = Assistant.objects.for_org(api_key.organization_id)
    return assistants.filter(pk=assistant_id, **extra).first()


def session_activate(*, session_id) -> bool:
    """Mark a session active. False if it has already ended."""
    sessions = Session.objects.unscoped()
    with transaction.atomic():
        updated = sessions.filter(
            pk=session_id, status__in=[Session.Status.CREATED, Session.Status.ACTIVE]
        ).update(status=Session.Status.ACTIVE, last_activity_at=timezone.now())
        first = sessions.filter(pk=session_id, started_at__isnull=True).update(
            started_at=timezone.now()
        )
        if updated and first:
            webhook_events.session_started(session_id)
    return bool(updated)


def session_end(*, session_id, reason: str, failed: bool = False) -> bool:
    """End a session once. Returns False if it was already over."""
    status = Session.Status.FAILED if failed else Session.Status.ENDED
    with transaction.atomic():
        updated = (
            Session.objects.unscoped()
            .filter(pk=session_id, status__in=[Session.Status.CREATED, Session.Status.ACTIVE])
            .update(status=status, ended_at=timezone.now(), ended_reason=reason[:100])
        )
        if updated:
            webhook_events.session_ended(session_id)
    return bool(updated)


def session_group(session_id) -> str:
    """The channel-layer group of a session's live connection(s), on any server process."""
    return f"session-{session_id}"


def session_stop(*, session: Session, reason: str = "ended-by-api") -> Session:
    """End a session wherever it runs: its live connection (if any) stops and stores what was
    said; the database row is ended even when no connection is open."""
    layer = get_channel_layer()
    assert layer is not None, "CHANNEL_LAYERS is always configured (config/settings.py)"
    async_to_sync(layer.group_send)(
        session_group(session.id), {"type": "session.end", "reason": reason}
    )
    session_end(session_id=session.id, reason=reason)
    session.refresh_from_db()
    return session
