"""The Notion simulator's in-memory workspaces: records, sharing rules and seed helpers.

All access goes through ``lock``: tests seed and inspect from their thread while the server
thread answers requests. The HTTP operations live in ``notion_ops``.
"""

from __future__ import annotations

import secrets
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from simulators.notion_objects import (
    NotionAPIError,
    infer_property_type,
    new_id,
    normalize_block,
    not_found,
    property_value,
)

DEFAULT_TOKEN = "ntn_sim_default_token"  # noqa: S105 - a fake token for a local simulator
DEFAULT_WORKSPACE = "Simulated Workspace"


@dataclass
class Workspace:
    id: str
    name: str
    bot_id: str
    owner_user_id: str
    icon: str | None = None


@dataclass
class Page:
    id: str
    workspace_id: str
    parent: dict[str, Any]
    properties: dict[str, dict[str, Any]]
    shared: bool
    created: int
    edited: int
    in_trash: bool = False


@dataclass
class Block:
    id: str
    parent: dict[str, Any]
    type: str
    content: dict[str, Any]
    created: int
    edited: int
    in_trash: bool = False


@dataclass
class Database:
    id: str
    workspace_id: str
    parent: dict[str, Any]
    title: str
    data_source_ids: list[str]
    shared: bool
    created: int
    in_trash: bool = False


@dataclass
class DataSource:
    id: str
    database_id: str
    name: str
    schema: dict[str, dict[str, Any]]  # property name -> {"id", "name", "type", <type>: {}}
    created: int


@dataclass
class Fault:
    """An injected failure for the next matching request(s). ``status`` None means: stall for
    ``delay`` seconds before answering normally, so a client with a shorter timeout gives up."""

    status: int | None = None
    retry_after: int | None = None
    delay: float = 0.0
    path: str | None = None  # a substring of the request path, e.g. "/v1/search"
    method: str | None = None
    times: int = 1

    def matches(self, method: str, path: str) -> bool:
        return (self.path is None or self.path in path) and (
            self.method is None or self.method.upper() == method.upper()
        )


@dataclass
class LoggedRequest:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    notion_version: str | None
    status: int = 0


@dataclass
class OAuthClient:
    client_id: str
    client_secret: str
    redirect_uris: list[str] = field(default_factory=list)


class NotionState:
    """Workspaces, their tokens, content and the simulator's logs. Seed helpers are public."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.clock = 0
            self.workspaces: dict[str, Workspace] = {}
            self.tokens: dict[str, str] = {}  # access token -> workspace id
            self.pages: dict[str, Page] = {}
            self.blocks: dict[str, Block] = {}
            self.children: dict[str, list[str]] = {}  # page/block id -> ordered child block ids
            self.databases: dict[str, Database] = {}
            self.data_sources: dict[str, DataSource] = {}
            self.oauth_clients: dict[str, OAuthClient] = {}
            self.oauth_codes: dict[str, tuple[str, str, str]] = {}  # code -> (ws, client, uri)
            self.appended: dict[str, list[dict[str, Any]]] = {}
            self.requests: list[LoggedRequest] = []
            self.faults: deque[Fault] = deque()
            self.default_workspace_id = self.add_workspace(DEFAULT_WORKSPACE, token=DEFAULT_TOKEN)
            self.default_token = DEFAULT_TOKEN

    # -- seeding ---------------------------------------------------------------------------

    def tick(self) -> int:
        self.clock += 1
        return self.clock

    def add_workspace(self, name: str, *, token: str | None = None) -> str:
        with self.lock:
            workspace = Workspace(new_id(), name, bot_id=new_id(), owner_user_id=new_id())
            self.workspaces[workspace.id] = workspace
            self.tokens[token or self.new_token()] = workspace.id
            return workspace.id

    def new_token(self, workspace_id: str | None = None) -> str:
        with self.lock:
            token = "ntn_sim_" + secrets.token_hex(16)
            self.tokens[token] = workspace_id or self.default_workspace_id
            return token

    def token_for(self, workspace_id: str) -> str:
        with self.lock:
            return next(t for t, ws in self.tokens.items() if ws == workspace_id)

    def revoke_token(self, token: str) -> None:
        with self.lock:
            self.tokens.pop(token, None)

    def add_page(
        self,
        title: str,
        parent: str | None = None,
        blocks: list[Any] | tuple[Any, ...] = (),
        *,
        shared: bool = True,
        workspace_id: str | None = None,
    ) -> str:
        """A page at the workspace top level or under ``parent`` (a page id). ``blocks`` are
        request-shaped block dicts or plain strings (paragraphs)."""
        with self.lock:
            if parent is None:
                where: dict[str, Any] = {"type": "workspace", "workspace": True}
                ws = workspace_id or self.default_workspace_id
            else:
                where = {"type": "page_id", "page_id": parent}
                ws = self.pages[parent].workspace_id
            props = {"title": property_value({"id": "title", "type": "title"}, title)}
            page_id = self.insert_page(ws, where, props, shared=shared)
            self.insert_blocks(page_id, [_seed_block(b) for b in blocks])
            return page_id

    def add_database(
        self,
        title: str,
        rows: list[dict[str, Any]] | tuple[dict[str, Any], ...] = (),
        *,
        parent: str | None = None,
        properties: dict[str, str] | None = None,
        title_property: str = "Name",
        shared: bool = True,
    ) -> tuple[str, str]:
        """A database with one data source. Property types come from ``properties`` (name ->
        Notion type) or are inferred from the row values; ``title_property`` is the title."""
        with self.lock:
            schema = _schema(title_property, rows, properties or {})
            where = (
                {"type": "workspace", "workspace": True}
                if parent is None
                else {"type": "page_id", "page_id": parent}
            )
            ws = self.pages[parent].workspace_id if parent else self.default_workspace_id
            database = Database(new_id(), ws, where, title, [], shared, self.tick())
            source = DataSource(new_id(), database.id, title, schema, database.created)
            database.data_source_ids.append(source.id)
            self.databases[database.id] = database
            self.data_sources[source.id] = source
            if parent:
                self.link_child(parent, database.id, "child_database", {"title": title})
            for row in rows:
                self.add_row(source.id, row)
            return database.id, source.id

    def add_row(self, data_source_id: str, values: dict[str, Any]) -> str:
        with self.lock:
            source = self.data_sources[data_source_id]
            props = {
                name: property_value(spec, values.get(name)) for name, spec in source.schema.items()
            }
            database = self.databases[source.database_id]
            where = {
                "type": "data_source_id",
                "data_source_id": source.id,
                "database_id": database.id,
            }
            return self.insert_page(database.workspace_id, where, props, shared=False)

    def add_oauth_client(
        self, client_id: str, client_secret: str, redirect_uris: list[str]
    ) -> None:
        with self.lock:
            self.oauth_clients[client_id] = OAuthClient(client_id, client_secret, redirect_uris)

    def issue_oauth_code(
        self, client_id: str, redirect_uri: str, *, workspace_id: str | None = None
    ) -> str:
        """What Notion's consent screen would hand back to the redirect URI."""
        with self.lock:
            code = "sim_code_" + secrets.token_hex(8)
            ws = workspace_id or self.default_workspace_id
            self.oauth_codes[code] = (ws, client_id, redirect_uri)
            return code

    def inject_fault(self, fault: Fault) -> None:
        with self.lock:
            self.faults.append(fault)

    # -- inspection ------------------------------------------------------------------------

    def appended_blocks(self, block_id: str) -> list[dict[str, Any]]:
        """Exactly the ``children`` sent to ``PATCH /v1/blocks/{id}/children``, in order."""
        with self.lock:
            return list(self.appended.get(block_id, []))

    def child_ids(self, block_id: str) -> list[str]:
        with self.lock:
            return list(self.children.get(block_id, []))

    def logged(self, path_contains: str = "", method: str | None = None) -> list[LoggedRequest]:
        with self.lock:
            return [
                r
                for r in self.requests
                if path_contains in r.path and (method is None or r.method == method.upper())
            ]

    # -- building blocks for operations ----------------------------------------------------

    def insert_page(
        self, ws: str, parent: dict[str, Any], properties: dict[str, Any], *, shared: bool
    ) -> str:
        now = self.tick()
        page = Page(new_id(), ws, parent, properties, shared, now, now)
        self.pages[page.id] = page
        self.children[page.id] = []
        if parent.get("type") == "page_id":
            self.link_child(parent["page_id"], page.id, "child_page", {})
        return page.id

    def link_child(self, parent_id: str, child_id: str, kind: str, content: dict[str, Any]) -> None:
        now = self.tick()
        block_parent = self.parent_ref(parent_id)
        self.blocks[child_id] = Block(child_id, block_parent, kind, content, now, now)
        self.children.setdefault(parent_id, []).append(child_id)

    def insert_blocks(self, parent_id: str, blocks: list[tuple[str, dict[str, Any]]]) -> list[str]:
        ids = []
        for block_type, content in blocks:
            block_id = new_id()
            now = self.tick()
            parent = self.parent_ref(parent_id)
            self.blocks[block_id] = Block(block_id, parent, block_type, content, now, now)
            self.children.setdefault(parent_id, []).append(block_id)
            self.children[block_id] = []
            ids.append(block_id)
        return ids

    def parent_ref(self, object_id: str) -> dict[str, Any]:
        if object_id in self.pages:
            return {"type": "page_id", "page_id": object_id}
        return {"type": "block_id", "block_id": object_id}

    def workspace_of(self, object_id: str) -> str | None:
        """The workspace an object lives in, following parents up to a page or database."""
        seen = 0
        current: str | None = object_id
        while current is not None and seen < 64:
            seen += 1
            if current in self.pages:
                return self.pages[current].workspace_id
            if current in self.databases:
                return self.databases[current].workspace_id
            if current in self.data_sources:
                current = self.data_sources[current].database_id
            elif current in self.blocks:
                current = _parent_id(self.blocks[current].parent)
            else:
                return None
        return None

    def is_shared(self, object_id: str) -> bool:
        """Sharing a page or database with the integration shares everything under it."""
        current: str | None = object_id
        for _ in range(64):
            if current is None:
                return False
            if current in self.pages:
                page = self.pages[current]
                if page.shared:
                    return True
                current = _parent_id(page.parent)
            elif current in self.databases:
                database = self.databases[current]
                if database.shared:
                    return True
                current = _parent_id(database.parent)
            elif current in self.data_sources:
                current = self.data_sources[current].database_id
            elif current in self.blocks:
                current = _parent_id(self.blocks[current].parent)
            else:
                return False
        return False

    def visible(self, ws: str, object_id: str, kind: str = "block") -> None:
        """Raise Notion's 404 unless the object exists in ``ws`` and is shared."""
        if self.workspace_of(object_id) != ws or not self.is_shared(object_id):
            raise not_found(object_id, kind)

    def workspace_for_token(self, token: str | None) -> str:
        if token is None or token not in self.tokens:
            raise NotionAPIError(401, "unauthorized", "API token is invalid.")
        return self.tokens[token]


def _parent_id(parent: dict[str, Any]) -> str | None:
    kind = parent.get("type")
    if kind in ("page_id", "block_id", "data_source_id", "database_id"):
        return parent.get(kind)
    return None


def _seed_block(block: Any) -> tuple[str, dict[str, Any]]:
    if isinstance(block, str):
        block = {"type": "paragraph", "paragraph": {"rich_text": [{"text": {"content": block}}]}}
    return normalize_block(block, "block")


def _schema(title_property: str, rows: Any, explicit: dict[str, str]) -> dict[str, dict[str, Any]]:
    kinds: dict[str, str] = {title_property: "title"}
    for row in rows:
        for name, value in row.items():
            kinds.setdefault(name, explicit.get(name) or infer_property_type(value))
    for name, kind in explicit.items():
        kinds.setdefault(name, kind)
    schema = {}
    for name, kind in kinds.items():
        prop_id = "title" if kind == "title" else new_id()[:4]
        schema[name] = {"id": prop_id, "name": name, "type": kind, kind: {}}
    return schema
