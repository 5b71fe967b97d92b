"""Which credentials a provider call of an organization uses.

An organization's own key (stored encrypted, see ProviderCredential) wins; otherwise the
platform's from settings. Neither: None, and the caller reports the provider as unavailable.

An organization's base URL is where the server itself sends requests, so it must not reach
the server's own network (server-side request forgery): only superusers may set one (admin),
and one whose host resolves to a loopback, private, link-local or otherwise non-public address
is refused when saved and again when a session would use it, unless the operator allows it
(PROVIDER_BASE_URLS_ALLOW_PRIVATE, e.g. for a vLLM server next to the platform). The platform's
own base URLs (OPENAI_BASE_URL, ...) are the operator's and are not checked.

The check resolves the host when a session starts; the SDK resolves it again to connect, so a
name whose DNS answer changes in between is not covered. That needs a superuser to have set an
attacker's domain, as only superusers set base URLs.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from urllib.parse import urlsplit
from uuid import UUID

from django.conf import settings
from django.core.exceptions import ValidationError

from integrations.models import ProviderCredential
from integrations.providers import ProviderCredentials, default_credentials

logger = logging.getLogger(__name__)


def credentials_for(organization_id: UUID, provider: str) -> ProviderCredentials | None:
    """Sync (ORM, DNS): call through database_sync_to_async from async code."""
    own = ProviderCredential.objects.for_org(organization_id).filter(provider=provider).first()
    if own is None:
        return default_credentials(provider)
    if own.base_url and (problem := base_url_problem(own.base_url)):
        logger.warning(
            "provider credential %s (%s) of organization %s not used: %s",
            own.pk,
            provider,
            organization_id,
            problem,
        )
        return None
    return ProviderCredentials(api_key=own.api_key, base_url=own.base_url or None)


def validate_organization_base_url(url: str) -> None:
    """For forms: a ValidationError saying why an organization may not use ``url``."""
    if url and (problem := base_url_problem(url)):
        raise ValidationError(problem, code="base_url_not_public")


def base_url_problem(url: str) -> str | None:
    """Why an organization's provider base URL may not be used, or None if it may."""
    if settings.PROVIDER_BASE_URLS_ALLOW_PRIVATE:
        return None
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return "the base URL must be http:// or https:// with a host name"
    try:
        private = non_public_addresses(parts.hostname, parts.port or 443)
    except (OSError, UnicodeError):
        return f"the host {parts.hostname} could not be resolved, so it cannot be checked"
    if private:
        return (
            f"the host {parts.hostname} resolves to {', '.join(private)}, which is not a public"
            " address; the platform operator may allow such base URLs with"
            " PROVIDER_BASE_URLS_ALLOW_PRIVATE"
        )
    return None


def addresses_of(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    # getaddrinfo gives "fe80::1%eth0" for scoped addresses; the scope does not change the kind.
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def non_public_addresses(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to that a tenant-set URL must not reach (sorted; empty
    when all are public). OSError or UnicodeError when it does not resolve."""
    return sorted({str(a) for a in addresses_of(host, port) if not is_public(a)})


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    return address.is_global and not address.is_multicast
