"""Data source query filters and sorts built from the LLM's simple shapes and the schema.

Notion wants the filter keyed by the property's type (``{"property": "Name", "title":
{"contains": "x"}}``), so the data source schema is consulted; a bad request becomes a
ToolError that names the available properties instead of a Notion validation error.
"""

from __future__ import annotations

from typing import Any

from integrations.tools.base import ToolError

_TEXT_TYPES = ("title", "rich_text", "url", "email", "phone_number")
_EQUALS_ONLY = ("select", "status", "date", "number", "checkbox")
_TIMESTAMPS = ("created_time", "last_edited_time")


def find_property(schema: dict[str, Any], name: object) -> tuple[str, str]:
    """(property name, type); exact name first, then case-insensitive."""
    wanted = str(name or "")
    matches = [n for n in schema if n == wanted] or [
        n for n in schema if n.casefold() == wanted.casefold()
    ]
    if not matches:
        available = ", ".join(sorted(schema)) or "none"
        raise ToolError(f"The database has no property {wanted!r}. Properties: {available}.")
    return matches[0], str(schema[matches[0]].get("type"))


def build_filter(schema: dict[str, Any], spec: object) -> dict[str, Any] | None:
    if not spec:
        return None
    if not isinstance(spec, dict):
        raise ToolError("filter must be an object with property and contains or equals.")
    name, kind = find_property(schema, spec.get("property"))
    if "contains" in spec:
        return {"property": name, kind: _contains(kind, name, spec["contains"])}
    if "equals" in spec:
        return {"property": name, kind: {"equals": _equals_value(kind, name, spec["equals"])}}
    raise ToolError("filter needs either contains or equals.")


def _contains(kind: str, name: str, value: Any) -> dict[str, Any]:
    if kind in _TEXT_TYPES or kind == "multi_select":
        return {"contains": str(value)}
    raise ToolError(f"Property {name!r} is a {kind}; filter it with equals, not contains.")


def _equals_value(kind: str, name: str, value: Any) -> Any:
    if kind == "number":
        try:
            return float(value) if "." in str(value) else int(value)
        except (TypeError, ValueError) as exc:
            raise ToolError(f"Property {name!r} is a number; {value!r} is not.") from exc
    if kind == "checkbox":
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in ("true", "yes", "1", "checked", "done")
    if kind in _TEXT_TYPES or kind in _EQUALS_ONLY:
        return str(value)
    if kind == "multi_select":
        raise ToolError(f"Property {name!r} holds several values; filter it with contains.")
    raise ToolError(f"Filtering on property {name!r} of type {kind} isn't supported.")


def build_sorts(schema: dict[str, Any], spec: object) -> list[dict[str, Any]]:
    if not spec:
        return []
    if not isinstance(spec, dict):
        raise ToolError("sort must be an object with property and direction.")
    direction = str(spec.get("direction") or "ascending").lower()
    if direction not in ("ascending", "descending"):
        raise ToolError("sort direction must be ascending or descending.")
    prop = spec.get("property")
    if prop in _TIMESTAMPS:
        return [{"timestamp": prop, "direction": direction}]
    name, _ = find_property(schema, prop)
    return [{"property": name, "direction": direction}]
