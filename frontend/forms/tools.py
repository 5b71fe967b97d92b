"""The tools checklist: every registered tool, with the options it reads.

Posted as a ``tools`` checkbox per tool and ``tools-<tool>-<option>`` inputs; turned into the
API's ``[{"name": ..., "options": {...}}]`` and validated with ``validate_tools``. Notion
options are checked by ``Assistant.clean()`` (``integrations/notion/options.py``) when the
whole assistant is validated, as for the API. Options a stored tool has that this form does
not show (set through the API) are kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.validators import ProhibitNullCharactersValidator

from assistants.validators import validate_tools
from integrations.tools.registry import get_tool, tool_names

_no_nul = ProhibitNullCharactersValidator()


@dataclass(frozen=True)
class ToolOption:
    name: str  # the key in the tool's options
    label: str
    kind: str  # "text", "checkbox" or "connection" (a Notion connection of the organization)
    help: str


NOTION_CONNECTION = ToolOption(
    "connection_id",
    "Notion connection",
    "connection",
    "Which connected workspace the tool uses. Default: the organization's first connection.",
)
NOTION_PAGE = ToolOption(
    "default_page_id",
    "Target page",
    "text",
    "A Notion page id or page URL: where additions go when the caller names no page.",
)
NOTION_DRY_RUN = ToolOption(
    "dry_run",
    "Dry run",
    "checkbox",
    "Say exactly what would be written to Notion, and write nothing.",
)
TOOL_OPTIONS: dict[str, tuple[ToolOption, ...]] = {
    "current_time": (
        ToolOption(
            "timezone",
            "Time zone",
            "text",
            "An IANA time zone such as Europe/Paris, used when the caller names none. "
            "Default: UTC.",
        ),
    ),
    "notion_search": (NOTION_CONNECTION,),
    "notion_read_page": (NOTION_CONNECTION,),
    "notion_create_page": (NOTION_CONNECTION, NOTION_PAGE, NOTION_DRY_RUN),
    "notion_append_to_page": (NOTION_CONNECTION, NOTION_PAGE, NOTION_DRY_RUN),
    "notion_query_database": (NOTION_CONNECTION,),
}


def options_of(tool_name: str) -> tuple[ToolOption, ...]:
    return TOOL_OPTIONS.get(tool_name, ())


class _ToolsInput(forms.Widget):
    """{tool name: {option: posted text}} for every ticked tool, in the order posted."""

    def value_from_datadict(self, data: Any, files: Any, name: str) -> dict[str, dict[str, str]]:
        ticked = data.getlist(name) if hasattr(data, "getlist") else data.get(name, [])
        return {
            tool: {
                option.name: data.get(f"{name}-{tool}-{option.name}", "")
                for option in options_of(tool)
            }
            for tool in dict.fromkeys(ticked)
        }

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return False  # no box ticked: no tools


class ToolsField(forms.Field):
    widget = _ToolsInput
    default_validators = [validate_tools]

    def __init__(self, *, stored: list[dict[str, Any]] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stored = {
            item["name"]: dict(item.get("options") or {})
            for item in stored or []
            if isinstance(item, dict) and isinstance(item.get("name"), str)
        }

    def to_python(self, value: Any) -> list[dict[str, Any]]:
        order = [*self.stored, *tool_names()]
        ticked = sorted(
            value or {}, key=lambda name: order.index(name) if name in order else len(order)
        )
        return [self._item(name, value[name]) for name in ticked]

    def _item(self, name: str, posted: dict[str, str]) -> dict[str, Any]:
        shown = {option.name for option in options_of(name)}
        options = {key: v for key, v in self.stored.get(name, {}).items() if key not in shown}
        for option in options_of(name):
            text = str(posted.get(option.name, "")).strip()
            _no_nul(text)
            if option.kind == "checkbox" and text:
                options[option.name] = True
            elif option.kind != "checkbox" and text:
                options[option.name] = text
        return {"name": name, "options": options} if options else {"name": name}

    def validate(self, value: Any) -> None:
        """No tool is required."""

    def display(self, value: Any) -> dict[str, dict[str, Any]]:
        """A stored tools list as {tool: {option: value}}, the shape the inputs post."""
        shown: dict[str, dict[str, Any]] = {}
        for item in value or []:
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                options = item.get("options") or {}
                shown[item["name"]] = {
                    o.name: options.get(o.name, "") for o in options_of(item["name"])
                }
        return shown


@dataclass(frozen=True)
class OptionRow:
    option: ToolOption
    value: Any
    choices: tuple[tuple[str, str], ...] = ()  # for a "connection" option


@dataclass(frozen=True)
class ToolRow:
    """One line of the checklist as the template draws it."""

    name: str
    description: str
    enabled: bool
    options: list[OptionRow]


def tool_rows(
    shown: dict[str, dict[str, Any]], connections: list[tuple[str, str]]
) -> list[ToolRow]:
    """Every registered tool; ``connections``: (id, label) of the organization's Notion
    connections, offered by every "connection" option."""
    rows = []
    for name in tool_names():
        tool = get_tool(name)
        values = shown.get(name, {})
        options = [_option_row(o, values.get(o.name, ""), connections) for o in options_of(name)]
        enabled = name in shown
        rows.append(ToolRow(name, tool.description if tool else "", enabled, options))
    return rows


def _option_row(option: ToolOption, value: Any, connections: list[tuple[str, str]]) -> OptionRow:
    if option.kind != "connection":
        return OptionRow(option, value)
    choices = [("", "The organization's first connection"), *connections]
    if value and str(value) not in dict(choices):
        choices.append((str(value), f"{value} (not a connection of this organization)"))
    return OptionRow(option, str(value or ""), tuple(choices))
