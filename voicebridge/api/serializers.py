"""Input and output of /api/v1/discord/. A bot token goes in; it never comes out."""

from __future__ import annotations

from django.core.validators import RegexValidator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from assistants.api.fields import (
    StrictBooleanField,
    StrictCharField,
    StrictSerializer,
    StrictUUIDField,
    StringListOutput,
)
from voicebridge.models import DiscordBinding, DiscordBot, validate_snowflake

# A bot token travels in an HTTP header: printable ASCII without spaces (three dotted parts).
TOKEN_CHARACTERS = RegexValidator(
    r"^[\x21-\x7e]+\Z", "A Discord bot token is one word of ASCII letters, digits and symbols."
)


def snowflake_field(**kwargs) -> StrictCharField:
    return StrictCharField(max_length=20, validators=[validate_snowflake], **kwargs)


class DiscordBotInputSerializer(StrictSerializer):
    name = StrictCharField(max_length=100)
    application_id = snowflake_field(
        help_text="Developer Portal, General Information, Application ID."
    )
    token = StrictCharField(
        max_length=200,
        validators=[TOKEN_CHARACTERS],
        write_only=True,
        help_text="Developer Portal, Bot, Reset Token. Stored encrypted; never returned.",
    )
    enabled = StrictBooleanField(required=False, default=True)
    sharded = StrictBooleanField(
        required=False,
        default=False,
        help_text="Run with Discord's recommended number of shards (bots in 2,500+ servers).",
    )
    allowed_role_ids = serializers.ListField(
        child=snowflake_field(),
        max_length=50,
        required=False,
        default=list,
        help_text="Only members with one of these roles are answered. Empty: everyone.",
    )


class DiscordBotOutputSerializer(serializers.ModelSerializer):
    allowed_role_ids = StringListOutput(read_only=True)
    invite_url = serializers.SerializerMethodField(
        help_text="Add the bot to a server with the permissions the bridge needs."
    )

    class Meta:
        model = DiscordBot
        fields = [
            "id",
            "name",
            "application_id",
            "enabled",
            "sharded",
            "allowed_role_ids",
            "invite_url",
            "status",
            "last_error",
            "status_changed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_invite_url(self, bot: DiscordBot) -> str:
        return bot.invite_url


class DiscordBindingInputSerializer(StrictSerializer):
    guild_id = snowflake_field(help_text="The server's id.")
    channel_id = snowflake_field(
        required=False,
        allow_blank=True,
        default="",
        help_text="One channel of the server; blank or absent: every channel of the server.",
    )
    assistant_id = StrictUUIDField(help_text="An assistant of your organization.")
    enabled = StrictBooleanField(required=False, default=True)


class DiscordBindingOutputSerializer(serializers.ModelSerializer):
    bot_id = serializers.UUIDField(read_only=True)
    assistant_id = serializers.UUIDField(read_only=True)

    class Meta:
        model = DiscordBinding
        fields = [
            "id",
            "bot_id",
            "guild_id",
            "channel_id",
            "assistant_id",
            "enabled",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
