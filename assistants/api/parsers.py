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

    DRF reads JSON bodies from the stream, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE never applies:
    it is enforced here. Deeply nested arrays raise RecursionError and an unknown charset raises
    LookupError, neither of which DRF turns into a 400.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if request is not None and limit is not None and _content_length(request) > limit:
            raise PayloadTooLarge(f"The request body must be at most {limit} bytes.")
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from exc
        except LookupError as exc:
            raise exceptions.ParseError("Unknown charset in the Content-Type header.") from exc


def _content_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0
