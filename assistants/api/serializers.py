"""Input and output shapes for assistants, API keys and the organization. Input serializers
validate only; the services decide. Output serializers never include a secret unless named so."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from assistants import validators
from assistants.api.fields import (
    CustomToolsField,
    CustomToolsOutput,
    JSONObjectField,
    JSONObjectOutput,
    StrictCharField,
    StrictModelSerializer,
    StrictSerializer,
    StrictUUIDField,
    StringListField,
    StringListOutput,
    ToolsField,
    ToolsOutput,
    VoiceSettingsField,
    VoiceSettingsOutput,
)
from assistants.models import ApiKey, Assistant

ASSISTANT_WRITABLE_FIELDS = [
    "name",
    "first_message",
    "system_prompt",
    "model_provider",
    "model_name",
    "temperature",
    "max_tokens",
    "voice_provider",
    "voice_id",
    "voice_model",
    "voice_output_format",
    "voice_settings",
    "transcriber_provider",
    "transcriber_model",
    "transcriber_mode",
    "language",
    "interruptions_enabled",
    "end_of_turn_silence_ms",
    "min_speech_ms",
    "barge_in_min_speech_ms",
    "preemptive_replies",
    "silence_timeout_seconds",
    "max_duration_seconds",
    "end_call_phrases",
    "tools",
    "metadata",
]
# Settings of the API only: the dashboard's builder (frontend/forms/assistant.py, which edits
# ASSISTANT_WRITABLE_FIELDS) leaves them as they are.
API_ONLY_FIELDS = ["custom_tools"]


class AssistantInputSerializer(StrictModelSerializer):
    """An assistant's settings. Unknown fields are refused."""

    #: settings clients may still send, refused with the reason rather than "Unknown field."
    unsupported_fields = {
        "background_denoising": "Not supported: the platform does not filter background noise, "
        "so this setting was removed rather than stored and ignored.",
    }

    voice_settings = VoiceSettingsField(
        required=False, validators=[validators.validate_voice_settings]
    )
    end_call_phrases = StringListField(required=False, validators=[validators.validate_phrases])
    tools = ToolsField(required=False, validators=[validators.validate_tools])
    custom_tools = CustomToolsField(
        required=False,
        validators=[validators.validate_custom_tools],
        help_text="Function tools run on your server: each call is POSTed to server_url, "
        "signed with the assistant's tool signing secret (docs/API.md).",
    )
    metadata = JSONObjectField(
        required=False,
        validators=[validators.validate_metadata],
        help_text="Your own JSON object (at most 16 KB).",
    )

    class Meta:
        model = Assistant
        fields = [*ASSISTANT_WRITABLE_FIELDS, *API_ONLY_FIELDS]


class AssistantOutputSerializer(serializers.ModelSerializer):
    voice_settings = VoiceSettingsOutput(read_only=True)
    end_call_phrases = StringListOutput(read_only=True)
    tools = ToolsOutput(read_only=True)
    custom_tools = CustomToolsOutput(read_only=True)
    metadata = JSONObjectOutput(read_only=True)

    class Meta:
        model = Assistant
        fields = ["id", *ASSISTANT_WRITABLE_FIELDS, *API_ONLY_FIELDS, "created_at", "updated_at"]
        read_only_fields = fields


class ToolSigningSecretOutputSerializer(serializers.Serializer):
    tool_signing_secret = serializers.CharField(
        help_text="whsec_...: verify custom tool calls with it (any Standard Webhooks library). "
        "Shown only in this response: store it now."
    )


DEFAULT_PORTS = {"http": 80, "https": 443}
HOST_CHARACTERS = re.compile(r"^[a-z0-9.\-\[\]:]+$")


class OriginField(StrictCharField):
    """A browser origin, stored as browsers send it: lower case, no default port, no path."""

    default_error_messages = {
        "origin": "Use an origin such as https://app.example.com (scheme, host, optional port)."
    }

    def to_internal_value(self, data) -> str:
        value = super().to_internal_value(data).lower().removesuffix("/")
        try:
            parts = urlsplit(value)
            port = parts.port
        except ValueError:
            self.fail("origin")
        if (
            parts.scheme not in DEFAULT_PORTS
            or value != f"{parts.scheme}://{parts.netloc}"
            or not HOST_CHARACTERS.match(parts.netloc)
            or not parts.hostname
            or value.endswith(":")
        ):
            self.fail("origin")
        if port == DEFAULT_PORTS[parts.scheme]:
            return value.rsplit(":", 1)[0]
        return value


class ApiKeyInputSerializer(StrictSerializer):
    name = StrictCharField(max_length=100)
    kind = serializers.ChoiceField(choices=ApiKey.Kind.choices, default=ApiKey.Kind.PRIVATE)
    allowed_origins = serializers.ListField(
        child=OriginField(max_length=200), max_length=50, default=list
    )
    allowed_assistant_ids = serializers.ListField(
        child=StrictUUIDField(), max_length=100, default=list
    )


class ApiKeyOutputSerializer(serializers.ModelSerializer):
    allowed_origins = StringListOutput(read_only=True)
    allowed_assistant_ids: serializers.PrimaryKeyRelatedField[Assistant] = (
        serializers.PrimaryKeyRelatedField(
            source="allowed_assistants", many=True, read_only=True, pk_field=serializers.UUIDField()
        )
    )

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "name",
            "kind",
            "prefix",
            "allowed_origins",
            "allowed_assistant_ids",
            "created_at",
            "last_used_at",
            "revoked_at",
        ]
        read_only_fields = fields


class ApiKeyCreatedOutputSerializer(ApiKeyOutputSerializer):
    secret = serializers.SerializerMethodField(
        help_text="The full key. Shown only in this response: store it now."
    )

    class Meta(ApiKeyOutputSerializer.Meta):
        fields = [*ApiKeyOutputSerializer.Meta.fields, "secret"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)
    def get_secret(self, api_key: ApiKey) -> str:
        return self.context["secret"]


class OrganizationLimitsSerializer(serializers.Serializer):
    max_concurrent_sessions = serializers.IntegerField()
    api_rate_limit_per_minute = serializers.IntegerField()


class UsageTotalsSerializer(serializers.Serializer):
    period_start = serializers.DateTimeField()
    period_end = serializers.DateTimeField(help_text="Exclusive.")
    sessions = serializers.IntegerField(help_text="Sessions created in the period.")
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()
    tts_characters = serializers.IntegerField()
    stt_audio_seconds = serializers.FloatField()


class OrganizationOutputSerializer(serializers.Serializer):
    """The key's organization, its limits and this month's usage."""

    # renders {"organization": Organization, "usage": UsageTotals}

    id = serializers.UUIDField(source="organization.id")
    name = serializers.CharField(source="organization.name")
    slug = serializers.CharField(source="organization.slug")
    created_at = serializers.DateTimeField(source="organization.created_at")
    limits = OrganizationLimitsSerializer(source="organization")
    usage = UsageTotalsSerializer(help_text="Totals for the current calendar month (UTC).")
