"""OpenAI wire simulator: chat completions (SSE streaming and plain), transcriptions and the
model list."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from simulators import replies
from simulators.audio import wav_seconds
from simulators.catalogs import openai_model_list
from simulators.state import SimConfig
from simulators.wire import (
    break_connection,
    fault_status,
    hold,
    query_of,
    read_json,
    read_upload,
    retry_after_headers,
    sleep_ms,
    state_of,
)

PROVIDER = "openai"
ARGUMENT_FRAGMENT_CHARS = 12
_STATUS_MESSAGES = {
    400: ("Invalid request (simulated).", "invalid_request_error", None),
    403: ("You are not allowed to access this resource.", "invalid_request_error", None),
    404: (
        "The model does not exist or you do not have access to it.",
        "invalid_request_error",
        "model_not_found",
    ),
    429: ("Rate limit reached for requests (simulated).", "requests", "rate_limit_exceeded"),
    500: (
        "The server had an error while processing your request. Sorry about that!",
        "server_error",
        None,
    ),
    503: ("The engine is currently overloaded, please try again later.", "server_error", None),
}


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_post("/v1/audio/transcriptions", transcriptions)
    app.router.add_get("/v1/models", models)


def openai_error(
    status: int,
    message: str,
    *,
    kind: str = "invalid_request_error",
    code: str | None = None,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return web.json_response(body, status=status, headers=headers)


def _bearer_key(request: web.Request) -> str:
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    return key.strip() if scheme.lower() == "bearer" else ""


def _auth_error(request: web.Request) -> web.Response | None:
    if _bearer_key(request):
        return None
    return openai_error(
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization "
        "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
    )


def _status_fault(request: web.Request, item: dict[str, Any], status: int) -> web.Response:
    if status == 401:
        key = _bearer_key(request)
        masked = f"{key[:3]}***{key[-4:]}"  # what the real API echoes; adapters must not repeat it
        return openai_error(401, f"Incorrect API key provided: {masked}.", code="invalid_api_key")
    message, kind, code = _STATUS_MESSAGES.get(status, (f"Simulated HTTP {status}.", "error", None))
    headers = retry_after_headers(item) if status == 429 else None
    return openai_error(status, message, kind=kind, code=code, headers=headers)


# ---------------------------------------------------------------- chat completions


@dataclass
class _ToolCallPlan:
    id: str
    name: str
    fragments: list[str]


@dataclass
class _ReplyPlan:
    id: str
    model: str
    created: int
    tokens: list[str]
    tool_calls: list[_ToolCallPlan] = field(default_factory=list)
    finish_reason: str = "stop"
    prompt_tokens: int = 0

    @property
    def completion_tokens(self) -> int:
        return len(self.tokens) + sum(len(call.fragments) + 1 for call in self.tool_calls)

    def usage(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }


def _validate_chat(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "We could not parse the JSON body of your request."
    if not body.get("model"):
        return "you must provide a model parameter"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "Invalid 'messages': empty array. Expected an array with minimum length 1."
    return None


def _reply_text(item: dict[str, Any], messages: list[dict[str, Any]]) -> str:
    if "text" in item:
        return str(item["text"] or "")
    if item.get("tool_calls"):
        return ""
    if messages[-1].get("role") == "tool":
        return replies.tool_result_reply(messages)
    return replies.default_reply(replies.last_user_text(messages))


def _plan_tool_call(spec: dict[str, Any]) -> _ToolCallPlan:
    arguments = spec.get("arguments", {})
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    step = ARGUMENT_FRAGMENT_CHARS
    fragments = [text[i : i + step] for i in range(0, len(text), step)] or [""]
    call_id = spec.get("id") or f"call_{uuid.uuid4().hex[:24]}"
    return _ToolCallPlan(id=call_id, name=spec["name"], fragments=fragments)


def _plan_reply(item: dict[str, Any], body: dict[str, Any]) -> _ReplyPlan:
    messages = body["messages"]
    plan = _ReplyPlan(
        id=f"chatcmpl-sim{uuid.uuid4().hex[:20]}",
        model=body["model"],
        created=int(time.time()),
        tokens=replies.split_tokens(_reply_text(item, messages)),
        tool_calls=[_plan_tool_call(spec) for spec in item.get("tool_calls") or ()],
        prompt_tokens=replies.prompt_tokens(messages, body.get("tools")),
    )
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    if isinstance(limit, int) and plan.completion_tokens > limit:
        plan.tokens, plan.tool_calls, plan.finish_reason = plan.tokens[:limit], [], "length"
    elif plan.tool_calls:
        plan.finish_reason = "tool_calls"
    return plan


async def chat_completions(request: web.Request) -> web.StreamResponse:
    state = state_of(request)
    body = await read_json(request)
    state.record(PROVIDER, request.method, request.path, query_of(request), body)
    if (denied := _auth_error(request)) is not None:
        return denied
    if (problem := _validate_chat(body)) is not None:
        return openai_error(400, problem)
    item = state.take_script("openai_chat", replies.last_user_text(body["messages"])) or {}
    if (status := fault_status(item)) is not None:
        return _status_fault(request, item, status)
    if item.get("fault") == "timeout":
        await hold(item)
        return openai_error(504, "Simulated gateway timeout.", kind="server_error")
    plan = _plan_reply(item, body)
    if body.get("stream"):
        return await _stream(request, plan, item, body, state.config)
    if item.get("fault") in ("stall", "break"):  # no stream to cut: fail the whole response
        return await _misbehave(request, web.Response(status=504), item, None)
    return await _complete(plan, state.config)


async def _complete(plan: _ReplyPlan, config: SimConfig) -> web.Response:
    await sleep_ms(config.llm_ttft_ms + config.llm_token_ms * plan.completion_tokens)
    message: dict[str, Any] = {"role": "assistant", "content": "".join(plan.tokens) or None}
    message["refusal"] = None
    if plan.tool_calls:
        message["tool_calls"] = [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.name, "arguments": "".join(c.fragments)},
            }
            for c in plan.tool_calls
        ]
    return web.json_response(
        {
            "id": plan.id,
            "object": "chat.completion",
            "created": plan.created,
            "model": plan.model,
            "system_fingerprint": "fp_sim",
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": plan.finish_reason,
                }
            ],
            "usage": plan.usage(),
        }
    )


def _token_deltas(plan: _ReplyPlan) -> list[dict[str, Any]]:
    """One delta per token: text pieces, then each tool call's header and argument fragments."""
    deltas: list[dict[str, Any]] = [{"content": token} for token in plan.tokens]
    for index, call in enumerate(plan.tool_calls):
        deltas.append(
            {
                "tool_calls": [
                    {
                        "index": index,
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": ""},
                    }
                ]
            }
        )
        deltas.extend(
            {"tool_calls": [{"index": index, "function": {"arguments": fragment}}]}
            for fragment in call.fragments
        )
    return deltas


class _SSE:
    def __init__(self, response: web.StreamResponse, plan: _ReplyPlan, with_usage: bool) -> None:
        self.response, self.plan, self.with_usage = response, plan, with_usage

    async def send(self, data: dict[str, Any] | str) -> None:
        payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
        await self.response.write(f"data: {payload}\n\n".encode())

    async def chunk(
        self, delta: dict[str, Any] | None, finish: str | None = None, usage: Any = None
    ) -> None:
        choices = (
            []
            if delta is None
            else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
        )
        data: dict[str, Any] = {
            "id": self.plan.id,
            "object": "chat.completion.chunk",
            "created": self.plan.created,
            "model": self.plan.model,
            "system_fingerprint": "fp_sim",
            "choices": choices,
        }
        if self.with_usage:
            data["usage"] = usage
        await self.send(data)


async def _stream(
    request: web.Request,
    plan: _ReplyPlan,
    item: dict[str, Any],
    body: dict[str, Any],
    config: SimConfig,
) -> web.StreamResponse:
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    with_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    sse = _SSE(response, plan, with_usage)
    content: str | None = "" if not plan.tool_calls else None
    await sse.chunk({"role": "assistant", "content": content, "refusal": None})
    await sleep_ms(config.llm_ttft_ms)
    fault, fault_after = item.get("fault"), int(item.get("after_tokens", 0))
    for sent, delta in enumerate(_token_deltas(plan)):
        if fault in ("stall", "break", "error_event") and sent >= fault_after:
            return await _misbehave(request, response, item, sse)
        if sent:
            await sleep_ms(config.llm_token_ms)
        await sse.chunk(delta)
    if fault in ("stall", "break", "error_event"):
        return await _misbehave(request, response, item, sse)
    await sse.chunk({}, finish=plan.finish_reason)
    if with_usage:
        await sse.chunk(None, usage=plan.usage())
    await sse.send("[DONE]")
    await response.write_eof()
    return response


async def _misbehave(
    request: web.Request, response: web.StreamResponse, item: dict[str, Any], sse: _SSE | None
) -> web.StreamResponse:
    if item.get("fault") == "error_event" and sse is not None:
        # What the API sends when generation fails after the 200: an error object in the stream.
        await sse.send(
            {
                "error": {
                    "message": "The server had an error while processing your request.",
                    "type": "server_error",
                    "code": None,
                }
            }
        )
        await response.write_eof()
    elif item.get("fault") == "break":
        await break_connection(request)
    else:
        await hold(item)
    return response


# ---------------------------------------------------------------- transcriptions


async def transcriptions(request: web.Request) -> web.StreamResponse:
    state = state_of(request)
    if not request.content_type.startswith("multipart/"):
        state.record(PROVIDER, request.method, request.path, query_of(request), None)
        return openai_error(400, "Expected a multipart/form-data body.")
    upload = await read_upload(request)
    fields = upload.fields
    body = {**fields, "file": upload.summary()}
    state.record(PROVIDER, request.method, request.path, query_of(request), body)
    if (denied := _auth_error(request)) is not None:
        return denied
    if not fields.get("model"):
        return openai_error(400, "you must provide a model parameter", param="model")
    try:
        seconds = wav_seconds(upload.data)
    except ValueError:
        return openai_error(
            400,
            "Invalid file format. Supported formats: ['wav'] (simulator).",
            param="file",
            code="invalid_value",
        )
    return await _transcribe(request, fields, seconds)


async def _transcribe(
    request: web.Request, fields: dict[str, str], seconds: float
) -> web.StreamResponse:
    state = state_of(request)
    item = state.take_script("openai_stt", "") or {}
    if (status := fault_status(item)) is not None:
        return _status_fault(request, item, status)
    if item.get("fault") == "timeout":
        await hold(item)
        return openai_error(504, "Simulated gateway timeout.", kind="server_error")
    await sleep_ms(state.config.stt_ms)
    text = str(item["text"]) if "text" in item else replies.default_transcript(seconds)
    response_format = fields.get("response_format", "json")
    if response_format == "text":
        return web.Response(text=text)
    if response_format == "verbose_json":
        return web.json_response(
            {
                "task": "transcribe",
                "language": fields.get("language", "en"),
                "duration": seconds,
                "text": text,
                "segments": [],
            }
        )
    usage = {"type": "duration", "seconds": max(1, round(seconds))}
    return web.json_response({"text": text, "usage": usage})


# ---------------------------------------------------------------- models


async def models(request: web.Request) -> web.Response:
    state_of(request).record(PROVIDER, request.method, request.path, query_of(request), None)
    if (denied := _auth_error(request)) is not None:
        return denied
    return web.json_response(openai_model_list())
