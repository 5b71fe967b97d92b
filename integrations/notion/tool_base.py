"""What the Notion tools share: argument checks, chunked writes and the run loop.

Every tool validates its arguments before any I/O, gets its token from ``token_resolver``
(``resolve_notion_token``: the calling organization's connection) and reports failures as
``ToolOutcome(ok=False, error=<user-safe message>)``. Options on the assistant's tool config
(``context.options``): ``default_page_id``, ``dry_run`` (report exactly what would be written,
write nothing) and ``connection_id``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from integrations.errors import ProviderError
from integrations.notion.client import NotionAPI
from integrations.notion.connection import mark_notion_token_broken, resolve_notion_token
from integrations.notion.ids import parse_notion_id
from integrations.notion.markdown import markdown_to_blocks
from integrations.tools.base import ToolContext, ToolError, ToolOutcome

TokenResolver = Callable[[ToolContext], Awaitable[str]]
BrokenTokenHook = Callable[[ToolContext, str], Awaitable[None]]
ApiFactory = Callable[[str], NotionAPI]

MAX_WRITE_BLOCKS = 300
BLOCKS_PER_REQUEST = 100  # Notion's limit for children in one request


# -- arguments and options -------------------------------------------------------------------


def notion_id(value: object, what: str) -> str:
    parsed = parse_notion_id(value)
    if parsed is None:
        shown = str(value)[:80]
        raise ToolError(
            f"{what} must be a Notion id (32 hex characters, dashes optional) or a Notion URL, "
            f"not {shown!r}."
        )
    return parsed


def dry_run(context: ToolContext) -> bool:
    value = context.options.get("dry_run", False)
    return value is True or str(value).strip().lower() in ("true", "1", "yes")


def default_page(context: ToolContext) -> str | None:
    raw = context.options.get("default_page_id")
    return notion_id(raw, "The assistant's default Notion page") if raw else None


def text_arg(arguments: dict[str, Any], key: str, *, limit: int) -> str:
    value = arguments.get(key)
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise ToolError(f"{key} is required.")
    if len(text) > limit:
        raise ToolError(f"{key} is too long ({len(text)} characters; at most {limit}).")
    return text


def content_blocks(arguments: dict[str, Any], *, required: bool) -> list[dict[str, Any]]:
    content = arguments.get("content") or ""
    if not isinstance(content, str):
        raise ToolError("content must be markdown text.")
    blocks = markdown_to_blocks(content)
    if required and not blocks:
        raise ToolError("content is empty; there is nothing to write.")
    if len(blocks) > MAX_WRITE_BLOCKS:
        raise ToolError(f"content is too long ({len(blocks)} blocks; at most {MAX_WRITE_BLOCKS}).")
    return blocks


def limit_arg(arguments: dict[str, Any], *, default: int, maximum: int) -> int:
    try:
        return max(1, min(maximum, int(arguments.get("limit") or default)))
    except (TypeError, ValueError) as exc:
        raise ToolError("limit must be a whole number.") from exc


async def append_blocks(api: NotionAPI, block_id: str, blocks: list[dict[str, Any]]) -> int:
    """Append in Notion-sized chunks. A failure after some chunks says how much was written."""
    written = 0
    for start in range(0, len(blocks), BLOCKS_PER_REQUEST):
        chunk = blocks[start : start + BLOCKS_PER_REQUEST]
        try:
            await api.append_children(block_id, chunk)
        except ProviderError as exc:
            if written == 0:
                raise
            raise ToolError(
                f"Only {written} of {len(blocks)} blocks were written: {exc.message}"
            ) from exc
        written += len(chunk)
    return written


# -- the shared run loop ---------------------------------------------------------------------


def json_schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


@dataclass(frozen=True)
class NotionTool:
    name: str = ""
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    timeout_seconds: float = 20.0
    token_resolver: TokenResolver = resolve_notion_token
    on_broken_token: BrokenTokenHook = mark_notion_token_broken
    api_factory: ApiFactory = NotionAPI

    def plan(self, arguments: dict[str, Any], context: ToolContext) -> dict[str, Any]:
        """Validate the arguments (no I/O). Raises ToolError."""
        raise NotImplementedError

    async def execute(
        self, api: NotionAPI, plan: dict[str, Any], context: ToolContext
    ) -> dict[str, Any]:
        raise NotImplementedError

    async def run(self, arguments: dict[str, Any], context: ToolContext) -> ToolOutcome:
        token = ""
        try:
            plan = self.plan(arguments, context)
            token = await self.token_resolver(context)
            async with self.api_factory(token) as api:
                result = await self.execute(api, plan, context)
        except ToolError as exc:
            return ToolOutcome(ok=False, error=str(exc))
        except ProviderError as exc:
            if exc.code == "auth_failed" and token:
                await self.on_broken_token(context, token)
            return ToolOutcome(ok=False, error=exc.message)
        return ToolOutcome(ok=True, result=result)
