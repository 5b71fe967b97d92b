"""Every dashboard page that names an object: another organization's member gets a 404.

The routes are read from the URL configuration, so a new page that names an object is covered
(or this test fails until it is given an object of ``org`` to name).
"""

from __future__ import annotations

import pytest
from django.urls import URLPattern

from frontend.urls import urlpatterns
from integrations.models import NotionConnection
from tests.factories import ApiKeyFactory, AssistantFactory, MembershipFactory, SessionFactory

pytestmark = pytest.mark.django_db


def _notion_connection(org):
    return NotionConnection.objects.create(
        organization=org, name="Wiki", token="secret_x", workspace_name="Acme HQ"
    )


# the first segment of a route that names an object -> a maker of such an object of ``org``
OBJECT_OF = {
    "assistants": lambda org: AssistantFactory(organization=org),
    "sessions": lambda org: SessionFactory(assistant=AssistantFactory(organization=org)),
    "members": lambda org: MembershipFactory(organization=org),
    "api-keys": lambda org: ApiKeyFactory.with_secret(organization=org)[0],
    "integrations": _notion_connection,
}
OBJECT_ROUTES = [p for p in urlpatterns if "pk" in p.pattern.converters]


def _path(pattern: URLPattern, pk) -> str:
    route = str(pattern.pattern)
    converter = f"<{'int' if isinstance(pk, int) else 'uuid'}:pk>"
    assert converter in route, f"{route}: expected {converter}"
    return "/" + route.replace(converter, str(pk))


def test_every_object_route_is_covered():
    assert len(OBJECT_ROUTES) >= 12
    assert {str(p.pattern).split("/")[0] for p in OBJECT_ROUTES} <= set(OBJECT_OF)


@pytest.mark.parametrize("pattern", OBJECT_ROUTES, ids=lambda p: p.name)
def test_another_organizations_member_gets_404(pattern, org, outsider_client, owner_client):
    obj = OBJECT_OF[str(pattern.pattern).split("/")[0]](org)
    path = _path(pattern, obj.pk)
    assert outsider_client.post(path).status_code == 404
    assert outsider_client.get(path).status_code in (404, 405)  # 405: a POST-only route
    # the object is there for its own organization
    answers = {owner_client.get(path).status_code, owner_client.post(path).status_code}
    assert 404 not in answers, path
