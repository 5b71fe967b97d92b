"""How a client joins a session's WebSocket: absolute URL and single-session token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.utils import timezone

from sessions.models import Session
from sessions.tokens import ws_path_for


@dataclass(frozen=True)
class WsAccess:
    url: str
    token: str
    expires_at: datetime


def ws_access_for(request, session: Session) -> WsAccess:
    """The absolute WebSocket URL of a session and its single-session token."""
    # Signed timestamps have whole seconds: rounding down never promises more than the token has.
    issued_at = timezone.now().replace(microsecond=0)
    api_key = getattr(request, "auth", None)  # the key the session's token is minted by
    path = ws_path_for(session.id, getattr(api_key, "pk", None))
    base = settings.PUBLIC_BASE_URL or f"{request.scheme}://{request.get_host()}"
    scheme, _, rest = base.partition("://")
    return WsAccess(
        url=f"{'wss' if scheme == 'https' else 'ws'}://{rest}{path}",
        token=parse_qs(urlsplit(path).query)["token"][0],
        expires_at=issued_at + timedelta(seconds=settings.WS_TOKEN_TTL_SECONDS),
    )
