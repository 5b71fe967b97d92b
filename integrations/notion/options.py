"""Checks of the Notion tools' options on an assistant, for the assistant's organization.

``Assistant.clean()`` calls ``notion_tool_option_errors``: the model, the API and the admin all
validate through ``full_clean``. A ``connection_id`` must name a connection of the SAME
organization; any other id gets the same answer as one that exists nowhere.
"""

from __future__ import annotations

import uuid
from typing import Any

from integrations.notion.ids import parse_notion_id
from integrations.notion.tools import NOTION_TOOLS

NOTION_TOOL_NAMES = frozenset(tool.name for tool in NOTION_TOOLS)
OPTION_NAMES = ("connection_id", "default_page_id", "dry_run")


def notion_tool_option_errors(tools: Any, *, organization_id: uuid.UUID | None) -> list[str]:
    """Messages for the ``tools`` field; empty when every Notion tool's options are valid.

    Tolerates a malformed ``tools`` value: ``validate_tools`` reports that one."""
    if not isinstance(tools, list):
        return []
    errors = []
    for item in tools:
        if isinstance(item, dict) and item.get("name") in NOTION_TOOL_NAMES:
            options = item.get("options") or {}
            if isinstance(options, dict):
                errors += [f"{item['name']}: {e}" for e in _option_errors(options, organization_id)]
    return errors


def _option_errors(options: dict[str, Any], organization_id: uuid.UUID | None) -> list[str]:
    errors = []
    unknown = sorted(set(options) - set(OPTION_NAMES))
    if unknown:
        errors.append(f"unknown option {unknown[0]!r}; options are {', '.join(OPTION_NAMES)}.")
    page = options.get("default_page_id")
    if page not in (None, "") and parse_notion_id(page) is None:
        errors.append("default_page_id must be a Notion page id or page URL.")
    if "dry_run" in options and not isinstance(options["dry_run"], bool):
        errors.append("dry_run must be true or false.")
    connection = options.get("connection_id")
    if connection not in (None, "") and not _is_connection_of(connection, organization_id):
        errors.append("unknown Notion connection.")
    return errors


def _is_connection_of(value: Any, organization_id: uuid.UUID | None) -> bool:
    from integrations.models import NotionConnection  # models import late: apps load first

    try:
        connection_id = uuid.UUID(str(value))
    except ValueError:
        return False
    connections = NotionConnection.objects.for_org(organization_id)
    return connections.filter(pk=connection_id).exists()
