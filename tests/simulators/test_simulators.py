"""The simulators at the wire: raw HTTP for shapes and controls, the SDKs where they parse."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import httpx
import pytest
from aiohttp import ClientConnectionResetError, web
from openai import AsyncOpenAI

from integrations.stt import pcm16_to_wav
from simulators.server import start_simulators_async
from simulators.wire import client_hang_ups
from tests.fixtures.servers import ROOT, free_port

BEARER = {"Authorization": "Bearer sk-test-wire"}
XI = {"xi-api-key": "sk_test_wire"}
USER = [{"role": "user", "content": "Tell me about trains"}]


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def sse_events(response: aiohttp.ClientResponse) -> list[Any]:
    """Every ``data:`` payload of an SSE body, JSON-decoded except the [DONE] marker."""
    body = (await response.read()).decode()
    payloads = [line[len("data: ") :] for line in body.split("\n\n") if line.startswith("data: ")]
    return [payload if payload == "[DONE]" else json.loads(payload) for payload in payloads]


async def post_chat(http, sims, body: dict[str, Any], headers=BEARER) -> aiohttp.ClientResponse:
    return await http.post(f"{sims.openai_base_url}/chat/completions", json=body, headers=headers)


# ---------------------------------------------------------------- OpenAI chat


async def test_sse_stream_has_the_shapes_the_sdk_parses(sims, http):
    sims.script_chat(
        {"text": "On it.", "tool_calls": [{"name": "lookup", "arguments": {"q": "x" * 40}}]}
    )
    body = {
        "model": "m",
        "messages": USER,
        "stream": True,
        "stream_options": {"include_usage": True},
    }

    response = await post_chat(http, sims, body)
    events = await sse_events(response)

    assert response.headers["Content-Type"].startswith("text/event-stream")
    assert events[0]["choices"][0]["delta"]["role"] == "assistant"
    assert events[-1] == "[DONE]"
    usage_chunk, finish_chunk = events[-2], events[-3]
    assert usage_chunk["choices"] == [] and usage_chunk["usage"]["completion_tokens"] > 0
    assert finish_chunk["choices"][0]["finish_reason"] == "tool_calls"
    calls = [
        call
        for event in events[1:-3]
        for call in event["choices"][0]["delta"].get("tool_calls", [])
    ]
    assert calls[0]["id"].startswith("call_") and calls[0]["type"] == "function"
    assert calls[0]["function"]["name"] == "lookup"
    assert len(calls) > 3  # arguments arrive in several fragments
    assert all(call["index"] == 0 for call in calls)
    arguments = "".join(call["function"].get("arguments", "") for call in calls)
    assert json.loads(arguments) == {"q": "x" * 40}


async def test_each_word_piece_is_one_chunk(sims, http):
    response = await post_chat(http, sims, {"model": "m", "messages": USER, "stream": True})
    events = await sse_events(response)

    tokens = [e["choices"][0]["delta"]["content"] for e in events[1:-2]]
    assert tokens[:3] == ["Sure,", " I", " would"]
    assert "".join(tokens).startswith("Sure, I would be happy to help with that. You said: Tell")
    assert len(tokens) > 40
    assert "usage" not in events[1]  # only when stream_options.include_usage


async def test_default_reply_differs_per_input(sims):
    client = AsyncOpenAI(api_key="sk-test", base_url=sims.openai_base_url, max_retries=0)

    async def reply(text: str) -> str:
        completion = await client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": text}]
        )
        return completion.choices[0].message.content or ""

    trains, boats = await reply("Tell me about trains"), await reply("Tell me about boats")

    assert trains.startswith("Sure, ") and boats.startswith("Sure, ")
    assert trains != boats
    await client.close()


async def test_non_streaming_tool_calls_parse_in_the_sdk(sims):
    sims.script_chat({"tool_calls": [{"name": "lookup", "arguments": {"q": "trains"}}]})
    client = AsyncOpenAI(api_key="sk-test", base_url=sims.openai_base_url, max_retries=0)

    completion = await client.chat.completions.create(model="m", messages=USER)

    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert json.loads(choice.message.tool_calls[0].function.arguments) == {"q": "trains"}
    assert completion.usage is not None and completion.usage.total_tokens > 0
    await client.close()


async def test_missing_bearer_is_401_in_openai_error_shape(sims, http):
    response = await post_chat(http, sims, {"model": "m", "messages": USER}, headers={})

    assert response.status == 401
    error = (await response.json())["error"]
    assert set(error) == {"message", "type", "param", "code"}


async def test_429_fault_sends_retry_after(sims, http):
    sims.script_chat({"fault": 429, "retry_after_ms": 1500})

    response = await post_chat(http, sims, {"model": "m", "messages": USER})

    assert response.status == 429
    assert response.headers["retry-after"] == "2"
    assert response.headers["retry-after-ms"] == "1500"


# ---------------------------------------------------------------- control surface


async def test_scripts_can_be_queued_over_http(sims, http):
    url = f"{sims.openai_base_url.removesuffix('/v1')}/_sim/openai/chat/script"

    queued = await (await http.post(url, json=[{"text": "One."}, "Two."])).json()
    first = await post_chat(http, sims, {"model": "m", "messages": USER})
    second = await post_chat(http, sims, {"model": "m", "messages": USER})

    assert queued == {"queued": 2}
    assert (await first.json())["choices"][0]["message"]["content"] == "One."
    assert (await second.json())["choices"][0]["message"]["content"] == "Two."


async def test_bad_script_items_are_rejected(sims, http):
    url = f"{sims.elevenlabs_base_url}/_sim/elevenlabs/tts/script"

    response = await http.post(url, json={"fault": "429", "times": 0})

    assert response.status == 400


async def test_config_can_be_read_changed_and_reset(sims, http):
    url = f"{sims.elevenlabs_base_url}/_sim/config"

    changed = await (await http.post(url, json={"llm_ttft_ms": 5, "tts_realtime": True})).json()
    unknown = await http.post(url, json={"warp_speed": 9})
    await http.post(f"{sims.elevenlabs_base_url}/_sim/reset")
    after_reset = await (await http.get(url)).json()

    assert (changed["llm_ttft_ms"], changed["tts_realtime"]) == (5, True)
    assert unknown.status == 400
    assert (after_reset["llm_ttft_ms"], after_reset["tts_realtime"]) == (0, False)


async def test_request_log_keeps_bodies_but_no_secrets(sims, http):
    body = {"model": "m", "messages": USER, "api_key": "sk-leak", "max_tokens": 9}
    await post_chat(http, sims, body)

    log = await (await http.get(f"{sims.elevenlabs_base_url}/_sim/requests?provider=openai")).json()

    assert [entry["path"] for entry in log] == ["/v1/chat/completions"]
    assert log[0]["body"]["max_tokens"] == 9
    assert "sk-leak" not in json.dumps(log) and "sk-test-wire" not in json.dumps(log)
    sims.reset()
    assert sims.requests() == []


# ---------------------------------------------------------------- transcription and TTS


async def test_openai_transcription_rejects_non_wav(sims, http):
    form = aiohttp.FormData()
    form.add_field("model", "whisper-1")
    form.add_field("file", b"not audio", filename="a.wav", content_type="audio/wav")

    response = await http.post(
        f"{sims.openai_base_url}/audio/transcriptions", data=form, headers=BEARER
    )

    assert response.status == 400
    assert (await response.json())["error"]["param"] == "file"


async def test_elevenlabs_stt_answers_in_its_shape(sims, http):
    form = aiohttp.FormData()
    form.add_field("model_id", "scribe_v2")
    form.add_field("file", pcm16_to_wav(b"\0\0" * 16000, 16000), filename="u.wav")

    response = await http.post(
        f"{sims.elevenlabs_base_url}/v1/speech-to-text", data=form, headers=XI
    )

    body = await response.json()
    assert (body["language_code"], body["words"]) == ("en", [])
    assert body["text"] == "I said something for 1.0 seconds."


async def test_tts_without_key_is_401_with_detail(sims, http):
    url = f"{sims.elevenlabs_base_url}/v1/text-to-speech/v1/stream?output_format=pcm_24000"

    response = await http.post(url, json={"text": "Hi", "model_id": "m"})

    assert response.status == 401
    assert (await response.json())["detail"]["status"] == "invalid_api_key"


async def test_non_streaming_tts_returns_all_audio(sims, http):
    url = f"{sims.elevenlabs_base_url}/v1/text-to-speech/v1?output_format=pcm_16000"

    response = await http.post(url, json={"text": "Hello", "model_id": "m"}, headers=XI)

    assert response.headers["Content-Type"] == "audio/pcm"
    assert len(await response.read()) == 16000 * 65 * 5 // 1000 * 2


# ---------------------------------------------------------------- running them


async def test_async_variant_on_two_ports_shares_state():
    handle = await start_simulators_async(port=0, elevenlabs_port=0, llm_ttft_ms=0)
    try:
        assert handle.openai_port != handle.elevenlabs_port
        async with aiohttp.ClientSession() as http:
            await http.post(f"{handle.elevenlabs_base_url}/_sim/openai/chat/script", json="Hi.")
            response = await post_chat(http, handle, {"model": "m", "messages": USER})
            assert (await response.json())["choices"][0]["message"]["content"] == "Hi."
    finally:
        await handle.stop()


@pytest.mark.slow
def test_python_m_simulators_prints_exports_serves_and_stops_on_sigterm():
    openai_port, elevenlabs_port = free_port(), free_port()
    options = ["--openai-port", str(openai_port), "--elevenlabs-port", str(elevenlabs_port)]
    options += ["--no-tts-realtime", "--llm-ttft-ms", "5"]
    process = subprocess.Popen(
        [sys.executable, "-m", "simulators", *options],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        exports = [process.stdout.readline().strip() for _ in range(4)]
        config = httpx.get(f"http://127.0.0.1:{elevenlabs_port}/_sim/config").json()
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=10)

    assert exports == [
        f"export OPENAI_BASE_URL=http://127.0.0.1:{openai_port}/v1",
        "export OPENAI_API_KEY=sim",
        f"export ELEVENLABS_BASE_URL=http://127.0.0.1:{elevenlabs_port}",
        "export ELEVENLABS_API_KEY=sim",
    ]
    assert (config["tts_realtime"], config["llm_ttft_ms"]) == (False, 5)
    assert process.returncode == 0
    assert output.strip().endswith("Simulators stopped.")


async def test_break_fault_on_a_plain_completion_drops_the_connection(sims, http):
    sims.script_chat({"fault": "break"})

    with pytest.raises(aiohttp.ClientError):
        await post_chat(http, sims, {"model": "m", "messages": USER})


@pytest.mark.parametrize("quiet", [True, False])
async def test_a_client_hang_up_while_a_response_is_written_is_not_a_logged_error(
    quiet, http, caplog
):
    """What aiohttp raised in a simulator's TTS handler when a cut-off reply's request closed
    as its headers were written. ``client_hang_ups`` is every simulator app's middleware."""

    async def closing_transport(request: web.Request) -> web.StreamResponse:
        raise ClientConnectionResetError("Cannot write to closing transport")

    app = web.Application(middlewares=[client_hang_ups] if quiet else [])
    app.router.add_get("/stream", closing_transport)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with http.get(f"http://127.0.0.1:{port}/stream") as response:
            status = response.status
    finally:
        await runner.cleanup()
    errors = [r for r in caplog.records if r.name == "aiohttp.server" and r.levelname == "ERROR"]
    assert (status, bool(errors)) == ((499, False) if quiet else (500, True))
