"""notion_connection_save: one connection per organization and workspace."""

from __future__ import annotations

import pytest

from integrations.models import NotionConnection
from integrations.services import NotionGrant, notion_connection_save

pytestmark = pytest.mark.django_db


def save(org, token: str, *, workspace_id: str = "", bot_id: str = "") -> NotionConnection:
    grant = NotionGrant(token=token, workspace_id=workspace_id, workspace_name="WS", bot_id=bot_id)
    return notion_connection_save(organization=org, grant=grant, kind="internal")


def test_same_workspace_updates_the_connection_per_organization(org, other_org):
    first = save(org, "ntn_1", workspace_id="w1")
    NotionConnection.objects.for_org(org).filter(pk=first.pk).update(status="broken")
    again = save(org, "ntn_2", workspace_id="w1")
    theirs = save(other_org, "ntn_3", workspace_id="w1")
    assert again.pk == first.pk and again.status == "active" and str(again.token) == "ntn_2"
    assert theirs.pk != first.pk
    assert save(org, "ntn_4", workspace_id="w2").pk != first.pk


def test_without_a_workspace_id_the_bot_stands_for_the_workspace(org):
    first = save(org, "ntn_1", bot_id="bot-1")
    assert save(org, "ntn_2", bot_id="bot-1").pk == first.pk
    assert save(org, "ntn_3", bot_id="bot-2").pk != first.pk
    assert save(org, "ntn_4").pk != save(org, "ntn_5").pk  # nothing to match on
