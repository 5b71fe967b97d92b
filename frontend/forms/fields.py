"""Form fields for an assistant's structured settings, edited as rows and sliders, not JSON.

Each field reads its plain form inputs (repeated text rows, key/value rows, sliders with an
"override" box), turns them into the value the API would be sent, and validates that value
with the API's own validators (``assistants/validators.py``). Each also turns a stored value
back into what its inputs show (``display``), so a page re-rendered with errors and a page of
a stored assistant are drawn by the same template.
"""

from __future__ import annotations

import json
from itertools import zip_longest
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator

from assistants.validators import (
    VOICE_SETTING_RANGES,
    validate_metadata,
    validate_phrases,
    validate_voice_settings,
)

_no_nul = ProhibitNullCharactersValidator()


class _ListInput(forms.Widget):
    """Inputs that repeat one name; drawn by the builder template, not by the widget."""

    def value_from_datadict(self, data: Any, files: Any, name: str) -> list[str]:
        return list(data.getlist(name)) if hasattr(data, "getlist") else list(data.get(name, []))

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return False  # no rows is a value too: the list was emptied


class PhraseRowsField(forms.Field):
    """End-call phrases: one text input per phrase; empty rows are dropped."""

    widget = _ListInput
    default_validators = [validate_phrases]

    def to_python(self, value: Any) -> list[str]:
        rows = [str(row).strip() for row in (value or [])]
        for row in rows:
            _no_nul(row)
        return [row for row in rows if row]

    def validate(self, value: Any) -> None:
        """Nothing is required; the validator says what a phrase may be."""

    def display(self, value: Any) -> list[str]:
        return list(value or [])


class _KeyValueInput(forms.Widget):
    def value_from_datadict(self, data: Any, files: Any, name: str) -> list[tuple[str, str]]:
        keys, values = data.getlist(f"{name}_key"), data.getlist(f"{name}_value")
        return list(zip_longest(keys, values, fillvalue=""))

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return False


class MetadataRowsField(forms.Field):
    """Metadata as key/value rows. Values are stored as strings; a value the API stored as a
    number, list or object is shown as JSON and kept as it was unless its text is changed."""

    widget = _KeyValueInput
    default_validators = [validate_metadata]

    def __init__(self, *, stored: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stored = stored or {}

    def to_python(self, value: Any) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for raw_key, raw_value in value or []:
            key, text = str(raw_key).strip(), str(raw_value)
            _no_nul(key)
            _no_nul(text)
            if not key and not text.strip():
                continue
            if not key:
                raise ValidationError(f"The value {text[:40]!r} needs a key.")
            if key in result:
                raise ValidationError(f"The key {key!r} is there twice.")
            result[key] = self._kept(key, text)
        return result

    def _kept(self, key: str, text: str) -> Any:
        stored = self.stored.get(key)
        if not isinstance(stored, str) and key in self.stored and text == _as_text(stored):
            return stored
        return text

    def validate(self, value: Any) -> None:
        """Nothing is required."""

    def display(self, value: Any) -> list[tuple[str, str]]:
        return [(key, _as_text(item)) for key, item in (value or {}).items()]


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


VOICE_DEFAULT_POSITIONS = {"stability": 0.5, "similarity_boost": 0.75, "style": 0.0, "speed": 1.0}
SPEAKER_BOOST_CHOICES = (("", "The voice's default"), ("on", "On"), ("off", "Off"))


class _VoiceSettingsInput(forms.Widget):
    """Per setting: a slider ``<name>_<key>`` and a box ``<name>_<key>_set`` that says the
    assistant sets it (unticked: the voice's own default applies, as with the API)."""

    def value_from_datadict(self, data: Any, files: Any, name: str) -> dict[str, Any]:
        raw: dict[str, Any] = {
            key: (bool(data.get(f"{name}_{key}_set")), data.get(f"{name}_{key}", ""))
            for key in VOICE_SETTING_RANGES
        }
        raw["use_speaker_boost"] = data.get(f"{name}_use_speaker_boost", "")
        return raw

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return False


class VoiceSettingsField(forms.Field):
    widget = _VoiceSettingsInput
    default_validators = [validate_voice_settings]

    def to_python(self, value: Any) -> dict[str, Any]:
        value = value or {}
        settings: dict[str, Any] = {}
        for key in VOICE_SETTING_RANGES:
            chosen, text = value.get(key, (False, ""))
            if chosen:
                settings[key] = _number(key, text)
        boost = value.get("use_speaker_boost", "")
        if boost not in dict(SPEAKER_BOOST_CHOICES):
            raise ValidationError("Speaker boost is on, off or the voice's default.")
        if boost:
            settings["use_speaker_boost"] = boost == "on"
        return settings

    def validate(self, value: Any) -> None:
        """Nothing is required: no settings means the voice's defaults."""

    def display(self, value: Any) -> dict[str, Any]:
        value = value or {}
        shown: dict[str, Any] = {
            key: (key in value, value.get(key, VOICE_DEFAULT_POSITIONS[key]))
            for key in VOICE_SETTING_RANGES
        }
        boost = value.get("use_speaker_boost")
        shown["use_speaker_boost"] = "" if boost is None else ("on" if boost else "off")
        return shown


def _number(key: str, text: Any) -> float:
    try:
        number = float(str(text).strip())
    except ValueError:
        raise ValidationError(f"{key} must be a number.") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ValidationError(f"{key} must be a number.")
    return number
