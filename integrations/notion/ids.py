"""Notion object ids as the LLM may give them: UUIDs with or without dashes, or Notion URLs."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_DASHED = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_COMPACT = re.compile(r"^[0-9a-f]{32}$", re.I)
_URL_TAIL = re.compile(r"([0-9a-f]{32})$", re.I)
_NOTION_HOSTS = ("notion.so", "notion.site")


def _dashed(compact: str) -> str:
    c = compact.lower()
    return f"{c[:8]}-{c[8:12]}-{c[12:16]}-{c[16:20]}-{c[20:]}"


def parse_notion_id(value: object) -> str | None:
    """The dashed lowercase id, or None when ``value`` is not a Notion id or page/database URL.

    For URLs only the last path segment counts (``.../Title-<32 hex>``); the ``?v=`` view id
    of a database URL is deliberately ignored."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if _DASHED.match(text):
        return text.lower()
    if _COMPACT.match(text):
        return _dashed(text)
    return _id_from_url(text)


def _id_from_url(text: str) -> str | None:
    parts = urlsplit(text)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not any(
        host == h or host.endswith("." + h) for h in _NOTION_HOSTS
    ):
        return None
    last_segment = parts.path.rstrip("/").rsplit("/", 1)[-1]
    match = _URL_TAIL.search(last_segment)
    return _dashed(match.group(1)) if match else None
