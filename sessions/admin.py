from django.contrib import admin

from assistants.admin_scoping import OrganizationScopedAdmin
from integrations import pricing
from sessions.models import Message, Session


def _usd(usage: dict | None, kind: str = "total") -> str:
    """A stored cost as "$0.001234" (integrations/pricing.py); "$0.000000" before any."""
    amounts = {name: str(value) for name, value in pricing.session_cost(usage).items()}
    return f"${amounts[kind]}"


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
        "cost",
        "created_at",
    )
    fields = readonly_fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Cost (USD)")
    def cost(self, message: Message) -> str:
        return _usd(message.usage) if message.usage else ""


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
        "cost",
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
        "cost_breakdown",
        "created_at",
    ]
    fields = [*readonly_fields, "metadata"]
    inlines = [MessageInline]
    date_hierarchy = "created_at"

    @admin.display(description="Cost (USD)")
    def cost(self, session: Session) -> str:
        return _usd(session.usage)

    @admin.display(description="Cost by kind")
    def cost_breakdown(self, session: Session) -> str:
        kinds = ", ".join(f"{kind.upper()} {_usd(session.usage, kind)}" for kind in pricing.KINDS)
        return f"{_usd(session.usage)} ({kinds})"

    def has_add_permission(self, request) -> bool:
        return False  # sessions start through the API, the test chat or the Discord bridge
