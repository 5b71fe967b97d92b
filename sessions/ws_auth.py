"""The login cookie of a WebSocket, read once when it opens.

Channels' ``AuthMiddlewareStack`` does this too, but its session middleware also wraps
``send`` to save the login session after every message: on a live socket that is two lazy
attribute look-ups and a check per audio or text frame (a profile at N = 100 put ~7 % of the
turn's samples under that wrapper, docs/PERFORMANCE.md). A live socket never changes the
login session, so here the user is resolved before the consumer starts and ``send`` is left
alone.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from channels.auth import get_user
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http.cookie import parse_cookie


def _session_key(scope: dict[str, Any]) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"cookie":
            return parse_cookie(value.decode("latin-1")).get(settings.SESSION_COOKIE_NAME)
    return None


class LoginCookieMiddleware:
    """Sets ``scope["user"]``: the user of the Django login cookie, or ``AnonymousUser``."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        scope = dict(scope)
        key = _session_key(scope)
        if key:
            store = import_module(settings.SESSION_ENGINE).SessionStore
            # get_user reads scope["session"] only; types-channels asks for a whole scope.
            scope["user"] = await get_user({"session": store(key)})  # type: ignore[typeddict-item]
        else:
            scope["user"] = AnonymousUser()  # no cookie: no database query on connect
        return await self.inner(scope, receive, send)
