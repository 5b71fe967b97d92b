"""Short-lived WebSocket tokens, each good for one session only.

A browser gets one from a backend holding the organization key and never sees that key.
Signed, not stored: any server process can verify it.
"""

from __future__ import annotations

from uuid import UUID

from django.conf import settings
from django.core import signing

SALT = "sessions.ws-token"


def ws_token_for(session_id: UUID) -> str:
    return signing.TimestampSigner(salt=SALT).sign_object({"s": str(session_id)})


def ws_token_valid(token: str, session_id: UUID) -> bool:
    try:
        payload = signing.TimestampSigner(salt=SALT).unsign_object(
            token, max_age=settings.WS_TOKEN_TTL_SECONDS
        )
    except signing.BadSignature:  # also SignatureExpired
        return False
    return isinstance(payload, dict) and payload.get("s") == str(session_id)


def ws_path_for(session_id: UUID) -> str:
    return f"/ws/sessions/{session_id}/?token={ws_token_for(session_id)}"
