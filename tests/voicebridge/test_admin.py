"""Discord admin: the token is write-only, pages are scoped to the user's organizations, and only
owners and admins manage bots."""

from __future__ import annotations

import pytest
from django.db.models import TextField
from django.db.models.functions import Cast
from django.urls import reverse

from assistants.models import Membership
from assistants.services import staff_grant_permissions
from tests.factories import AssistantFactory, MembershipFactory, UserFactory
from tests.voicebridge.conftest import TOKEN, snowflake
from voicebridge.models import DiscordBinding, DiscordBot

pytestmark = pytest.mark.django_db


def staff(org, role, name):
    user = UserFactory(username=name)
    staff_grant_permissions(user=user)
    MembershipFactory(user=user, organization=org, role=role)
    return user


@pytest.fixture
def owner(org):
    return staff(org, Membership.Role.OWNER, "owner")


@pytest.fixture
def member(org):
    return staff(org, Membership.Role.MEMBER, "member")


@pytest.fixture
def outsider(other_org):
    return staff(other_org, Membership.Role.OWNER, "outsider")


def url(obj_or_model, view="change"):
    meta = obj_or_model._meta
    args = [obj_or_model.pk] if view == "change" else []
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=args)


def stored_token(bot) -> str:
    rows = DiscordBot.objects.for_org(bot.organization).annotate(raw=Cast("token", TextField()))
    return rows.values_list("raw", flat=True).get()


def test_owner_sees_the_bot_with_its_invite_link_and_never_its_token(client, owner, bot, binding):
    client.force_login(owner)
    listing = client.get(url(DiscordBot, "changelist")).content.decode()
    assert "Acme bot" in listing
    page = client.get(url(bot)).content.decode()
    assert 'name="new_secret"' in page and 'type="password"' in page
    assert bot.invite_url.replace("&", "&amp;") in page
    assert TOKEN not in page and stored_token(bot) not in page
    assert client.get(url(binding)).status_code == 200


def bot_form(org, **overrides):
    data = {
        "organization": org.pk,
        "name": "Acme bot",
        "application_id": snowflake(),
        "new_secret": "",
        "enabled": "on",
        "allowed_role_ids": "[]",
    }
    return {**data, **overrides}


def test_creating_a_bot_needs_a_token_which_is_stored_encrypted(client, owner, org):
    client.force_login(owner)
    response = client.post(url(DiscordBot, "add"), bot_form(org))
    assert response.status_code == 200
    assert "A new connection needs its secret." in response.content.decode()
    response = client.post(url(DiscordBot, "add"), bot_form(org, new_secret=TOKEN))
    assert response.status_code == 302
    bot = DiscordBot.objects.for_org(org).get()
    assert bot.token == TOKEN and TOKEN not in stored_token(bot)


def test_a_blank_token_keeps_the_stored_one(client, owner, bot):
    client.force_login(owner)
    data = bot_form(bot.organization, application_id=bot.application_id, name="Renamed")
    assert client.post(url(bot), data).status_code == 302
    bot.refresh_from_db()
    assert (bot.name, bot.token) == ("Renamed", TOKEN)


def test_bad_role_ids_are_a_field_error(client, owner, bot):
    client.force_login(owner)
    data = bot_form(bot.organization, application_id=bot.application_id, allowed_role_ids='["1"]')
    response = client.post(url(bot), data)
    assert response.status_code == 200
    assert "A Discord id: 16 to 20 digits" in response.content.decode()


def test_a_binding_to_another_organizations_assistant_is_refused(client, owner, bot, other_org):
    client.force_login(owner)
    foreign = AssistantFactory(organization=other_org)
    data = {"bot": bot.pk, "guild_id": snowflake(), "channel_id": "", "assistant": foreign.pk}
    response = client.post(url(DiscordBinding, "add"), {**data, "enabled": "on"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not DiscordBinding.objects.for_org(bot.organization).exists()


@pytest.mark.parametrize("key", ["bot", "binding"])
def test_outsider_gets_404_and_sees_nothing(client, outsider, bot, binding, key):
    obj = {"bot": bot, "binding": binding}[key]
    client.force_login(outsider)
    assert client.get(url(obj)).status_code == 404
    listing = client.get(url(type(obj), "changelist")).content.decode()
    assert "Acme bot" not in listing and binding.guild_id not in listing


@pytest.mark.parametrize("key", ["bot", "binding"])
def test_members_do_not_manage_bots(client, member, bot, binding, key):
    obj = {"bot": bot, "binding": binding}[key]
    client.force_login(member)
    assert client.get(url(obj)).status_code == 404
