"""Forms of the Discord page: a bot (its token write-only) and a binding of a server or channel.

The fields check what the API checks (``voicebridge/api/serializers.py``: the same validators
and lengths); the services then validate the rows (``full_clean``: unique application id, one
binding per server or channel), and their refusals come back through ``add_service_errors``.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms

from assistants.models import Assistant, Organization
from voicebridge.api.serializers import TOKEN_CHARACTERS
from voicebridge.models import validate_role_ids, validate_snowflake


def snowflake_field(label: str, help_text: str, *, required: bool = True) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=20,
        required=required,
        validators=[validate_snowflake],
        help_text=help_text,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )


class RoleIdsField(forms.CharField):
    """Discord role ids, one a line (commas and spaces also separate them)."""

    widget = forms.Textarea(attrs={"rows": 2, "placeholder": "123456789012345678"})
    default_validators = [validate_role_ids]

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        text = super().to_python(value) or ""
        return list(dict.fromkeys(item for item in re.split(r"[\s,]+", text) if item))

    def prepare_value(self, value: Any) -> Any:
        return "\n".join(value) if isinstance(value, list) else value


class DiscordBotForm(forms.Form):
    """A new bot (``is_new``: a token is required) or a bot's settings (blank token: keep it)."""

    name = forms.CharField(
        max_length=100, help_text="Shown here; in Discord members see the application's name."
    )
    application_id = snowflake_field(
        "Application ID", "Developer Portal, General Information, Application ID."
    )
    token = forms.CharField(
        label="Bot token",
        max_length=200,
        validators=[TOKEN_CHARACTERS],
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Developer Portal, Bot, Reset Token. Stored encrypted, never shown again.",
    )
    enabled = forms.BooleanField(
        required=False, initial=True, help_text="The bridge runs only enabled bots."
    )
    sharded = forms.BooleanField(
        required=False,
        help_text="Run it with Discord's recommended number of shards (bots in 2,500+ servers).",
    )
    allowed_role_ids = RoleIdsField(
        label="Allowed roles",
        required=False,
        help_text="Role ids, one a line: only members with one of them are answered."
        " Empty: everyone in a bound channel.",
    )

    def __init__(self, *args: Any, is_new: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        token = self.fields["token"]
        token.required = is_new
        if not is_new:
            token.help_text += " Leave blank to keep the current one."


class DiscordBindingForm(forms.Form):
    guild_id = snowflake_field("Server ID", "Right-click the server, Copy Server ID.")
    channel_id = snowflake_field(
        "Channel ID",
        "Right-click a channel, Copy Channel ID. Blank: every channel of the server.",
        required=False,
    )
    assistant = forms.ModelChoiceField(queryset=Assistant.objects.none(), empty_label=None)

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        assistant = self.fields["assistant"]
        assert isinstance(assistant, forms.ModelChoiceField)
        assistant.queryset = Assistant.objects.for_org(organization).live().order_by("name")

    def focus_first_error(self) -> None:
        """The form is re-drawn far down its page: the browser puts the cursor where to fix."""
        field = next((name for name in self.fields if name in self.errors), "guild_id")
        self.fields[field].widget.attrs["autofocus"] = True
