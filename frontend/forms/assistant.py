"""The assistant builder's form: every field the API accepts, validated by the same rules.

Plain fields come from the model (``fields_for_model``: the same max lengths, ranges and
choices); structured ones from ``frontend/forms/fields.py`` and ``tools.py`` (the API's
validators). Last, the assistant as it would be saved is checked with ``full_clean()``, which
is what ``assistant_create``/``assistant_update`` run: ``Assistant.clean()`` (a voice unless
"none", the language code, Notion tool options of this organization) reports here, per field.
"""

from __future__ import annotations

import copy
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.forms.models import fields_for_model

from assistants.api.serializers import ASSISTANT_WRITABLE_FIELDS
from assistants.models import Assistant, Organization
from assistants.validators import VOICE_SETTING_RANGES
from frontend.forms.fields import (
    SPEAKER_BOOST_CHOICES,
    MetadataRowsField,
    PhraseRowsField,
    VoiceSettingsField,
)
from frontend.forms.tools import ToolRow, ToolsField, tool_rows
from frontend.providers import Catalog
from integrations.models import NotionConnection

STRUCTURED_FIELDS = ("voice_settings", "end_call_phrases", "tools", "metadata")
MODEL_FIELDS = [name for name in ASSISTANT_WRITABLE_FIELDS if name not in STRUCTURED_FIELDS]

HELP = {
    "name": "What your team calls it. Callers never hear it.",
    "first_message": "What the assistant says as soon as a call starts. Empty: it waits for "
    "the caller to speak first. Up to 2,000 characters.",
    "system_prompt": "How the assistant behaves: its role, its tone, what it may and may not "
    "do. Up to 20,000 characters.",
    "model_provider": "Who runs the language model.",
    "model_name": "The language model that writes the replies.",
    "temperature": "From 0 (focused, repeatable) to 2 (most varied). 0.7 suits conversation.",
    "max_tokens": "The longest reply, in tokens (1 to 16,384). Spoken replies are short.",
    "voice_provider": "Who speaks the replies. \u201cNo voice\u201d makes text-only sessions.",
    "voice_id": "The voice that speaks the replies.",
    "voice_model": "The ElevenLabs speech model: eleven_flash_v2_5 (fastest), "
    "eleven_turbo_v2_5, eleven_multilingual_v2 or eleven_v3.",
    "voice_output_format": "The audio sent to callers: 16 kHz is plenty for phones, 24 kHz "
    "suits browsers.",
    "voice_settings": "Tick a setting to set it; unticked, the voice's own default applies.",
    "transcriber_provider": "Who turns the caller's speech into text.",
    "transcriber_model": "For streaming, ElevenLabs scribe_v2_realtime. For batch: OpenAI "
    "gpt-4o-mini-transcribe or gpt-4o-transcribe, or ElevenLabs scribe_v2.",
    "language": "The caller's language, as a code such as en or pt-BR.",
    "transcriber_mode": "Streaming transcribes while the caller speaks, so replies start "
    "sooner and captions show live (ElevenLabs only). Batch sends each utterance once it ends.",
    "interruptions_enabled": "Callers may interrupt the assistant by speaking (barge-in).",
    # The turn-taking fields: the model's help texts.
    "silence_timeout_seconds": "End the call after this many seconds without speech (1 to 3,600).",
    "max_duration_seconds": "The longest a call may last, in seconds (10 to 43,200).",
    "end_call_phrases": "When a reply contains one of these phrases, the call ends once it "
    "has been spoken. Up to 20, each 1 to 200 characters.",
    "tools": "What the assistant may do during a call.",
    "metadata": "Your own labels, such as team = support. Values are stored as text; up to "
    "16 KB in all.",
}
LABELS = {
    "model_name": "Model",
    "voice_id": "Voice",
    "voice_model": "Speech model",
    "voice_output_format": "Audio format",
    "transcriber_model": "Transcription model",
    "interruptions_enabled": "Allow interruptions",
    "silence_timeout_seconds": "Silence timeout (seconds)",
    "max_duration_seconds": "Maximum duration (seconds)",
    "max_tokens": "Maximum reply length (tokens)",
    "end_call_phrases": "End-call phrases",
    "transcriber_mode": "Transcription",
    "end_of_turn_silence_ms": "End of turn after silence (ms)",
    "min_speech_ms": "Shortest speech (ms)",
    "barge_in_min_speech_ms": "Speech that interrupts (ms)",
    "preemptive_replies": "Start replies early (preemptive replies)",
}
OUTPUT_FORMAT_LABELS = {
    "pcm_16000": "PCM, 16 kHz (phones)",
    "pcm_22050": "PCM, 22.05 kHz",
    "pcm_24000": "PCM, 24 kHz (browsers)",
    "pcm_44100": "PCM, 44.1 kHz",
    "pcm_48000": "PCM, 48 kHz",
}
VOICE_MODELS = ("eleven_flash_v2_5", "eleven_turbo_v2_5", "eleven_multilingual_v2", "eleven_v3")
TRANSCRIBER_MODELS = (
    "scribe_v2_realtime",
    "gpt-4o-mini-transcribe",
    "gpt-4o-transcribe",
    "whisper-1",
    "scribe_v2",
)
TURN_TAKING_MS_FIELDS = ("end_of_turn_silence_ms", "min_speech_ms", "barge_in_min_speech_ms")
# A new assistant made in the builder starts on the fastest path: ElevenLabs streaming, with the
# text ready when the caller stops. The model's defaults stay batch for API clients, which keep
# the behaviour they had.
NEW_ASSISTANT_DEFAULTS = {
    "transcriber_provider": Assistant.TranscriberProvider.ELEVENLABS,
    "transcriber_mode": Assistant.TranscriberMode.STREAMING,
    "transcriber_model": "scribe_v2_realtime",
}


class AssistantForm(forms.Form):
    """Create (``assistant=None``) or edit an assistant of ``organization``.

    ``models``/``voices``: the providers' lists for the pickers; without them, or when a
    provider could not be asked, the pickers are text inputs."""

    def __init__(
        self,
        data: Any = None,
        *,
        organization: Organization,
        assistant: Assistant | None = None,
        models: Catalog | None = None,
        voices: Catalog | None = None,
    ) -> None:
        self.organization, self.assistant = organization, assistant
        stored = assistant or Assistant(organization=organization, **NEW_ASSISTANT_DEFAULTS)
        initial = {name: getattr(stored, name) for name in ASSISTANT_WRITABLE_FIELDS}
        super().__init__(data, initial=initial)
        self.fields.update(fields_for_model(Assistant, fields=MODEL_FIELDS))
        self.fields["voice_settings"] = VoiceSettingsField(required=False)
        self.fields["end_call_phrases"] = PhraseRowsField(required=False)
        self.fields["tools"] = ToolsField(required=False, stored=stored.tools)
        self.fields["metadata"] = MetadataRowsField(required=False, stored=stored.metadata)
        for name, field in self.fields.items():
            field.help_text = HELP.get(name, field.help_text)
            field.label = LABELS.get(name, field.label)
        self.model_catalog, self.voice_catalog = models, voices
        self._set_pickers()
        for name, field in self.fields.items():
            field.widget.attrs["aria-describedby"] = f"id_{name}_help errors-{name}"

    def _set_pickers(self) -> None:
        self._picker("model_name", self.model_catalog)
        self._picker("voice_id", self.voice_catalog, blank="No voice (text only)")
        self.fields["voice_model"].widget = _suggesting("voice-models")
        self.fields["transcriber_model"].widget = _suggesting("transcriber-models")
        output_format = self.fields["voice_output_format"]
        assert isinstance(output_format, forms.ChoiceField)
        output_format.choices = [
            (value, OUTPUT_FORMAT_LABELS.get(value, label))
            for value, label in Assistant.OutputFormat.choices
        ]
        self.fields["temperature"].widget.attrs.update(step="0.1", min="0", max="2")
        for name in TURN_TAKING_MS_FIELDS:
            self.fields[name].widget.attrs.update(_model_bounds(name))
        for name in ("first_message", "system_prompt"):
            self.fields[name].widget.attrs["rows"] = 3 if name == "first_message" else 8

    def _picker(self, name: str, catalog: Catalog | None, blank: str = "") -> None:
        """A select of the provider's list, with the current value kept even if unlisted."""
        if catalog is None or not catalog.available:
            return
        current = str(self[name].value() or "")
        choices = list(catalog.choices)
        if current and current not in dict(choices):
            choices.insert(0, (current, f"{current} (not in the provider's list)"))
        if blank:
            choices.insert(0, ("", blank))
        self.fields[name].widget = forms.Select(choices=choices)

    def clean(self) -> dict[str, Any]:
        super().clean()
        candidate = self._candidate(self.cleaned_data)
        try:
            candidate.full_clean(exclude=list(self.errors))
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                field = name if name in self.fields else None
                for message in messages:
                    if field is None or message not in self.errors.get(field, []):
                        self.add_error(field, message)
        return self.cleaned_data

    def _candidate(self, cleaned: dict[str, Any]) -> Assistant:
        """The assistant as it would be saved (a copy: the stored one stays as it was)."""
        candidate = (
            copy.copy(self.assistant)
            if self.assistant
            else Assistant(organization=self.organization)
        )
        for name in ASSISTANT_WRITABLE_FIELDS:
            if name in cleaned:
                setattr(candidate, name, cleaned[name])
        return candidate

    def assistant_fields(self) -> dict[str, Any]:
        """What to hand ``assistant_create``/``assistant_update``: every writable field."""
        return {name: self.cleaned_data[name] for name in ASSISTANT_WRITABLE_FIELDS}

    # -------------------------------------------------- what the structured inputs show

    def shown(self, name: str) -> Any:
        """The structured field's inputs: as posted (bound) or from the stored value."""
        field = self.fields[name]
        if self.is_bound:
            return field.widget.value_from_datadict(self.data, self.files, self.add_prefix(name))
        return field.display(self.initial[name])  # type: ignore[attr-defined]

    @property
    def phrase_rows(self) -> list[str]:
        return [*self.shown("end_call_phrases"), ""]

    @property
    def metadata_rows(self) -> list[tuple[str, str]]:
        return [*self.shown("metadata"), ("", "")]

    @property
    def voice_setting_rows(self) -> list[dict[str, Any]]:
        shown = self.shown("voice_settings")
        return [
            {
                "key": key,
                "label": key.replace("_", " ").capitalize(),
                "low": low,
                "high": high,
                "set": shown[key][0],
                "value": shown[key][1],
            }
            for key, (low, high) in VOICE_SETTING_RANGES.items()
        ]

    @property
    def speaker_boost(self) -> dict[str, Any]:
        return {
            "value": self.shown("voice_settings")["use_speaker_boost"],
            "choices": SPEAKER_BOOST_CHOICES,
        }

    @property
    def tool_rows(self) -> list[ToolRow]:
        connections = NotionConnection.objects.for_org(self.organization).order_by("name")
        choices = [(str(c.pk), _connection_label(c)) for c in connections]
        return tool_rows(self.shown("tools"), choices)

    @property
    def suggestions(self) -> dict[str, tuple[str, ...]]:
        return {"voice-models": VOICE_MODELS, "transcriber-models": TRANSCRIBER_MODELS}


def _connection_label(connection: NotionConnection) -> str:
    workspace = connection.workspace_name or connection.name
    broken = " (needs reconnecting)" if connection.status == NotionConnection.Status.BROKEN else ""
    return (
        f"{connection.name} \u2014 {workspace}{broken}"
        if workspace != connection.name
        else f"{connection.name}{broken}"
    )


def _model_bounds(name: str) -> dict[str, str]:
    """The model field's validator limits as the number input's ``min``/``max``."""
    field = Assistant._meta.get_field(name)
    assert isinstance(field, models.Field)
    bounds = {}
    for validator in field.validators:
        if isinstance(validator, MinValueValidator | MaxValueValidator):
            key = "min" if isinstance(validator, MinValueValidator) else "max"
            bounds[key] = str(validator.limit_value)
    return bounds


def _suggesting(list_id: str) -> forms.TextInput:
    """A text input offering known values (``<datalist>`` in the template) but taking any."""
    return forms.TextInput(attrs={"list": list_id, "autocomplete": "off"})


class VoicePreviewForm(forms.Form):
    """The builder's voice fields, as posted for a preview; the rest of the form is ignored."""

    voice_provider = fields_for_model(Assistant, fields=["voice_provider"])["voice_provider"]
    voice_id = fields_for_model(Assistant, fields=["voice_id"])["voice_id"]
    voice_model = fields_for_model(Assistant, fields=["voice_model"])["voice_model"]
    voice_output_format = fields_for_model(Assistant, fields=["voice_output_format"])[
        "voice_output_format"
    ]
    voice_settings = VoiceSettingsField(required=False)
    first_message = forms.CharField(required=False, max_length=2_000)

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if cleaned.get("voice_provider") == Assistant.VoiceProvider.NONE:
            raise ValidationError(
                "This assistant has no voice (text only): there is nothing to hear."
            )
        if "voice_id" in cleaned and not cleaned["voice_id"]:
            self.add_error("voice_id", "Choose a voice to hear it.")
        return cleaned

    def problem(self) -> str:
        """All errors as one sentence per field, for the builder's preview note."""
        return " ".join(
            f"{self._label(field)}: {' '.join(map(str, messages))}"
            if field != "__all__"
            else " ".join(map(str, messages))
            for field, messages in self.errors.items()
        )

    def _label(self, field: str) -> str:
        return LABELS.get(field, field.replace("_", " ").capitalize())
