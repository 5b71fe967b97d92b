"""GET /metrics: access rules, what is counted and where, and several processes."""

import httpx
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from tests.sessions.live import LiveClient


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


# ---- access --------------------------------------------------------------------------------


def test_off_in_production_without_a_token(client, settings):
    settings.DEBUG, settings.METRICS_TOKEN = False, ""
    assert client.get("/metrics").status_code == 404


def test_open_in_development(client, settings):
    settings.DEBUG, settings.METRICS_TOKEN = True, ""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")


def test_token_required_when_set(client, settings):
    settings.DEBUG, settings.METRICS_TOKEN = True, "scrape-me"
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert client.get("/metrics", headers={"Authorization": "Bearer scrapé"}).status_code == 401
    response = client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert response.status_code == 200
    assert b"vp_http_requests_total" in response.content


# ---- HTTP ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_requests_are_counted_by_route_pattern_not_path(client, settings):
    settings.DEBUG, settings.METRICS_TOKEN = True, ""
    route = "/api/v1/assistants/<uuid:pk>/"
    before = sample("vp_http_requests_total", method="GET", route=route, status="401")
    path = "/api/v1/assistants/6f1c1d3e-0000-4000-8000-000000000001/"
    assert client.get(path).status_code == 401
    after = sample("vp_http_requests_total", method="GET", route=route, status="401")
    assert after == before + 1
    exposition = client.get("/metrics").content.decode()
    assert "6f1c1d3e" not in exposition


# ---- the live runtime ----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_a_turn_moves_the_session_turn_and_latency_metrics(providers, session):
    providers.script_chat({"text": "Sure, counted."})
    live_before = sample("vp_live_sessions")
    turns_before = sample("vp_turns_total", outcome="completed")
    stages_before = {
        stage: sample("vp_stage_latency_seconds_count", stage=stage)
        for stage in ("llm_ttft", "tts_ttfb", "first_audio", "stt")
    }
    client = LiveClient.for_session(session.id)
    await client.connect()
    assert sample("vp_live_sessions") == live_before + 1
    await client.send(type="user-message", content="Count this")
    await client.expect("assistant-message")
    await client.disconnect()

    assert sample("vp_live_sessions") == live_before
    assert sample("vp_turns_total", outcome="completed") == turns_before + 1
    for stage in ("llm_ttft", "tts_ttfb", "first_audio"):
        assert sample("vp_stage_latency_seconds_count", stage=stage) == stages_before[stage] + 1
    assert sample("vp_stage_latency_seconds_count", stage="stt") == stages_before["stt"]  # text


@pytest.mark.django_db(transaction=True)
async def test_provider_errors_are_counted_by_provider_and_code(providers, session):
    providers.script_chat({"fault": "500", "times": 3})
    before = sample("vp_provider_errors_total", provider="openai", code="unavailable")
    failed_before = sample("vp_turns_total", outcome="failed")
    client = LiveClient.for_session(session.id)
    await client.connect()
    await client.send(type="user-message", content="Hello?")
    assert (await client.expect("error", timeout=10))["code"] == "provider_unavailable"
    await client.disconnect()
    assert sample("vp_provider_errors_total", provider="openai", code="unavailable") == before + 1
    assert sample("vp_turns_total", outcome="failed") == failed_before + 1


@pytest.mark.django_db(transaction=True)
async def test_tool_calls_are_counted_by_name_and_outcome(providers, session):
    providers.script_chat(
        {"tool_calls": [{"name": "current_time", "arguments": {"timezone": "UTC"}}]},
        {"tool_calls": [{"name": "launch_rockets", "arguments": {}}]},
        {"text": "Done."},
    )
    ok_before = sample("vp_tool_calls_total", tool="current_time", outcome="ok")
    unknown_before = sample("vp_tool_calls_total", tool="unknown", outcome="error")
    client = LiveClient.for_session(session.id)
    await client.connect()
    await client.send(type="user-message", content="What time is it?")
    final = await client.expect("assistant-message", timeout=10)
    while final["content"] != "Done.":
        final = await client.expect("assistant-message", timeout=10)
    await client.disconnect()
    assert sample("vp_tool_calls_total", tool="current_time", outcome="ok") == ok_before + 1
    assert sample("vp_tool_calls_total", tool="unknown", outcome="error") == unknown_before + 1


# ---- several processes ---------------------------------------------------------------------


def _counter(exposition: str, route: str) -> float:
    labels = {"method": "GET", "route": route, "status": "200"}
    return sum(
        s.value
        for family in text_string_to_metric_families(exposition)
        for s in family.samples
        if s.name == "vp_http_requests_total" and s.labels == labels
    )


@pytest.mark.slow
def test_multiprocess_mode_sums_every_server_process(asgi_server, tmp_path):
    """PROMETHEUS_MULTIPROC_DIR shared by two processes: either one reports both."""
    shared = tmp_path / "prometheus"
    shared.mkdir()
    env = {"PROMETHEUS_MULTIPROC_DIR": str(shared), "METRICS_TOKEN": "scrape-me"}
    first, second = asgi_server(**env), asgi_server(**env)
    auth = {"Authorization": "Bearer scrape-me"}
    for server, count in ((first, 2), (second, 3)):
        for _ in range(count):
            assert httpx.get(f"{server.http}/health").status_code == 200
    for server in (first, second):
        exposition = httpx.get(f"{server.http}/metrics", headers=auth).text
        assert _counter(exposition, "/health") == 5
