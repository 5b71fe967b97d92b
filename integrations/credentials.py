"""Which credentials a provider call of an organization uses.

An organization's own key (stored encrypted, see ProviderCredential) wins; otherwise the
platform's from settings. Neither: None, and the caller reports the provider as unavailable.
"""

from __future__ import annotations

from uuid import UUID

from integrations.models import ProviderCredential
from integrations.providers import ProviderCredentials, default_credentials


def credentials_for(organization_id: UUID, provider: str) -> ProviderCredentials | None:
    """Sync (ORM): call through database_sync_to_async from async code."""
    own = ProviderCredential.objects.for_org(organization_id).filter(provider=provider).first()
    if own is not None:
        return ProviderCredentials(api_key=own.api_key, base_url=own.base_url or None)
    return default_credentials(provider)
