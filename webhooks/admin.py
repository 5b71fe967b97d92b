"""Admin for webhook endpoints and their delivery logs, scoped to the user's organizations.

The signing secret is never shown back: it is made when an endpoint is added and when an
operator rotates it, and shown in that one confirmation message only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet

from assistants.admin import MANAGERS
from assistants.admin_scoping import OrganizationScopedAdmin
from webhooks.models import Delivery, DeliveryAttempt, Event, WebhookEndpoint, new_secret
from webhooks.services import delivery_redeliver, endpoint_rotate_secret, url_problem

ATTEMPT_FIELDS = ("number", "started_at", "status_code", "latency_ms", "error", "response_excerpt")
DELIVERY_FIELDS = (
    "event",
    "endpoint",
    "status",
    "attempts",
    "next_attempt_at",
    "last_status_code",
    "last_error",
    "succeeded_at",
    "created_at",
)
EVENT_FIELDS = ("id", "organization", "type", "payload", "analysis_pending", "created_at")


class EndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https")

    class Meta:
        model = WebhookEndpoint
        fields = ["organization", "assistant", "url", "description", "enabled", "event_types"]

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        if problem := url_problem(url):
            raise forms.ValidationError(f"This URL cannot receive webhooks: {problem}.")
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(OrganizationScopedAdmin):
    required_roles = MANAGERS
    form = EndpointForm
    list_display = ["url", "organization", "assistant", "enabled", "disabled_at"]
    list_filter = ["enabled"]
    search_fields = ["url", "description"]
    readonly_fields = [
        "failing_since",
        "disabled_at",
        "disabled_reason",
        "created_at",
        "updated_at",
    ]
    actions = ["rotate_secret"]

    def save_model(self, request: Any, obj: WebhookEndpoint, form: Any, change: bool) -> None:
        if not change:
            obj.secret = new_secret()
        if obj.enabled and obj.disabled_at is not None:
            obj.disabled_at, obj.disabled_reason, obj.failing_since = None, "", None
        super().save_model(request, obj, form, change)
        if not change:
            self._show_secret(request, obj)

    @admin.action(description="Rotate the signing secret (shown once)")
    def rotate_secret(self, request: Any, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            self._show_secret(request, endpoint_rotate_secret(endpoint=endpoint))

    def _show_secret(self, request: Any, endpoint: WebhookEndpoint) -> None:
        messages.warning(
            request, f"Signing secret of {endpoint.url} (shown only now): {endpoint.secret}"
        )


class AttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = ATTEMPT_FIELDS
    readonly_fields = ATTEMPT_FIELDS

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(OrganizationScopedAdmin):
    required_roles = MANAGERS
    list_display = ["event", "endpoint", "status", "attempts", "last_status_code", "created_at"]
    list_filter = ["status"]
    search_fields = ["event__id", "endpoint__url"]
    fields = DELIVERY_FIELDS
    readonly_fields = DELIVERY_FIELDS
    inlines = [AttemptInline]
    actions = ["redeliver"]

    def has_add_permission(self, request: Any) -> bool:
        return False

    @admin.action(description="Send again (same webhook-id)")
    def redeliver(self, request: Any, queryset: QuerySet[Delivery]) -> None:
        sent = 0
        for delivery in queryset.select_related("endpoint"):
            if delivery.endpoint.enabled and delivery.status != Delivery.Status.PENDING:
                delivery_redeliver(delivery=delivery)
                sent += 1
        messages.info(request, f"{sent} delivery(ies) queued again.")


@admin.register(Event)
class EventAdmin(OrganizationScopedAdmin):
    required_roles = MANAGERS
    list_display = ["id", "type", "organization", "created_at"]
    list_filter = ["type"]
    search_fields = ["id"]
    fields = EVENT_FIELDS
    readonly_fields = EVENT_FIELDS

    def has_add_permission(self, request: Any) -> bool:
        return False
