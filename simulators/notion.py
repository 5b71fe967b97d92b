"""A local Notion API (version 2025-09-03) for offline development and wire-level tests.

Drive it with the real ``notion_client.AsyncClient(auth=token, base_url=sim.base_url)``.
Seed and inspect through the handle (``add_page``, ``add_database``, ``appended_blocks``,
``logged``, ``inject_fault``...; see ``NotionState``). Faults can also be queued over HTTP with
``POST /_sim/notion/faults`` (JSON: status, retry_after, delay, path, method, times).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from typing import Any

from aiohttp import web

from simulators import notion_ops as ops
from simulators.notion_objects import NotionAPIError, new_id
from simulators.notion_state import Fault, LoggedRequest, NotionState
from simulators.wire import Handler, client_hang_ups

STATE: web.AppKey[NotionState] = web.AppKey("notion_state", NotionState)
BODY: web.RequestKey[Any] = web.RequestKey("notion_json_body", object)

FAULT_ERRORS = {
    400: ("validation_error", "body failed validation."),
    403: ("restricted_resource", "API token does not have access to this resource."),
    409: ("conflict_error", "Conflict occurred while saving. Please try again."),
    429: ("rate_limited", "You have been rate limited. Please try again in a few minutes."),
    500: ("internal_server_error", "Unexpected error occurred."),
    502: ("internal_server_error", "Bad gateway."),
    503: ("service_unavailable", "Notion is unavailable. Try again later."),
    504: ("gateway_timeout", "Notion timed out."),
}


def error_response(error: NotionAPIError, headers: dict[str, str] | None = None) -> web.Response:
    body = {
        "object": "error",
        "status": error.status,
        "code": error.code,
        "message": error.message,
        "request_id": new_id(),
    }
    return web.json_response(body, status=error.status, headers=headers)


async def _json_body(request: web.Request) -> Any:
    if request.method in ("GET", "DELETE") or not request.can_read_body:
        return None
    raw = await request.read()
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise NotionAPIError(400, "invalid_json", "Error parsing JSON body.") from exc


def _take_fault(state: NotionState, method: str, path: str) -> Fault | None:
    for fault in state.faults:
        if fault.matches(method, path):
            fault.times -= 1
            if fault.times <= 0:
                state.faults.remove(fault)
            return fault
    return None


async def _apply_fault(fault: Fault) -> web.Response | None:
    if fault.status is None:  # a stall: answer normally, but too late for a short timeout
        await asyncio.sleep(fault.delay)
        return None
    code, message = FAULT_ERRORS.get(fault.status, ("internal_server_error", "Unexpected error."))
    headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
    return error_response(NotionAPIError(fault.status, code, message), headers)


@web.middleware
async def notion_protocol(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Logging, fault injection and Notion's error shape for every ``/v1/`` request."""
    if not request.path.startswith("/v1/"):
        return await handler(request)
    state = request.app[STATE]
    log = LoggedRequest(
        request.method,
        request.path,
        dict(request.query),
        None,
        request.headers.get("Notion-Version"),
    )
    with state.lock:
        state.requests.append(log)
        fault = _take_fault(state, request.method, request.path)
    try:
        log.body = request[BODY] = await _json_body(request)
        response = (await _apply_fault(fault) if fault else None) or await _checked(
            request, handler
        )
    except NotionAPIError as error:
        response = error_response(error)
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
        response = error_response(
            NotionAPIError(400, "invalid_request_url", "Invalid request URL.")
        )
    log.status = response.status
    return response


async def _checked(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.headers.get("Notion-Version"):
        raise NotionAPIError(
            400,
            "missing_version",
            "Notion-Version header failed validation: Notion-Version header should be defined, "
            "instead was `undefined`.",
        )
    return await handler(request)


def _workspace(request: web.Request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    state = request.app[STATE]
    return state.workspace_for_token(token if scheme.lower() == "bearer" else None)


def _body(request: web.Request) -> dict[str, Any]:
    body = request.get(BODY)
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise NotionAPIError(
            400, "validation_error", "body failed validation: body should be an object."
        )
    return body


def endpoint(operation: Callable[..., dict[str, Any]], *params: str, body: bool = False) -> Handler:
    """An aiohttp handler: authenticate, then run ``operation`` under the state lock."""

    async def handle(request: web.Request) -> web.Response:
        state = request.app[STATE]
        with state.lock:
            ws = _workspace(request)
            args: list[Any] = [request.match_info[p] for p in params]
            if body:
                args.append(_body(request))
            result = operation(state, ws, *args)
        return web.json_response(result)

    return handle


async def list_children(request: web.Request) -> web.Response:
    state = request.app[STATE]
    with state.lock:
        ws = _workspace(request)
        result = ops.list_children(state, ws, request.match_info["id"], dict(request.query))
    return web.json_response(result)


async def oauth_token(request: web.Request) -> web.Response:
    state = request.app[STATE]
    with state.lock:
        result = ops.oauth_token(state, request.headers.get("Authorization"), _body(request))
    return web.json_response(result)


async def sim_faults(request: web.Request) -> web.Response:
    state = request.app[STATE]
    if request.method == "DELETE":
        with state.lock:
            state.faults.clear()
        return web.json_response({"ok": True})
    raw = await request.json()
    fields = {"status", "retry_after", "delay", "path", "method", "times"}
    state.inject_fault(Fault(**{k: v for k, v in raw.items() if k in fields}))
    return web.json_response({"ok": True, "queued": len(state.faults)})


async def sim_reset(request: web.Request) -> web.Response:
    request.app[STATE].reset()
    return web.json_response({"ok": True})


def build_app(state: NotionState) -> web.Application:
    app = web.Application(middlewares=[client_hang_ups, notion_protocol])
    app[STATE] = state
    app.add_routes(
        [
            web.post("/v1/search", endpoint(ops.search, body=True)),
            web.post("/v1/pages", endpoint(ops.create_page, body=True)),
            web.get("/v1/pages/{id}", endpoint(ops.get_page, "id")),
            web.patch("/v1/pages/{id}", endpoint(ops.update_page, "id", body=True)),
            web.get("/v1/blocks/{id}/children", list_children),
            web.patch("/v1/blocks/{id}/children", endpoint(ops.append_children, "id", body=True)),
            web.get("/v1/blocks/{id}", endpoint(ops.get_block, "id")),
            web.patch("/v1/blocks/{id}", endpoint(ops.update_block, "id", body=True)),
            web.delete("/v1/blocks/{id}", endpoint(ops.delete_block, "id")),
            web.get("/v1/databases/{id}", endpoint(ops.get_database, "id")),
            web.get("/v1/data_sources/{id}", endpoint(ops.get_data_source, "id")),
            web.post(
                "/v1/data_sources/{id}/query", endpoint(ops.query_data_source, "id", body=True)
            ),
            web.get("/v1/users/me", endpoint(ops.users_me)),
            web.post("/v1/oauth/token", oauth_token),
            web.post("/_sim/notion/faults", sim_faults),
            web.delete("/_sim/notion/faults", sim_faults),
            web.post("/_sim/notion/reset", sim_reset),
        ]
    )
    return app


class NotionSimulator(NotionState):
    """A running simulator: the state plus the server that serves it from a background thread."""

    def __init__(self) -> None:
        super().__init__()
        self.base_url = ""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="notion-sim", daemon=True
        )
        self._runner: web.AppRunner | None = None

    def start(self, host: str, port: int) -> None:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._serve(host, port), self._loop)
        bound_port = future.result(timeout=10)
        self.base_url = f"http://{host}:{bound_port}"

    async def _serve(self, host: str, port: int) -> int:
        # handler_cancellation: a client that gave up stops a stalled handler, as on a real server.
        runner = web.AppRunner(
            build_app(self), access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        self._runner = runner
        return int(runner.addresses[0][1])

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
            self._runner = None
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()


def start_notion_simulator(host: str = "127.0.0.1", port: int = 0) -> NotionSimulator:
    simulator = NotionSimulator()
    simulator.start(host, port)
    return simulator
