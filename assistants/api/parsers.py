"""The API's only request parser: JSON, bounded in size, and never a 500 for what a client sends."""

from __future__ import annotations

from django.conf import settings
from rest_framework import exceptions, parsers, status


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser plus the cases it lets through as server errors.

    DRF usually reads JSON bodies from the stream, where Django's DATA_UPLOAD_MAX_MEMORY_SIZE does
    not apply: it is enforced here (RequestDataTooBig maps to the same 413 in errors.py). Under
    the ASGI server config/request_body.py refuses such bodies before they are read, chunked
    ones too; this check covers every other way in (the test client, WSGI). Deeply
    nested arrays raise RecursionError, which DRF does not turn into a 400. (An unknown charset
    never gets here: Django falls back to DEFAULT_CHARSET.)
    """

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if request is not None and limit is not None and _content_length(request) > limit:
            raise PayloadTooLarge(too_large_message(limit))
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from exc


def too_large_message(limit: int | None) -> str:
    return f"The request body must be at most {limit} bytes."


def _content_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0
