"""The simulators' own HTTP control surface under /_sim: scripts, config, request log, reset."""

from __future__ import annotations

import dataclasses
from typing import Any

from aiohttp import web

from simulators.wire import read_json, state_of

# URL segment -> script queue name
SCRIPT_ROUTES = {
    "/_sim/openai/chat/script": "openai_chat",
    "/_sim/openai/transcriptions/script": "openai_stt",
    "/_sim/elevenlabs/tts/script": "elevenlabs_tts",
    "/_sim/elevenlabs/stt/script": "elevenlabs_stt",
    "/_sim/elevenlabs/stt-realtime/script": "elevenlabs_realtime_stt",
}


def add_routes(app: web.Application) -> None:
    for path, queue in SCRIPT_ROUTES.items():
        app.router.add_post(path, _script_handler(queue))
    app.router.add_get("/_sim/config", get_config)
    app.router.add_post("/_sim/config", set_config)
    app.router.add_get("/_sim/requests", list_requests)
    app.router.add_post("/_sim/reset", reset)
    app.router.add_get("/_sim/health", health)


def _bad_request(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


def _script_handler(queue: str) -> Any:
    async def handler(request: web.Request) -> web.Response:
        body = await read_json(request)
        items = body if isinstance(body, list) else [body]
        if body is None or not all(isinstance(item, dict | str) for item in items):
            return _bad_request("send a JSON object, a string, or a list of them")
        try:
            queued = state_of(request).script(queue, items)
        except ValueError as exc:
            return _bad_request(str(exc))
        return web.json_response({"queued": queued})

    return handler


async def get_config(request: web.Request) -> web.Response:
    return web.json_response(dataclasses.asdict(state_of(request).config))


async def set_config(request: web.Request) -> web.Response:
    changes = await read_json(request)
    if not isinstance(changes, dict):
        return _bad_request("send a JSON object of config options")
    try:
        config = state_of(request).configure(changes)
    except ValueError as exc:
        return _bad_request(str(exc))
    return web.json_response(dataclasses.asdict(config))


async def list_requests(request: web.Request) -> web.Response:
    entries = state_of(request).requests(
        path=request.query.get("path"), provider=request.query.get("provider")
    )
    return web.json_response(entries)


async def reset(request: web.Request) -> web.Response:
    state_of(request).reset()
    return web.json_response({"reset": True})


async def health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})
