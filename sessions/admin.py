from django.contrib import admin

from assistants.admin_scoping import OrganizationScopedAdmin
from sessions.models import Message, Session


class MessageInline(admin.TabularInline):
    """The transcript, in order. Transcripts are records: nobody edits them here."""

    model = Message
    extra = 0
    ordering = ["sequence"]
    readonly_fields = (
        "sequence",
        "role",
        "content",
        "tool_calls",
        "interrupted",
        "latency",
        "created_at",
    )
    fields = readonly_fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Session)
class SessionAdmin(OrganizationScopedAdmin):
    list_display = [
        "id",
        "organization",
        "assistant",
        "status",
        "channel",
        "created_at",
        "ended_at",
    ]
    list_filter = ["status", "channel", "created_at"]
    search_fields = ["id", "assistant__name", "organization__name"]
    list_select_related = ["organization", "assistant"]
    readonly_fields = [
        "organization",
        "assistant",
        "status",
        "channel",
        "started_at",
        "ended_at",
        "ended_reason",
        "usage",
        "created_at",
    ]
    fields = [*readonly_fields, "metadata"]
    inlines = [MessageInline]
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False  # sessions start through the API, the test chat or the Discord bridge
