"""OpenAILLM through the real openai SDK against the local OpenAI simulator."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from typing import Any

import pytest

from integrations.errors import ProviderError
from integrations.llm import LLMEvent, LLMFinish, LLMUsage, TextDelta, ToolCallRequest
from integrations.openai.chunks import ChunkAccumulator
from integrations.openai.llm import OpenAILLM

KEY = "sk-test-abcdefghijklmnop0123456789"
USER = [{"role": "user", "content": "What is the weather in Paris?"}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


@pytest.fixture
async def make_llm(sims) -> AsyncIterator[Callable[..., OpenAILLM]]:
    """Build adapters pointed at the simulator; their connection pools close after the test."""
    built: list[OpenAILLM] = []

    def make(**options: Any) -> OpenAILLM:
        settings = {"timeout": 2.0, "first_token_timeout": 0.5, "max_attempts": 3} | options
        built.append(OpenAILLM(KEY, sims.openai_base_url, **settings))
        return built[-1]

    yield make
    for llm in built:
        await llm.aclose()


def chat(llm: OpenAILLM, messages=USER, tools=None, max_tokens: int = 200):
    return llm.stream_chat(
        model="gpt-4o-mini",
        messages=messages,
        tools=tools,
        temperature=0.3,
        max_tokens=max_tokens,
    )


async def collect(llm: OpenAILLM, **kwargs: Any) -> list[LLMEvent]:
    return [event async for event in chat(llm, **kwargs)]


async def collect_until_error(
    llm: OpenAILLM, **kwargs: Any
) -> tuple[list[LLMEvent], ProviderError]:
    events: list[LLMEvent] = []
    with pytest.raises(ProviderError) as caught:
        async for event in chat(llm, **kwargs):
            events.append(event)
    return events, caught.value


def text_of(events: list[LLMEvent]) -> str:
    return "".join(event.text for event in events if isinstance(event, TextDelta))


def chat_requests(sims) -> list[dict[str, Any]]:
    return sims.requests(path="/v1/chat/completions")


# ---------------------------------------------------------------- streaming


async def test_streams_text_then_usage_then_finish(sims, make_llm):
    events = await collect(make_llm())

    deltas = [event for event in events if isinstance(event, TextDelta)]
    assert events[: len(deltas)] == deltas  # all text first, in order
    assert text_of(events).startswith("Sure, ")
    assert "What is the weather in Paris" in text_of(events)
    usage, finish = events[-2:]
    assert isinstance(usage, LLMUsage)
    assert usage.completion_tokens == len(deltas)
    assert usage.prompt_tokens > 0
    assert finish == LLMFinish("stop")


async def test_text_is_yielded_as_it_arrives(sims, make_llm):
    sims.configure(llm_token_ms=40)
    sims.script_chat({"text": "One two three four five six seven eight nine ten."})

    started = time.monotonic()
    seen: dict[str, float] = {}
    async for event in chat(make_llm()):
        seen.setdefault(type(event).__name__, time.monotonic() - started)

    assert seen["LLMFinish"] - seen["TextDelta"] > 0.25  # first word long before the end


async def test_request_asks_for_usage_and_sends_tools(sims, make_llm):
    await collect(make_llm(), tools=[WEATHER_TOOL["function"]])  # bare spec gets wrapped

    body = chat_requests(sims)[0]["body"]
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["max_completion_tokens"] == 200
    assert body["tools"] == [WEATHER_TOOL]
    assert KEY not in json.dumps(sims.requests())


async def test_scripted_reply_with_match_picks_the_fitting_item(sims, make_llm):
    sims.script_chat(
        {"match": "billing", "text": "Billing answer."},
        {"match": "WEATHER", "text": "Weather answer."},
    )
    llm = make_llm()

    weather = await collect(llm, messages=[{"role": "user", "content": "weather please"}])
    billing = await collect(llm, messages=[{"role": "user", "content": "my billing"}])

    assert text_of(weather) == "Weather answer."
    assert text_of(billing) == "Billing answer."


async def test_max_tokens_cuts_the_reply_with_length_finish(sims, make_llm):
    events = await collect(make_llm(), max_tokens=5)

    assert len([event for event in events if isinstance(event, TextDelta)]) == 5
    assert events[-1] == LLMFinish("length")


# ---------------------------------------------------------------- tool calls


async def test_tool_calls_are_assembled_from_fragments_in_index_order(sims, make_llm):
    arguments = {"city": "Paris", "unit": "celsius", "detail": "hourly forecast please"}
    sims.script_chat(
        {"tool_calls": [{"name": "get_weather", "arguments": arguments}, {"name": "end_call"}]}
    )

    events = await collect(make_llm(), tools=[WEATHER_TOOL])

    calls = [event for event in events if isinstance(event, ToolCallRequest)]
    assert [call.name for call in calls] == ["get_weather", "end_call"]
    assert json.loads(calls[0].arguments) == arguments
    assert json.loads(calls[1].arguments) == {}
    assert all(call.id.startswith("call_") for call in calls)
    assert calls[0].id != calls[1].id
    assert not any(isinstance(event, TextDelta) for event in events)
    assert isinstance(events[-2], LLMUsage)
    assert events[-1] == LLMFinish("tool_calls")


async def test_text_before_tool_call_streams_first(sims, make_llm):
    sims.script_chat(
        {"text": "Let me check.", "tool_calls": [{"name": "get_weather", "arguments": {}}]}
    )

    events = await collect(make_llm(), tools=[WEATHER_TOOL])

    kinds = [type(event).__name__ for event in events]
    assert kinds[0] == "TextDelta"
    assert kinds[-3:] == ["ToolCallRequest", "LLMUsage", "LLMFinish"]
    assert text_of(events) == "Let me check."


async def test_reply_after_tool_result_mentions_it(sims, make_llm):
    messages = [
        *USER,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": '{"temp_c": 18, "sky": "clear"}'},
    ]

    events = await collect(make_llm(), messages=messages, tools=[WEATHER_TOOL])

    assert "temp_c" in text_of(events)
    assert events[-1] == LLMFinish("stop")


# ---------------------------------------------------------------- retries and faults


async def test_429_is_retried_after_retry_after(sims, make_llm):
    sims.script_chat({"fault": "429", "retry_after_ms": 300})

    started = time.monotonic()
    events = await collect(make_llm())

    assert time.monotonic() - started >= 0.3
    assert events[-1] == LLMFinish("stop")
    assert len(chat_requests(sims)) == 2


async def test_one_500_then_success(sims, make_llm):
    sims.script_chat({"fault": "500"})

    events = await collect(make_llm())

    assert text_of(events).startswith("Sure, ")
    assert len(chat_requests(sims)) == 2


async def test_server_errors_until_attempts_run_out(sims, make_llm):
    sims.script_chat({"fault": "503", "times": 3})

    events, error = await collect_until_error(make_llm(max_attempts=3))

    assert events == []
    assert (error.code, error.retryable, error.status) == ("unavailable", True, 503)
    assert len(chat_requests(sims)) == 3


async def test_break_mid_stream_is_stream_broken_and_not_retried(sims, make_llm):
    sims.script_chat({"fault": "break", "after_tokens": 3})

    events, error = await collect_until_error(make_llm())

    assert len(events) == 3 and all(isinstance(event, TextDelta) for event in events)
    assert (error.code, error.retryable) == ("stream_broken", False)
    assert len(chat_requests(sims)) == 1


async def test_error_event_mid_stream_keeps_the_text_and_is_a_provider_error(sims, make_llm):
    sims.script_chat({"fault": "error_event", "after_tokens": 2})

    events, error = await collect_until_error(make_llm())

    assert len(events) == 2 and all(isinstance(event, TextDelta) for event in events)
    assert error.provider == "openai" and error.code in ("unavailable", "stream_broken")
    assert "server had an error" in error.message
    assert len(chat_requests(sims)) == 1


async def test_error_event_before_the_first_token_is_retried(sims, make_llm):
    sims.script_chat({"fault": "error_event", "after_tokens": 0}, "Second try works.")

    events = await collect(make_llm())

    assert text_of(events) == "Second try works."
    assert len(chat_requests(sims)) == 2


async def test_break_before_first_token_is_retried(sims, make_llm):
    sims.script_chat({"fault": "break", "after_tokens": 0})

    events = await collect(make_llm())

    assert events[-1] == LLMFinish("stop")
    assert len(chat_requests(sims)) == 2


async def test_stall_before_first_token_is_retried_then_times_out(sims, make_llm):
    sims.script_chat({"fault": "stall", "after_tokens": 0, "times": 2})

    events, error = await collect_until_error(make_llm(max_attempts=2, first_token_timeout=0.2))

    assert events == []
    assert (error.code, error.retryable) == ("timeout", True)
    assert len(chat_requests(sims)) == 2


async def test_stall_before_first_token_then_success(sims, make_llm):
    sims.script_chat({"fault": "stall", "after_tokens": 0})

    events = await collect(make_llm(first_token_timeout=0.2))

    assert events[-1] == LLMFinish("stop")


async def test_no_response_at_all_counts_against_the_first_token_deadline(sims, make_llm):
    sims.script_chat({"fault": "timeout"})

    events = await collect(make_llm(first_token_timeout=0.2))

    assert events[-1] == LLMFinish("stop")
    assert len(chat_requests(sims)) == 2


async def test_stall_mid_stream_is_stream_broken(sims, make_llm):
    sims.script_chat({"fault": "stall", "after_tokens": 2})

    events, error = await collect_until_error(make_llm(timeout=0.3))

    assert len(events) == 2
    assert (error.code, error.retryable) == ("stream_broken", False)
    assert len(chat_requests(sims)) == 1


async def test_401_is_auth_failed_and_never_shows_the_key(sims, make_llm):
    sims.script_chat({"fault": "401"})

    _, error = await collect_until_error(make_llm())

    assert (error.code, error.retryable, error.status) == ("auth_failed", False, 401)
    assert KEY not in str(error) and KEY[-4:] not in str(error)
    assert len(chat_requests(sims)) == 1


@pytest.mark.parametrize(
    ("fault", "code"),
    [("400", "bad_request"), ("403", "forbidden"), ("404", "not_found"), ("422", "bad_request")],
)
async def test_client_errors_are_not_retried(sims, fault, code, make_llm):
    sims.script_chat({"fault": fault})

    _, error = await collect_until_error(make_llm())

    assert (error.code, error.retryable) == (code, False)
    assert len(chat_requests(sims)) == 1


async def test_invalid_request_is_bad_request(sims, make_llm):
    _, error = await collect_until_error(make_llm(), messages=[])

    assert error.code == "bad_request"
    assert "messages" in error.message


# ---------------------------------------------------------------- closing


async def test_closing_early_does_not_wait_for_the_rest(sims, make_llm):
    sims.configure(llm_token_ms=50)  # the full default reply would take ~3 s

    started = time.monotonic()
    async with aclosing(chat(make_llm())) as events:
        async for event in events:
            assert isinstance(event, TextDelta)
            break

    assert time.monotonic() - started < 1.0


async def test_cancelling_the_consumer_cancels_the_stream(sims, make_llm):
    sims.configure(llm_token_ms=50)
    first_delta = asyncio.Event()

    async def consume() -> None:
        async for _ in chat(make_llm()):
            first_delta.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first_delta.wait(), timeout=2)
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=1)


@pytest.mark.parametrize(
    "chunk",
    [
        {"choices": [{"delta": {"tool_calls": [{"function": {}}]}}]},  # no index
        {"choices": "nonsense"},
        {"usage": {"prompt_tokens": 3}},
        ["not", "an", "object"],
    ],
)
def test_a_malformed_chunk_is_a_retryable_provider_error(chunk):
    with pytest.raises(ProviderError) as caught:
        ChunkAccumulator().feed(chunk)

    assert (caught.value.code, caught.value.retryable) == ("unavailable", True)
