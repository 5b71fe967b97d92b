"""Prometheus metrics: every definition, the helpers that observe them, and GET /metrics.

One process: samples live in this process's default registry and /metrics reports them.
Several processes on one host: set PROMETHEUS_MULTIPROC_DIR to an empty directory, the same for
all of them, before they start. Each process then writes its samples to files there, and
/metrics on any process reports the sum over all of them (prometheus-client's multiprocess
mode; the live-sessions gauge counts processes that are still running). Empty the directory
before the processes start again. Without it, scrape every process separately.
"""

from __future__ import annotations

import atexit
import hmac
import os
from typing import TYPE_CHECKING

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client import REGISTRY as PROCESS_REGISTRY

if TYPE_CHECKING:
    from integrations.errors import ProviderError
    from integrations.pricing import Cost, Models
    from sessions.protocol import Latency

MULTIPROCESS = bool(settings.PROMETHEUS_MULTIPROC_DIR)
LATENCY_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "vp_http_requests_total",
    "HTTP requests by method, route (the URL pattern, not the path) and status.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "vp_http_request_duration_seconds",
    "Time to produce an HTTP response, by route.",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
LIVE_SESSIONS = Gauge(
    "vp_live_sessions",
    "WebSocket sessions connected now, or still storing what was said after a hang-up.",
    multiprocess_mode="livesum",
)
TURNS = Counter(
    "vp_turns_total",
    "Assistant replies stored, by outcome (completed, interrupted, failed).",
    ["outcome"],
)
STAGE_LATENCY = Histogram(
    "vp_stage_latency_seconds",
    "Per-stage latency of assistant replies: stt, llm_ttft, tts_ttfb, first_audio.",
    ["stage"],
    buckets=LATENCY_BUCKETS,
)
PROVIDER_ERRORS = Counter(
    "vp_provider_errors_total",
    "Provider failures reported to a client, by provider and error code.",
    ["provider", "code"],
)
TOOL_CALLS = Counter(
    "vp_tool_calls_total",
    "Tool calls by tool name and outcome (ok, error).",
    ["tool", "outcome"],
)

PREEMPTIVE_REPLIES = Counter(
    "vp_preemptive_replies_total",
    "Replies started at a short pause before the end of turn: used, or discarded unheard.",
    ["outcome"],
)
STT_FALLBACKS = Counter(
    "vp_stt_stream_fallbacks_total",
    "Utterances finished in batch after their realtime transcription failed, by error code.",
    ["provider", "code"],
)


def count_preemptive_reply(outcome: str) -> None:
    PREEMPTIVE_REPLIES.labels(outcome).inc()


def count_stt_fallback(error: ProviderError) -> None:
    STT_FALLBACKS.labels(error.provider, error.code).inc()


def observe_reply(latency: Latency, *, outcome: str, first_of_turn: bool) -> None:
    """A stored assistant reply and its latency (milliseconds, None when not measured)."""
    TURNS.labels(outcome).inc()
    stages = {
        "stt": latency["stt_ms"] if first_of_turn else None,  # the turn's, not each reply's
        "llm_ttft": latency["llm_ttft_ms"],
        "tts_ttfb": latency["tts_ttfb_ms"],
        "first_audio": latency["first_audio_ms"],
    }
    for stage, value in stages.items():
        if value is not None:
            STAGE_LATENCY.labels(stage).observe(value / 1000)


def observe_provider_error(error: ProviderError) -> None:
    PROVIDER_ERRORS.labels(error.provider, error.code).inc()


COST = Counter(
    "vp_cost_usd_total",
    "Cost of stored messages in US dollars (integrations/pricing.py), by kind and model.",
    ["kind", "model"],
)


def count_cost(cost: Cost, models: Models) -> None:
    """One stored message's cost, per kind (llm, tts, stt) and the model that kind used."""
    for kind, model, amount in (
        ("llm", models.llm, cost["llm"]),
        ("tts", models.tts, cost["tts"]),
        ("stt", models.stt, cost["stt"]),
    ):
        if float(amount):
            COST.labels(kind, model).inc(float(amount))


def _registry() -> CollectorRegistry:
    if not MULTIPROCESS:
        return PROCESS_REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus exposition. Open with DEBUG; otherwise only with METRICS_TOKEN, else 404."""
    token = settings.METRICS_TOKEN
    if token:
        if not _bearer_matches(request, token):
            response = HttpResponse("Unauthorized\n", status=401, content_type="text/plain")
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    elif not settings.DEBUG:
        raise Http404
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)


def _bearer_matches(request: HttpRequest, token: str) -> bool:
    scheme, _, supplied = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        supplied.strip().encode(), token.encode()
    )


def _forget_this_process() -> None:
    multiprocess.mark_process_dead(os.getpid(), settings.PROMETHEUS_MULTIPROC_DIR)


if MULTIPROCESS:
    atexit.register(_forget_this_process)  # a stopped process's live sessions no longer count
