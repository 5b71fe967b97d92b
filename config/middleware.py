"""Request plumbing for every HTTP request: a request id, and the request metrics."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from config import logs, metrics

REQUEST_ID_HEADER = "X-Request-ID"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestIdMiddleware:
    """Use the caller's X-Request-ID (if it is a plain token) or make one; log it, return it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = logs.new_request_id(request.headers.get(REQUEST_ID_HEADER))
        token = logs.request_id.set(request_id)
        request.META[logs.REQUEST_ID_META] = request_id  # django.request logs after we return
        try:
            response = self.get_response(request)
        finally:
            logs.request_id.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


class MetricsMiddleware:
    """Count requests by URL pattern (bounded), never by raw path (one series per id)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        route = _route(request)
        method = request.method if request.method in METHODS else "OTHER"
        metrics.HTTP_REQUESTS.labels(method, route, str(response.status_code)).inc()
        metrics.HTTP_DURATION.labels(route).observe(time.perf_counter() - started)
        return response


def _route(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None or match.route is None:
        return "unmatched"
    return "/" + match.route
