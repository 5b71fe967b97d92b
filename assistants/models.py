"""Organizations (the tenants), their members, API keys and assistants."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from assistants import validators
from assistants.scoping import DJANGO_INTERNALS_MANAGER, OrgScopedQuerySet, ScopeRequiredManager
from integrations.fields import EncryptedTextField
from integrations.tools.signing import new_signing_secret


class OrganizationQuerySet(OrgScopedQuerySet["Organization"]):
    org_lookup = "pk"


class Organization(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    max_concurrent_sessions = models.PositiveIntegerField(
        default=10, validators=[MinValueValidator(1), MaxValueValidator(10_000)]
    )
    api_rate_limit_per_minute = models.PositiveIntegerField(
        default=120, validators=[MinValueValidator(1), MaxValueValidator(1_000_000)]
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopeRequiredManager.from_queryset(OrganizationQuerySet)()
    for_django_internals = OrganizationQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        default_manager_name = DJANGO_INTERNALS_MANAGER

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner"
        ADMIN = "admin"
        MEMBER = "member"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopeRequiredManager.from_queryset(OrgScopedQuerySet)()
    for_django_internals = OrgScopedQuerySet.as_manager()

    class Meta:
        default_manager_name = DJANGO_INTERNALS_MANAGER
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="unique_membership")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.role})"


KEY_PREFIXES = {"private": "vp_sk", "public": "vp_pk"}


def hash_api_key(raw_key: str) -> str:
    # Keys carry 190+ bits of randomness, so a fast hash is enough (as for session tokens).
    return hashlib.sha256(raw_key.encode()).hexdigest()


class ApiKeyQuerySet(OrgScopedQuerySet["ApiKey"]):
    def active(self) -> ApiKeyQuerySet:
        return self.filter(revoked_at__isnull=True)


class ApiKey(models.Model):
    class Kind(models.TextChoices):
        PRIVATE = "private"
        PUBLIC = "public"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PRIVATE)
    prefix = models.CharField(max_length=32, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    allowed_origins = models.JSONField(
        default=list, blank=True, validators=[validators.validate_string_list]
    )
    allowed_assistants: models.ManyToManyField[Assistant, models.Model] = models.ManyToManyField(
        "Assistant", blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ScopeRequiredManager.from_queryset(ApiKeyQuerySet)()
    for_django_internals = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"
        default_manager_name = DJANGO_INTERNALS_MANAGER

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def set_new_secret(self) -> str:
        """Give the key a fresh secret; returns the raw key, which is never stored."""
        self.prefix = f"{KEY_PREFIXES[self.kind]}_{secrets.token_hex(6)}"
        raw_key = f"{self.prefix}_{secrets.token_urlsafe(32)}"
        self.key_hash = hash_api_key(raw_key)
        return raw_key

    def matches(self, raw_key: str) -> bool:
        return hmac.compare_digest(self.key_hash, hash_api_key(raw_key))

    def revoke(self) -> None:
        self.revoked_at = self.revoked_at or timezone.now()

    def clean(self) -> None:
        """A new active key must fit under MAX_ACTIVE_API_KEYS_PER_ORGANIZATION (the rate limit
        is the organization's, but a cap keeps leaked or forgotten keys few)."""
        super().clean()
        if not self._state.adding or self.revoked_at or self.organization_id is None:
            return
        limit = settings.MAX_ACTIVE_API_KEYS_PER_ORGANIZATION
        active = ApiKey.objects.for_org(self.organization_id).active().count()
        if active >= limit:
            raise ValidationError(
                f"The organization has {active} active API keys, the most allowed ({limit}):"
                " revoke one before creating another."
            )


def prefix_of(raw_key: str) -> str | None:
    """The lookup prefix of a raw key ("vp_sk_0123456789ab"), or None if it is not one of ours."""
    parts = raw_key.split("_", 3)
    if len(parts) != 4 or f"{parts[0]}_{parts[1]}" not in KEY_PREFIXES.values():
        return None
    if len(parts[2]) != 12 or not parts[3]:
        return None
    return "_".join(parts[:3])


STREAMING_NEEDS_ELEVENLABS = (
    "Streaming transcription needs the ElevenLabs transcriber (Scribe v2 Realtime)."
)


class AssistantQuerySet(OrgScopedQuerySet["Assistant"]):
    def live(self) -> AssistantQuerySet:
        return self.filter(archived_at__isnull=True)


class Assistant(models.Model):
    class ModelProvider(models.TextChoices):
        OPENAI = "openai", "OpenAI"

    class VoiceProvider(models.TextChoices):
        ELEVENLABS = "elevenlabs", "ElevenLabs"
        NONE = "none", "No voice (text only)"

    class TranscriberProvider(models.TextChoices):
        OPENAI = "openai", "OpenAI"
        ELEVENLABS = "elevenlabs", "ElevenLabs Scribe"

    class TranscriberMode(models.TextChoices):
        STREAMING = "streaming", "Streaming (realtime, live captions)"
        BATCH = "batch", "Batch (one request per utterance)"

    class OutputFormat(models.TextChoices):
        PCM_16000 = "pcm_16000"
        PCM_22050 = "pcm_22050"
        PCM_24000 = "pcm_24000"
        PCM_44100 = "pcm_44100"
        PCM_48000 = "pcm_48000"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="assistants"
    )
    name = models.CharField(max_length=200)
    first_message = models.TextField(blank=True, validators=[MaxLengthValidator(2_000)])
    system_prompt = models.TextField(blank=True, validators=[MaxLengthValidator(20_000)])
    model_provider = models.CharField(
        max_length=20, choices=ModelProvider.choices, default=ModelProvider.OPENAI
    )
    model_name = models.CharField(max_length=100, default="gpt-4o-mini")
    temperature = models.FloatField(
        default=0.7, validators=[MinValueValidator(0.0), MaxValueValidator(2.0)]
    )
    max_tokens = models.PositiveIntegerField(
        default=512, validators=[MinValueValidator(1), MaxValueValidator(16_384)]
    )
    voice_provider = models.CharField(
        max_length=20, choices=VoiceProvider.choices, default=VoiceProvider.ELEVENLABS
    )
    voice_id = models.CharField(max_length=100, blank=True, default="21m00Tcm4TlvDq8ikWAM")
    voice_model = models.CharField(max_length=100, default="eleven_flash_v2_5")
    voice_output_format = models.CharField(
        max_length=20, choices=OutputFormat.choices, default=OutputFormat.PCM_24000
    )
    voice_settings = models.JSONField(
        default=dict, blank=True, validators=[validators.validate_voice_settings]
    )
    transcriber_provider = models.CharField(
        max_length=20, choices=TranscriberProvider.choices, default=TranscriberProvider.OPENAI
    )
    transcriber_model = models.CharField(max_length=100, default="gpt-4o-mini-transcribe")
    # "batch" by default: clients that never heard of the mode keep the behaviour they had.
    transcriber_mode = models.CharField(
        max_length=10,
        choices=TranscriberMode.choices,
        default=TranscriberMode.BATCH,
        help_text="Streaming sends the caller's speech to the transcriber as it is spoken, so "
        "the text is ready the moment they stop and live captions show while they talk "
        "(ElevenLabs only, with a realtime model such as scribe_v2_realtime). Batch sends "
        "each utterance whole once the caller has stopped.",
    )
    language = models.CharField(max_length=16, default="en")
    interruptions_enabled = models.BooleanField(default=True)
    end_of_turn_silence_ms = models.PositiveIntegerField(
        default=500,
        validators=[MinValueValidator(200), MaxValueValidator(3_000)],
        help_text="How long the caller must be silent, in milliseconds, before their turn "
        "ends and the assistant answers (200 to 3,000). Shorter answers sooner; longer lets "
        "people pause mid-sentence.",
    )
    min_speech_ms = models.PositiveIntegerField(
        default=100,
        validators=[MinValueValidator(40), MaxValueValidator(2_000)],
        help_text="Sound shorter than this, in milliseconds, is taken as noise (a cough, a "
        "click), not as a turn (40 to 2,000).",
    )
    barge_in_min_speech_ms = models.PositiveIntegerField(
        default=200,
        validators=[MinValueValidator(40), MaxValueValidator(3_000)],
        help_text="How long the caller must speak over the assistant, in milliseconds, before "
        "it stops talking (40 to 3,000). Applies only when interruptions are allowed.",
    )
    preemptive_replies = models.BooleanField(
        default=True,
        help_text="With streaming transcription: start writing the reply at the caller's first "
        "short pause, before their turn has surely ended, so it can be spoken sooner. If the "
        "caller goes on talking or their words change, that reply is thrown away: never heard, "
        "never stored, its tools never run.",
    )
    silence_timeout_seconds = models.PositiveIntegerField(
        default=30, validators=[MinValueValidator(1), MaxValueValidator(3_600)]
    )
    max_duration_seconds = models.PositiveIntegerField(
        default=600, validators=[MinValueValidator(10), MaxValueValidator(43_200)]
    )
    end_call_phrases = models.JSONField(
        default=list, blank=True, validators=[validators.validate_phrases]
    )
    tools = models.JSONField(default=list, blank=True, validators=[validators.validate_tools])
    # Function tools run on the organization's own server (integrations/tools/custom.py).
    custom_tools = models.JSONField(
        default=list, blank=True, validators=[validators.validate_custom_tools]
    )
    # Signs the calls to custom tools; shown once, when made (POST .../tool-signing-secret/).
    tool_signing_secret = EncryptedTextField(default=new_signing_secret, editable=False)
    metadata = models.JSONField(default=dict, blank=True, validators=[validators.validate_metadata])
    archived_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopeRequiredManager.from_queryset(AssistantQuerySet)()
    for_django_internals = AssistantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        default_manager_name = DJANGO_INTERNALS_MANAGER
        indexes = [models.Index(fields=["organization", "-created_at"])]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.voice_provider != self.VoiceProvider.NONE and not self.voice_id:
            raise ValidationError({"voice_id": "A voice is required unless the voice is 'none'."})
        if not self.language.replace("-", "").isalnum():
            raise ValidationError({"language": "Use a language code such as 'en' or 'pt-BR'."})
        if (
            self.transcriber_mode == self.TranscriberMode.STREAMING
            and self.transcriber_provider != self.TranscriberProvider.ELEVENLABS
        ):
            raise ValidationError({"transcriber_mode": STREAMING_NEEDS_ELEVENLABS})
        self._clean_tool_options()

    def _clean_tool_options(self) -> None:
        """Options that depend on the organization (its Notion connections, for one)."""
        from integrations.notion.options import notion_tool_option_errors

        errors = notion_tool_option_errors(self.tools, organization_id=self.organization_id)
        if errors:
            raise ValidationError({"tools": errors})

    @property
    def enabled_tools(self) -> dict[str, dict]:
        return {item["name"]: item.get("options", {}) for item in self.tools}
