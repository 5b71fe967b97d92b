"""A whole call over the REST API, heard by a receiver through a real worker: session.started,
message.created for every message, tool.called, and session.ended with the end-of-call report,
its summary and structured data made by the (simulated) model before it is sent."""

from __future__ import annotations

import pytest
from standardwebhooks import Webhook

from tests.api.conftest import client_for
from tests.factories import AssistantFactory
from webhooks.services import endpoint_create

pytestmark = pytest.mark.django_db(transaction=True)

SCHEMA = {
    "type": "object",
    "properties": {"topic": {"type": "string"}},
    "required": ["topic"],
}


def test_a_call_over_rest_is_heard_event_by_event(
    org, private_key, providers, receiver, worker, allow_private
):
    assistant = AssistantFactory(
        organization=org,
        first_message="",
        tools=[{"name": "current_time"}],
        metadata={
            "analysis": {
                "summary_prompt": "Summarize the call in one sentence.",
                "structured_data_schema": SCHEMA,
            }
        },
    )
    endpoint = endpoint_create(organization=org, url=receiver.url)
    providers.script_chat(
        {"tool_calls": [{"name": "current_time", "arguments": {}}]},
        {"text": "It is noon."},
        {"text": "The caller asked for the time."},
        {"text": '{"topic": "time"}'},
    )
    worker()
    api = client_for(private_key[1])
    session = api.post("/api/v1/sessions/", {"assistant_id": str(assistant.id)}, format="json")
    session_id = session.json()["id"]
    turn = api.post(f"/api/v1/sessions/{session_id}/messages/", {"content": "Time?"}, format="json")
    assert turn.status_code == 201, turn.content
    stored = turn.json()["messages"]
    assert [m["role"] for m in stored] == ["user", "assistant", "tool", "assistant"]
    assert api.post(f"/api/v1/sessions/{session_id}/end/").status_code == 200

    receiver.wait_for(lambda got: any(r.json["type"] == "session.ended" for r in got), timeout=40)
    events = [Webhook(endpoint.secret).verify(r.body, r.headers) for r in receiver.received]
    by_type: dict[str, list[dict]] = {}
    for event in events:
        by_type.setdefault(event["type"], []).append(event["data"])
    assert len(by_type["session.started"]) == 1
    assert by_type["session.started"][0]["session"]["id"] == session_id
    assert {d["message"]["id"] for d in by_type["message.created"]} == {m["id"] for m in stored}
    (tool_called,) = by_type["tool.called"]
    assert tool_called["tool_call"]["name"] == "current_time"
    assert tool_called["tool_call"]["result"]

    (ended,) = by_type["session.ended"]
    report = ended["report"]
    assert ended["session"]["id"] == session_id and report["ended_reason"] == "ended-by-api"
    assert [(t["role"], t["content"]) for t in report["transcript"]] == [
        ("user", "Time?"),
        ("assistant", "It is noon."),
    ]
    assert [c["name"] for c in report["tool_calls"]] == ["current_time"]
    assert report["usage"]["llm"]["prompt_tokens"] > 0
    llm = report["latency"]["llm_ttft_ms"]
    assert llm["count"] >= 1 and llm["p50"] is not None and llm["p95"] >= llm["p50"]
    assert report["summary"] == "The caller asked for the time."
    assert report["structured_data"] == {"topic": "time"}
    assert report["analysis_errors"] == []
    assert report["cost"]["currency"] == "USD"
    assert set(report["cost"]) >= {"llm", "tts", "stt", "total"}
    # The analysis went through the model with the transcript, after the call ended.
    prompts = [str(r) for r in providers.requests(provider="openai")]
    assert any("Summarize the call in one sentence." in p and "Time?" in p for p in prompts)
