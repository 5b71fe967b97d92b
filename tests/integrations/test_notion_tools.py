"""The Notion tools, through the real notion-client, against the Notion simulator."""

import time
import uuid

import pytest

from integrations.notion.client import NotionAPI, RetryPolicy
from integrations.notion.tools import (
    NotionAppendToPage,
    NotionCreatePage,
    NotionQueryDatabase,
    NotionReadPage,
    NotionSearch,
)
from integrations.tools.base import ToolContext
from integrations.tools.registry import get_tool, openai_tool_schema
from simulators.notion_state import Fault

FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05, max_retry_after=2.0)


def context(**options):
    return ToolContext(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), options)


@pytest.fixture
def broken_tokens():
    return []


@pytest.fixture
def make(notion_sim, broken_tokens):
    """Build a tool wired to the simulator; the registered instances use the real resolver."""

    def build(tool_class, token=None, timeout_seconds=5.0):
        async def resolver(ctx):
            return token or notion_sim.default_token

        async def on_broken(ctx, bad_token):
            broken_tokens.append(bad_token)

        def api(tok):
            return NotionAPI(
                tok, base_url=notion_sim.base_url, retry=FAST_RETRY, timeout_seconds=timeout_seconds
            )

        return tool_class(token_resolver=resolver, on_broken_token=on_broken, api_factory=api)

    return build


def writes(sim):
    return [
        r
        for r in sim.requests
        if r.method in ("POST", "PATCH", "DELETE")
        and r.path not in ("/v1/search",)
        and not r.path.endswith("/query")
    ]


def md(text):
    return {"type": "paragraph", "paragraph": {"rich_text": [{"text": {"content": text}}]}}


def test_tools_are_registered_with_openai_schemas():
    for name in (
        "notion_search",
        "notion_read_page",
        "notion_create_page",
        "notion_append_to_page",
        "notion_query_database",
    ):
        tool = get_tool(name)
        assert tool is not None
        schema = openai_tool_schema(tool)
        assert schema["function"]["parameters"]["type"] == "object"


# -- search ----------------------------------------------------------------------------------


async def test_search_pages_and_databases(notion_sim, make):
    page_id = notion_sim.add_page("Roadmap 2027")
    database_id, source_id = notion_sim.add_database("Roadmap items")
    notion_sim.add_page("Roadmap hidden", shared=False)
    tool = make(NotionSearch)
    outcome = await tool.run({"query": "roadmap"}, context())
    assert outcome.ok, outcome.error
    assert {r["id"] for r in outcome.result["results"]} == {page_id, database_id}
    databases = await tool.run({"query": "roadmap", "type": "database"}, context())
    (found,) = databases.result["results"]
    assert found == {
        "type": "database",
        "id": database_id,
        "data_source_id": source_id,
        "title": "Roadmap items",
        "url": found["url"],
    }
    pages = await tool.run({"query": "roadmap", "type": "page", "limit": 5}, context())
    assert [r["title"] for r in pages.result["results"]] == ["Roadmap 2027"]


async def test_search_limit_reports_more(notion_sim, make):
    for i in range(4):
        notion_sim.add_page(f"Note {i}")
    outcome = await make(NotionSearch).run({"query": "note", "limit": 2}, context())
    assert len(outcome.result["results"]) == 2 and outcome.result["has_more"] is True


# -- read ------------------------------------------------------------------------------------


async def test_read_page_renders_text(notion_sim, make):
    blocks = [
        {"type": "heading_1", "heading_1": {"rich_text": [{"text": {"content": "Agenda"}}]}},
        md("Intro"),
        {
            "type": "bulleted_list_item",
            "bulleted_list_item": {"rich_text": [{"text": {"content": "a"}}]},
        },
        {
            "type": "numbered_list_item",
            "numbered_list_item": {"rich_text": [{"text": {"content": "x"}}]},
        },
        {
            "type": "numbered_list_item",
            "numbered_list_item": {"rich_text": [{"text": {"content": "y"}}]},
        },
        {"type": "to_do", "to_do": {"rich_text": [{"text": {"content": "call"}}], "checked": True}},
    ]
    page_id = notion_sim.add_page("Weekly", blocks=blocks)
    child = notion_sim.add_page("Sub page", parent=page_id)
    outcome = await make(NotionReadPage).run({"page_id": page_id}, context())
    assert outcome.ok, outcome.error
    assert outcome.result["title"] == "Weekly"
    assert outcome.result["content"] == (
        f"# Agenda\nIntro\n- a\n1. x\n2. y\n- [x] call\n[page: Sub page (id {child})]"
    )
    assert outcome.result["truncated"] is False


async def test_read_page_follows_pagination(notion_sim, make):
    page_id = notion_sim.add_page("Long", blocks=[f"line {i}" for i in range(250)])
    outcome = await make(NotionReadPage).run({"page_id": page_id}, context())
    lines = outcome.result["content"].split("\n")
    assert lines == [f"line {i}" for i in range(250)]
    assert len(notion_sim.logged(f"/v1/blocks/{page_id}/children")) == 3


async def test_read_page_follows_nested_children(notion_sim, make):
    page_id = notion_sim.add_page("Nested", blocks=["- parent"])
    with notion_sim.lock:
        parent_block = notion_sim.children[page_id][0]
        notion_sim.insert_blocks(
            parent_block, [("paragraph", {"rich_text": [], "color": "default"})]
        )
        notion_sim.blocks[notion_sim.children[parent_block][0]].content["rich_text"] = [
            {"plain_text": "child text"}
        ]
    outcome = await make(NotionReadPage).run({"page_id": page_id}, context())
    assert outcome.result["content"] == "- parent\n  child text"


async def test_read_page_truncates_long_content(notion_sim, make):
    page_id = notion_sim.add_page("Huge", blocks=["x" * 1500 for _ in range(150)])
    outcome = await make(NotionReadPage).run({"page_id": page_id}, context())
    assert outcome.ok
    assert outcome.result["truncated"] is True
    assert len(outcome.result["content"]) <= 6000
    assert "cut" in outcome.result["note"]
    # it stopped reading once the budget was spent instead of fetching every page of blocks
    assert len(notion_sim.logged(f"/v1/blocks/{page_id}/children")) == 1


async def test_read_database_row_includes_properties(notion_sim, make):
    _, source_id = notion_sim.add_database(
        "Tasks", rows=[{"Name": "Ship", "Points": 3, "Done": False}]
    )
    with notion_sim.lock:
        row_id = next(
            p.id for p in notion_sim.pages.values() if p.parent.get("data_source_id") == source_id
        )
    outcome = await make(NotionReadPage).run({"page_id": row_id}, context())
    assert outcome.result["title"] == "Ship"
    assert outcome.result["properties"] == {"Points": 3, "Done": False}


# -- ids -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        "hello",
        "",
        None,
        12345,
        "1234",
        "https://evil.example.com/Page-0123456789abcdef0123456789abcdef",
        "ftp://notion.so/Page-0123456789abcdef0123456789abcdef",
        "0123456789abcdef0123456789abcdeg",
    ],
)
async def test_invalid_ids_are_refused_before_any_request(notion_sim, make, bad):
    outcome = await make(NotionReadPage).run({"page_id": bad}, context())
    assert not outcome.ok
    assert "page_id must be a Notion id" in outcome.error
    assert notion_sim.requests == []


async def test_ids_accept_compact_hex_and_notion_urls(notion_sim, make):
    page_id = notion_sim.add_page("Doc")
    compact = page_id.replace("-", "")
    tool = make(NotionReadPage)
    for given in (
        compact.upper(),
        f"https://www.notion.so/acme/Doc-{compact}",
        f"https://acme.notion.site/Doc-{compact}?pvs=4#section",
    ):
        outcome = await tool.run({"page_id": given}, context())
        assert outcome.ok and outcome.result["id"] == page_id, given


async def test_invalid_default_page_option_is_reported(make):
    tool = make(NotionAppendToPage)
    outcome = await tool.run({"content": "x"}, context(default_page_id="not-an-id"))
    assert not outcome.ok and "default Notion page" in outcome.error


# -- create ----------------------------------------------------------------------------------


async def test_create_page_under_parent(notion_sim, make):
    parent = notion_sim.add_page("Projects")
    outcome = await make(NotionCreatePage).run(
        {"parent_page_id": parent, "title": "Kickoff", "content": "# Goals\n- ship\n- [ ] test"},
        context(),
    )
    assert outcome.ok, outcome.error
    new_id = outcome.result["id"]
    assert outcome.result["blocks_written"] == 3
    assert notion_sim.child_ids(parent)[-1] == new_id
    (create,) = notion_sim.logged("/v1/pages", method="POST")
    assert create.body["parent"] == {"type": "page_id", "page_id": parent}
    assert [b["type"] for b in create.body["children"]] == [
        "heading_1",
        "bulleted_list_item",
        "to_do",
    ]


async def test_create_page_with_more_than_100_blocks_appends_the_rest(notion_sim, make):
    parent = notion_sim.add_page("Projects")
    content = "\n".join(f"- item {i}" for i in range(230))
    outcome = await make(NotionCreatePage).run(
        {"parent_page_id": parent, "title": "Big", "content": content}, context()
    )
    assert outcome.result["blocks_written"] == 230
    (create,) = notion_sim.logged("/v1/pages", method="POST")
    assert len(create.body["children"]) == 100
    appended = notion_sim.appended_blocks(outcome.result["id"])
    assert len(appended) == 130
    assert len(notion_sim.logged("/children", method="PATCH")) == 2


async def test_create_page_in_database_uses_its_data_source(notion_sim, make):
    database_id, source_id = notion_sim.add_database("Ideas", rows=[{"Name": "Old idea"}])
    outcome = await make(NotionCreatePage).run(
        {"database_id": database_id, "title": "New idea", "content": "why not"}, context()
    )
    assert outcome.ok, outcome.error
    (create,) = notion_sim.logged("/v1/pages", method="POST")
    assert create.body["parent"] == {"type": "data_source_id", "data_source_id": source_id}
    assert create.body["properties"]["Name"]["title"][0]["text"]["content"] == "New idea"


async def test_create_page_defaults_to_default_page(notion_sim, make):
    default = notion_sim.add_page("Inbox")
    outcome = await make(NotionCreatePage).run({"title": "Note"}, context(default_page_id=default))
    assert outcome.ok
    assert notion_sim.child_ids(default) == [outcome.result["id"]]


async def test_create_page_needs_a_parent(notion_sim, make):
    outcome = await make(NotionCreatePage).run({"title": "Orphan"}, context())
    assert not outcome.ok and "parent_page_id or database_id" in outcome.error
    assert notion_sim.requests == []


async def test_create_dry_run_reports_everything_and_writes_nothing(notion_sim, make):
    parent = notion_sim.add_page("Projects")
    outcome = await make(NotionCreatePage).run(
        {"parent_page_id": parent, "title": "Draft", "content": "hello **world**"},
        context(dry_run=True),
    )
    assert outcome.ok
    assert outcome.result["dry_run"] is True and outcome.result["written"] is False
    would = outcome.result["would_create"]
    assert would["parent"] == {"type": "page_id", "page_id": parent}
    assert would["properties"]["title"]["title"][0]["text"]["content"] == "Draft"
    assert would["children"][0]["paragraph"]["rich_text"][1]["annotations"] == {"bold": True}
    assert writes(notion_sim) == []
    assert notion_sim.child_ids(parent) == []


async def test_create_dry_run_in_database_writes_nothing(notion_sim, make):
    database_id, source_id = notion_sim.add_database("Ideas")
    outcome = await make(NotionCreatePage).run(
        {"database_id": database_id, "title": "Maybe"}, context(dry_run="true")
    )
    assert outcome.result["would_create"]["parent"]["data_source_id"] == source_id
    assert writes(notion_sim) == []


# -- append ----------------------------------------------------------------------------------


async def test_append_to_default_page(notion_sim, make):
    page_id = notion_sim.add_page("Journal")
    outcome = await make(NotionAppendToPage).run(
        {"content": "Called Bob.\n\n- [x] sent invoice"}, context(default_page_id=page_id)
    )
    assert outcome.ok, outcome.error
    assert outcome.result == {"page_id": page_id, "blocks_appended": 2}
    assert notion_sim.appended_blocks(page_id) == [
        {
            "object": "block",
            "type": "paragraph",
            "paragraph": {"rich_text": [{"type": "text", "text": {"content": "Called Bob."}}]},
        },
        {
            "object": "block",
            "type": "to_do",
            "to_do": {
                "rich_text": [{"type": "text", "text": {"content": "sent invoice"}}],
                "checked": True,
            },
        },
    ]


async def test_append_explicit_page_wins_over_default(notion_sim, make):
    default = notion_sim.add_page("Default")
    explicit = notion_sim.add_page("Explicit")
    await make(NotionAppendToPage).run(
        {"page_id": explicit, "content": "x"}, context(default_page_id=default)
    )
    assert notion_sim.appended_blocks(default) == []
    assert len(notion_sim.appended_blocks(explicit)) == 1


async def test_append_chunks_large_content(notion_sim, make):
    page_id = notion_sim.add_page("Log")
    content = "\n".join(f"1. step {i}" for i in range(250))
    outcome = await make(NotionAppendToPage).run(
        {"page_id": page_id, "content": content}, context()
    )
    assert outcome.result["blocks_appended"] == 250
    sizes = [len(r.body["children"]) for r in notion_sim.logged("/children", method="PATCH")]
    assert sizes == [100, 100, 50]


async def test_append_dry_run_writes_nothing(notion_sim, make):
    page_id = notion_sim.add_page("Journal")
    outcome = await make(NotionAppendToPage).run(
        {"content": "## Plan\n- one"}, context(default_page_id=page_id, dry_run=True)
    )
    assert outcome.ok
    would = outcome.result["would_append"]
    assert would["page_id"] == page_id and would["page_title"] == "Journal"
    assert [b["type"] for b in would["children"]] == ["heading_2", "bulleted_list_item"]
    assert writes(notion_sim) == []
    assert notion_sim.appended_blocks(page_id) == []


async def test_append_needs_a_page_and_content(notion_sim, make):
    tool = make(NotionAppendToPage)
    no_page = await tool.run({"content": "x"}, context())
    assert not no_page.ok and "which page" in no_page.error
    empty = await tool.run({"content": "  \n "}, context(default_page_id=str(uuid.uuid4())))
    assert not empty.ok and "nothing to write" in empty.error
    assert notion_sim.requests == []


# -- query -----------------------------------------------------------------------------------


@pytest.fixture
def tasks(notion_sim):
    rows = [
        {"Name": "Write spec", "Points": 5, "Done": True, "Status": "Done"},
        {"Name": "Write tests", "Points": 3, "Done": False, "Status": "Doing"},
        {"Name": "Ship", "Points": 8, "Done": False, "Status": "Todo"},
    ]
    database_id, _ = notion_sim.add_database("Tasks", rows=rows, properties={"Status": "select"})
    return database_id


async def test_query_database_filters_and_sorts(notion_sim, make, tasks):
    tool = make(NotionQueryDatabase)
    outcome = await tool.run(
        {
            "database_id": tasks,
            "filter": {"property": "name", "contains": "write"},
            "sort": {"property": "Points", "direction": "ascending"},
        },
        context(),
    )
    assert outcome.ok, outcome.error
    assert [r["properties"]["Name"] for r in outcome.result["rows"]] == [
        "Write tests",
        "Write spec",
    ]
    assert outcome.result["rows"][0]["properties"] == {
        "Name": "Write tests",
        "Points": 3,
        "Done": False,
        "Status": "Doing",
    }
    (query,) = notion_sim.logged("/query")
    assert query.body["filter"] == {"property": "Name", "title": {"contains": "write"}}


@pytest.mark.parametrize(
    "flt, expected",
    [
        ({"property": "Done", "equals": "yes"}, ["Write spec"]),
        ({"property": "Points", "equals": 8}, ["Ship"]),
        ({"property": "Status", "equals": "Doing"}, ["Write tests"]),
    ],
)
async def test_query_equals_uses_the_property_type(make, tasks, flt, expected):
    outcome = await make(NotionQueryDatabase).run({"database_id": tasks, "filter": flt}, context())
    assert [r["properties"]["Name"] for r in outcome.result["rows"]] == expected


async def test_query_limit_and_has_more(notion_sim, make):
    database_id, _ = notion_sim.add_database("Many", rows=[{"Name": f"r{i}"} for i in range(30)])
    outcome = await make(NotionQueryDatabase).run(
        {"database_id": database_id, "limit": 12}, context()
    )
    assert outcome.result["count"] == 12 and outcome.result["has_more"] is True
    assert notion_sim.logged("/query")[0].body["page_size"] == 12


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"filter": {"property": "Nope", "equals": "x"}}, "no property 'Nope'"),
        ({"filter": {"property": "Points", "contains": "3"}}, "equals, not contains"),
        ({"sort": {"property": "Points", "direction": "up"}}, "ascending or descending"),
    ],
)
async def test_query_bad_filter_or_sort_is_explained(notion_sim, make, tasks, arguments, message):
    outcome = await make(NotionQueryDatabase).run({"database_id": tasks, **arguments}, context())
    assert not outcome.ok and message in outcome.error
    assert notion_sim.logged("/query") == []


# -- failures --------------------------------------------------------------------------------


async def test_revoked_token_is_auth_failed_and_reported_broken(notion_sim, make, broken_tokens):
    page_id = notion_sim.add_page("P")
    token = notion_sim.new_token()
    notion_sim.revoke_token(token)
    outcome = await make(NotionReadPage, token=token).run({"page_id": page_id}, context())
    assert not outcome.ok and "reconnect Notion" in outcome.error
    assert broken_tokens == [token]


async def test_unshared_page_is_a_plain_not_shared_message(notion_sim, make, broken_tokens):
    page_id = notion_sim.add_page("Private", shared=False)
    outcome = await make(NotionAppendToPage).run({"page_id": page_id, "content": "x"}, context())
    assert (
        outcome.error == "That page isn't shared with the Notion integration, or it doesn't exist."
    )
    assert broken_tokens == []


async def test_429_is_retried_honouring_retry_after(notion_sim, make):
    notion_sim.inject_fault(Fault(status=429, retry_after=1, path="/v1/search"))
    started = time.monotonic()
    outcome = await make(NotionSearch).run({"query": ""}, context())
    assert outcome.ok
    assert time.monotonic() - started >= 1.0
    assert [r.status for r in notion_sim.logged("/v1/search")] == [429, 200]


async def test_429_with_long_retry_after_gives_up_at_once(notion_sim, make):
    notion_sim.inject_fault(Fault(status=429, retry_after=30))
    started = time.monotonic()
    outcome = await make(NotionSearch).run({"query": ""}, context())
    assert not outcome.ok and "rate limited" in outcome.error
    assert time.monotonic() - started < 1.0


async def test_429_on_a_write_is_retried(notion_sim, make):
    page_id = notion_sim.add_page("P")
    notion_sim.inject_fault(Fault(status=429, retry_after=0, method="PATCH"))
    outcome = await make(NotionAppendToPage).run({"page_id": page_id, "content": "x"}, context())
    assert outcome.ok and len(notion_sim.appended_blocks(page_id)) == 1


async def test_500_on_a_read_is_retried_then_succeeds(notion_sim, make):
    page_id = notion_sim.add_page("P", blocks=["body"])
    notion_sim.inject_fault(Fault(status=500, times=2, path="/children"))
    outcome = await make(NotionReadPage).run({"page_id": page_id}, context())
    assert outcome.ok and outcome.result["content"] == "body"


async def test_persistent_503_gives_up_after_bounded_retries(notion_sim, make):
    notion_sim.inject_fault(Fault(status=503, times=10))
    outcome = await make(NotionSearch).run({"query": ""}, context())
    assert not outcome.ok and "Notion is having trouble (HTTP 503)" in outcome.error
    assert len(notion_sim.logged("/v1/search")) == FAST_RETRY.attempts


async def test_500_on_a_write_is_not_repeated(notion_sim, make):
    page_id = notion_sim.add_page("P")
    notion_sim.inject_fault(Fault(status=500, method="PATCH"))
    outcome = await make(NotionAppendToPage).run({"page_id": page_id, "content": "x"}, context())
    assert not outcome.ok and "HTTP 500" in outcome.error
    assert len(notion_sim.logged("/children", method="PATCH")) == 1


async def test_timeout_is_reported(notion_sim, make):
    notion_sim.inject_fault(Fault(delay=1.0, times=3))
    tool = make(NotionSearch, timeout_seconds=0.2)
    outcome = await tool.run({"query": ""}, context())
    assert not outcome.ok and outcome.error == "Notion didn't answer in time."


async def test_default_client_reads_base_url_from_settings(notion_sim, settings):
    settings.NOTION_API_BASE_URL = notion_sim.base_url
    page_id = notion_sim.add_page("Configured")

    async def resolver(ctx):
        return notion_sim.default_token

    outcome = await NotionReadPage(token_resolver=resolver).run({"page_id": page_id}, context())
    assert outcome.ok and outcome.result["title"] == "Configured"


async def test_query_accepts_a_data_source_id_too(notion_sim, make):
    _, source_id = notion_sim.add_database("Tasks", rows=[{"Name": "Only"}])
    outcome = await make(NotionQueryDatabase).run({"database_id": source_id}, context())
    assert outcome.ok, outcome.error
    assert [r["properties"]["Name"] for r in outcome.result["rows"]] == ["Only"]


async def test_query_unknown_database_is_not_shared_message(notion_sim, make):
    outcome = await make(NotionQueryDatabase).run({"database_id": str(uuid.uuid4())}, context())
    assert outcome.error == (
        "That database isn't shared with the Notion integration, or it doesn't exist."
    )
