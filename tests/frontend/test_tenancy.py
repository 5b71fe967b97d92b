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
from tests.voicebridge.conftest import TOKEN, snowflake
from voicebridge.services import discord_binding_create, discord_bot_create

pytestmark = pytest.mark.django_db


def _notion_connection(org):
    return NotionConnection.objects.create(
        organization=org, name="Wiki", token="secret_x", workspace_name="Acme HQ"
    )


def _discord_bot_and_binding(org):
    """Routes under a bot name it (``pk``) and, for a binding, the binding (``binding_pk``)."""
    bot = discord_bot_create(organization=org, name="Bot", application_id=snowflake(), token=TOKEN)
    assistant = AssistantFactory(organization=org)
    binding = discord_binding_create(bot=bot, guild_id=snowflake(), assistant=assistant)
    return {"pk": bot.pk, "binding_pk": binding.pk}


# the first segment of a route that names an object -> a maker of such an object of ``org``
OBJECT_OF = {
    "assistants": lambda org: AssistantFactory(organization=org),
    "sessions": lambda org: SessionFactory(assistant=AssistantFactory(organization=org)),
    "members": lambda org: MembershipFactory(organization=org),
    "api-keys": lambda org: ApiKeyFactory.with_secret(organization=org)[0],
    "integrations": _notion_connection,
    "discord": _discord_bot_and_binding,  # route kwargs, not one object
}
OBJECT_ROUTES = [p for p in urlpatterns if "pk" in p.pattern.converters]


def _path(pattern: URLPattern, obj) -> str:
    """The route filled in: ``pk`` with the object's, or every kwarg from a maker's dict."""
    kwargs = obj if isinstance(obj, dict) else {"pk": obj.pk}
    route = str(pattern.pattern)
    for name in pattern.pattern.converters:
        value = kwargs[name]
        converter = f"<{'int' if isinstance(value, int) else 'uuid'}:{name}>"
        assert converter in route, f"{route}: expected {converter}"
        route = route.replace(converter, str(value))
    return "/" + route


def test_every_object_route_is_covered():
    assert len(OBJECT_ROUTES) >= 12
    assert {str(p.pattern).split("/")[0] for p in OBJECT_ROUTES} <= set(OBJECT_OF)


@pytest.mark.parametrize("pattern", OBJECT_ROUTES, ids=lambda p: p.name)
def test_another_organizations_member_gets_404(pattern, org, outsider_client, owner_client):
    obj = OBJECT_OF[str(pattern.pattern).split("/")[0]](org)
    path = _path(pattern, obj)
    assert outsider_client.post(path).status_code == 404
    assert outsider_client.get(path).status_code in (404, 405)  # 405: a POST-only route
    # the object is there for its own organization
    answers = {owner_client.get(path).status_code, owner_client.post(path).status_code}
    assert 404 not in answers, path
