"""The worker's side (``manage.py db_worker``): send a delivery, and finish a report's analysis.

``deliver(delivery_id, attempt)`` carries the number of the attempt it is: a task that finds
the delivery already past it (sent twice, or redelivered meanwhile) does nothing, so a delivery
is attempted once per scheduled attempt. Every attempt of a delivery carries the same
``webhook-id`` (the event's id).
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime
from typing import Any

import httpx
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import task
from standardwebhooks import Webhook

from webhooks.models import Delivery, DeliveryAttempt, Event
from webhooks.services import delivery_settle, event_release, pinned_target, url_problem

logger = logging.getLogger(__name__)
EXCERPT_BYTES = 1024
USER_AGENT = "voice-platform-webhooks/1"


@task()
def deliver(delivery_id: str, attempt: int) -> None:
    delivery = (
        Delivery.objects.unscoped()
        .select_related("endpoint", "event")
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None or not _due(delivery, attempt):
        return
    started_at = timezone.now()
    if not delivery.endpoint.enabled:
        outcome: dict[str, Any] = {"error": "the endpoint is disabled"}
    elif problem := url_problem(delivery.endpoint.url):
        outcome = {"error": f"refused: {problem}"[:300]}
    else:
        outcome = send(delivery.endpoint.url, delivery.endpoint.secret, delivery.event, started_at)
    _record(delivery_id, attempt, started_at, outcome)


def _due(delivery: Delivery, attempt: int) -> bool:
    return delivery.status == Delivery.Status.PENDING and delivery.attempts + 1 == attempt


def signed_headers(secret: str, event_id: str, at: datetime, body: str) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": event_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(event_id, at, body),
    }


def send(url: str, secret: str, event: Event, at: datetime) -> dict[str, Any]:
    """POST the event; what happened: status code, latency, response excerpt or error."""
    body = json.dumps(event.payload, separators=(",", ":"))
    headers = signed_headers(secret, event.id, at, body)
    began = time.perf_counter()
    extensions: dict[str, Any] = {}
    if not settings.WEBHOOK_URLS_ALLOW_PRIVATE:
        try:  # connect to the address that was checked, not to a second lookup of the name
            target = pinned_target(url)
        except (OSError, UnicodeError, ValueError) as exc:
            return {"latency_ms": _ms(began), "error": f"refused: {exc}"[:300]}
        url, headers["host"] = target.url, target.host_header
        if target.sni_hostname:
            extensions["sni_hostname"] = target.sni_hostname
    try:
        with httpx.Client(
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS, follow_redirects=False
        ) as client:
            response = client.post(
                url, content=body.encode(), headers=headers, extensions=extensions
            )
    except httpx.TimeoutException:
        return {"latency_ms": _ms(began), "error": "timed out"}
    except httpx.HTTPError as exc:
        return {"latency_ms": _ms(began), "error": f"{type(exc).__name__}: {exc}"[:300]}
    excerpt = response.content[:EXCERPT_BYTES].decode("utf-8", "replace")
    return {"latency_ms": _ms(began), "status_code": response.status_code, "excerpt": excerpt}


def _ms(began: float) -> int:
    return round((time.perf_counter() - began) * 1000)


@transaction.atomic
def _record(delivery_id: str, attempt: int, started_at: datetime, outcome: dict[str, Any]) -> None:
    delivery = Delivery.objects.unscoped().select_for_update().get(pk=delivery_id)
    if not _due(delivery, attempt):
        return
    status_code = outcome.get("status_code")
    error = outcome.get("error", "")
    if status_code is not None and not 200 <= status_code < 300:
        error = f"HTTP {status_code}"
    DeliveryAttempt.objects.create(
        delivery=delivery,
        number=attempt,
        started_at=started_at,
        status_code=status_code,
        latency_ms=outcome.get("latency_ms"),
        response_excerpt=outcome.get("excerpt", "")[:EXCERPT_BYTES],
        error=error,
    )
    delivery.attempts = attempt
    delivery.last_status_code = status_code
    delivery.last_error = error
    delivery_settle(delivery=delivery, succeeded=not error)
    delivery.save()


@task()
def analyze_event(event_id: str) -> None:
    """Add the summary and structured data the assistant asked for to a session.ended report,
    then send it. A failed analysis is reported in the payload; the report is sent anyway."""
    from webhooks.analysis import analyze_report

    event = Event.objects.unscoped().filter(pk=event_id, analysis_pending=True).first()
    if event is None:
        return
    report = event.payload["data"]["report"]
    try:
        report.update(analyze_report(event.payload["data"]["session"]["assistant_id"], report))
    except Exception:  # the report must go out even if the analysis breaks
        logger.exception("analysis of %s failed", event_id)
        report.update(summary=None, structured_data=None, analysis_errors=["analysis failed"])
    Event.objects.unscoped().filter(pk=event_id).update(payload=event.payload)
    event_release(event=event)
