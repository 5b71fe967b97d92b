"""What each simulated Notion endpoint does to the state. Callers hold ``state.lock``."""

from __future__ import annotations

import base64
import binascii
import secrets
from typing import Any

from simulators.notion_objects import (
    NotionAPIError,
    check_children,
    new_id,
    normalize_block,
    not_found,
    paginate,
    request_property_value,
    validation_error,
)
from simulators.notion_query import row_matches, sort_rows
from simulators.notion_render import (
    block_json,
    data_source_json,
    database_json,
    live_children,
    page_json,
    title_of,
)
from simulators.notion_state import Block, Database, DataSource, NotionState, Page

# -- search ----------------------------------------------------------------------------------


def search(state: NotionState, ws: str, body: dict[str, Any]) -> dict[str, Any]:
    wanted = _search_filter(body.get("filter"))
    query = str(body.get("query") or "").casefold()
    found: list[tuple[int, dict[str, Any]]] = []
    if wanted in (None, "page"):
        for page in state.pages.values():
            if (
                _searchable(state, ws, page.id, page.in_trash)
                and query in title_of(page).casefold()
            ):
                found.append((page.edited, page_json(state, page)))
    if wanted in (None, "data_source"):
        for source in state.data_sources.values():
            if _searchable(state, ws, source.id, False) and query in source.name.casefold():
                found.append((source.created, data_source_json(state, source)))
    ascending = (body.get("sort") or {}).get("direction") == "ascending"
    found.sort(key=lambda pair: pair[0], reverse=not ascending)
    items = [item for _, item in found]
    return paginate(items, body.get("start_cursor"), body.get("page_size"), "page_or_data_source")


def _search_filter(raw: Any) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or raw.get("property") != "object":
        raise validation_error('body failed validation: body.filter.property should be `"object"`.')
    value = raw.get("value")
    if value not in ("page", "data_source"):
        raise validation_error(
            'body failed validation: body.filter.value should be `"page"` or `"data_source"`, '
            f"instead was `{value!r}`."
        )
    return str(value)


def _searchable(state: NotionState, ws: str, object_id: str, in_trash: bool) -> bool:
    return not in_trash and state.workspace_of(object_id) == ws and state.is_shared(object_id)


# -- pages -----------------------------------------------------------------------------------


def get_page(state: NotionState, ws: str, page_id: str) -> dict[str, Any]:
    page = _page(state, ws, page_id)
    return page_json(state, page)


def _page(state: NotionState, ws: str, page_id: str) -> Page:
    if page_id not in state.pages:
        raise not_found(page_id, "page")
    state.visible(ws, page_id, "page")
    return state.pages[page_id]


def create_page(state: NotionState, ws: str, body: dict[str, Any]) -> dict[str, Any]:
    parent, schema = _creation_parent(state, ws, body.get("parent"))
    properties = _properties(schema, body.get("properties"), partial=False)
    blocks = [
        normalize_block(b, f"body.children[{i}]")
        for i, b in enumerate(check_children(body.get("children")))
    ]
    page_id = state.insert_page(ws, parent, properties, shared=False)
    state.insert_blocks(page_id, blocks)
    return page_json(state, state.pages[page_id])


def _creation_parent(
    state: NotionState, ws: str, raw: Any
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    raw = raw if isinstance(raw, dict) else {}
    if raw.get("page_id"):
        page = _page(state, ws, str(raw["page_id"]))
        return {"type": "page_id", "page_id": page.id}, {
            "title": {"id": "title", "name": "title", "type": "title"}
        }
    source_id = raw.get("data_source_id")
    if raw.get("database_id") and not source_id:
        database = _database(state, ws, str(raw["database_id"]))
        if len(database.data_source_ids) != 1:
            raise validation_error("Database has multiple data sources; use parent.data_source_id.")
        source_id = database.data_source_ids[0]
    if not source_id:
        raise validation_error(
            "body failed validation: body.parent.page_id or body.parent.data_source_id "
            "should be defined."
        )
    source = _data_source(state, ws, str(source_id))
    parent = {
        "type": "data_source_id",
        "data_source_id": source.id,
        "database_id": source.database_id,
    }
    return parent, source.schema


def _properties(
    schema: dict[str, dict[str, Any]], raw: Any, *, partial: bool
) -> dict[str, dict[str, Any]]:
    raw = raw or {}
    if not isinstance(raw, dict):
        raise validation_error("body failed validation: body.properties should be an object.")
    by_key = {
        **{spec["id"]: (n, spec) for n, spec in schema.items()},
        **{n: (n, s) for n, s in schema.items()},
    }
    out: dict[str, dict[str, Any]] = {}
    for key, value in raw.items():
        if key not in by_key:
            raise validation_error(f"{key} is not a property that exists.")
        name, spec = by_key[key]
        out[name] = request_property_value(spec, value, f"body.properties.{key}")
    if not partial:
        for name, spec in schema.items():
            out.setdefault(name, request_property_value(spec, {spec["type"]: _empty(spec)}, name))
    return out


def _empty(spec: dict[str, Any]) -> Any:
    return [] if spec["type"] in ("title", "rich_text", "multi_select") else None


def update_page(state: NotionState, ws: str, page_id: str, body: dict[str, Any]) -> dict[str, Any]:
    page = _page(state, ws, page_id)
    schema = _page_schema(state, page)
    page.properties.update(_properties(schema, body.get("properties"), partial=True))
    for flag in ("in_trash", "archived"):
        if flag in body:
            page.in_trash = bool(body[flag])
    page.edited = state.tick()
    return page_json(state, page)


def _page_schema(state: NotionState, page: Page) -> dict[str, dict[str, Any]]:
    if page.parent.get("type") == "data_source_id":
        return state.data_sources[page.parent["data_source_id"]].schema
    return {"title": {"id": "title", "name": "title", "type": "title"}}


# -- blocks ----------------------------------------------------------------------------------


def _block_container(state: NotionState, ws: str, block_id: str) -> None:
    if block_id not in state.pages and block_id not in state.blocks:
        raise not_found(block_id)
    state.visible(ws, block_id)


def list_children(
    state: NotionState, ws: str, block_id: str, query: dict[str, str]
) -> dict[str, Any]:
    _block_container(state, ws, block_id)
    items = [block_json(state, b) for b in live_children(state, block_id)]
    return paginate(items, query.get("start_cursor"), query.get("page_size"), "block")


def append_children(
    state: NotionState, ws: str, block_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    _block_container(state, ws, block_id)
    if _trashed(state, block_id):
        raise validation_error(
            "Can't edit block that is archived. You must unarchive the block before editing."
        )
    children = check_children(body.get("children"))
    if not children:
        raise validation_error("body failed validation: body.children should be defined.")
    blocks = [normalize_block(b, f"body.children[{i}]") for i, b in enumerate(children)]
    state.appended.setdefault(block_id, []).extend(children)
    ids = state.insert_blocks(block_id, blocks)
    if block_id in state.pages:
        state.pages[block_id].edited = state.tick()
    results = [block_json(state, state.blocks[i]) for i in ids]
    return {
        "object": "list",
        "results": results,
        "next_cursor": None,
        "has_more": False,
        "type": "block",
        "block": {},
        "request_id": new_id(),
    }


def _trashed(state: NotionState, block_id: str) -> bool:
    record = state.pages.get(block_id) or state.blocks.get(block_id)
    return bool(record and record.in_trash)


def get_block(state: NotionState, ws: str, block_id: str) -> dict[str, Any]:
    _block_container(state, ws, block_id)
    if block_id not in state.blocks:  # a top-level page is also a block
        page = state.pages[block_id]
        return block_json(
            state, Block(page.id, page.parent, "child_page", {}, page.created, page.edited)
        )
    return block_json(state, state.blocks[block_id])


def update_block(
    state: NotionState, ws: str, block_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    _block_container(state, ws, block_id)
    block = state.blocks.get(block_id)
    if block is None:
        raise validation_error("Pages are updated with PATCH /v1/pages/{page_id}.")
    if block.type in body:
        block.type, block.content = normalize_block(
            {"type": block.type, block.type: body[block.type]}, "body"
        )
    elif not {"in_trash", "archived"} & set(body):
        raise validation_error(f"body failed validation: body.{block.type} should be defined.")
    for flag in ("in_trash", "archived"):
        if flag in body:
            block.in_trash = bool(body[flag])
    block.edited = state.tick()
    return block_json(state, block)


def delete_block(state: NotionState, ws: str, block_id: str) -> dict[str, Any]:
    _block_container(state, ws, block_id)
    if block_id in state.pages:
        state.pages[block_id].in_trash = True
    result = get_block(state, ws, block_id)
    if block_id in state.blocks:
        state.blocks[block_id].in_trash = True
        result = block_json(state, state.blocks[block_id])
    return result


# -- databases and data sources --------------------------------------------------------------


def _database(state: NotionState, ws: str, database_id: str) -> Database:
    if database_id not in state.databases:
        raise not_found(database_id, "database")
    state.visible(ws, database_id, "database")
    return state.databases[database_id]


def _data_source(state: NotionState, ws: str, source_id: str) -> DataSource:
    if source_id not in state.data_sources:
        raise not_found(source_id, "data_source")
    state.visible(ws, source_id, "data_source")
    return state.data_sources[source_id]


def get_database(state: NotionState, ws: str, database_id: str) -> dict[str, Any]:
    return database_json(state, _database(state, ws, database_id))


def get_data_source(state: NotionState, ws: str, source_id: str) -> dict[str, Any]:
    return data_source_json(state, _data_source(state, ws, source_id))


def query_data_source(
    state: NotionState, ws: str, source_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    source = _data_source(state, ws, source_id)
    rows = [
        p
        for p in state.pages.values()
        if p.parent.get("data_source_id") == source.id and not p.in_trash
    ]
    if body.get("filter"):
        rows = [p for p in rows if row_matches(body["filter"], p.properties, source.schema)]
    rows = sort_rows(rows, body.get("sorts") or [], source.schema)
    items = [page_json(state, p) for p in rows]
    return paginate(items, body.get("start_cursor"), body.get("page_size"), "page_or_data_source")


# -- users -----------------------------------------------------------------------------------


def users_me(state: NotionState, ws: str) -> dict[str, Any]:
    """The token's bot user, as for an internal integration (owned by the workspace)."""
    workspace = state.workspaces[ws]
    return {
        "object": "user",
        "id": workspace.bot_id,
        "name": "Simulated Integration",
        "avatar_url": None,
        "type": "bot",
        "bot": {
            "owner": {"type": "workspace", "workspace": True},
            "workspace_name": workspace.name,
            "workspace_id": workspace.id,
            "workspace_limits": {"max_file_upload_size_in_bytes": 5 * 1024 * 1024},
        },
        "request_id": new_id(),
    }


# -- OAuth -----------------------------------------------------------------------------------


def oauth_token(
    state: NotionState, authorization: str | None, body: dict[str, Any]
) -> dict[str, Any]:
    client = state.oauth_clients.get(_basic_client_id(state, authorization))
    if client is None:
        raise NotionAPIError(401, "unauthorized", "Invalid client credentials.")
    if body.get("grant_type") != "authorization_code":
        raise NotionAPIError(400, "unsupported_grant_type", "Unsupported grant_type.")
    issued = state.oauth_codes.get(str(body.get("code")))
    if issued is None or issued[1] != client.client_id:
        raise NotionAPIError(400, "invalid_grant", "Invalid code.")
    ws_id, _, redirect_uri = issued
    if body.get("redirect_uri") != redirect_uri:
        raise NotionAPIError(400, "invalid_grant", "Invalid redirect_uri.")
    del state.oauth_codes[str(body["code"])]  # codes are single-use
    workspace = state.workspaces[ws_id]
    owner = {
        "object": "user",
        "id": workspace.owner_user_id,
        "name": "Simulated Owner",
        "avatar_url": None,
        "type": "person",
        "person": {"email": "owner@example.com"},
    }
    return {
        "access_token": state.new_token(ws_id),
        "token_type": "bearer",
        "refresh_token": None,
        "bot_id": workspace.bot_id,
        "workspace_id": workspace.id,
        "workspace_name": workspace.name,
        "workspace_icon": workspace.icon,
        "owner": {"type": "user", "user": owner},
        "duplicated_template_id": None,
        "request_id": new_id(),
    }


def _basic_client_id(state: NotionState, authorization: str | None) -> str:
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return ""
    try:
        client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return ""
    client = state.oauth_clients.get(client_id)
    if client is None or not secrets.compare_digest(client.client_secret, secret):
        return ""
    return client_id
