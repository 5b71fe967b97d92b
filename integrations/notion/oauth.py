"""Notion's OAuth round trip (public integrations): who may start it, and the signed ``state``.

The state binds the round trip to the organization and the user who started it. It is signed
(TimestampSigner with its own salt), expires after ``STATE_MAX_AGE_SECONDS``, and its nonce is
spent in the cache on first use (Redis when REDIS_URL is set, so every process sees it): a
replayed callback is refused.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.models import User
from django.core import signing
from django.core.cache import cache

from assistants.admin_scoping import organizations_of
from assistants.models import Membership, Organization
from integrations.errors import ProviderError
from integrations.notion.client import notion_base_url

STATE_SALT = "integrations.notion.oauth.state"
STATE_MAX_AGE_SECONDS = 10 * 60
STATE_FIELDS = frozenset({"org", "user", "nonce"})
NONCE_CACHE_KEY = "notion-oauth-nonce:{}"
MANAGER_ROLES = (Membership.Role.OWNER, Membership.Role.ADMIN)
ONLY_MANAGERS = "Only owners and admins of an organization can connect Notion to it."
START_AGAIN = "Start again from the Connect Notion link."


class OAuthRefused(Exception):
    """The round trip stops here. ``message`` is safe to show; ``status`` is the page's."""

    def __init__(
        self, message: str, *, status: int = 400, choices: list[Organization] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.choices = choices or []


@dataclass(frozen=True)
class OAuthConfig:
    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str


def oauth_config() -> OAuthConfig:
    """The public integration's settings, or OAuthRefused (503) when any is missing."""
    config = OAuthConfig(
        client_id=settings.NOTION_CLIENT_ID,
        client_secret=settings.NOTION_CLIENT_SECRET,
        redirect_uri=settings.NOTION_REDIRECT_URI,
    )
    if not (config.client_id and config.client_secret and config.redirect_uri):
        raise OAuthRefused(
            "Connecting Notion with OAuth isn't configured on this server: the operator needs to "
            "set NOTION_CLIENT_ID, NOTION_CLIENT_SECRET and NOTION_REDIRECT_URI. An internal "
            "integration token can still be connected through the API.",
            status=503,
        )
    return config


def organization_to_connect(user: User, slug: str | None) -> Organization:
    """The organization named by ``slug``, or the only one the user manages."""
    manageable = organizations_of(user, MANAGER_ROLES)
    if slug:
        organization = manageable.filter(slug=slug).first()
        if organization is not None:
            return organization
        if organizations_of(user).filter(slug=slug).exists():
            raise OAuthRefused(ONLY_MANAGERS, status=403)
        raise OAuthRefused("No such organization among yours.", status=404)
    choices = list(manageable.order_by("name")[:50])
    if len(choices) == 1:
        return choices[0]
    if not choices:
        raise OAuthRefused(ONLY_MANAGERS, status=403)
    raise OAuthRefused("Choose the organization to connect Notion to.", choices=choices)


def sign_state(*, organization: Organization, user: User) -> str:
    payload = {"org": str(organization.pk), "user": str(user.pk), "nonce": secrets.token_urlsafe()}
    return signing.TimestampSigner(salt=STATE_SALT).sign_object(payload)


def authorize_url(config: OAuthConfig, state: str) -> str:
    query = urlencode(
        {
            "client_id": config.client_id,
            "response_type": "code",
            "owner": "user",
            "redirect_uri": config.redirect_uri,
            "state": state,
        }
    )
    return f"{notion_base_url().rstrip('/')}/v1/oauth/authorize?{query}"


def organization_from_state(state: str, user: User) -> Organization:
    """Check the callback's state for this user and spend its nonce. The organization it names
    must still count the user among its owners and admins."""
    payload = _unsigned_state(state)
    if payload["user"] != str(user.pk):
        raise OAuthRefused(
            f"This Notion authorization was started from another account. {START_AGAIN}"
        )
    if not cache.add(NONCE_CACHE_KEY.format(payload["nonce"]), 1, STATE_MAX_AGE_SECONDS):
        raise OAuthRefused(f"This Notion authorization was already used. {START_AGAIN}")
    organization = organizations_of(user, MANAGER_ROLES).filter(pk=payload["org"]).first()
    if organization is None:
        raise OAuthRefused(ONLY_MANAGERS, status=403)
    return organization


def _unsigned_state(state: str) -> dict[str, Any]:
    signer = signing.TimestampSigner(salt=STATE_SALT)
    try:
        payload = signer.unsign_object(state, max_age=STATE_MAX_AGE_SECONDS)
    except signing.SignatureExpired as exc:
        minutes = STATE_MAX_AGE_SECONDS // 60
        message = f"This Notion authorization expired (after {minutes} minutes). {START_AGAIN}"
        raise OAuthRefused(message) from exc
    except signing.BadSignature as exc:
        raise OAuthRefused(f"This Notion authorization isn't valid. {START_AGAIN}") from exc
    if not isinstance(payload, dict) or set(payload) != STATE_FIELDS:
        raise OAuthRefused(f"This Notion authorization isn't valid. {START_AGAIN}")
    return {key: str(value) for key, value in payload.items()}


def exchange_refused(error: ProviderError) -> OAuthRefused:
    """What to tell the user when Notion would not trade the code for a token."""
    if error.retryable:
        return OAuthRefused(f"{error.message} {START_AGAIN}", status=502)
    if error.code == "auth_failed":
        return OAuthRefused(
            "Notion refused this server's OAuth client credentials; the operator needs to check "
            "NOTION_CLIENT_ID and NOTION_CLIENT_SECRET.",
            status=502,
        )
    return OAuthRefused(
        f"Notion didn't accept this authorization (it may have expired or been used). {START_AGAIN}"
    )
