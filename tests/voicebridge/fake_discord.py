"""A local Discord that speaks enough of the real protocols for a bot to log in and connect.

REST (what ``Client.login`` and ``setup_hook`` call): ``GET /users/@me`` with the bot token
(401 for a token it does not know, as Discord answers a revoked one), the application, the
bulk overwrite of global commands, and ``GET /gateway/bot`` for sharded clients.

Gateway (a WebSocket, plain JSON text frames): HELLO, then on IDENTIFY either READY or the
close code Discord uses for intents the application may not use (4014).

``install`` points discord.py's REST base and default gateway at this server, so the bridge's
real client factory and discord.py's own login and connect code run unchanged.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import discord
import yarl
from aiohttp import WSMsgType, web
from discord.gateway import DiscordWebSocket

INTENTS_REFUSED = 4014
APPLICATION_ID = "1500000000000000001"


@dataclass
class FakeDiscord:
    tokens: set[str] = field(default_factory=set)  # the tokens it accepts
    refuse_intents: bool = False
    identified: list[dict[str, Any]] = field(default_factory=list)  # IDENTIFY payloads
    logins: list[str] = field(default_factory=list)  # the tokens each login tried
    commands_published: int = 0
    open_sockets: int = 0
    base: str = ""
    _runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.add_routes(
            [
                web.get("/api/v10/users/@me", self.me),
                web.get("/api/v10/oauth2/applications/@me", self.application),
                web.put("/api/v10/applications/{id}/commands", self.commands),
                web.get("/api/v10/gateway/bot", self.gateway_bot),
                web.get("/gateway/", self.gateway),
            ]
        )
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.base = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def install(self, monkeypatch: Any) -> None:
        monkeypatch.setattr(discord.http.Route, "BASE", f"{self.base}/api/v10")
        monkeypatch.setattr(
            DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(f"{self.gateway_url}/gateway/")
        )

    @property
    def gateway_url(self) -> str:
        return self.base.replace("http://", "ws://")

    def _token(self, request: web.Request) -> str:
        return request.headers.get("Authorization", "").removeprefix("Bot ")

    async def me(self, request: web.Request) -> web.Response:
        token = self._token(request)
        self.logins.append(token)
        if token not in self.tokens:
            return _json({"message": "401: Unauthorized", "code": 0}, status=401)
        return _json(_bot_user())

    async def application(self, request: web.Request) -> web.Response:
        return _json(
            {
                "id": APPLICATION_ID,
                "name": "Acme bot",
                "description": "",
                "icon": None,
                "bot_public": False,
                "bot_require_code_grant": False,
                "owner": {**_bot_user(), "id": "1500000000000000003", "bot": False},
                "verify_key": "0" * 64,
                "flags": 0,
            }
        )

    async def commands(self, request: web.Request) -> web.Response:
        self.commands_published += 1
        return _json([])

    async def gateway_bot(self, request: web.Request) -> web.Response:
        limit = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
        return _json(
            {"url": self.gateway_url + "/gateway/", "shards": 1, "session_start_limit": limit}
        )

    async def gateway(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self.open_sockets += 1
        try:
            await socket.send_json({"op": 10, "d": {"heartbeat_interval": 45_000}})
            async for message in socket:
                if message.type is not WSMsgType.TEXT:
                    break
                payload = message.json()
                if payload.get("op") == 2:
                    await self._identify(socket, payload["d"])
                elif payload.get("op") == 1:
                    await socket.send_json({"op": 11})
        finally:
            self.open_sockets -= 1
        return socket

    async def _identify(self, socket: web.WebSocketResponse, identify: dict[str, Any]) -> None:
        self.identified.append(identify)
        if self.refuse_intents:
            await socket.close(code=INTENTS_REFUSED, message=b"Disallowed intent(s).")
            return
        ready = {
            "v": 10,
            "user": _bot_user(),
            "guilds": [],
            "session_id": "fake-session",
            "resume_gateway_url": self.gateway_url + "/gateway/",
            "application": {"id": APPLICATION_ID, "flags": 0},
        }
        if identify.get("shard"):
            ready["shard"] = identify["shard"]
        await socket.send_json({"op": 0, "s": 1, "t": "READY", "d": ready})


def _json(data: Any, status: int = 200) -> web.Response:
    """JSON with exactly Discord's content type (discord.py compares it as a whole)."""
    body = json.dumps(data).encode()
    return web.Response(body=body, status=status, headers={"Content-Type": "application/json"})


def _bot_user() -> dict[str, Any]:
    return {
        "id": "1500000000000000002",
        "username": "acme-bot",
        "discriminator": "0",
        "global_name": None,
        "avatar": None,
        "bot": True,
    }


async def eventually(check: Any, *, timeout: float = 5.0) -> None:
    """Wait until ``check()`` (sync or async) is true."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)
