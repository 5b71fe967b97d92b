"""The Notion simulator, driven by the real notion-client, behaves like the Notion API."""

import base64

import httpx
import pytest
from notion_client import APIResponseError, AsyncClient, RequestTimeoutError
from notion_client.errors import HTTPResponseError

from simulators.notion_state import Fault


@pytest.fixture
async def notion(notion_sim):
    client = AsyncClient(auth=notion_sim.default_token, base_url=notion_sim.base_url, retry=False)
    yield client
    await client.aclose()


def paragraph(text):
    return {"type": "paragraph", "paragraph": {"rich_text": [{"text": {"content": text}}]}}


async def test_page_has_notion_shape(notion_sim, notion):
    page_id = notion_sim.add_page("Meeting notes", blocks=["hello"])
    page = await notion.pages.retrieve(page_id=page_id)
    assert page["object"] == "page"
    assert page["id"] == page_id and len(page_id) == 36
    assert page["properties"]["title"]["type"] == "title"
    assert page["properties"]["title"]["title"][0]["plain_text"] == "Meeting notes"
    assert page["url"].endswith(page_id.replace("-", ""))
    assert page["parent"] == {"type": "workspace", "workspace": True}


async def test_children_paginate_with_default_and_smaller_page_size(notion_sim, notion):
    page_id = notion_sim.add_page("Long", blocks=[f"line {i}" for i in range(130)])
    first = await notion.blocks.children.list(block_id=page_id)
    assert len(first["results"]) == 100 and first["has_more"]
    second = await notion.blocks.children.list(block_id=page_id, start_cursor=first["next_cursor"])
    assert len(second["results"]) == 30 and not second["has_more"]
    assert second["next_cursor"] is None
    assert second["results"][-1]["paragraph"]["rich_text"][0]["plain_text"] == "line 129"
    small = await notion.blocks.children.list(block_id=page_id, page_size=7)
    assert len(small["results"]) == 7 and small["has_more"]


async def test_page_size_over_100_is_a_validation_error(notion_sim, notion):
    page_id = notion_sim.add_page("P")
    with pytest.raises(APIResponseError) as caught:
        await notion.blocks.children.list(block_id=page_id, page_size=101)
    assert (caught.value.status, caught.value.code) == (400, "validation_error")


async def test_search_filters_paginates_and_hides_unshared(notion_sim, notion):
    for i in range(5):
        notion_sim.add_page(f"Plan {i}")
    notion_sim.add_page("Plan secret", shared=False)
    notion_sim.add_database("Plan database")
    found = await notion.search(
        query="plan", filter={"property": "object", "value": "page"}, page_size=3
    )
    assert len(found["results"]) == 3 and found["has_more"]
    rest = await notion.search(
        query="plan",
        filter={"property": "object", "value": "page"},
        start_cursor=found["next_cursor"],
    )
    titles = {p["properties"]["title"]["title"][0]["plain_text"] for p in found["results"]}
    titles |= {p["properties"]["title"]["title"][0]["plain_text"] for p in rest["results"]}
    assert titles == {f"Plan {i}" for i in range(5)}
    sources = await notion.search(filter={"property": "object", "value": "data_source"})
    assert [s["object"] for s in sources["results"]] == ["data_source"]


async def test_search_refuses_the_old_database_filter(notion):
    with pytest.raises(APIResponseError) as caught:
        await notion.search(filter={"property": "object", "value": "database"})
    assert caught.value.code == "validation_error"


async def test_unshared_page_and_children_are_404(notion_sim, notion):
    hidden = notion_sim.add_page("Secret", shared=False)
    for call in (
        notion.pages.retrieve(page_id=hidden),
        notion.blocks.children.list(block_id=hidden),
        notion.blocks.children.append(block_id=hidden, children=[paragraph("x")]),
    ):
        with pytest.raises(APIResponseError) as caught:
            await call
        assert (caught.value.status, caught.value.code) == (404, "object_not_found")


async def test_sharing_a_page_shares_its_children(notion_sim, notion):
    parent = notion_sim.add_page("Shared")
    child = notion_sim.add_page("Child", parent=parent, shared=False)
    assert (await notion.pages.retrieve(page_id=child))["id"] == child


async def test_other_workspace_token_cannot_see_page(notion_sim):
    page_id = notion_sim.add_page("Ours")
    other_ws = notion_sim.add_workspace("Theirs")
    client = AsyncClient(auth=notion_sim.token_for(other_ws), base_url=notion_sim.base_url)
    with pytest.raises(APIResponseError) as caught:
        await client.pages.retrieve(page_id=page_id)
    await client.aclose()
    assert caught.value.status == 404


async def test_unknown_and_revoked_tokens_are_401_with_notion_error_shape(notion_sim, notion):
    notion_sim.revoke_token(notion_sim.default_token)
    with pytest.raises(APIResponseError) as caught:
        await notion.search(query="x")
    assert (caught.value.status, caught.value.code) == (401, "unauthorized")
    body = caught.value.body
    assert '"object": "error"' in body and '"status": 401' in body


async def test_missing_notion_version_is_refused(notion_sim):
    async with httpx.AsyncClient(base_url=notion_sim.base_url) as raw:
        response = await raw.post(
            "/v1/search", json={}, headers={"Authorization": f"Bearer {notion_sim.default_token}"}
        )
    assert response.status_code == 400
    assert response.json()["code"] == "missing_version"


async def test_append_records_exactly_what_was_sent(notion_sim, notion):
    page_id = notion_sim.add_page("Log")
    children = [paragraph("one"), {"type": "to_do", "to_do": {"rich_text": [], "checked": True}}]
    result = await notion.blocks.children.append(block_id=page_id, children=children)
    assert [b["type"] for b in result["results"]] == ["paragraph", "to_do"]
    assert notion_sim.appended_blocks(page_id) == children
    listed = await notion.blocks.children.list(block_id=page_id)
    assert listed["results"][1]["to_do"]["checked"] is True


async def test_notion_limits_are_enforced(notion_sim, notion):
    page_id = notion_sim.add_page("Limits")
    with pytest.raises(APIResponseError, match="2000"):
        await notion.blocks.children.append(block_id=page_id, children=[paragraph("x" * 2001)])
    with pytest.raises(APIResponseError, match="100"):
        await notion.blocks.children.append(block_id=page_id, children=[paragraph("x")] * 101)
    assert notion_sim.appended_blocks(page_id) == []


async def test_create_page_under_page_and_in_data_source(notion_sim, notion):
    parent = notion_sim.add_page("Parent")
    _, source_id = notion_sim.add_database("Tasks", properties={"Done": "checkbox"})
    title = {"title": [{"text": {"content": "New"}}]}
    page = await notion.pages.create(
        parent={"page_id": parent}, properties={"title": title}, children=[paragraph("body")]
    )
    assert page["parent"] == {"type": "page_id", "page_id": parent}
    listed = await notion.blocks.children.list(block_id=parent)
    assert listed["results"][-1]["type"] == "child_page"
    assert listed["results"][-1]["child_page"] == {"title": "New"}
    row = await notion.pages.create(
        parent={"data_source_id": source_id}, properties={"Name": title, "Done": {"checkbox": True}}
    )
    assert row["parent"]["data_source_id"] == source_id
    assert row["properties"]["Done"]["checkbox"] is True


async def test_update_page_and_block_and_delete(notion_sim, notion):
    page_id = notion_sim.add_page("Old", blocks=["text"])
    title = {"title": [{"text": {"content": "Renamed"}}]}
    page = await notion.pages.update(page_id=page_id, properties={"title": title})
    assert page["properties"]["title"]["title"][0]["plain_text"] == "Renamed"
    block_id = notion_sim.child_ids(page_id)[0]
    updated = await notion.blocks.update(
        block_id=block_id, paragraph={"rich_text": [{"text": {"content": "edited"}}]}
    )
    assert updated["paragraph"]["rich_text"][0]["plain_text"] == "edited"
    deleted = await notion.blocks.delete(block_id=block_id)
    assert deleted["in_trash"] is True
    assert (await notion.blocks.children.list(block_id=page_id))["results"] == []


async def test_database_holds_data_sources_and_queries_filter_sort_paginate(notion_sim, notion):
    rows = [{"Name": f"Task {i}", "Points": i, "Done": i % 2 == 0} for i in range(6)]
    database_id, source_id = notion_sim.add_database("Tasks", rows=rows)
    database = await notion.databases.retrieve(database_id=database_id)
    assert database["object"] == "database"
    assert database["data_sources"] == [{"id": source_id, "name": "Tasks"}]
    source = await notion.data_sources.retrieve(data_source_id=source_id)
    assert source["properties"]["Points"]["type"] == "number"
    done = await notion.data_sources.query(
        data_source_id=source_id,
        filter={"property": "Done", "checkbox": {"equals": True}},
        sorts=[{"property": "Points", "direction": "descending"}],
        page_size=2,
    )
    names = [r["properties"]["Name"]["title"][0]["plain_text"] for r in done["results"]]
    assert names == ["Task 4", "Task 2"] and done["has_more"]
    named = await notion.data_sources.query(
        data_source_id=source_id, filter={"property": "Name", "title": {"contains": "task 3"}}
    )
    assert len(named["results"]) == 1


async def test_filter_must_use_the_property_type_key(notion_sim, notion):
    _, source_id = notion_sim.add_database("Tasks", rows=[{"Name": "A"}])
    with pytest.raises(APIResponseError) as caught:
        await notion.data_sources.query(
            data_source_id=source_id, filter={"property": "Name", "rich_text": {"contains": "A"}}
        )
    assert caught.value.code == "validation_error"


async def test_python_faults_429_with_retry_after_then_recovery(notion_sim, notion):
    notion_sim.inject_fault(Fault(status=429, retry_after=7, path="/v1/search"))
    with pytest.raises(APIResponseError) as caught:
        await notion.search(query="x")
    assert (caught.value.status, caught.value.code) == (429, "rate_limited")
    assert caught.value.headers["retry-after"] == "7"
    assert (await notion.search(query="x"))["object"] == "list"


@pytest.mark.parametrize(
    "status, code", [(500, "internal_server_error"), (503, "service_unavailable")]
)
async def test_http_fault_endpoint_queues_server_errors(notion_sim, notion, status, code):
    async with httpx.AsyncClient(base_url=notion_sim.base_url) as raw:
        queued = await raw.post("/_sim/notion/faults", json={"status": status, "times": 2})
    assert queued.json()["ok"] is True
    for _ in range(2):
        with pytest.raises(APIResponseError) as caught:
            await notion.search(query="x")
        assert (caught.value.status, caught.value.code) == (status, code)
    assert (await notion.search(query="x"))["object"] == "list"


async def test_timeout_fault_stalls_past_the_client_timeout(notion_sim):
    notion_sim.inject_fault(Fault(delay=2.0))
    client = AsyncClient(
        auth=notion_sim.default_token, base_url=notion_sim.base_url, timeout_ms=200, retry=False
    )
    with pytest.raises(RequestTimeoutError):
        await client.search(query="x")
    await client.aclose()


async def test_request_log(notion_sim, notion):
    page_id = notion_sim.add_page("P")
    await notion.pages.retrieve(page_id=page_id)
    (logged,) = notion_sim.logged("/v1/pages/")
    assert (logged.method, logged.status, logged.notion_version) == ("GET", 200, "2025-09-03")


async def test_oauth_code_exchange(notion_sim):
    notion_sim.add_oauth_client("client-1", "s3cret", ["https://app.example/cb"])
    code = notion_sim.issue_oauth_code("client-1", "https://app.example/cb")
    client = AsyncClient(base_url=notion_sim.base_url)
    granted = await client.oauth.token(
        client_id="client-1",
        client_secret="s3cret",
        grant_type="authorization_code",
        code=code,
        redirect_uri="https://app.example/cb",
    )
    assert granted["workspace_name"] == "Simulated Workspace"
    assert {"access_token", "bot_id", "workspace_id", "workspace_icon", "owner"} <= set(granted)
    with pytest.raises(HTTPResponseError) as caught:  # codes are single-use
        await client.oauth.token(
            client_id="client-1",
            client_secret="s3cret",
            grant_type="authorization_code",
            code=code,
            redirect_uri="https://app.example/cb",
        )
    await client.aclose()
    assert caught.value.status == 400 and "invalid_grant" in caught.value.body
    usable = AsyncClient(auth=granted["access_token"], base_url=notion_sim.base_url)
    assert (await usable.search(query=""))["object"] == "list"
    await usable.aclose()


async def test_oauth_requires_client_credentials(notion_sim):
    notion_sim.add_oauth_client("client-1", "s3cret", ["https://app.example/cb"])
    basic = base64.b64encode(b"client-1:wrong").decode()
    async with httpx.AsyncClient(base_url=notion_sim.base_url) as raw:
        response = await raw.post(
            "/v1/oauth/token",
            json={"grant_type": "authorization_code", "code": "x", "redirect_uri": "y"},
            headers={"Authorization": f"Basic {basic}", "Notion-Version": "2025-09-03"},
        )
    assert response.status_code == 401
    assert response.json()["object"] == "error"


async def test_users_me_is_the_tokens_bot_in_its_workspace(notion_sim, notion):
    other_workspace = notion_sim.add_workspace("Globex Notes")
    me = await notion.users.me()
    assert (me["object"], me["type"]) == ("user", "bot")
    assert me["bot"]["workspace_name"] == "Simulated Workspace"
    assert me["bot"]["workspace_id"] == notion_sim.default_workspace_id
    other = AsyncClient(auth=notion_sim.token_for(other_workspace), base_url=notion_sim.base_url)
    assert (await other.users.me())["bot"]["workspace_name"] == "Globex Notes"
    await other.aclose()
    revoked = AsyncClient(auth="ntn_not_a_token", base_url=notion_sim.base_url, retry=False)
    with pytest.raises(APIResponseError) as caught:
        await revoked.users.me()
    await revoked.aclose()
    assert caught.value.status == 401
