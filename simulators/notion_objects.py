"""Notion object shapes (API version 2025-09-03) for the Notion simulator.

Renders stored records as the JSON the real API returns and validates request bodies the way
the real API does, so notion-client and our code parse the simulator as they would Notion.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

MAX_RICH_TEXT_CHARS = 2000
MAX_BLOCKS_PER_REQUEST = 100
MAX_PAGE_SIZE = 100

TEXT_BLOCK_TYPES = frozenset(
    {
        "paragraph",
        "heading_1",
        "heading_2",
        "heading_3",
        "bulleted_list_item",
        "numbered_list_item",
        "to_do",
        "quote",
        "callout",
        "toggle",
        "code",
    }
)
BLOCK_TYPES = TEXT_BLOCK_TYPES | {"divider", "child_page", "child_database"}
_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


class NotionAPIError(Exception):
    """An error response: rendered as ``{"object": "error", ...}`` with this status."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def validation_error(message: str) -> NotionAPIError:
    return NotionAPIError(400, "validation_error", message)


def not_found(object_id: str, kind: str = "block") -> NotionAPIError:
    return NotionAPIError(
        404,
        "object_not_found",
        f"Could not find {kind} with ID: {object_id}. "
        "Make sure the relevant pages and databases are shared with your integration.",
    )


def new_id() -> str:
    return str(uuid.uuid4())


def notion_time(tick: int) -> str:
    """Notion reports times at minute precision; a logical clock keeps ordering deterministic."""
    return (_EPOCH + timedelta(minutes=tick)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def user_ref(user_id: str) -> dict[str, Any]:
    return {"object": "user", "id": user_id}


def rich_text(content: str) -> list[dict[str, Any]]:
    return [text_item(content)] if content else []


def text_item(content: str, link: str | None = None) -> dict[str, Any]:
    return {
        "type": "text",
        "text": {"content": content, "link": {"url": link} if link else None},
        "annotations": {
            "bold": False,
            "italic": False,
            "strikethrough": False,
            "underline": False,
            "code": False,
            "color": "default",
        },
        "plain_text": content,
        "href": link,
    }


def normalize_rich_text(items: Any, where: str) -> list[dict[str, Any]]:
    """Request rich text -> response rich text, refusing what Notion refuses."""
    if not isinstance(items, list):
        raise validation_error(f"body failed validation: {where} should be an array.")
    out = []
    for index, item in enumerate(items):
        text = item.get("text") if isinstance(item, dict) else None
        if not isinstance(text, dict):
            text = {}
        content = text.get("content")
        if not isinstance(content, str):
            raise validation_error(
                f"body failed validation: {where}[{index}].text.content should be defined."
            )
        if len(content) > MAX_RICH_TEXT_CHARS:
            raise validation_error(
                f"body failed validation: {where}[{index}].text.content.length should be "
                f"≤ `{MAX_RICH_TEXT_CHARS}`, instead was `{len(content)}`."
            )
        link = (text.get("link") or {}).get("url")
        rendered = text_item(content, link)
        rendered["annotations"].update(item.get("annotations") or {})
        out.append(rendered)
    return out


def plain_text(items: list[dict[str, Any]]) -> str:
    return "".join(item.get("plain_text", "") for item in items)


def normalize_block(block: Any, where: str) -> tuple[str, dict[str, Any]]:
    """A block from a request body -> (type, type-specific content as Notion returns it)."""
    if not isinstance(block, dict):
        raise validation_error(f"body failed validation: {where} should be an object.")
    block_type = block.get("type") or next((k for k in block if k in BLOCK_TYPES), None)
    if block_type not in BLOCK_TYPES - {"child_page", "child_database"}:
        raise validation_error(
            f"body failed validation: {where}.type should be a supported block type, "
            f"instead was `{block_type}`."
        )
    body = block.get(block_type)
    if not isinstance(body, dict):
        raise validation_error(f"body failed validation: {where}.{block_type} should be defined.")
    if block_type == "divider":
        return block_type, {}
    content: dict[str, Any] = {
        "rich_text": normalize_rich_text(
            body.get("rich_text", []), f"{where}.{block_type}.rich_text"
        ),
        "color": body.get("color", "default"),
    }
    if block_type == "to_do":
        content["checked"] = bool(body.get("checked", False))
    if block_type.startswith("heading_"):
        content["is_toggleable"] = bool(body.get("is_toggleable", False))
    if block_type == "code":
        content = {k: v for k, v in content.items() if k != "color"}
        content["language"] = body.get("language", "plain text")
        content["caption"] = []
    return block_type, content


def check_children(children: Any, where: str = "body.children") -> list[Any]:
    if children is None:
        return []
    if not isinstance(children, list):
        raise validation_error(f"body failed validation: {where} should be an array.")
    if len(children) > MAX_BLOCKS_PER_REQUEST:
        raise validation_error(
            f"body failed validation: {where}.length should be ≤ `{MAX_BLOCKS_PER_REQUEST}`, "
            f"instead was `{len(children)}`."
        )
    return children


def page_size(raw: Any) -> int:
    if raw is None:
        return MAX_PAGE_SIZE
    try:
        size = int(raw)
    except (TypeError, ValueError) as exc:
        raise validation_error("page_size should be a number.") from exc
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise validation_error(
            f"body failed validation: page_size should be ≤ `{MAX_PAGE_SIZE}` and ≥ `1`, "
            f"instead was `{size}`."
        )
    return size


def paginate(
    items: list[dict[str, Any]], start_cursor: Any, size: Any, kind: str
) -> dict[str, Any]:
    """Notion's list envelope. The cursor is the id of the first item of the next page."""
    start = 0
    if start_cursor:
        ids = [item["id"] for item in items]
        if start_cursor not in ids:
            raise validation_error(f"start_cursor provided is invalid: {start_cursor}")
        start = ids.index(start_cursor)
    count = page_size(size)
    window = items[start : start + count]
    has_more = start + count < len(items)
    return {
        "object": "list",
        "results": window,
        "next_cursor": items[start + count]["id"] if has_more else None,
        "has_more": has_more,
        "type": kind,
        kind: {},
        "request_id": new_id(),
    }


def page_url(title: str, object_id: str) -> str:
    slug = "-".join("".join(c if c.isalnum() else " " for c in title).split())
    compact = object_id.replace("-", "")
    return f"https://www.notion.so/{slug + '-' if slug else ''}{compact}"


def property_value(schema: dict[str, Any], value: Any) -> dict[str, Any]:
    """A Python seed value -> the page property value Notion returns for this schema entry."""
    kind = schema["type"]
    out: dict[str, Any] = {"id": schema["id"], "type": kind}
    if kind in ("title", "rich_text"):
        out[kind] = rich_text("" if value is None else str(value))
    elif kind in ("select", "status"):
        out[kind] = (
            None if value is None else {"id": new_id()[:8], "name": str(value), "color": "default"}
        )
    elif kind == "multi_select":
        out[kind] = [{"id": new_id()[:8], "name": str(v), "color": "default"} for v in value or []]
    elif kind == "date":
        out[kind] = None if value is None else {"start": str(value), "end": None, "time_zone": None}
    else:  # number, checkbox, url, email, phone_number
        out[kind] = value
    return out


def request_property_value(schema: dict[str, Any], value: Any, where: str) -> dict[str, Any]:
    """A property value from a create/update request -> the stored response shape."""
    kind = schema["type"]
    if not isinstance(value, dict) or kind not in value:
        raise validation_error(f"body failed validation: {where}.{kind} should be defined.")
    if kind in ("title", "rich_text"):
        return {
            "id": schema["id"],
            "type": kind,
            kind: normalize_rich_text(value[kind], f"{where}.{kind}"),
        }
    raw = value[kind]
    if kind in ("select", "status") and isinstance(raw, dict):
        raw = raw.get("name")
    if kind == "multi_select" and isinstance(raw, list):
        raw = [item.get("name") for item in raw if isinstance(item, dict)]
    if kind == "date" and isinstance(raw, dict):
        raw = raw.get("start")
    return property_value(schema, raw)


def infer_property_type(value: Any) -> str:
    if isinstance(value, bool):
        return "checkbox"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, list):
        return "multi_select"
    return "rich_text"
