"""Admin for Discord bots and bindings, scoped to the user's organizations. The bot token is
write-only: a password field that is never filled in; blank keeps the stored token."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.utils.html import format_html

from assistants.admin import MANAGERS
from assistants.admin_scoping import OrganizationScopedAdmin
from integrations.admin import WriteOnlySecretForm
from voicebridge.models import DiscordBinding, DiscordBot


class DiscordBotForm(WriteOnlySecretForm):
    target_field = "token"
    input_label = "Bot token"

    class Meta:
        model = DiscordBot
        fields = [
            "organization",
            "name",
            "application_id",
            "enabled",
            "sharded",
            "allowed_role_ids",
        ]


@admin.register(DiscordBot)
class DiscordBotAdmin(OrganizationScopedAdmin):
    required_roles = MANAGERS  # a bot token speaks for the organization in Discord
    form = DiscordBotForm
    fields = [
        "organization",
        "name",
        "application_id",
        "new_secret",
        "enabled",
        "sharded",
        "allowed_role_ids",
        "invite_link",
        "status",
        "last_error",
        "status_changed_at",
        "created_at",
        "updated_at",
    ]
    readonly_fields = [
        "invite_link",
        "status",
        "last_error",
        "status_changed_at",
        "created_at",
        "updated_at",
    ]
    list_display = ["name", "organization", "application_id", "enabled", "status"]
    list_filter = ["enabled", "status"]
    search_fields = ["name", "application_id"]

    @admin.display(description="invite link")
    def invite_link(self, obj: DiscordBot) -> str:
        if not obj.application_id:
            return self.get_empty_value_display()
        return format_html('<a href="{}" rel="noopener">{}</a>', obj.invite_url, obj.invite_url)

    def save_model(self, request: Any, obj: DiscordBot, form: Any, change: bool) -> None:
        if change and form.cleaned_data.get("new_secret"):  # a new token deserves a new try
            obj.status = DiscordBot.Status.NEW
            obj.last_error = ""
        super().save_model(request, obj, form, change)


@admin.register(DiscordBinding)
class DiscordBindingAdmin(OrganizationScopedAdmin):
    required_roles = MANAGERS
    fields = ["bot", "guild_id", "channel_id", "assistant", "enabled", "created_at", "updated_at"]
    readonly_fields = ["created_at", "updated_at"]
    list_display = ["bot", "guild_id", "channel_id", "assistant", "enabled"]
    list_filter = ["enabled"]
    list_select_related = ["bot", "assistant"]
    search_fields = ["guild_id", "channel_id", "bot__name", "assistant__name"]
