"""Writes for organization integrations: Notion workspaces and the organization's provider keys.

Both ways in (an OAuth code, or an internal integration token) end in ``notion_connection_save``:
one row per organization and workspace, so reconnecting repairs a broken connection instead of
adding a second one. Tokens are checked with Notion before anything is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from asgiref.sync import async_to_sync
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from assistants.models import Organization
from integrations.errors import ProviderError
from integrations.models import NotionConnection, ProviderCredential
from integrations.notion.client import NotionAPI, exchange_oauth_code
from integrations.notion.oauth import OAuthConfig

DEFAULT_CONNECTION_NAME = "Notion"


@dataclass(frozen=True)
class NotionGrant:
    """What Notion says about a token: the workspace and bot it acts as."""

    token: str
    workspace_id: str
    workspace_name: str
    bot_id: str


@transaction.atomic
def notion_connection_save(
    *,
    organization: Organization,
    grant: NotionGrant,
    kind: str,
    name: str = "",
    connected_by: User | None = None,
) -> NotionConnection:
    """Store the token of a workspace: update the organization's connection to that workspace
    (marking it active again), or create one."""
    connection = _existing_connection(organization, grant) or NotionConnection(
        organization=organization
    )
    connection.name = name or connection.name or grant.workspace_name or DEFAULT_CONNECTION_NAME
    connection.kind = kind
    connection.token = grant.token
    connection.workspace_id = grant.workspace_id
    connection.workspace_name = grant.workspace_name
    connection.bot_id = grant.bot_id
    connection.status = NotionConnection.Status.ACTIVE
    connection.broken_at = None
    connection.connected_at = timezone.now()
    connection.connected_by = connected_by or connection.connected_by
    connection.full_clean()
    connection.save()
    return connection


def _existing_connection(organization: Organization, grant: NotionGrant) -> NotionConnection | None:
    """The organization's connection to the same workspace. When Notion does not name the
    workspace (``users/me`` may omit its id), the same bot user stands for it."""
    queryset = NotionConnection.objects.for_org(organization).select_for_update()
    if grant.workspace_id:
        return queryset.filter(workspace_id=grant.workspace_id).first()
    if grant.bot_id:
        return queryset.filter(workspace_id="", bot_id=grant.bot_id).first()
    return None


def notion_connection_from_oauth_code(
    *,
    organization: Organization,
    code: str,
    config: OAuthConfig,
    connected_by: User | None = None,
) -> NotionConnection:
    """Trade an OAuth code for a token and store it. Raises ProviderError when Notion refuses."""
    granted = async_to_sync(exchange_oauth_code)(
        client_id=config.client_id,
        client_secret=config.client_secret,
        code=code,
        redirect_uri=config.redirect_uri,
    )
    grant = NotionGrant(
        token=str(granted["access_token"]),
        workspace_id=str(granted.get("workspace_id") or ""),
        workspace_name=str(granted.get("workspace_name") or ""),
        bot_id=str(granted.get("bot_id") or ""),
    )
    return notion_connection_save(
        organization=organization,
        grant=grant,
        kind=NotionConnection.Kind.OAUTH,
        connected_by=connected_by,
    )


def notion_connection_from_token(
    *,
    organization: Organization,
    token: str,
    name: str = "",
    connected_by: User | None = None,
) -> NotionConnection:
    """Store an internal integration token once Notion accepts it.

    A token Notion refuses is a ValidationError on ``token``; Notion being unreachable stays a
    (retryable) ProviderError."""
    try:
        bot = async_to_sync(_bot_user)(token)
    except ProviderError as exc:
        if exc.retryable:
            raise
        message = "Notion rejected this token." if exc.code == "auth_failed" else exc.message
        raise ValidationError({"token": message}) from exc
    details: dict[str, Any] = bot.get("bot") or {}
    grant = NotionGrant(
        token=token,
        workspace_id=str(details.get("workspace_id") or ""),
        workspace_name=str(details.get("workspace_name") or ""),
        bot_id=str(bot.get("id") or ""),
    )
    return notion_connection_save(
        organization=organization,
        grant=grant,
        kind=NotionConnection.Kind.INTERNAL,
        name=name,
        connected_by=connected_by,
    )


async def _bot_user(token: str) -> dict[str, Any]:
    async with NotionAPI(token) as api:
        return await api.retrieve_bot_user()


def notion_connection_delete(*, connection: NotionConnection) -> None:
    """Disconnect: forget the token. Assistants naming this connection stop using Notion."""
    connection.delete()


@transaction.atomic
def provider_credential_set(
    *,
    organization: Organization,
    provider: str,
    api_key: str = "",
    base_url: str | None = None,
) -> ProviderCredential:
    """Store or replace an organization's own key for ``provider``. A blank ``api_key`` keeps the
    stored one (a new credential needs one); ``base_url`` None keeps the stored base URL. The
    caller checks a base URL (``validate_organization_base_url``) and who may set one."""
    credentials = ProviderCredential.objects.for_org(organization).select_for_update()
    credential = credentials.filter(provider=provider).first() or ProviderCredential(
        organization=organization, provider=provider
    )
    if api_key:
        credential.api_key = api_key
    if not credential.api_key:
        raise ValidationError({"api_key": "Enter the provider's API key."})
    if base_url is not None:
        credential.base_url = base_url
    credential.full_clean()
    credential.save()
    return credential


def provider_credential_delete(*, credential: ProviderCredential) -> None:
    """Forget the organization's key: its sessions use the platform's credentials again."""
    credential.delete()
