"""Simulated Notion objects rendered as the JSON the API returns. Callers hold the lock."""

from __future__ import annotations

from typing import Any

from simulators.notion_objects import (
    new_id,
    notion_time,
    page_url,
    plain_text,
    rich_text,
    user_ref,
)
from simulators.notion_state import Block, Database, DataSource, NotionState, Page


def title_of(page: Page) -> str:
    for prop in page.properties.values():
        if prop.get("type") == "title":
            return plain_text(prop["title"])
    return ""


def _meta(state: NotionState, ws: str, created: int, edited: int) -> dict[str, Any]:
    bot = user_ref(state.workspaces[ws].bot_id)
    return {
        "created_time": notion_time(created),
        "last_edited_time": notion_time(edited),
        "created_by": bot,
        "last_edited_by": bot,
    }


def page_json(state: NotionState, page: Page) -> dict[str, Any]:
    return {
        "object": "page",
        "id": page.id,
        **_meta(state, page.workspace_id, page.created, page.edited),
        "cover": None,
        "icon": None,
        "parent": page.parent,
        "archived": page.in_trash,
        "in_trash": page.in_trash,
        "is_locked": False,
        "properties": page.properties,
        "url": page_url(title_of(page), page.id),
        "public_url": None,
        "request_id": new_id(),
    }


def block_json(state: NotionState, block: Block) -> dict[str, Any]:
    content = block.content
    if block.type == "child_page":
        content = {"title": title_of(state.pages[block.id])}
    elif block.type == "child_database":
        content = {"title": state.databases[block.id].title}
    ws = state.workspace_of(block.id) or state.default_workspace_id
    return {
        "object": "block",
        "id": block.id,
        "parent": block.parent,
        **_meta(state, ws, block.created, block.edited),
        "has_children": bool(live_children(state, block.id)) and block.type != "child_page",
        "archived": block.in_trash,
        "in_trash": block.in_trash,
        "type": block.type,
        block.type: content,
    }


def database_json(state: NotionState, database: Database) -> dict[str, Any]:
    sources = [state.data_sources[i] for i in database.data_source_ids]
    return {
        "object": "database",
        "id": database.id,
        **_meta(state, database.workspace_id, database.created, database.created),
        "title": rich_text(database.title),
        "description": [],
        "parent": database.parent,
        "is_inline": False,
        "in_trash": database.in_trash,
        "is_locked": False,
        "data_sources": [{"id": s.id, "name": s.name} for s in sources],
        "icon": None,
        "cover": None,
        "url": page_url(database.title, database.id),
        "public_url": None,
        "request_id": new_id(),
    }


def data_source_json(state: NotionState, source: DataSource) -> dict[str, Any]:
    database = state.databases[source.database_id]
    return {
        "object": "data_source",
        "id": source.id,
        **_meta(state, database.workspace_id, source.created, source.created),
        "properties": source.schema,
        "parent": {"type": "database_id", "database_id": database.id},
        "database_parent": database.parent,
        "archived": False,
        "in_trash": database.in_trash,
        "is_inline": False,
        "icon": None,
        "cover": None,
        "title": rich_text(source.name),
        "description": [],
        "url": page_url(source.name, database.id),
        "public_url": None,
    }


def live_children(state: NotionState, parent_id: str) -> list[Block]:
    return [
        state.blocks[i] for i in state.children.get(parent_id, []) if not state.blocks[i].in_trash
    ]
