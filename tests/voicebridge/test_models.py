"""Discord bots and bindings: the token at rest, the invite link, validation, scoping."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import discord
import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from assistants.scoping import UnscopedQueryError
from tests.factories import AssistantFactory
from tests.voicebridge.conftest import TOKEN, snowflake
from voicebridge.models import DiscordBinding, DiscordBot
from voicebridge.services import (
    discord_binding_create,
    discord_bot_create,
    discord_bot_report_status,
    discord_bot_update,
)

pytestmark = pytest.mark.django_db


def test_the_token_is_encrypted_at_rest_and_read_back(bot):
    with connection.cursor() as cursor:
        cursor.execute("SELECT token FROM voicebridge_discordbot WHERE id = %s", [bot.pk.hex])
        (stored,) = cursor.fetchone()
    assert stored.startswith("v1.") and TOKEN not in stored
    assert DiscordBot.objects.for_org(bot.organization).get().token == TOKEN
    assert TOKEN not in repr(DiscordBot.objects.for_org(bot.organization).get().token)


def test_the_invite_link_asks_for_the_bridges_permissions(bot):
    parts = urlsplit(bot.invite_url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "discord.com", "/oauth2/authorize")
    assert "scope=bot%20applications.commands" in parts.query
    query = parse_qs(parts.query)
    assert query["client_id"] == [bot.application_id]
    granted = discord.Permissions(int(query["permissions"][0]))
    wanted = [
        "view_channel",
        "send_messages",
        "read_message_history",
        "embed_links",
        "use_application_commands",
        "connect",
        "speak",
        "use_voice_activation",
    ]
    assert all(getattr(granted, name) for name in wanted)
    # Nothing more: discord.py lists view_channel under its canonical name, read_messages.
    canonical = set(wanted) - {"view_channel"} | {"read_messages"}
    assert {name for name, value in granted if value} == canonical
    assert not granted.administrator and not granted.manage_messages


def test_objects_refuse_unscoped_queries(bot, binding):
    with pytest.raises(UnscopedQueryError):
        list(DiscordBot.objects.all())
    with pytest.raises(UnscopedQueryError):
        list(DiscordBinding.objects.filter(guild_id=binding.guild_id))
    assert list(DiscordBinding.objects.for_org(bot.organization)) == [binding]


def test_bindings_are_scoped_through_their_bot(binding, other_org):
    assert not DiscordBinding.objects.for_org(other_org).exists()


@pytest.mark.parametrize("bad", ["12", "abc", "0123456789012345678", "1" * 21, ""])
def test_application_ids_must_be_discord_ids(org, bad):
    with pytest.raises(ValidationError) as caught:
        discord_bot_create(organization=org, name="x", application_id=bad, token=TOKEN)
    assert "application_id" in caught.value.message_dict


def test_an_application_runs_for_one_organization_only(bot, other_org):
    with pytest.raises(ValidationError) as caught:
        discord_bot_create(
            organization=other_org, name="copy", application_id=bot.application_id, token="t"
        )
    assert caught.value.message_dict["application_id"] == [
        "This Discord application is already connected."
    ]


@pytest.mark.parametrize("bad", [["12"], "123", [123456789012345678], ["1"] * 51])
def test_role_ids_are_validated(bot, bad):
    with pytest.raises(ValidationError) as caught:
        discord_bot_update(bot=bot, allowed_role_ids=bad)
    assert "allowed_role_ids" in caught.value.message_dict


def test_roles_gate_who_is_answered(bot):
    assert bot.allows(set())  # no roles configured: everyone
    role = snowflake()
    discord_bot_update(bot=bot, allowed_role_ids=[role])
    assert bot.allows({role, snowflake()})
    assert not bot.allows({snowflake()})
    assert not bot.allows(set())


def test_a_binding_refuses_another_organizations_assistant(bot, other_org):
    with pytest.raises(ValidationError) as caught:
        discord_binding_create(
            bot=bot, guild_id=snowflake(), assistant=AssistantFactory(organization=other_org)
        )
    assert caught.value.message_dict["assistant"] == [
        "The assistant belongs to another organization."
    ]


def test_a_guild_or_channel_is_bound_once_per_bot(binding):
    with pytest.raises(ValidationError) as caught:
        discord_binding_create(
            bot=binding.bot, guild_id=binding.guild_id, assistant=binding.assistant
        )
    assert caught.value.messages == ["This server or channel is already bound for this bot."]
    channel = discord_binding_create(
        bot=binding.bot,
        guild_id=binding.guild_id,
        channel_id=snowflake(),
        assistant=binding.assistant,
    )
    assert channel.channel_id


def test_a_new_token_clears_the_error_the_old_one_caused(bot):
    discord_bot_report_status(bot_id=bot.pk, status="error", error="401: Improper token")
    bot.refresh_from_db()
    assert (bot.status, bot.last_error) == ("error", "401: Improper token")
    discord_bot_update(bot=bot, token="a-new-token")
    bot.refresh_from_db()
    assert (bot.status, bot.last_error, bot.token) == ("new", "", "a-new-token")
