"""Server URLs of an organization, the events sent to them, and every delivery attempt.

An ``Event`` is written in the same transaction as the data it describes, with one ``Delivery``
per endpoint that wants it and the task that sends it (webhooks/services.py). The endpoint's
signing secret is ``editable=False`` and encrypted at rest: shown once, on create and rotate.
Reach rows through ``objects.for_org(...)``.
"""

from __future__ import annotations

import base64
import secrets
import uuid

from django.db import models

from assistants.models import Assistant, Organization
from assistants.scoping import DJANGO_INTERNALS_MANAGER, OrgScopedQuerySet, ScopeRequiredManager
from integrations.fields import EncryptedTextField

EVENT_TYPES = ("session.started", "message.created", "tool.called", "session.ended")


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def new_event_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


class WebhookEndpoint(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    assistant = models.ForeignKey(
        Assistant,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="webhook_endpoints",
        help_text="Only this assistant's sessions; blank: every session of the organization.",
    )
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    enabled = models.BooleanField(default=True)
    event_types = models.JSONField(
        default=list, blank=True, help_text="The event types sent here; empty: all of them."
    )
    secret = EncryptedTextField(editable=False)
    # When every delivery has failed since this moment (cleared by a success).
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_at = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_reason = models.CharField(max_length=300, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopeRequiredManager.from_queryset(OrgScopedQuerySet)()
    for_django_internals = OrgScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "webhook endpoint"
        default_manager_name = DJANGO_INTERNALS_MANAGER

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str, assistant_id: uuid.UUID | None) -> bool:
        if self.assistant_id is not None and self.assistant_id != assistant_id:
            return False
        return not self.event_types or event_type in self.event_types


class Event(models.Model):
    """One event, its id the ``webhook-id`` every attempt of every delivery carries."""

    id = models.CharField(primary_key=True, max_length=40, default=new_event_id, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="webhook_events"
    )
    type = models.CharField(max_length=40)
    payload = models.JSONField()
    # A session.ended report waiting for its summary and structured data (made by the worker).
    analysis_pending = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopeRequiredManager.from_queryset(OrgScopedQuerySet)()
    for_django_internals = OrgScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        default_manager_name = DJANGO_INTERNALS_MANAGER

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class DeliveryQuerySet(OrgScopedQuerySet["Delivery"]):
    org_lookup = "endpoint__organization"


class Delivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"  # retries used up, or the endpoint was disabled

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # Attempts made before the current round (a manual redelivery starts a new round).
    round_start = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopeRequiredManager.from_queryset(DeliveryQuerySet)()
    for_django_internals = DeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "deliveries"
        default_manager_name = DJANGO_INTERNALS_MANAGER
        indexes = [models.Index(fields=["endpoint", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint_id} ({self.status})"


class DeliveryAttemptQuerySet(OrgScopedQuerySet["DeliveryAttempt"]):
    org_lookup = "delivery__endpoint__organization"


class DeliveryAttempt(models.Model):
    id = models.BigAutoField(primary_key=True)
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    response_excerpt = models.CharField(max_length=1024, blank=True)
    error = models.CharField(max_length=300, blank=True)

    objects = ScopeRequiredManager.from_queryset(DeliveryAttemptQuerySet)()
    for_django_internals = DeliveryAttemptQuerySet.as_manager()

    class Meta:
        ordering = ["delivery", "number"]
        default_manager_name = DJANGO_INTERNALS_MANAGER

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
