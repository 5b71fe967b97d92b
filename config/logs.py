"""Log plumbing: request and session ids on every record, secrets masked, JSON when asked.

The ids live in context variables. The request-id middleware sets one per HTTP request; a
live session sets its id when it starts, and every task it spawns inherits it (asyncio copies
the context into new tasks), so a line logged deep in a turn still says which session it was.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
# django.request logs a response after the request-id middleware has reset the context variable:
# the middleware leaves the id in the request's META under this key too.
REQUEST_ID_META = "voiceplatform.request_id"
session_id: ContextVar[str | None] = ContextVar("session_id", default=None)

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

# Defense in depth: code should never log these, but a library or an exception message might.
_SECRETS = [
    (re.compile(r"\b(vp_[sp]k_[0-9a-f]{12})_[A-Za-z0-9_\-]+"), r"\1_***"),
    (re.compile(r"(?i)\b(bearer\s+)[^\s\"',;]+"), r"\1***"),
    (re.compile(r"(?i)(xi-api-key[\"']?\s*[:=]\s*[\"']?)[^\s\"',;}]+"), r"\1***"),
    (re.compile(r"\b(sk|xi)-(?!api-key)[A-Za-z0-9_\-]{6,}"), r"\1-***"),
    # ElevenLabs keys (sk_<hex>); Notion tokens (ntn_..., and secret_... before late 2024)
    (re.compile(r"\b(sk|ntn|secret)_[A-Za-z0-9]{16,}"), r"\1_***"),
    (re.compile(r"(?i)([?&](?:token|access_token|api_key|key)=)[^&\s\"'#]+"), r"\1***"),
]

# Attributes every LogRecord has; anything else on a record came from ``extra=``. Django's
# ``request`` extra is an object (and its repr holds the query string): the ids stand for it.
_STANDARD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "request"}


def redact(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


def new_request_id(supplied: str | None = None) -> str:
    """The client's X-Request-ID when it is a plain token, else a fresh one."""
    if supplied and _SAFE_REQUEST_ID.match(supplied):
        return supplied
    return uuid.uuid4().hex


class ContextFilter(logging.Filter):
    """Put the current request and session ids on the record (unless ``extra=`` did)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            # django.request logs a response after the middleware has left; it passes the request.
            meta = getattr(getattr(record, "request", None), "META", None) or {}
            record.request_id = request_id.get() or meta.get(REQUEST_ID_META)
        if getattr(record, "session_id", None) is None:
            record.session_id = session_id.get()
        return True


class RedactingFilter(logging.Filter):
    """Mask API keys, bearer tokens, provider keys and token query parameters."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = [
            f"{name}={value}"
            for name in ("request_id", "session_id")
            if (value := getattr(record, name, None))
        ]
        return f"{line} [{' '.join(ids)}]" if ids else line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, ids, extras, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "session_id": getattr(record, "session_id", None),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and key not in entry:
                entry[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, default=str)
