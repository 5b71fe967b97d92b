"""Reading Notion objects into compact, LLM-friendly values."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from integrations.notion.client import NotionAPI
from integrations.notion.markdown import block_to_text, plain_text

MAX_READ_REQUESTS = 30  # a page with thousands of blocks must not hold a voice turn for long
NESTED_DEPTH = 2  # children of list items and toggles, but not deeper


def page_title(page: dict[str, Any]) -> str:
    for prop in (page.get("properties") or {}).values():
        if prop.get("type") == "title":
            return plain_text(prop.get("title"))
    return ""


def property_value(prop: dict[str, Any]) -> Any:
    """A page property as a plain JSON value (text, number, bool, list of names...)."""
    kind = prop.get("type")
    value = prop.get(kind) if isinstance(kind, str) else None
    if kind in ("title", "rich_text"):
        return plain_text(value)
    if kind in ("select", "status"):
        return value.get("name") if value else None
    if kind == "multi_select":
        return [item.get("name") for item in value or []]
    if kind == "date":
        return value.get("start") if value else None
    if kind == "people":
        return [person.get("name") or person.get("id") for person in value or []]
    if kind == "relation":
        return [item.get("id") for item in value or []]
    if kind in ("formula", "rollup") and isinstance(value, dict):
        return value.get(value.get("type"))
    if kind in ("number", "checkbox", "url", "email", "phone_number"):
        return value
    if kind in ("created_time", "last_edited_time", "unique_id"):
        return value
    return None  # files, buttons... nothing a voice answer can use


def page_properties(page: dict[str, Any]) -> dict[str, Any]:
    return {name: property_value(prop) for name, prop in (page.get("properties") or {}).items()}


def search_result(item: dict[str, Any]) -> dict[str, Any]:
    if item.get("object") == "data_source":
        parent = item.get("parent") or {}
        return {
            "type": "database",
            "id": parent.get("database_id") or item.get("id"),
            "data_source_id": item.get("id"),
            "title": plain_text(item.get("title")),
            "url": item.get("url"),
        }
    return {
        "type": "page",
        "id": item.get("id"),
        "title": page_title(item),
        "url": item.get("url"),
    }


@dataclass
class PageTextReader:
    """Reads a page's blocks as text, following pagination and nesting, within budgets."""

    api: NotionAPI
    max_chars: int
    lines: list[str] = field(default_factory=list)
    chars: int = 0
    requests: int = 0
    truncated: bool = False

    async def read(self, block_id: str, indent: str = "", depth: int = 0) -> None:
        cursor: str | None = None
        number = 0
        while not self.truncated:
            if self.requests >= MAX_READ_REQUESTS:
                self.truncated = True
                return
            self.requests += 1
            query = {"start_cursor": cursor} if cursor else {}
            page = await self.api.list_children(block_id, **query)
            for block in page.get("results", []):
                number = number + 1 if block.get("type") == "numbered_list_item" else 0
                await self._take(block, number, indent, depth)
                if self.truncated:
                    return
            cursor = page.get("next_cursor")
            if not page.get("has_more") or not cursor:
                return

    async def _take(self, block: dict[str, Any], number: int, indent: str, depth: int) -> None:
        text = block_to_text(block, number)
        if text is not None:
            self._add(indent + text.replace("\n", "\n" + indent))
        nested = block.get("type") not in ("child_page", "child_database")
        if block.get("has_children") and nested and depth < NESTED_DEPTH and not self.truncated:
            await self.read(str(block["id"]), indent + "  ", depth + 1)

    def _add(self, line: str) -> None:
        self.lines.append(line)
        self.chars += len(line) + 1
        if self.chars > self.max_chars:
            self.truncated = True

    def text(self) -> str:
        return "\n".join(self.lines)[: self.max_chars]
