"""Input and output of /api/v1/integrations/notion/. A token goes in; it never comes out."""

from __future__ import annotations

from django.core.validators import RegexValidator
from rest_framework import serializers

from assistants.api.fields import StrictCharField, StrictSerializer
from integrations.models import NotionConnection

# Tokens travel in an HTTP header: printable ASCII without spaces (ntn_…, secret_…).
TOKEN_CHARACTERS = RegexValidator(
    r"^[\x21-\x7e]+\Z", "A Notion token is one word of ASCII letters, digits and symbols."
)


class NotionConnectionInputSerializer(StrictSerializer):
    token = StrictCharField(
        max_length=500,
        validators=[TOKEN_CHARACTERS],
        help_text="An internal integration token (ntn_… or secret_…) from "
        "https://www.notion.so/profile/integrations. Checked with Notion before it is stored.",
    )
    name = StrictCharField(
        max_length=200,
        required=False,
        default="",
        allow_blank=True,
        help_text="Defaults to the workspace's name.",
    )


class NotionConnectionOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = NotionConnection
        fields = ["id", "name", "kind", "status", "workspace_id", "workspace_name", "connected_at"]
        read_only_fields = fields
