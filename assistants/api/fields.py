"""Strict input fields: JSON types are not coerced, and nothing reaches the database that it
would refuse (NUL characters, lone surrogates, NaN/Infinity in JSON columns)."""

from __future__ import annotations

import math
from typing import Any

from django.db import models
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from assistants.validators import VOICE_SETTING_RANGES

MAX_JSON_DEPTH = 32


def _storable_text(value: str) -> bool:
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, e.g. from "\ud800" in the JSON
        return False
    return True


class StrictCharField(serializers.CharField):
    default_error_messages = {"unstorable": "Contains characters that cannot be stored."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        if not _storable_text(data):
            self.fail("unstorable")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictFloatField(serializers.FloatField):
    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictJSONField(serializers.JSONField):
    default_error_messages = {
        "unstorable": "Contains a value that cannot be stored (NaN, Infinity or a NUL character).",
        "too_deep": f"Nested more than {MAX_JSON_DEPTH} levels deep.",
    }

    def to_internal_value(self, data: Any) -> Any:
        self._check_storable(data)
        return super().to_internal_value(data)

    def _check_storable(self, data: Any) -> None:
        pending = [(data, 0)]
        while pending:  # iterative: a deep document must not exhaust the stack here either
            value, depth = pending.pop()
            if depth > MAX_JSON_DEPTH:
                self.fail("too_deep")
            if isinstance(value, float) and not math.isfinite(value):
                self.fail("unstorable")
            if isinstance(value, str) and not _storable_text(value):
                self.fail("unstorable")
            if isinstance(value, dict):
                pending.extend((key, depth + 1) for key in value)
                pending.extend((item, depth + 1) for item in value.values())
            elif isinstance(value, list):
                pending.extend((item, depth + 1) for item in value)


class StrictModelSerializer(serializers.ModelSerializer):
    """Model-derived input fields with strict types; unknown keys in the body are a 400."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.IntegerField: StrictIntegerField,
        models.PositiveIntegerField: StrictIntegerField,
        models.FloatField: StrictFloatField,
        models.BooleanField: StrictBooleanField,
        models.JSONField: StrictJSONField,
    }

    def to_internal_value(self, data: Any) -> Any:
        return refuse_unknown_keys(self, data, super().to_internal_value)


class StrictSerializer(serializers.Serializer):
    def to_internal_value(self, data: Any) -> Any:
        return refuse_unknown_keys(self, data, super().to_internal_value)


def refuse_unknown_keys(serializer: serializers.Serializer, data: Any, validate) -> Any:
    """``validate(data)``, with unknown keys reported as errors beside the other fields'. A key
    the serializer names in ``unsupported_fields`` is refused with the reason given there."""
    known = serializer.fields
    reasons: dict[str, str] = getattr(serializer, "unsupported_fields", {})
    unknown = (
        {key: [reasons.get(key, "Unknown field.")] for key in data if key not in known}
        if isinstance(data, dict)
        else {}
    )
    try:
        value = validate(data)
    except serializers.ValidationError as exc:
        if unknown and isinstance(exc.detail, dict):
            raise serializers.ValidationError({**exc.detail, **unknown}) from exc
        raise
    if unknown:
        raise serializers.ValidationError(unknown)
    return value


class StrictUUIDField(serializers.UUIDField):
    """A UUID given as a string (DRF would also turn an integer into one)."""

    def to_internal_value(self, data: Any):
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


def typed_json(schema: dict, base: type[serializers.JSONField] = StrictJSONField) -> type:
    """A JSON field class documented with ``schema`` in the OpenAPI schema."""
    return extend_schema_field(schema)(type(base.__name__, (base,), {}))


JSON_OBJECT = {"type": "object", "additionalProperties": {}}
STRING_LIST = {"type": "array", "items": {"type": "string"}}
TOOLS = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "A registered tool, e.g. current_time."},
            "options": JSON_OBJECT,
        },
        "required": ["name"],
        "additionalProperties": False,
    },
}
CUSTOM_TOOLS = {
    "type": "array",
    "maxItems": 16,
    "items": {
        "type": "object",
        "properties": {
            "name": {"type": "string", "pattern": "^[a-zA-Z0-9_-]{1,64}$"},
            "description": {"type": "string", "maxLength": 1024},
            "parameters": {
                "type": "object",
                "additionalProperties": {},
                "description": 'JSON Schema of the arguments, with "type": "object".',
            },
            "server_url": {"type": "string", "format": "uri"},
            "timeout_seconds": {"type": "number", "minimum": 1, "maximum": 30, "default": 10},
        },
        "required": ["name", "server_url"],
        "additionalProperties": False,
    },
}
VOICE_SETTINGS = {
    "type": "object",
    "properties": {
        **{
            key: {"type": "number", "minimum": low, "maximum": high}
            for key, (low, high) in VOICE_SETTING_RANGES.items()
        },
        "use_speaker_boost": {"type": "boolean"},
    },
    "additionalProperties": False,
}

JSONObjectField = typed_json(JSON_OBJECT)
StringListField = typed_json(STRING_LIST)
ToolsField = typed_json(TOOLS)
VoiceSettingsField = typed_json(VOICE_SETTINGS)
CustomToolsField = typed_json(CUSTOM_TOOLS)
CustomToolsOutput = typed_json(CUSTOM_TOOLS, serializers.JSONField)
JSONObjectOutput = typed_json(JSON_OBJECT, serializers.JSONField)
StringListOutput = typed_json(STRING_LIST, serializers.JSONField)
ToolsOutput = typed_json(TOOLS, serializers.JSONField)
VoiceSettingsOutput = typed_json(VOICE_SETTINGS, serializers.JSONField)
