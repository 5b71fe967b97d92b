"""/api/v1/discord/: bots (the token goes in, never out) and their bindings."""

from __future__ import annotations

import uuid

import pytest

from tests.api.conftest import client_for, error_of
from tests.factories import AssistantFactory
from tests.voicebridge.conftest import TOKEN, snowflake
from voicebridge.models import DiscordBinding, DiscordBot

pytestmark = pytest.mark.django_db

BOTS = "/api/v1/discord/bots/"


def bindings_url(bot) -> str:
    return f"{BOTS}{bot.id}/bindings/"


@pytest.fixture
def api(private_key):
    return client_for(private_key[1])


@pytest.fixture
def other_api(other_private_key):
    return client_for(other_private_key[1])


def test_create_returns_the_bot_with_its_invite_link_and_without_the_token(api, org):
    body = {"name": "Acme bot", "application_id": snowflake(), "token": TOKEN}
    response = api.post(BOTS, body, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert TOKEN not in response.content.decode() and "token" not in data
    assert data["invite_url"].startswith(
        f"https://discord.com/oauth2/authorize?client_id={body['application_id']}&"
    )
    assert (data["enabled"], data["allowed_role_ids"], data["status"]) == (True, [], "new")
    assert DiscordBot.objects.for_org(org).get().token == TOKEN


def test_no_response_ever_carries_the_token(api, bot, binding):
    for path in (BOTS, f"{BOTS}{bot.id}/", bindings_url(bot), f"{bindings_url(bot)}{binding.id}/"):
        response = api.get(path)
        assert response.status_code == 200
        assert TOKEN not in response.content.decode()
    patched = api.patch(f"{BOTS}{bot.id}/", {"token": "new-token-xyz"}, format="json")
    assert "new-token-xyz" not in patched.content.decode()
    bot.refresh_from_db()
    assert bot.token == "new-token-xyz"


def test_patch_changes_only_the_fields_given(api, bot):
    role = snowflake()
    response = api.patch(
        f"{BOTS}{bot.id}/", {"enabled": False, "allowed_role_ids": [role]}, format="json"
    )
    assert response.status_code == 200, response.content
    bot.refresh_from_db()
    assert (bot.enabled, bot.allowed_role_ids, bot.name, bot.token) == (
        False,
        [role],
        "Acme bot",
        TOKEN,
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "application_id": "12", "token": "t"}, "application_id"),
        ({"name": "x", "application_id": 1300000000000000001, "token": "t"}, "application_id"),
        ({"name": "x", "application_id": "1300000000000000001"}, "token"),
        ({"name": "x", "application_id": "1300000000000000001", "token": "a b"}, "token"),
        (
            {"name": "x", "application_id": "1300000000000000001", "token": "t", "roles": []},
            "roles",
        ),
        (
            {
                "name": "x",
                "application_id": "1300000000000000001",
                "token": "t",
                "allowed_role_ids": ["x"],
            },
            "allowed_role_ids",
        ),
    ],
)
def test_bad_bodies_are_400_with_field_messages(api, body, field):
    response = api.post(BOTS, body, format="json")
    assert response.status_code == 400
    assert field in error_of(response)["fields"]


def test_an_application_already_connected_is_a_field_error(api, bot):
    body = {"name": "copy", "application_id": bot.application_id, "token": "t"}
    response = api.post(BOTS, body, format="json")
    assert response.status_code == 400
    assert error_of(response)["fields"] == {
        "application_id": ["This Discord application is already connected."]
    }


def test_delete_removes_the_bot_and_its_bindings(api, bot, binding):
    assert api.delete(f"{BOTS}{bot.id}/").status_code == 204
    assert not DiscordBot.objects.for_org(bot.organization).exists()
    assert not DiscordBinding.objects.for_org(bot.organization).exists()


def test_bindings_crud(api, bot, bound_assistant):
    guild, channel = snowflake(), snowflake()
    body = {"guild_id": guild, "channel_id": channel, "assistant_id": str(bound_assistant.id)}
    created = api.post(bindings_url(bot), body, format="json")
    assert created.status_code == 201, created.content
    data = created.json()
    assert (data["bot_id"], data["guild_id"], data["channel_id"]) == (str(bot.id), guild, channel)
    detail = f"{bindings_url(bot)}{data['id']}/"
    assert api.get(bindings_url(bot)).json()["results"] == [data]
    other = AssistantFactory(organization=bot.organization)
    changed = api.patch(detail, {"assistant_id": str(other.id), "enabled": False}, format="json")
    assert (changed.json()["assistant_id"], changed.json()["enabled"]) == (str(other.id), False)
    assert api.delete(detail).status_code == 204
    assert api.get(detail).status_code == 404


def test_a_guild_binding_has_no_channel(api, bot, bound_assistant):
    body = {"guild_id": snowflake(), "assistant_id": str(bound_assistant.id)}
    assert api.post(bindings_url(bot), body, format="json").json()["channel_id"] == ""
    again = api.post(bindings_url(bot), body, format="json")
    assert again.status_code == 400
    assert error_of(again)["fields"] == {
        "non_field_errors": ["This server or channel is already bound for this bot."]
    }


def test_another_organizations_assistant_is_refused_with_a_field_error(api, bot, other_org):
    foreign = AssistantFactory(organization=other_org)
    body = {"guild_id": snowflake(), "assistant_id": str(foreign.id)}
    response = api.post(bindings_url(bot), body, format="json")
    assert response.status_code == 400
    assert error_of(response)["fields"] == {"assistant_id": ["No assistant with this id."]}
    made_up = api.post(
        bindings_url(bot), {**body, "assistant_id": str(uuid.uuid4())}, format="json"
    )
    assert made_up.content == response.content


def test_bindings_of_a_bot_are_reached_through_that_bot_only(api, bot, binding, org):
    second = DiscordBot.objects.create(
        organization=org, name="second", application_id=snowflake(), token="t"
    )
    assert api.get(f"{bindings_url(second)}{binding.id}/").status_code == 404
    assert api.get(bindings_url(second)).json()["results"] == []


def test_an_outsider_gets_404_for_bots_and_bindings(other_api, bot, binding):
    detail = f"{bindings_url(bot)}{binding.id}/"
    for method, path in [
        ("get", f"{BOTS}{bot.id}/"),
        ("patch", f"{BOTS}{bot.id}/"),
        ("delete", f"{BOTS}{bot.id}/"),
        ("get", bindings_url(bot)),
        ("post", bindings_url(bot)),
        ("get", detail),
        ("patch", detail),
        ("delete", detail),
    ]:
        response = getattr(other_api, method)(path, {}, format="json")
        assert response.status_code == 404, (method, path)
    assert other_api.get(BOTS).json()["results"] == []
    assert DiscordBot.objects.for_org(bot.organization).get().name == "Acme bot"
