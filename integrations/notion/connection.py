"""Which Notion token a tool call uses: the calling organization's active NotionConnection.

This is the only place tools get Notion credentials, and it only ever looks inside the
context's organization (``for_org``). The ORM is reached through ``database_sync_to_async``,
which also closes the worker thread's stale connections, as consumers need.
"""

from __future__ import annotations

import hmac
import logging
import uuid
from typing import TYPE_CHECKING

from channels.db import database_sync_to_async
from django.utils import timezone

from integrations.tools.base import ToolContext, ToolError

if TYPE_CHECKING:
    from integrations.models import NotionConnection, NotionConnectionQuerySet

logger = logging.getLogger(__name__)


class NotionNotConnected(ToolError):
    """No usable Notion connection; the message tells the user what to do."""


def _connections(context: ToolContext) -> NotionConnectionQuerySet:
    from integrations.models import NotionConnection  # models import late: apps load first

    return NotionConnection.objects.for_org(context.organization_id).active()


def _chosen_connection_id(context: ToolContext) -> uuid.UUID | None:
    raw = context.options.get("connection_id")
    if not raw:
        return None
    try:
        return uuid.UUID(str(raw))
    except ValueError as exc:
        raise NotionNotConnected("The assistant's Notion connection setting is invalid.") from exc


@database_sync_to_async
def active_connection(context: ToolContext) -> NotionConnection:
    chosen = _chosen_connection_id(context)
    connections = _connections(context)
    if chosen is not None:
        connection = connections.filter(pk=chosen).first()
        if connection is None:
            raise NotionNotConnected(
                "The Notion connection chosen for this assistant is missing or broken; "
                "reconnect Notion in the dashboard."
            )
        return connection
    found = list(connections.order_by("-connected_at")[:2])
    if not found:
        raise NotionNotConnected("Notion isn't connected for this organization yet.")
    if len(found) > 1:
        raise NotionNotConnected(
            "Several Notion workspaces are connected; "
            "choose one in the assistant's Notion tool settings."
        )
    return found[0]


async def resolve_notion_token(context: ToolContext) -> str:
    """The Notion token for this call. Raises NotionNotConnected (a ToolError) when none."""
    connection = await active_connection(context)
    return str(connection.token)


async def mark_notion_token_broken(context: ToolContext, token: str) -> None:
    """Notion answered 401 for ``token``: flag its connection so the dashboard asks for a
    reconnect and no further calls are made with it."""
    await _mark_broken(context, token)


@database_sync_to_async
def _mark_broken(context: ToolContext, token: str) -> None:
    # Tokens are compared after decryption: the stored ciphertexts are randomized.
    for connection in _connections(context):
        if hmac.compare_digest(str(connection.token), token):
            _connections(context).filter(pk=connection.pk).update(
                status="broken", broken_at=timezone.now()
            )
            logger.warning("Notion connection %s marked broken after a 401", connection.pk)
