"""Conversations and their transcripts."""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from assistants.scoping import DJANGO_INTERNALS_MANAGER, OrgScopedQuerySet, ScopeRequiredManager
from assistants.validators import validate_metadata


def empty_usage() -> dict:
    return {
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "tts_characters": 0,
        "stt_audio_seconds": 0.0,
    }


class SessionQuerySet(OrgScopedQuerySet["Session"]):
    def live(self) -> SessionQuerySet:
        return self.filter(status__in=[Session.Status.CREATED, Session.Status.ACTIVE])


class Session(models.Model):
    class Status(models.TextChoices):
        CREATED = "created"
        ACTIVE = "active"
        ENDED = "ended"
        FAILED = "failed"

    class Channel(models.TextChoices):
        WEB = "web"
        API = "api"
        DISCORD = "discord"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "assistants.Organization", on_delete=models.CASCADE, related_name="sessions"
    )
    # PROTECT: transcripts outlive their assistant, which is archived rather than deleted.
    assistant = models.ForeignKey(
        "assistants.Assistant", on_delete=models.PROTECT, related_name="sessions"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CREATED)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.API)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_reason = models.CharField(max_length=100, blank=True)
    metadata = models.JSONField(default=dict, blank=True, validators=[validate_metadata])
    usage = models.JSONField(default=empty_usage, blank=True)
    last_sequence = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # When a client last used the session: created, activated, a message stored, or a live
    # connection's heartbeat. Sessions left alone end on their own (sessions/expiry.py).
    last_activity_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = ScopeRequiredManager.from_queryset(SessionQuerySet)()
    for_django_internals = SessionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        default_manager_name = DJANGO_INTERNALS_MANAGER
        indexes = [
            models.Index(fields=["organization", "-created_at"]),
            models.Index(fields=["organization", "status"]),
            # The expiry sweep's lookup, across organizations; ended sessions are left out.
            models.Index(
                fields=["status", "last_activity_at"],
                condition=models.Q(status__in=["created", "active"]),
                name="session_live_activity_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Session {self.id} ({self.status})"

    def clean(self) -> None:
        if (
            self.assistant_id
            and self.organization_id
            and self.assistant.organization_id != self.organization_id
        ):
            raise ValidationError({"assistant": "The assistant belongs to another organization."})

    @property
    def is_over(self) -> bool:
        return self.status in (self.Status.ENDED, self.Status.FAILED)


class MessageQuerySet(OrgScopedQuerySet["Message"]):
    org_lookup = "session__organization"


class Message(models.Model):
    class Role(models.TextChoices):
        SYSTEM = "system"
        USER = "user"
        ASSISTANT = "assistant"
        TOOL = "tool"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="messages")
    sequence = models.PositiveIntegerField()
    role = models.CharField(max_length=10, choices=Role.choices)
    content = models.TextField(blank=True)
    tool_calls = models.JSONField(default=list, blank=True)
    tool_call_id = models.CharField(max_length=100, blank=True)
    interrupted = models.BooleanField(default=False)
    latency = models.JSONField(default=dict, blank=True)
    usage = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopeRequiredManager.from_queryset(MessageQuerySet)()
    for_django_internals = MessageQuerySet.as_manager()

    class Meta:
        ordering = ["session", "sequence"]
        default_manager_name = DJANGO_INTERNALS_MANAGER
        constraints = [
            models.UniqueConstraint(fields=["session", "sequence"], name="unique_message_sequence")
        ]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.role}: {self.content[:40]}"
