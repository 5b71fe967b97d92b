"""API-key authentication: the tenant is resolved here, once, and hung on the request."""

from __future__ import annotations

from datetime import timedelta

from django.core.cache import cache
from django.utils import timezone
from rest_framework import authentication, exceptions

from assistants.models import ApiKey, Organization, prefix_of

LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiKeyUser:
    """The principal behind an API key request (DRF wants a user-like object)."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False

    def __init__(self, api_key: ApiKey) -> None:
        self.api_key = api_key
        self.organization: Organization = api_key.organization
        self.pk = self.id = None

    def __str__(self) -> str:
        return f"api-key:{self.api_key.prefix}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, raw_key = header.partition(" ")
        raw_key = raw_key.strip()
        if scheme.lower() != self.keyword.lower() or not raw_key or " " in raw_key:
            raise exceptions.AuthenticationFailed("Use 'Authorization: Bearer <api key>'.")
        api_key = verify_api_key(raw_key)
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        touch_last_used(api_key)
        return ApiKeyUser(api_key), api_key

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="api"'


def verify_api_key(raw_key: str) -> ApiKey | None:
    """The active key for this raw secret, or None. Constant-time on the secret part.

    Looked up in the database on every request, so a revocation is seen at once by every process.
    """
    prefix = prefix_of(raw_key)
    if prefix is None:
        return None
    # The auth boundary: the key is what tells whose organization this request acts for.
    keys = ApiKey.objects.unscoped().active()
    api_key = keys.select_related("organization").filter(prefix=prefix).first()
    if api_key is None or not api_key.matches(raw_key):
        return None
    return api_key


def touch_last_used(api_key: ApiKey) -> None:
    """Keep last_used_at within a minute of the truth with at most one write a minute per key."""
    if not cache.add(f"apikey-used:{api_key.pk}", 1, timeout=int(LAST_USED_RESOLUTION.seconds)):
        return
    now = timezone.now()
    ApiKey.objects.for_org(api_key.organization_id).filter(pk=api_key.pk).update(last_used_at=now)
    api_key.last_used_at = now
