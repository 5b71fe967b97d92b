"""Field validators shared by the model, the admin and the API (one set of rules, one wording)."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError

MAX_METADATA_BYTES = 16 * 1024
VOICE_SETTING_RANGES = {
    "stability": (0.0, 1.0),
    "similarity_boost": (0.0, 1.0),
    "style": (0.0, 1.0),
    "speed": (0.7, 1.2),
}


def validate_metadata(value: Any) -> None:
    if not isinstance(value, dict):
        raise ValidationError("Must be a JSON object.")
    size = len(json.dumps(value, separators=(",", ":")).encode())
    if size > MAX_METADATA_BYTES:
        raise ValidationError(f"Must be at most {MAX_METADATA_BYTES} bytes of JSON (got {size}).")


def validate_voice_settings(value: Any) -> None:
    if not isinstance(value, dict):
        raise ValidationError("Must be a JSON object.")
    unknown = set(value) - set(VOICE_SETTING_RANGES) - {"use_speaker_boost"}
    if unknown:
        raise ValidationError(f"Unknown voice settings: {', '.join(sorted(unknown))}.")
    for key, (low, high) in VOICE_SETTING_RANGES.items():
        if key not in value:
            continue
        number = value[key]
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise ValidationError(f"{key} must be a number.")
        if not low <= number <= high:
            raise ValidationError(f"{key} must be between {low} and {high}.")
    if "use_speaker_boost" in value and not isinstance(value["use_speaker_boost"], bool):
        raise ValidationError("use_speaker_boost must be true or false.")


def validate_phrases(value: Any) -> None:
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise ValidationError("Must be a list of strings.")
    if len(value) > 20:
        raise ValidationError("At most 20 phrases.")
    if any(not p.strip() or len(p) > 200 for p in value):
        raise ValidationError("Each phrase must be 1 to 200 characters.")


def validate_tools(value: Any) -> None:
    from integrations.tools.registry import tool_names

    if not isinstance(value, list):
        raise ValidationError('Must be a list like [{"name": "current_time", "options": {}}].')
    if len(value) > 32:
        raise ValidationError("At most 32 tools.")
    known, seen = set(tool_names()), set()
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ValidationError('Each tool must be an object with a "name".')
        if set(item) - {"name", "options"}:
            raise ValidationError('A tool has only "name" and "options".')
        if item["name"] not in known:
            raise ValidationError(
                f"Unknown tool {item['name']!r}. Known tools: {', '.join(sorted(known))}."
            )
        if item["name"] in seen:
            raise ValidationError(f"Tool {item['name']!r} is listed twice.")
        seen.add(item["name"])
        if not isinstance(item.get("options", {}), dict):
            raise ValidationError(f"Options of {item['name']!r} must be an object.")
    if len(json.dumps(value).encode()) > MAX_METADATA_BYTES:
        raise ValidationError(f"Must be at most {MAX_METADATA_BYTES} bytes of JSON.")


def validate_string_list(value: Any) -> None:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValidationError("Must be a list of non-empty strings.")
    if len(value) > 50:
        raise ValidationError("At most 50 items.")


CUSTOM_TOOL_KEYS = {"name", "description", "parameters", "server_url", "timeout_seconds"}
MAX_CUSTOM_TOOLS = 16


def validate_custom_tools(value: Any) -> None:
    """An assistant's custom tools: a list of {name, description, parameters, server_url,
    timeout_seconds}; names unique and none a built-in's; URLs public (see tools/custom.py)."""
    if not isinstance(value, list):
        raise ValidationError(
            'Must be a list like [{"name": "lookup_order", "description": "...", '
            '"parameters": {"type": "object", "properties": {}}, '
            '"server_url": "https://example.com/tools"}].'
        )
    if len(value) > MAX_CUSTOM_TOOLS:
        raise ValidationError(f"At most {MAX_CUSTOM_TOOLS} custom tools.")
    seen: set[str] = set()
    for item in value:
        _check_custom_tool(item, seen)
    if len(json.dumps(value).encode()) > MAX_METADATA_BYTES:
        raise ValidationError(f"Must be at most {MAX_METADATA_BYTES} bytes of JSON.")


def _check_custom_tool(item: Any, seen: set[str]) -> None:
    from integrations.tools.custom import NAME_PATTERN
    from integrations.tools.registry import tool_names

    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        raise ValidationError('Each custom tool must be an object with a "name".')
    name = item["name"]
    if unknown := set(item) - CUSTOM_TOOL_KEYS:
        raise ValidationError(f"Custom tool {name!r}: unknown keys {', '.join(sorted(unknown))}.")
    if not NAME_PATTERN.match(name):
        raise ValidationError(
            f"Custom tool {name!r}: a name is 1 to 64 letters, digits, '_' or '-'."
        )
    if name in tool_names():
        raise ValidationError(f"Custom tool {name!r}: a built-in tool has this name.")
    if name in seen:
        raise ValidationError(f"Custom tool {name!r} is listed twice.")
    seen.add(name)
    description = item.get("description", "")
    if not isinstance(description, str) or len(description) > 1_024:
        raise ValidationError(f"Custom tool {name!r}: description must be text, at most 1024.")
    _check_parameters(name, item.get("parameters", {"type": "object"}))
    _check_timeout(name, item.get("timeout_seconds", 10))
    _check_server_url(name, item.get("server_url"))


def _check_parameters(name: str, schema: Any) -> None:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    if not isinstance(schema, dict) or schema.get("type") != "object":
        raise ValidationError(
            f'Custom tool {name!r}: parameters must be a JSON Schema with "type": "object".'
        )
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise ValidationError(
            f"Custom tool {name!r}: parameters is not a valid JSON Schema: {exc.message}"
        ) from exc


def _check_timeout(name: str, timeout: Any) -> None:
    from django.conf import settings

    highest = settings.CUSTOM_TOOL_MAX_TIMEOUT_SECONDS
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise ValidationError(f"Custom tool {name!r}: timeout_seconds must be a number.")
    if not 1 <= timeout <= highest:
        raise ValidationError(f"Custom tool {name!r}: timeout_seconds must be 1 to {highest}.")


def _check_server_url(name: str, url: Any) -> None:
    from integrations.tools.custom import url_problem

    if not isinstance(url, str) or not url or len(url) > 2_000:
        raise ValidationError(f"Custom tool {name!r}: server_url is required (a URL).")
    if problem := url_problem(url):
        raise ValidationError(f"Custom tool {name!r}: {problem}")
