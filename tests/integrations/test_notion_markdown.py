"""Markdown <-> Notion blocks, and Notion id parsing (no I/O)."""

import pytest

from integrations.notion.ids import parse_notion_id
from integrations.notion.markdown import blocks_to_text, markdown_to_blocks

DASHED = "0123abcd-4567-89ab-cdef-0123456789ab"
COMPACT = DASHED.replace("-", "")


def kinds(blocks):
    return [b["type"] for b in blocks]


def text_of(block):
    return "".join(item["text"]["content"] for item in block[block["type"]]["rich_text"])


def test_each_line_kind():
    blocks = markdown_to_blocks(
        "# One\n## Two\n### Three\n#### Deeper\n- dash\n* star\n1. first\n2) second\n"
        "- [ ] open\n- [x] done\n> quoted\n---\nplain"
    )
    assert kinds(blocks) == [
        "heading_1",
        "heading_2",
        "heading_3",
        "heading_3",
        "bulleted_list_item",
        "bulleted_list_item",
        "numbered_list_item",
        "numbered_list_item",
        "to_do",
        "to_do",
        "quote",
        "divider",
        "paragraph",
    ]
    assert [b["to_do"]["checked"] for b in blocks if b["type"] == "to_do"] == [False, True]
    assert text_of(blocks[6]) == "first" and text_of(blocks[-1]) == "plain"


def test_paragraph_lines_join_and_blank_lines_split():
    blocks = markdown_to_blocks("line one\nline two\n\nnext para")
    assert kinds(blocks) == ["paragraph", "paragraph"]
    assert text_of(blocks[0]) == "line one\nline two"


def test_inline_formatting():
    (block,) = markdown_to_blocks("a **b** *c* `d` [e](https://x.example/y)")
    items = block["paragraph"]["rich_text"]
    assert [i["text"]["content"] for i in items] == ["a ", "b", " ", "c", " ", "d", " ", "e"]
    assert items[1]["annotations"] == {"bold": True}
    assert items[3]["annotations"] == {"italic": True}
    assert items[5]["annotations"] == {"code": True}
    assert items[7]["text"]["link"] == {"url": "https://x.example/y"}


def test_code_fence_is_verbatim():
    blocks = markdown_to_blocks("```py\n# not a heading\n- not a list\n```\nafter")
    assert kinds(blocks) == ["code", "paragraph"]
    assert blocks[0]["code"]["language"] == "python"
    assert text_of(blocks[0]) == "# not a heading\n- not a list"


def test_unknown_code_language_is_plain_text():
    (block,) = markdown_to_blocks("```brainfuck\n+++\n```")
    assert block["code"]["language"] == "plain text"


def test_long_text_is_split_into_2000_character_items():
    (block,) = markdown_to_blocks("x" * 4500)
    sizes = [len(i["text"]["content"]) for i in block["paragraph"]["rich_text"]]
    assert sizes == [2000, 2000, 500]


def test_empty_markdown_has_no_blocks():
    assert markdown_to_blocks("  \n\n ") == []


def test_blocks_to_text_round_trip_of_kinds():
    def rendered(block):
        body = block[block["type"]]
        for item in body.get("rich_text", []):
            item["plain_text"] = item["text"]["content"]
        return block

    source = "# Title\n- a\n1. x\n2. y\n- [x] done\n> q\n---\ntext"
    blocks = [rendered(b) for b in markdown_to_blocks(source)]
    assert blocks_to_text(blocks) == "# Title\n- a\n1. x\n2. y\n- [x] done\n> q\n---\ntext"


@pytest.mark.parametrize(
    "given",
    [
        DASHED,
        DASHED.upper(),
        COMPACT,
        f" {COMPACT} ",
        f"https://www.notion.so/My-Page-{COMPACT}",
        f"https://notion.so/acme/{COMPACT}?v=ffffffffffffffffffffffffffffffff",
        f"https://acme.notion.site/Doc-{COMPACT}#heading",
    ],
)
def test_parse_notion_id_accepts(given):
    assert parse_notion_id(given) == DASHED


@pytest.mark.parametrize(
    "given",
    [
        None,
        42,
        "",
        "page",
        COMPACT[:-1],
        COMPACT + "0",
        f"https://notion.so.evil.example/{COMPACT}",
        f"https://example.com/{COMPACT}",
        f"https://www.notion.so/acme?p={COMPACT}x",
        f"javascript://notion.so/{COMPACT}",
    ],
)
def test_parse_notion_id_refuses(given):
    assert parse_notion_id(given) is None
