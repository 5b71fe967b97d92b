"""Data source query filters and sorts, as far as the simulator needs them.

Like Notion, a property filter must use the key of the property's type
(``{"property": "Name", "title": {"contains": "x"}}``); a mismatch is a validation error.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any

from simulators.notion_objects import plain_text, validation_error

_TEXT = ("title", "rich_text", "url", "email", "phone_number")


def plain_value(prop: dict[str, Any]) -> Any:
    kind = prop.get("type")
    value = prop.get(kind) if kind else None
    if kind in ("title", "rich_text"):
        return plain_text(value or [])
    if kind in ("select", "status"):
        return value.get("name") if value else None
    if kind == "multi_select":
        return [item["name"] for item in value or []]
    if kind == "date":
        return value.get("start") if value else None
    return value


def _spec(schema: dict[str, dict[str, Any]], key: Any) -> tuple[str, dict[str, Any]]:
    for name, spec in schema.items():
        if key in (name, spec["id"]):
            return name, spec
    raise validation_error(f"Could not find property with name or id: {key}")


def row_matches(flt: Any, properties: dict[str, Any], schema: dict[str, dict[str, Any]]) -> bool:
    if not isinstance(flt, dict):
        raise validation_error("body failed validation: body.filter should be an object.")
    if "and" in flt:
        return all(row_matches(f, properties, schema) for f in flt["and"])
    if "or" in flt:
        return any(row_matches(f, properties, schema) for f in flt["or"])
    name, spec = _spec(schema, flt.get("property"))
    kind = spec["type"]
    condition = flt.get(kind)
    if not isinstance(condition, dict) or len(condition) != 1:
        raise validation_error(
            f"body failed validation: body.filter.{kind} should be defined for property "
            f"`{name}` of type `{kind}`."
        )
    operator, operand = next(iter(condition.items()))
    return _compare(kind, operator, plain_value(properties[name]), operand)


def _compare(kind: str, operator: str, value: Any, operand: Any) -> bool:
    empty = value in (None, "", [])
    if operator in ("is_empty", "is_not_empty"):
        return empty if operator == "is_empty" else not empty
    if operator in ("contains", "does_not_contain"):
        if kind == "multi_select":
            hit = operand in (value or [])
        elif kind in _TEXT:
            hit = str(operand).casefold() in str(value or "").casefold()
        else:
            raise validation_error(f"`{operator}` is not a valid filter for type `{kind}`.")
        return hit if operator == "contains" else not hit
    if operator in ("equals", "does_not_equal"):
        hit = value == operand
        return hit if operator == "equals" else not hit
    if operator in ("greater_than", "less_than", "on_or_after", "on_or_before"):
        if empty:
            return False
        if operator in ("greater_than", "on_or_after"):
            return bool(value > operand if operator == "greater_than" else value >= operand)
        return bool(value < operand if operator == "less_than" else value <= operand)
    raise validation_error(f"`{operator}` is not a valid filter condition for type `{kind}`.")


def sort_rows(rows: list[Any], sorts: Any, schema: dict[str, dict[str, Any]]) -> list[Any]:
    """Stable multi-key sort, applied last key first. Empty values sort last, as in Notion."""
    if not isinstance(sorts, list):
        raise validation_error("body failed validation: body.sorts should be an array.")
    ordered = sorted(rows, key=lambda row: row.created)
    for sort in reversed(sorts):
        descending = sort.get("direction") == "descending"
        if "timestamp" in sort:
            attr = "created" if sort["timestamp"] == "created_time" else "edited"
            ordered.sort(key=attrgetter(attr), reverse=descending)
            continue
        name, _ = _spec(schema, sort.get("property"))
        present = [r for r in ordered if plain_value(r.properties[name]) not in (None, "", [])]
        missing = [r for r in ordered if r not in present]
        present.sort(key=lambda r: _sortable(plain_value(r.properties[name])), reverse=descending)
        ordered = present + missing
    return ordered


def _sortable(value: Any) -> Any:
    if isinstance(value, str):
        return value.casefold()
    if isinstance(value, list):
        return ",".join(value)
    return value
