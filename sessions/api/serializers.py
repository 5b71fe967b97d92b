"""Input and output shapes for sessions and their transcripts."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from assistants.api.fields import (
    JSONObjectField,
    JSONObjectOutput,
    StrictCharField,
    StrictSerializer,
    StrictUUIDField,
    typed_json,
)
from assistants.validators import validate_metadata
from sessions.models import Message, Session, empty_usage
from sessions.overrides import validate_first_message, validate_no_reserved_key, validate_variables

COST = {
    "type": "object",
    "description": "US dollars as decimal strings with six places (integrations/pricing.py); "
    "absent before the first priced message.",
    "properties": {
        "currency": {"type": "string", "enum": ["USD"]},
        **{kind: {"type": "string", "example": "0.000228"} for kind in ("llm", "tts", "stt")},
        "total": {"type": "string", "description": "llm + tts + stt."},
    },
}
UsageOutput = typed_json(
    {
        "type": "object",
        "properties": {key: {"type": "number"} for key in empty_usage()} | {"cost": COST},
        "additionalProperties": {},
    },
    serializers.JSONField,
)


VariablesField = typed_json(
    {"type": "object", "additionalProperties": {"type": "string", "maxLength": 1000}}
)


class SessionOverridesInputSerializer(StrictSerializer):
    """This session's own greeting, prompt variables and metadata."""

    first_message = StrictCharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        validators=[validate_first_message],
        help_text='Said first instead of the assistant\'s ("" for no greeting); {{placeholders}} '
        "are filled from variables.",
    )
    variables = VariablesField(
        required=False,
        validators=[validate_variables],
        help_text="Strings filled into the {{name}} placeholders of the system prompt and first "
        "message (at most 50). A placeholder without a variable is left as written.",
    )
    metadata = JSONObjectField(
        required=False,
        validators=[validate_metadata, validate_no_reserved_key],
        help_text="Merged into the session's metadata (its keys win).",
    )


class SessionCreateInputSerializer(StrictSerializer):
    assistant_id = StrictUUIDField()
    metadata = JSONObjectField(
        required=False,
        validators=[validate_metadata, validate_no_reserved_key],
        help_text="Your own JSON object (at most 16 KB), returned with the session.",
    )
    overrides = SessionOverridesInputSerializer(required=False)


class SessionFilterSerializer(serializers.Serializer):
    assistant = serializers.UUIDField(required=False, help_text="Sessions of this assistant.")
    status = serializers.ChoiceField(choices=Session.Status.choices, required=False)
    channel = serializers.ChoiceField(choices=Session.Channel.choices, required=False)
    created_after = serializers.DateTimeField(required=False, help_text="ISO 8601, inclusive.")
    created_before = serializers.DateTimeField(required=False, help_text="ISO 8601, exclusive.")


class SessionOutputSerializer(serializers.ModelSerializer):
    assistant_id = serializers.UUIDField(read_only=True)
    metadata = JSONObjectOutput(read_only=True)
    usage = UsageOutput(read_only=True, help_text="Totals so far; final when the session ends.")

    class Meta:
        model = Session
        fields = [
            "id",
            "assistant_id",
            "status",
            "channel",
            "metadata",
            "usage",
            "started_at",
            "ended_at",
            "ended_reason",
            "created_at",
        ]
        read_only_fields = fields


class SessionCreatedOutputSerializer(SessionOutputSerializer):
    """The new session, and how a browser joins it without an organization key."""

    # context["ws_access"]: the WsAccess built by the view

    ws_url = serializers.SerializerMethodField(
        help_text="WebSocket URL of this session, token included."
    )
    ws_token = serializers.SerializerMethodField(
        help_text="Short-lived token for this session only; no organization key needed."
    )
    ws_token_expires_at = serializers.SerializerMethodField()

    class Meta(SessionOutputSerializer.Meta):
        fields = [*SessionOutputSerializer.Meta.fields, "ws_url", "ws_token", "ws_token_expires_at"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_ws_url(self, session: Session) -> str:
        return self.context["ws_access"].url

    @extend_schema_field(OpenApiTypes.STR)
    def get_ws_token(self, session: Session) -> str:
        return self.context["ws_access"].token

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_ws_token_expires_at(self, session: Session) -> str:
        return serializers.DateTimeField().to_representation(self.context["ws_access"].expires_at)


class MessageOutputSerializer(serializers.ModelSerializer):
    tool_calls = typed_json({"type": "array", "items": {}}, serializers.JSONField)(read_only=True)
    latency = JSONObjectOutput(read_only=True, help_text="Timings in milliseconds, when measured.")
    usage = JSONObjectOutput(read_only=True)

    class Meta:
        model = Message
        fields = [
            "id",
            "sequence",
            "role",
            "content",
            "tool_calls",
            "tool_call_id",
            "interrupted",
            "latency",
            "usage",
            "created_at",
        ]
        read_only_fields = fields
