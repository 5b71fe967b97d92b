"""GET /api/v1/protocol.schema.json: the live-session protocol as JSON Schema. Public, like the
docs it belongs to: it describes frames, never data."""

from __future__ import annotations

from functools import cache

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from sessions.protocol_schema import render


@cache
def _schema_text() -> str:
    return render()  # the classes do not change while the process runs


@require_GET
def protocol_schema(request: HttpRequest) -> HttpResponse:
    return HttpResponse(_schema_text(), content_type="application/json")
