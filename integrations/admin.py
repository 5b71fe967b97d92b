"""Admin for organization credentials. Secrets are write-only: a password field that is never
filled in, and a blank one keeps the stored value."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.utils import timezone

from assistants.admin_scoping import OrganizationScopedAdmin
from integrations import pricing
from integrations.credentials import validate_organization_base_url
from integrations.models import NotionConnection, Price, ProviderCredential


class WriteOnlySecretForm(forms.ModelForm):
    """Adds ``new_secret``; subclasses name the model field it writes in ``target_field``."""

    target_field = ""
    input_label = "New secret"
    new_secret = forms.CharField(
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Stored encrypted and never shown. Leave blank to keep the current value.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["new_secret"].label = self.input_label

    def clean_new_secret(self) -> str:
        value = self.cleaned_data.get("new_secret", "")
        if not value and self.instance._state.adding:
            raise forms.ValidationError("A new connection needs its secret.")
        return value

    def save(self, commit: bool = True) -> Any:
        if self.cleaned_data.get("new_secret"):
            setattr(self.instance, self.target_field, self.cleaned_data["new_secret"])
        return super().save(commit=commit)


class NotionConnectionForm(WriteOnlySecretForm):
    target_field = "token"
    input_label = "New token"

    class Meta:
        model = NotionConnection
        fields = ["organization", "name", "kind", "workspace_id", "workspace_name", "bot_id"]


class ProviderCredentialForm(WriteOnlySecretForm):
    target_field = "api_key"
    input_label = "New API key"
    base_url = forms.URLField(
        required=False,
        assume_scheme="https",
        help_text=ProviderCredential._meta.get_field("base_url").help_text,
        validators=[validate_organization_base_url],  # no loopback/private hosts (SSRF)
    )

    class Meta:
        model = ProviderCredential
        # base_url is the declared field above; the admin lists it only for superusers (naming it
        # here would make Django build the model's own field for everyone else).
        fields = ["organization", "provider"]


@admin.register(NotionConnection)
class NotionConnectionAdmin(OrganizationScopedAdmin):
    form = NotionConnectionForm
    fields = [
        "organization",
        "name",
        "kind",
        "new_secret",
        "workspace_id",
        "workspace_name",
        "bot_id",
        "status",
        "connected_by",
        "connected_at",
        "broken_at",
    ]
    readonly_fields = ["status", "connected_by", "connected_at", "broken_at"]
    list_display = ["name", "organization", "workspace_name", "kind", "status", "connected_at"]
    list_filter = ["status", "kind"]
    search_fields = ["name", "workspace_name", "workspace_id"]

    def save_model(self, request: Any, obj: NotionConnection, form: Any, change: bool) -> None:
        if not change:
            obj.connected_by = request.user
        if form.cleaned_data.get("new_secret"):  # a fresh token repairs a broken connection
            obj.status = NotionConnection.Status.ACTIVE
            obj.broken_at = None
            obj.connected_at = timezone.now()
        super().save_model(request, obj, form, change)


@admin.register(ProviderCredential)
class ProviderCredentialAdmin(OrganizationScopedAdmin):
    form = ProviderCredentialForm
    fields = ["organization", "provider", "new_secret", "base_url", "created_at"]
    readonly_fields = ["created_at"]
    list_display = ["provider", "organization", "base_url", "created_at"]
    list_filter = ["provider"]

    def get_readonly_fields(self, request, obj=None):
        # The server sends requests to a base URL: only platform operators choose where.
        if request.user.is_superuser:
            return self.readonly_fields
        return [*self.readonly_fields, "base_url"]


@admin.register(Price)
class PriceAdmin(admin.ModelAdmin):
    """The platform's prices (integrations/pricing.py): superusers only. A row overrides the
    settings' price of its model for the messages stored from then on (every server process
    uses it within a minute); "default" prices every model of its kind without a price of its
    own."""

    list_display = ["kind", "model", "price", "output_price", "updated_at"]
    list_filter = ["kind"]
    search_fields = ["model"]
    readonly_fields = ["updated_at", "settings_price"]
    fields = ["kind", "model", "price", "output_price", "settings_price", "updated_at"]

    @admin.display(description="Price in settings")
    def settings_price(self, obj: Price) -> str:
        """What this model costs without the row (settings.PRICES), for comparison."""
        rate = pricing.rate(pricing.settings_prices(), obj.kind, obj.model)
        return f"{rate.input} / {rate.output}" if obj.kind == Price.Kind.LLM else str(rate.input)

    def delete_queryset(self, request: Any, queryset: Any) -> None:
        super().delete_queryset(request, queryset)  # a bulk delete skips Price.delete()
        pricing.forget_price_table()

    def has_module_permission(self, request: Any) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    def has_view_permission(self, request: Any, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request: Any) -> bool:
        return self.has_module_permission(request)

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return self.has_module_permission(request)
