"""NotionAPI: notion-client failures become ProviderError, with bounded retries."""

import pytest

from integrations.errors import ProviderError
from integrations.notion.client import NotionAPI, RetryPolicy, exchange_oauth_code
from simulators.notion_state import Fault

NO_WAIT = RetryPolicy(attempts=3, base_delay=0.0, max_delay=0.0, max_retry_after=0.5)


@pytest.fixture
def api_for(notion_sim):
    def build(token=None, **kwargs):
        kwargs.setdefault("retry", NO_WAIT)
        return NotionAPI(token or notion_sim.default_token, base_url=notion_sim.base_url, **kwargs)

    return build


@pytest.mark.parametrize(
    "status, code, retryable, message",
    [
        (400, "bad_request", False, "Notion refused the request (validation_error)"),
        (403, "forbidden", False, "isn't allowed to do that with this page"),
        (409, "unavailable", True, "HTTP 409"),
        (500, "unavailable", True, "HTTP 500"),
        (503, "unavailable", True, "HTTP 503"),
    ],
)
async def test_status_mapping(notion_sim, api_for, status, code, retryable, message):
    notion_sim.inject_fault(Fault(status=status, times=5))
    async with api_for() as api:
        with pytest.raises(ProviderError) as caught:
            await api.retrieve_page(notion_sim.add_page("P"))
    error = caught.value
    assert (error.provider, error.code, error.retryable, error.status) == (
        "notion",
        code,
        retryable,
        status,
    )
    assert message in error.message
    assert len(notion_sim.logged("/v1/pages/")) == (3 if retryable else 1)


async def test_401_is_auth_failed_and_not_retried(notion_sim, api_for):
    async with api_for(token="ntn_unknown") as api:
        with pytest.raises(ProviderError) as caught:
            await api.search(query="")
    assert (caught.value.code, caught.value.retryable) == ("auth_failed", False)
    assert len(notion_sim.requests) == 1
    assert "ntn_unknown" not in str(caught.value)


async def test_404_names_the_object(notion_sim, api_for):
    async with api_for() as api:
        with pytest.raises(ProviderError) as caught:
            await api.retrieve_database("00000000-0000-0000-0000-000000000000")
    assert caught.value.code == "not_found"
    assert caught.value.message.startswith("That database isn't shared")


async def test_rate_limit_keeps_retry_after_for_the_caller(notion_sim, api_for):
    notion_sim.inject_fault(Fault(status=429, retry_after=9))
    async with api_for() as api:
        with pytest.raises(ProviderError) as caught:
            await api.search(query="")
    assert (caught.value.code, caught.value.retry_after) == ("rate_limited", 9.0)


async def test_connection_refused_is_unavailable(unused_tcp_port):
    api = NotionAPI("t", base_url=f"http://127.0.0.1:{unused_tcp_port}", retry=NO_WAIT)
    async with api:
        with pytest.raises(ProviderError) as caught:
            await api.search(query="")
    assert (caught.value.code, caught.value.retryable) == ("unavailable", True)


async def test_oauth_exchange(notion_sim):
    notion_sim.add_oauth_client("cid", "csecret", ["https://app.example/cb"])
    code = notion_sim.issue_oauth_code("cid", "https://app.example/cb")
    granted = await exchange_oauth_code(
        client_id="cid",
        client_secret="csecret",
        code=code,
        redirect_uri="https://app.example/cb",
        base_url=notion_sim.base_url,
    )
    assert granted["workspace_id"] == notion_sim.default_workspace_id
    with pytest.raises(ProviderError) as caught:
        await exchange_oauth_code(
            client_id="cid",
            client_secret="csecret",
            code=code,
            redirect_uri="https://app.example/cb",
            base_url=notion_sim.base_url,
        )
    assert caught.value.code == "bad_request" and "invalid_grant" in caught.value.message


async def test_retrieve_bot_user_and_rejected_token(notion_sim, api_for):
    async with api_for() as api:
        bot = await api.retrieve_bot_user()
    assert bot["bot"]["workspace_id"] == notion_sim.default_workspace_id
    async with api_for("ntn_revoked") as api:
        with pytest.raises(ProviderError) as caught:
            await api.retrieve_bot_user()
    assert (caught.value.code, caught.value.retryable) == ("auth_failed", False)
