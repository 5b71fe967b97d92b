"""Markdown the assistant writes -> Notion blocks, and Notion blocks -> text the assistant reads.

Deliberately small: headings, paragraphs, bulleted/numbered lists, to-dos, quotes, dividers and
fenced code, with **bold**, *italic*, `code` and [links](https://...) inline. Nesting is
flattened. Limits Notion enforces are respected here: at most 2,000 characters per rich-text
item and 100 items per block.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

MAX_TEXT_CHARS = 2000
MAX_RICH_TEXT_ITEMS = 100

_INLINE = re.compile(
    r"\*\*(?P<bold>.+?)\*\*"
    r"|`(?P<code>[^`]+)`"
    r"|\[(?P<label>[^\]]+)\]\((?P<url>https?://[^)\s]+)\)"
    r"|(?<![\w*])\*(?P<italic>[^*\s][^*]*?)\*(?![\w*])"
)
_TODO = re.compile(r"^[-*+]\s+\[(?P<mark>[ xX])\]\s+(?P<text>.*)$")
_BULLET = re.compile(r"^[-*+]\s+(?P<text>.*)$")
_NUMBERED = re.compile(r"^\d{1,3}[.)]\s+(?P<text>.*)$")
_HEADING = re.compile(r"^(?P<level>#{1,6})\s+(?P<text>.*)$")
_DIVIDER = re.compile(r"^(?:-{3,}|\*{3,}|_{3,})$")
# Notion validates code block languages; anything else is written as "plain text".
_CODE_LANGUAGES = frozenset(
    [
        "bash",
        "c",
        "c++",
        "c#",
        "css",
        "go",
        "html",
        "java",
        "javascript",
        "json",
        "kotlin",
        "markdown",
        "php",
        "python",
        "ruby",
        "rust",
        "shell",
        "sql",
        "swift",
        "typescript",
        "yaml",
    ]
)
_LANGUAGE_ALIASES = {"py": "python", "js": "javascript", "ts": "typescript", "sh": "shell"}


# -- writing ---------------------------------------------------------------------------------


def _text(content: str, **annotations: bool) -> Iterator[dict[str, Any]]:
    for start in range(0, len(content), MAX_TEXT_CHARS):
        item: dict[str, Any] = {
            "type": "text",
            "text": {"content": content[start : start + MAX_TEXT_CHARS]},
        }
        if annotations:
            item["annotations"] = annotations
        yield item


def plain_rich_text(text: str) -> list[dict[str, Any]]:
    """Text taken literally (titles), split at Notion's per-item limit."""
    return list(_text(text))


def rich_text(line: str) -> list[dict[str, Any]]:
    """Inline markdown -> Notion rich text (request shape)."""
    items: list[dict[str, Any]] = []
    position = 0
    for match in _INLINE.finditer(line):
        if match.start() > position:
            items.extend(_text(line[position : match.start()]))
        if match["bold"]:
            items.extend(_text(match["bold"], bold=True))
        elif match["code"]:
            items.extend(_text(match["code"], code=True))
        elif match["label"]:
            for item in _text(match["label"]):
                item["text"]["link"] = {"url": match["url"]}
                items.append(item)
        else:
            items.extend(_text(match["italic"], italic=True))
        position = match.end()
    if position < len(line):
        items.extend(_text(line[position:]))
    return items


def _blocks(block_type: str, items: list[dict[str, Any]], **extra: Any) -> list[dict[str, Any]]:
    chunks = [items[i : i + MAX_RICH_TEXT_ITEMS] for i in range(0, len(items), MAX_RICH_TEXT_ITEMS)]
    return [
        {"object": "block", "type": block_type, block_type: {"rich_text": chunk, **extra}}
        for chunk in chunks or [[]]
    ]


def _line_blocks(line: str) -> list[dict[str, Any]]:
    if _DIVIDER.match(line):
        return [{"object": "block", "type": "divider", "divider": {}}]
    if heading := _HEADING.match(line):
        level = min(len(heading["level"]), 3)  # Notion has three heading levels
        return _blocks(f"heading_{level}", rich_text(heading["text"]))
    if todo := _TODO.match(line):
        return _blocks("to_do", rich_text(todo["text"]), checked=todo["mark"] in "xX")
    if bullet := _BULLET.match(line):
        return _blocks("bulleted_list_item", rich_text(bullet["text"]))
    if numbered := _NUMBERED.match(line):
        return _blocks("numbered_list_item", rich_text(numbered["text"]))
    if line.startswith(">"):
        return _blocks("quote", rich_text(line[1:].strip()))
    return []


def _code_block(lines: list[str], language: str) -> list[dict[str, Any]]:
    language = _LANGUAGE_ALIASES.get(language.lower(), language.lower())
    if language not in _CODE_LANGUAGES:
        language = "plain text"
    return _blocks("code", list(_text("\n".join(lines))), language=language)


def markdown_to_blocks(markdown: str) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    paragraph: list[str] = []
    code: list[str] | None = None
    language = ""

    def flush_paragraph() -> None:
        if paragraph:
            blocks.extend(_blocks("paragraph", rich_text("\n".join(paragraph))))
            paragraph.clear()

    for raw in markdown.replace("\r\n", "\n").split("\n"):
        if code is not None:  # inside a fenced code block, lines are kept verbatim
            if raw.strip().startswith("```"):
                blocks.extend(_code_block(code, language))
                code = None
            else:
                code.append(raw)
            continue
        line = raw.strip()
        if line.startswith("```"):
            flush_paragraph()
            code, language = [], line[3:].strip()
        elif not line:
            flush_paragraph()
        elif special := _line_blocks(line):
            flush_paragraph()
            blocks.extend(special)
        else:
            paragraph.append(line)
    flush_paragraph()
    if code is not None:  # an unclosed fence still keeps its content
        blocks.extend(_code_block(code, language))
    return blocks


# -- reading ---------------------------------------------------------------------------------


def plain_text(items: list[dict[str, Any]] | None) -> str:
    return "".join(item.get("plain_text") or "" for item in items or [])


_PREFIX = {
    "heading_1": "# ",
    "heading_2": "## ",
    "heading_3": "### ",
    "bulleted_list_item": "- ",
    "quote": "> ",
}


def block_to_text(block: dict[str, Any], number: int = 0) -> str | None:
    """One block as a line of markdown-like text; None for blocks with no readable text.
    ``number`` is the block's position in a run of numbered list items."""
    block_type = str(block.get("type"))
    body = block.get(block_type) or {}
    if block_type == "divider":
        return "---"
    if block_type in ("child_page", "child_database"):
        kind = "page" if block_type == "child_page" else "database"
        return f"[{kind}: {body.get('title') or 'Untitled'} (id {block.get('id')})]"
    if "rich_text" not in body:
        return None
    text = plain_text(body["rich_text"])
    if block_type == "to_do":
        return f"- [{'x' if body.get('checked') else ' '}] {text}"
    if block_type == "numbered_list_item":
        return f"{number}. {text}"
    if block_type == "code":
        return f"```\n{text}\n```"
    return _PREFIX.get(block_type, "") + text


def blocks_to_lines(blocks: list[dict[str, Any]], indent: str = "") -> list[str]:
    lines: list[str] = []
    number = 0
    for block in blocks:
        number = number + 1 if block.get("type") == "numbered_list_item" else 0
        text = block_to_text(block, number)
        if text is not None:
            lines.append(indent + text.replace("\n", "\n" + indent))
    return lines


def blocks_to_text(blocks: list[dict[str, Any]]) -> str:
    return "\n".join(blocks_to_lines(blocks))
