"""Client -> server messages of the live-session WebSocket protocol (docs/PROTOCOL.md)."""

from __future__ import annotations

import json
import uuid
from typing import Any

MAX_TEXT_CHARS = 8_000
MAX_FRAME_BYTES = 64 * 1024
MAX_JSON_BYTES = 64 * 1024


class ProtocolError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def event(self) -> dict[str, str]:
        return {"type": "error", "code": self.code, "message": self.message}


def _no_fields(data: dict[str, Any]) -> dict[str, Any]:
    return {}


def _user_message(data: dict[str, Any]) -> dict[str, Any]:
    content = data.get("content")
    if not isinstance(content, str) or not content.strip():
        raise ProtocolError("invalid_field", "user-message needs a non-empty string 'content'.")
    if len(content) > MAX_TEXT_CHARS:
        raise ProtocolError(
            "text_too_long",
            f"'content' is {len(content)} characters; the limit is {MAX_TEXT_CHARS}.",
        )
    return {"content": content.strip()}


def _mark(data: dict[str, Any]) -> dict[str, Any]:
    message_id, played_ms = data.get("message_id"), data.get("played_ms")
    try:
        message_id = str(uuid.UUID(str(message_id)))
    except ValueError:
        raise ProtocolError("invalid_field", "mark needs a 'message_id' UUID.") from None
    if isinstance(played_ms, bool) or not isinstance(played_ms, int | float) or played_ms < 0:
        raise ProtocolError("invalid_field", "mark needs 'played_ms', a number >= 0.")
    return {"message_id": message_id, "played_ms": float(played_ms)}


PARSERS = {
    "user-message": _user_message,
    "audio-commit": _no_fields,
    "interrupt": _no_fields,
    "mark": _mark,
    "end-session": _no_fields,
    "ping": _no_fields,
}


def parse_text_frame(text: str) -> tuple[str, dict[str, Any]]:
    """The message type and its validated fields, or ProtocolError with a stable code."""
    if len(text) > MAX_JSON_BYTES:
        raise ProtocolError(
            "message_too_large", f"Text frames are limited to {MAX_JSON_BYTES} bytes."
        )
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProtocolError("invalid_json", f"Not valid JSON: {exc.msg}.") from None
    if not isinstance(data, dict):
        raise ProtocolError("invalid_message", "A text frame must be a JSON object.")
    kind = data.get("type")
    if kind not in PARSERS:
        known = ", ".join(PARSERS)
        raise ProtocolError(
            "unknown_type", f"Unknown message type {kind!r}; expected one of {known}."
        )
    return kind, PARSERS[kind](data)


def check_audio_frame(frame: bytes) -> None:
    if len(frame) > MAX_FRAME_BYTES:
        raise ProtocolError(
            "audio_frame_too_large", f"Audio frames are limited to {MAX_FRAME_BYTES} bytes."
        )
    if len(frame) % 2:
        raise ProtocolError("invalid_audio", "Audio must be 16-bit PCM: an even number of bytes.")
