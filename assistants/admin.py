from __future__ import annotations

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html

from assistants.admin_scoping import OrganizationScopedAdmin
from assistants.models import ApiKey, Assistant, Membership, Organization

MANAGERS = (Membership.Role.OWNER, Membership.Role.ADMIN)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]


class ApiKeyInline(admin.TabularInline):
    """Keys are listed here; they are created on the API key page, which shows the secret once."""

    model = ApiKey
    extra = 0
    can_delete = False
    readonly_fields = ("name", "kind", "prefix", "created_at", "last_used_at", "revoked_at")
    fields = readonly_fields
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Organization)
class OrganizationAdmin(OrganizationScopedAdmin):
    list_display = ["name", "slug", "max_concurrent_sessions", "api_rate_limit_per_minute"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline, ApiKeyInline]

    def get_queryset(self, request):
        queryset = admin.ModelAdmin.get_queryset(self, request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(pk__in=self.allowed_organizations(request))

    def get_readonly_fields(self, request, obj=None):
        if request.user.is_superuser:
            return []
        # Limits are the operator's to set.
        return ["slug", "max_concurrent_sessions", "api_rate_limit_per_minute"]

    def get_prepopulated_fields(self, request, obj=None):
        return self.prepopulated_fields if request.user.is_superuser else {}

    def has_add_permission(self, request) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser

    def get_inlines(self, request, obj):
        if request.user.is_superuser or (
            obj
            and self.allowed_organizations(request)
            .filter(pk=obj.pk, memberships__user=request.user, memberships__role__in=MANAGERS)
            .exists()
        ):
            return self.inlines
        return []


@admin.register(ApiKey)
class ApiKeyAdmin(OrganizationScopedAdmin):
    required_roles = MANAGERS
    list_display = [
        "name",
        "organization",
        "kind",
        "prefix",
        "created_at",
        "last_used_at",
        "status",
    ]
    list_filter = ["kind", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix", "organization__name"]
    fields = [
        "organization",
        "name",
        "kind",
        "allowed_origins",
        "allowed_assistants",
        "prefix",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    readonly_fields = ["prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
    filter_horizontal = ["allowed_assistants"]
    actions = ["revoke"]

    @admin.display(description="status")
    def status(self, obj: ApiKey) -> str:
        return "revoked" if obj.revoked_at else "active"

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return self.readonly_fields
        return [*self.readonly_fields, "organization", "kind"]

    def save_model(self, request, obj: ApiKey, form, change) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        raw_key = obj.set_new_secret()
        obj.created_by = request.user
        super().save_model(request, obj, form, change)
        messages.warning(
            request,
            format_html(
                "Copy the new key now; it will not be shown again: <code>{}</code>", raw_key
            ),
        )

    @admin.action(description="Revoke selected API keys")
    def revoke(self, request, queryset) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} key(s).")


@admin.register(Assistant)
class AssistantAdmin(OrganizationScopedAdmin):
    list_display = [
        "name",
        "organization",
        "model_name",
        "voice_provider",
        "transcriber_provider",
        "updated_at",
        "archived_at",
    ]
    list_filter = [
        "model_provider",
        "voice_provider",
        "transcriber_provider",
        "transcriber_mode",
        ("archived_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["name", "organization__name", "system_prompt"]
    readonly_fields = ["created_at", "updated_at", "archived_at"]
    fieldsets = [
        (None, {"fields": ["organization", "name", "first_message", "system_prompt"]}),
        ("Model", {"fields": ["model_provider", "model_name", "temperature", "max_tokens"]}),
        (
            "Voice",
            {
                "fields": [
                    "voice_provider",
                    "voice_id",
                    "voice_model",
                    "voice_output_format",
                    "voice_settings",
                ]
            },
        ),
        (
            "Transcriber",
            {
                "fields": [
                    "transcriber_provider",
                    "transcriber_mode",
                    "transcriber_model",
                    "language",
                ]
            },
        ),
        (
            "Turn taking",
            {
                "fields": [
                    "end_of_turn_silence_ms",
                    "min_speech_ms",
                    "interruptions_enabled",
                    "barge_in_min_speech_ms",
                    "preemptive_replies",
                ]
            },
        ),
        (
            "Conversation",
            {
                "fields": [
                    "silence_timeout_seconds",
                    "max_duration_seconds",
                    "end_call_phrases",
                    "tools",
                    "metadata",
                ]
            },
        ),
        ("History", {"fields": ["created_at", "updated_at", "archived_at"]}),
    ]
