"""Organization-owned credentials for outside systems, encrypted at rest.

Secrets are ``editable=False`` so no ModelForm ever renders them; the admin offers a write-only
"new secret" field instead. Reach rows through ``objects.for_org(...)``.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
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


class Price(models.Model):
    """An operator's price for one model, overriding ``settings.PRICES`` (integrations/pricing.py).

    Platform-wide, not per organization. Units by kind: LLM per 1M input tokens (``price``) and
    per 1M output tokens (``output_price``); TTS per 1M characters; STT per minute of audio.
    The model name "default" prices every model of its kind that has no row of its own."""

    class Kind(models.TextChoices):
        LLM = "llm", "LLM (per 1M tokens)"
        TTS = "tts", "Text to speech (per 1M characters)"
        STT = "stt", "Speech to text (per minute)"

    kind = models.CharField(max_length=3, choices=Kind.choices)
    model = models.CharField(
        max_length=100, help_text='The provider\'s model name, e.g. gpt-4o-mini, or "default".'
    )
    price = models.DecimalField(
        max_digits=12,
        decimal_places=6,
        validators=[MinValueValidator(0)],
        help_text="USD. LLM: per 1M input tokens; TTS: per 1M characters; STT: per minute.",
    )
    output_price = models.DecimalField(
        max_digits=12,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="USD per 1M output tokens. LLM only.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "model"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "model"], name="unique_price_per_model")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.model}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        from integrations.pricing import forget_price_table  # pricing imports this module

        super().save(*args, **kwargs)
        forget_price_table()  # this process prices the next message with the new price

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        from integrations.pricing import forget_price_table

        deleted = super().delete(*args, **kwargs)
        forget_price_table()
        return deleted

    def clean(self) -> None:
        if self.kind == self.Kind.LLM and self.output_price is None:
            raise ValidationError({"output_price": "An LLM price needs an output price."})
        if self.kind != self.Kind.LLM and self.output_price is not None:
            raise ValidationError({"output_price": "Only LLM prices have an output price."})
