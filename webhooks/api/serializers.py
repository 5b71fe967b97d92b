"""Input and output of /api/v1/webhooks/. The signing secret comes out once: on create and on
rotate (``EndpointWithSecretSerializer``); never otherwise."""

from __future__ import annotations

from rest_framework import serializers

from assistants.api.fields import (
    StrictBooleanField,
    StrictCharField,
    StrictSerializer,
    StrictUUIDField,
)
from webhooks.models import EVENT_TYPES, Delivery, DeliveryAttempt, WebhookEndpoint


class EndpointInputSerializer(StrictSerializer):
    url = StrictCharField(max_length=500, help_text="Where events are POSTed (http or https).")
    description = StrictCharField(max_length=200, required=False, allow_blank=True, default="")
    enabled = StrictBooleanField(required=False, default=True)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES),
        max_length=len(EVENT_TYPES),
        required=False,
        default=list,
        help_text="The event types sent here; empty or absent: all of them.",
    )
    assistant_id = StrictUUIDField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Only this assistant's sessions; null: every session of the organization.",
    )


class EndpointOutputSerializer(serializers.ModelSerializer):
    assistant_id = serializers.UUIDField(read_only=True, allow_null=True)
    event_types = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "enabled",
            "event_types",
            "assistant_id",
            "disabled_at",
            "disabled_reason",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class EndpointWithSecretSerializer(EndpointOutputSerializer):
    secret = serializers.CharField(
        read_only=True,
        help_text="The signing secret (whsec_...). Shown only now: store it.",
    )

    class Meta(EndpointOutputSerializer.Meta):
        fields = [*EndpointOutputSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = [
            "number",
            "started_at",
            "status_code",
            "latency_ms",
            "response_excerpt",
            "error",
        ]
        read_only_fields = fields


class DeliveryOutputSerializer(serializers.ModelSerializer):
    event_id = serializers.CharField(read_only=True, help_text="The webhook-id header.")
    event_type = serializers.CharField(source="event.type", read_only=True)
    attempt_log = AttemptSerializer(many=True, read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "event_id",
            "event_type",
            "status",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "succeeded_at",
            "created_at",
            "attempt_log",
        ]
        read_only_fields = fields
