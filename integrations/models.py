"""Organization-owned credentials for outside systems, encrypted at rest.

Secrets are ``editable=False`` so no ModelForm ever renders them; the admin offers a write-only
"new secret" field instead. Reach rows through ``objects.for_org(...)``.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from assistants.models import Organization
from assistants.scoping import DJANGO_INTERNALS_MANAGER, OrgScopedQuerySet, ScopeRequiredManager
from integrations.fields import EncryptedTextField


class NotionConnectionQuerySet(OrgScopedQuerySet["NotionConnection"]):
    def active(self) -> NotionConnectionQuerySet:
        return self.filter(status=NotionConnection.Status.ACTIVE)


class NotionConnection(models.Model):
    """A Notion workspace an organization connected, with the token its tools use."""

    class Kind(models.TextChoices):
        OAUTH = "oauth", "OAuth (public integration)"
        INTERNAL = "internal", "Internal integration token"

    class Status(models.TextChoices):
        ACTIVE = "active"
        BROKEN = "broken"  # Notion refused the token (401); needs a reconnect

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="notion_connections"
    )
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.OAUTH)
    token = EncryptedTextField(editable=False)
    workspace_id = models.CharField(max_length=64, blank=True)
    workspace_name = models.CharField(max_length=200, blank=True)
    bot_id = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    connected_at = models.DateTimeField(default=timezone.now)
    broken_at = models.DateTimeField(null=True, blank=True)

    objects = ScopeRequiredManager.from_queryset(NotionConnectionQuerySet)()
    for_django_internals = NotionConnectionQuerySet.as_manager()

    class Meta:
        ordering = ["-connected_at"]
        default_manager_name = DJANGO_INTERNALS_MANAGER
        constraints = [
            # Reconnecting a workspace updates its connection instead of adding a second one.
            models.UniqueConstraint(
                fields=["organization", "workspace_id"],
                condition=~Q(workspace_id=""),
                name="unique_notion_workspace_per_org",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.workspace_name or self.get_kind_display()})"


class ProviderCredential(models.Model):
    """An organization's own API key for a model/voice provider, overriding the platform's."""

    class Provider(models.TextChoices):
        OPENAI = "openai", "OpenAI"
        ELEVENLABS = "elevenlabs", "ElevenLabs"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="provider_credentials"
    )
    provider = models.CharField(max_length=20, choices=Provider.choices)
    api_key = EncryptedTextField(editable=False)
    base_url = models.URLField(blank=True, help_text="Only for OpenAI-compatible servers.")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopeRequiredManager.from_queryset(OrgScopedQuerySet)()
    for_django_internals = OrgScopedQuerySet.as_manager()

    class Meta:
        ordering = ["organization", "provider"]
        default_manager_name = DJANGO_INTERNALS_MANAGER
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "provider"], name="unique_provider_credential"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} key of {self.organization}"
