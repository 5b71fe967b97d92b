"""The assistant's Notion tools, registered at import: notion_search, notion_read_page,
notion_create_page, notion_append_to_page and notion_query_database.

Options on the assistant's tool config (``context.options``): ``default_page_id`` (where
appends go, and where new pages go when no parent is named), ``dry_run`` (report exactly what
would be written and write nothing) and ``connection_id`` (which Notion connection to use).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from integrations.errors import ProviderError
from integrations.notion.client import NotionAPI
from integrations.notion.content import (
    PageTextReader,
    page_properties,
    page_title,
    search_result,
)
from integrations.notion.markdown import plain_rich_text
from integrations.notion.queries import build_filter, build_sorts
from integrations.notion.tool_base import (
    BLOCKS_PER_REQUEST,
    NotionTool,
    append_blocks,
    content_blocks,
    default_page,
    dry_run,
    json_schema,
    limit_arg,
    notion_id,
    text_arg,
)
from integrations.tools.base import ToolContext, ToolError
from integrations.tools.registry import register

MAX_READ_CHARS = 6_000
MAX_TITLE_CHARS = 500
MAX_QUERY_CHARS = 200
CONTENT_DOC = "Markdown: # headings, - bullets, 1. numbered, - [ ] to-dos, > quotes, paragraphs."


@dataclass(frozen=True)
class NotionSearch(NotionTool):
    name: str = "notion_search"
    description: str = (
        "Search the connected Notion workspace for pages or databases by title. "
        "Returns ids to use with the other Notion tools."
    )
    parameters: dict[str, Any] = field(
        default_factory=lambda: json_schema(
            {
                "query": {"type": "string", "description": "Words in the title."},
                "type": {"type": "string", "enum": ["page", "database"]},
                "limit": {"type": "integer", "minimum": 1, "maximum": 20},
            },
            [],
        )
    )
    timeout_seconds: float = 15.0

    def plan(self, arguments: dict[str, Any], context: ToolContext) -> dict[str, Any]:
        query = str(arguments.get("query") or "").strip()[:MAX_QUERY_CHARS]
        kind = arguments.get("type")
        if kind not in (None, "", "page", "database"):
            raise ToolError("type must be page or database.")
        body: dict[str, Any] = {
            "query": query,
            "page_size": limit_arg(arguments, default=10, maximum=20),
            "sort": {"direction": "descending", "timestamp": "last_edited_time"},
        }
        if kind:  # since API 2025-09-03 databases are found through their data sources
            value = "page" if kind == "page" else "data_source"
            body["filter"] = {"property": "object", "value": value}
        return body

    async def execute(
        self, api: NotionAPI, plan: dict[str, Any], context: ToolContext
    ) -> dict[str, Any]:
        found = await api.search(**plan)
        results = [search_result(item) for item in found.get("results", [])]
        return {"results": results, "has_more": bool(found.get("has_more"))}


@dataclass(frozen=True)
class NotionReadPage(NotionTool):
    name: str = "notion_read_page"
    description: str = "Read a Notion page: its title, properties and text content."
    parameters: dict[str, Any] = field(
        default_factory=lambda: json_schema(
            {"page_id": {"type": "string", "description": "Page id or Notion URL."}},
            ["page_id"],
        )
    )
    timeout_seconds: float = 25.0

    def plan(self, arguments: dict[str, Any], context: ToolContext) -> dict[str, Any]:
        return {"page_id": notion_id(arguments.get("page_id"), "page_id")}

    async def execute(
        self, api: NotionAPI, plan: dict[str, Any], context: ToolContext
    ) -> dict[str, Any]:
        page = await api.retrieve_page(plan["page_id"])
        reader = PageTextReader(api, MAX_READ_CHARS)
        await reader.read(plan["page_id"])
        properties = {
            name: value
            for name, value in page_properties(page).items()
            if page["properties"][name].get("type") != "title"
        }
        result = {
            "id": page["id"],
            "title": page_title(page),
            "url": page.get("url"),
            "properties": properties,
            "content": reader.text(),
            "truncated": reader.truncated,
        }
        if reader.truncated:
            result["note"] = f"The content was cut at about {MAX_READ_CHARS:,} characters."
        return result


@dataclass(frozen=True)
class NotionCreatePage(NotionTool):
    name: str = "notion_create_page"
    description: str = (
        "Create a Notion page under a parent page or as a new entry in a database. "
        "Without a parent it goes under the assistant's default page."
    )
    parameters: dict[str, Any] = field(
        default_factory=lambda: json_schema(
            {
                "title": {"type": "string"},
                "content": {"type": "string", "description": CONTENT_DOC},
                "parent_page_id": {"type": "string", "description": "Page id or URL."},
                "database_id": {"type": "string", "description": "Database id or URL."},
            },
            ["title"],
        )
    )

    def plan(self, arguments: dict[str, Any], context: ToolContext) -> dict[str, Any]:
        if arguments.get("parent_page_id") and arguments.get("database_id"):
            raise ToolError("Give either parent_page_id or database_id, not both.")
        plan: dict[str, Any] = {
            "title": text_arg(arguments, "title", limit=MAX_TITLE_CHARS),
            "blocks": content_blocks(arguments, required=False),
        }
        if arguments.get("database_id"):
            plan["database_id"] = notion_id(arguments["database_id"], "database_id")
        elif arguments.get("parent_page_id"):
            plan["page_id"] = notion_id(arguments["parent_page_id"], "parent_page_id")
        else:
            plan["page_id"] = default_page(context)
            if plan["page_id"] is None:
                raise ToolError("Say where to create the page: parent_page_id or database_id.")
        return plan

    async def execute(
        self, api: NotionAPI, plan: dict[str, Any], context: ToolContext
    ) -> dict[str, Any]:
        parent, title_property = await self._parent(api, plan, check_access=dry_run(context))
        properties = {title_property: {"title": plain_rich_text(plan["title"])}}
        blocks = plan["blocks"]
        if dry_run(context):
            would = {"parent": parent, "properties": properties, "children": blocks}
            return {"dry_run": True, "written": False, "would_create": would}
        first, rest = blocks[:BLOCKS_PER_REQUEST], blocks[BLOCKS_PER_REQUEST:]
        page = await api.create_page(parent=parent, properties=properties, children=first)
        try:
            written = len(first) + await append_blocks(api, page["id"], rest)
        except ToolError as exc:
            raise ToolError(f"The page was created ({page.get('url')}), but {exc}") from exc
        return {
            "id": page["id"],
            "url": page.get("url"),
            "title": plan["title"],
            "blocks_written": written,
        }

    async def _parent(
        self, api: NotionAPI, plan: dict[str, Any], *, check_access: bool
    ) -> tuple[dict[str, Any], str]:
        if "database_id" not in plan:
            if check_access:  # a dry run still tells whether the parent is reachable
                await api.retrieve_page(plan["page_id"])
            return {"type": "page_id", "page_id": plan["page_id"]}, "title"
        source = await first_data_source(api, plan["database_id"])
        title_property = next(
            (n for n, p in source["properties"].items() if p.get("type") == "title"), "title"
        )
        return {"type": "data_source_id", "data_source_id": source["id"]}, title_property


async def first_data_source(api: NotionAPI, database_id: str) -> dict[str, Any]:
    """A database's (first) data source, with its schema. Since API version 2025-09-03 rows
    live in data sources, and a database may hold several."""
    try:
        database = await api.retrieve_database(database_id)
    except ProviderError as exc:
        if exc.code != "not_found":
            raise
        # The id may already be a data source's (search results show both).
        return await api.retrieve_data_source(database_id)
    sources = database.get("data_sources") or []
    if not sources:
        raise ToolError("That Notion database has no data source to read or write.")
    return await api.retrieve_data_source(sources[0]["id"])


@dataclass(frozen=True)
class NotionAppendToPage(NotionTool):
    name: str = "notion_append_to_page"
    description: str = (
        "Add content to the end of a Notion page (the assistant's default page if none is given)."
    )
    parameters: dict[str, Any] = field(
        default_factory=lambda: json_schema(
            {
                "content": {"type": "string", "description": CONTENT_DOC},
                "page_id": {"type": "string", "description": "Page id or URL."},
            },
            ["content"],
        )
    )

    def plan(self, arguments: dict[str, Any], context: ToolContext) -> dict[str, Any]:
        if arguments.get("page_id"):
            page_id: str | None = notion_id(arguments["page_id"], "page_id")
        else:
            page_id = default_page(context)
        if page_id is None:
            raise ToolError("Say which page to add to: no page_id and no default page is set.")
        return {"page_id": page_id, "blocks": content_blocks(arguments, required=True)}

    async def execute(
        self, api: NotionAPI, plan: dict[str, Any], context: ToolContext
    ) -> dict[str, Any]:
        if dry_run(context):
            page = await api.retrieve_page(plan["page_id"])
            would = {
                "page_id": plan["page_id"],
                "page_title": page_title(page),
                "children": plan["blocks"],
            }
            return {"dry_run": True, "written": False, "would_append": would}
        written = await append_blocks(api, plan["page_id"], plan["blocks"])
        return {"page_id": plan["page_id"], "blocks_appended": written}


@dataclass(frozen=True)
class NotionQueryDatabase(NotionTool):
    name: str = "notion_query_database"
    description: str = "List entries of a Notion database, optionally filtered and sorted."
    parameters: dict[str, Any] = field(
        default_factory=lambda: json_schema(
            {
                "database_id": {"type": "string", "description": "Database id or URL."},
                "filter": {
                    "type": "object",
                    "properties": {
                        "property": {"type": "string"},
                        "contains": {"type": "string"},
                        "equals": {"type": ["string", "number", "boolean"]},
                    },
                    "required": ["property"],
                    "additionalProperties": False,
                },
                "sort": {
                    "type": "object",
                    "properties": {
                        "property": {"type": "string"},
                        "direction": {"type": "string", "enum": ["ascending", "descending"]},
                    },
                    "required": ["property"],
                    "additionalProperties": False,
                },
                "limit": {"type": "integer", "minimum": 1, "maximum": 50},
            },
            ["database_id"],
        )
    )
    timeout_seconds: float = 25.0

    def plan(self, arguments: dict[str, Any], context: ToolContext) -> dict[str, Any]:
        return {
            "database_id": notion_id(arguments.get("database_id"), "database_id"),
            "filter": arguments.get("filter"),
            "sort": arguments.get("sort"),
            "limit": limit_arg(arguments, default=10, maximum=50),
        }

    async def execute(
        self, api: NotionAPI, plan: dict[str, Any], context: ToolContext
    ) -> dict[str, Any]:
        source = await first_data_source(api, plan["database_id"])
        body: dict[str, Any] = {"sorts": build_sorts(source["properties"], plan["sort"])}
        notion_filter = build_filter(source["properties"], plan["filter"])
        if notion_filter:
            body["filter"] = notion_filter
        rows, has_more = await collect_rows(api, source["id"], body, plan["limit"])
        return {
            "database_id": plan["database_id"],
            "rows": [
                {"id": r["id"], "url": r.get("url"), "properties": page_properties(r)} for r in rows
            ],
            "count": len(rows),
            "has_more": has_more,
        }


async def collect_rows(
    api: NotionAPI, source_id: str, body: dict[str, Any], limit: int
) -> tuple[list[dict[str, Any]], bool]:
    rows: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page_body = {**body, "page_size": min(100, limit - len(rows))}
        if cursor:
            page_body["start_cursor"] = cursor
        page = await api.query_data_source(source_id, **page_body)
        rows.extend(page.get("results", []))
        cursor = page.get("next_cursor")
        if len(rows) >= limit or not page.get("has_more") or not cursor:
            return rows[:limit], bool(page.get("has_more"))


NOTION_TOOLS = (
    NotionSearch(),
    NotionReadPage(),
    NotionCreatePage(),
    NotionAppendToPage(),
    NotionQueryDatabase(),
)
for _tool in NOTION_TOOLS:
    register(_tool)
