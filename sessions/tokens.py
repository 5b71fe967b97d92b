"""Short-lived WebSocket tokens, each good for one session only.

A browser gets one from a backend holding the organization key and never sees that key.
Signed, not stored: any server process can verify it. A token names the API key that minted
it, so revoking the key revokes its tokens at once (the consumer checks the key on connect,
and open connections minted by it are closed).
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.conf import settings
from django.core import signing

SALT = "sessions.ws-token"


@dataclass(frozen=True)
class TokenClaims:
    session_id: str
    api_key_id: str | None  # None for tokens minted for a logged-in member


def ws_token_for(session_id: UUID, api_key_id: UUID | None = None) -> str:
    payload = {"s": str(session_id)}
    if api_key_id is not None:
        payload["k"] = str(api_key_id)
    return signing.TimestampSigner(salt=SALT).sign_object(payload)


def ws_token_claims(token: str, session_id: UUID) -> TokenClaims | None:
    """What a valid, unexpired token for this session says; None for any other token."""
    try:
        payload = signing.TimestampSigner(salt=SALT).unsign_object(
            token, max_age=settings.WS_TOKEN_TTL_SECONDS
        )
    except signing.BadSignature:  # also SignatureExpired
        return None
    if not isinstance(payload, dict) or payload.get("s") != str(session_id):
        return None
    key = payload.get("k")
    return TokenClaims(str(session_id), key if isinstance(key, str) else None)


def ws_path_for(session_id: UUID, api_key_id: UUID | None = None) -> str:
    return f"/ws/sessions/{session_id}/?token={ws_token_for(session_id, api_key_id)}"


def api_key_group(api_key_id: UUID | str) -> str:
    """The channel-layer group of the live connections whose tokens this key minted."""
    return f"api-key-{api_key_id}"
