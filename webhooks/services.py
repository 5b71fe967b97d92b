"""Endpoints, events and deliveries.

Events are written by ``event_emit`` inside the caller's transaction: the ``Event``, a
``Delivery`` per endpoint that wants it, and the django-tasks task (database backend) that
sends each one. The whole lot commits or rolls back with the data it describes.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from assistants.models import Assistant, Membership, Organization
from integrations.credentials import addresses_of, is_public, non_public_addresses
from webhooks.models import (
    EVENT_TYPES,
    Delivery,
    Event,
    WebhookEndpoint,
    new_secret,
)

logger = logging.getLogger(__name__)


# --- endpoints -------------------------------------------------------------------------------


def url_problem(url: str) -> str | None:
    """Why a tenant's webhook URL may not be used now, or None if it may (checked when saved
    and again before every attempt: a host may resolve elsewhere later)."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return "the URL is malformed"
    if parts.scheme not in {"http", "https"} or not host:
        return "the URL must be http:// or https:// with a host name"
    if settings.WEBHOOK_URLS_ALLOW_PRIVATE:
        return None
    try:
        private = non_public_addresses(host, port or 443)
    except (OSError, UnicodeError):
        return f"the host {host} could not be resolved"
    if private:
        return f"the host {host} resolves to {', '.join(private)}, which is not a public address"
    return None


@dataclass(frozen=True)
class PinnedTarget:
    """Where a delivery connects: the address checked, not a second lookup of the name (a host
    that answers a public address to the check and a private one to the connection — DNS
    rebinding — reaches only the public one)."""

    url: str  # the URL with the host replaced by the checked address
    host_header: str  # what the receiver sees as Host
    sni_hostname: str | None  # TLS: the certificate is checked against the name, not the IP


def pinned_target(url: str, resolve=addresses_of) -> PinnedTarget:
    """The checked address to connect to for ``url``; ValueError when it may not be called."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port
    addresses = resolve(host, port or (443 if parts.scheme == "https" else 80))
    if not addresses or not all(is_public(a) for a in addresses):
        raise ValueError(f"the host {host} does not resolve to public addresses only")
    address = addresses[0]
    literal = f"[{address}]" if address.version == 6 else str(address)
    netloc = f"{literal}:{port}" if port else literal
    return PinnedTarget(
        url=urlunsplit(parts._replace(netloc=netloc)),
        host_header=parts.netloc.rpartition("@")[2],
        sni_hostname=host if parts.scheme == "https" else None,
    )


def _check(endpoint: WebhookEndpoint) -> None:
    problem = url_problem(endpoint.url)
    if problem:
        raise ValidationError({"url": f"This URL cannot receive webhooks: {problem}."})
    unknown = set(endpoint.event_types) - set(EVENT_TYPES)
    if unknown:
        raise ValidationError(
            {"event_types": f"Unknown event types: {', '.join(sorted(unknown))}."}
        )
    if (
        endpoint.assistant is not None
        and endpoint.assistant.organization_id != endpoint.organization_id
    ):
        raise ValidationError({"assistant_id": "No assistant with this id."})
    endpoint.full_clean()


def endpoint_create(
    *,
    organization: Organization,
    url: str,
    description: str = "",
    enabled: bool = True,
    event_types: list[str] | None = None,
    assistant: Assistant | None = None,
) -> WebhookEndpoint:
    """A new endpoint with a fresh signing secret (``endpoint.secret``: show it this once)."""
    endpoint = WebhookEndpoint(
        organization=organization,
        assistant=assistant,
        url=url,
        description=description,
        enabled=enabled,
        event_types=event_types or [],
        secret=new_secret(),
    )
    _check(endpoint)
    endpoint.save()
    return endpoint


def endpoint_update(*, endpoint: WebhookEndpoint, **fields: Any) -> WebhookEndpoint:
    """Change the fields given. Enabling a disabled endpoint clears why it was disabled."""
    for name, value in fields.items():
        setattr(endpoint, name, value)
    if fields.get("enabled") and endpoint.disabled_at is not None:
        endpoint.disabled_at, endpoint.disabled_reason, endpoint.failing_since = None, "", None
    _check(endpoint)
    endpoint.save()
    return endpoint


def endpoint_rotate_secret(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    endpoint.secret = new_secret()
    endpoint.save(update_fields=["secret", "updated_at"])
    return endpoint


def endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    endpoint.delete()


# --- events ----------------------------------------------------------------------------------


def event_emit(
    *,
    organization_id: UUID,
    event_type: str,
    data: Callable[[], dict[str, Any]],
    assistant_id: UUID | None = None,
    analysis: bool = False,
) -> Event | None:
    """Record an event and its deliveries, in the caller's transaction. ``data`` is built only
    when an enabled endpoint wants the event; None when none does (nothing is stored).
    ``analysis``: the worker adds the summary and structured data before anything is sent."""
    endpoints = [
        e
        for e in WebhookEndpoint.objects.for_org(organization_id).filter(enabled=True)
        if e.wants(event_type, assistant_id)
    ]
    if not endpoints:
        return None
    from webhooks import tasks  # the tasks module imports this one

    with transaction.atomic():
        payload = {"type": event_type, "timestamp": _now_iso(), "data": data()}
        event = Event.objects.create(
            organization_id=organization_id,
            type=event_type,
            payload=payload,
            analysis_pending=analysis,
        )
        deliveries = Delivery.objects.bulk_create(
            [Delivery(event=event, endpoint=e, next_attempt_at=timezone.now()) for e in endpoints]
        )
        if analysis:
            tasks.analyze_event.enqueue(event.id)
        else:
            for delivery in deliveries:
                tasks.deliver.enqueue(str(delivery.id), 1)
    return event


def event_release(*, event: Event) -> None:
    """The report is complete: send it to every endpoint that waits for it."""
    from webhooks import tasks

    with transaction.atomic():
        Event.objects.unscoped().filter(pk=event.pk).update(analysis_pending=False)
        for delivery in event.deliveries.filter(status=Delivery.Status.PENDING, attempts=0):
            tasks.deliver.enqueue(str(delivery.id), 1)


def _now_iso() -> str:
    return timezone.now().isoformat().replace("+00:00", "Z")


# --- deliveries ------------------------------------------------------------------------------


def retry_delay(retry_index: int) -> float | None:
    """Seconds before the next attempt (full jitter under the schedule's cap), or None when
    the schedule is used up."""
    schedule = settings.WEBHOOK_RETRY_SCHEDULE_SECONDS
    if retry_index >= len(schedule):
        return None
    return random.uniform(0, schedule[retry_index])  # noqa: S311 - jitter, not a secret


def delivery_redeliver(*, delivery: Delivery) -> Delivery:
    """Send it again now, with a fresh round of retries (same ``webhook-id``)."""
    from webhooks import tasks

    with transaction.atomic():
        delivery = Delivery.objects.unscoped().select_for_update().get(pk=delivery.pk)
        if delivery.status == Delivery.Status.PENDING:
            raise ValidationError({"delivery": "This delivery is still being tried."})
        delivery.status = Delivery.Status.PENDING
        delivery.round_start = delivery.attempts
        delivery.next_attempt_at = timezone.now()
        delivery.save(update_fields=["status", "round_start", "next_attempt_at", "updated_at"])
        tasks.deliver.enqueue(str(delivery.id), delivery.attempts + 1)
    return delivery


def delivery_settle(*, delivery: Delivery, succeeded: bool, now=None) -> None:
    """After an attempt: done, retried later, or failed for good (which may disable the
    endpoint). ``delivery`` is locked by the caller's transaction."""
    from webhooks import tasks

    now = now or timezone.now()
    endpoint = WebhookEndpoint.objects.unscoped().select_for_update().get(pk=delivery.endpoint_id)
    if succeeded:
        delivery.status, delivery.succeeded_at, delivery.next_attempt_at = (
            Delivery.Status.SUCCEEDED,
            now,
            None,
        )
        endpoint.failing_since = None
        endpoint.save(update_fields=["failing_since"])
        return
    if endpoint.failing_since is None:
        endpoint.failing_since = now
        endpoint.save(update_fields=["failing_since"])
    delay = retry_delay(delivery.attempts - delivery.round_start - 1)
    if delay is not None and endpoint.enabled:
        delivery.next_attempt_at = now + timedelta(seconds=delay)
        tasks.deliver.using(run_after=delivery.next_attempt_at).enqueue(
            str(delivery.id), delivery.attempts + 1
        )
        return
    delivery.status, delivery.next_attempt_at = Delivery.Status.FAILED, None
    failing_for = (now - endpoint.failing_since).total_seconds()
    if endpoint.enabled and failing_for >= settings.WEBHOOK_DISABLE_AFTER_SECONDS:
        transaction.on_commit(
            lambda: endpoint_disable(endpoint_id=endpoint.pk, failing_for=failing_for)
        )


def endpoint_disable(*, endpoint_id: UUID, failing_for: float) -> None:
    """Disable a persistently failing endpoint, and tell the organization's owners."""
    hours = failing_for / 3600
    reason = (
        f"Disabled automatically: every delivery failed for {hours:.1f} h and a delivery used up"
        " its retries. Fix the receiver, then enable the endpoint again."
    )
    updated = (
        WebhookEndpoint.objects.unscoped()
        .filter(pk=endpoint_id, enabled=True)
        .update(enabled=False, disabled_at=timezone.now(), disabled_reason=reason)
    )
    if not updated:
        return
    endpoint = WebhookEndpoint.objects.unscoped().select_related("organization").get(pk=endpoint_id)
    Delivery.objects.unscoped().filter(endpoint=endpoint, status=Delivery.Status.PENDING).update(
        status=Delivery.Status.FAILED, next_attempt_at=None
    )
    owners = (
        Membership.objects.for_org(endpoint.organization_id)
        .filter(role=Membership.Role.OWNER)
        .select_related("user")
    )
    recipients = [m.user.email for m in owners if m.user.email]
    logger.warning("webhook endpoint %s disabled: %s", endpoint.pk, reason)
    if recipients:
        send_mail(
            subject=f"Webhook endpoint disabled: {endpoint.url}",
            message=(
                f"The webhook endpoint {endpoint.url} of {endpoint.organization.name} has been"
                f" disabled.\n\n{reason}\n"
            ),
            from_email=None,
            recipient_list=recipients,
            fail_silently=True,
        )
