"""Forms of the team pages: inviting members, their roles, API keys, integrations.

Forms parse what a person typed; the services decide (the rules of roles in
``assistants.invitations``, the rules of keys in ``assistants.services.api_key_issue``), and
their refusals come back as field errors through ``add_service_errors``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from rest_framework.exceptions import ValidationError as DRFValidationError

from assistants.api.serializers import OriginField
from assistants.models import ApiKey, Assistant, Membership, Organization
from integrations.credentials import validate_organization_base_url

MAX_ORIGINS = 50  # as the API (ApiKeyInputSerializer)
ROLE_LABELS = dict(Membership.Role.choices)


def role_choices(roles: list[str]) -> list[tuple[str, str]]:
    return [(role, ROLE_LABELS[role]) for role in roles]


def add_service_errors(
    form: forms.Form, error: ValidationError, renamed: dict[str, str] | None = None
) -> None:
    """Show a service's ValidationError on the form: its fields (``renamed`` to the form's
    names), and anything about no field of the form above the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        name = (renamed or {}).get(field, field)
        form.add_error(name if name in form.fields else None, errors)


class InviteForm(forms.Form):
    email = forms.EmailField(
        label="Email address", help_text="They get an email to join (and to choose a password)."
    )
    role = forms.ChoiceField()

    def __init__(self, *args: Any, roles: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        role = self.fields["role"]
        assert isinstance(role, forms.ChoiceField)
        role.choices, role.initial = role_choices(roles), Membership.Role.MEMBER


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices)


class OriginsField(forms.CharField):
    """Browser origins, one a line, checked and normalized exactly as the API does."""

    widget = forms.Textarea(attrs={"rows": 3, "placeholder": "https://app.example.com"})

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        lines = [line.strip() for line in (super().to_python(value) or "").splitlines()]
        return [line for line in lines if line]

    def validate(self, value: Any) -> None:
        if len(value) > MAX_ORIGINS:
            raise ValidationError(f"At most {MAX_ORIGINS} origins.")

    def clean(self, value: Any) -> list[str]:
        origins = super().clean(value)
        checker, errors, normalized = OriginField(max_length=200), [], []
        for origin in origins:
            try:
                normalized.append(checker.run_validation(origin))
            except DRFValidationError as exc:
                errors += [f"{origin}: {message}" for message in _messages(exc)]
        if errors:
            raise ValidationError(errors)
        return list(dict.fromkeys(normalized))

    def prepare_value(self, value: Any) -> Any:
        return "\n".join(value) if isinstance(value, list) else value


def _messages(error: DRFValidationError) -> list[str]:
    detail = error.detail
    return [str(item) for item in detail] if isinstance(detail, list) else [str(detail)]


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="Who or what uses it, e.g. “website widget”.")
    kind = forms.ChoiceField(
        choices=[
            (ApiKey.Kind.PRIVATE, "Private: for your servers; full access to the API"),
            (ApiKey.Kind.PUBLIC, "Public: for a web page; starts sessions of chosen assistants"),
        ],
        initial=ApiKey.Kind.PRIVATE,
        widget=forms.RadioSelect,
    )
    allowed_origins = OriginsField(
        required=False,
        label="Allowed origins (public keys)",
        help_text="One a line, e.g. https://app.example.com. Empty: any origin.",
    )
    allowed_assistants = forms.ModelMultipleChoiceField(
        queryset=Assistant.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Allowed assistants (public keys)",
        help_text="A public key starts sessions of these assistants only (at least one).",
    )

    #: the names the service (api_key_issue) gives its errors, as this form names its fields
    SERVICE_FIELDS = {"allowed_assistant_ids": "allowed_assistants"}

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        allowed = self.fields["allowed_assistants"]
        assert isinstance(allowed, forms.ModelMultipleChoiceField)
        allowed.queryset = Assistant.objects.for_org(organization).live().order_by("name")


class NotionTokenForm(forms.Form):
    token = forms.CharField(
        label="Internal integration token",
        strip=True,
        max_length=500,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="From notion.so/my-integrations. Checked with Notion, stored encrypted, never"
        " shown again.",
    )
    name = forms.CharField(
        max_length=200, required=False, help_text="Optional; the workspace's name otherwise."
    )


class ProviderCredentialForm(forms.Form):
    """An organization's key for one provider. ``with_base_url`` only for platform operators:
    the server itself sends requests to a base URL."""

    api_key = forms.CharField(
        label="API key",
        strip=True,
        max_length=500,
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    base_url = forms.URLField(
        label="Base URL",
        required=False,
        assume_scheme="https",
        help_text="Only for OpenAI-compatible servers; must be a public address.",
        validators=[validate_organization_base_url],
    )

    def __init__(self, *args: Any, is_set: bool, with_base_url: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.is_set = is_set
        key_field = self.fields["api_key"]
        key_field.required = not is_set or not with_base_url
        key_field.help_text = "Stored encrypted and never shown." + (
            " Leave blank to keep the current key." if not key_field.required else ""
        )
        if not with_base_url:
            del self.fields["base_url"]

    def base_url_or_keep(self) -> str | None:
        """The base URL to store, or None to keep the stored one (the field is not offered)."""
        return self.cleaned_data["base_url"] if "base_url" in self.fields else None
