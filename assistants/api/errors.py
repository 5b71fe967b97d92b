"""One error body for every API error: {"error": {"code", "message", "fields"?}}."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.serializers import as_serializer_error
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from assistants.api.parsers import PayloadTooLarge

DATABASE_RETRY_AFTER_SECONDS = 5


class DatabaseUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The database is unavailable; nothing was changed. Try again shortly."
    default_code = "database_unavailable"


def _code_of(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    if isinstance(codes, str):
        return codes
    return "invalid"


def exception_handler(exc, context):
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("Not found.")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args[:1])
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(_field_errors(exc))
    elif isinstance(exc, OperationalError | InterfaceError):  # down, unreachable, no connections
        exc = DatabaseUnavailable()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        body = {"code": "invalid", "message": "The request is not valid.", "fields": fields}
    else:
        body = {"code": _code_of(exc), "message": str(exc.detail)}
    response.data = {"error": body}
    if response.status_code == status.HTTP_429_TOO_MANY_REQUESTS and "Retry-After" not in response:
        response["Retry-After"] = "60"
    if isinstance(exc, DatabaseUnavailable):
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response


def _field_errors(exc: DjangoValidationError) -> dict:
    """A model's full_clean() errors in the API's shape ("__all__" becomes "non_field_errors")."""
    errors = as_serializer_error(exc)
    if "__all__" in errors:
        errors[api_settings.NON_FIELD_ERRORS_KEY] = errors.pop("__all__")
    return errors


@csrf_exempt  # like every API view: no cookies here, and a POST must get this 404, not a CSRF 403
def not_found(request, *args, **kwargs) -> JsonResponse:
    """Unknown paths under /api/v1/ get a JSON 404 in the common shape, not an HTML page."""
    message = "Not found."
    if not request.path.endswith("/"):
        message = "Not found. API paths end with a slash, e.g. /api/v1/assistants/."
    return JsonResponse({"error": {"code": "not_found", "message": message}}, status=404)
