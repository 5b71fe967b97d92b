"""Cross-origin access for the one endpoint browsers call with a public key.

The API authenticates with bearer keys only, never cookies, so a CORS header grants a page
nothing it does not already hold. Which origins a public key may be used from is the key's own
``allowed_origins``, enforced by the service, not here: the preflight cannot know the key (browsers
send it without the Authorization header), so it is answered for any origin, before
authentication.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import patch_vary_headers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

PREFLIGHT_MAX_AGE = 600


def is_preflight(request: HttpRequest | Request) -> bool:
    return (
        request.method == "OPTIONS"
        and "Origin" in request.headers
        and "Access-Control-Request-Method" in request.headers
    )


class BrowserCallableMixin(APIView):
    """For an API view: answer CORS preflights, and let browsers read the answers to
    ``cors_methods`` requests."""

    cors_methods: tuple[str, ...] = ("POST",)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        if is_preflight(request):
            return  # answered by options(): nothing to authenticate, nothing is read
        super().initial(request, *args, **kwargs)

    # A handler may answer with any HttpResponse (DRF's finalize_response takes them); the stub
    # narrows options() to DRF's Response.
    def options(  # type: ignore[override]
        self, request: Request, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        if not is_preflight(request):
            return super().options(request, *args, **kwargs)
        response = HttpResponse(status=204)
        response["Access-Control-Allow-Origin"] = request.headers["Origin"]
        response["Access-Control-Allow-Methods"] = ", ".join(self.cors_methods)
        response["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
        response["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
        patch_vary_headers(response, ["Origin"])
        return response

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        origin = request.headers.get("Origin")
        if origin and request.method in self.cors_methods:
            response["Access-Control-Allow-Origin"] = origin
            response["Access-Control-Expose-Headers"] = "Retry-After"
            patch_vary_headers(response, ["Origin"])
        return response
