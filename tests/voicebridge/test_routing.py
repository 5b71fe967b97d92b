"""Which binding a question reaches: the thread, its channel, then the whole guild."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from assistants.services import assistant_archive
from tests.factories import AssistantFactory
from tests.voicebridge.conftest import snowflake
from voicebridge import text
from voicebridge.services import (
    discord_binding_create,
    discord_binding_update,
    discord_bot_create,
)

pytestmark = pytest.mark.django_db(transaction=True)


def ask(bot, guild_id: str, channel_id: str, parent: str = "") -> text.Ask:
    return text.Ask(
        bot_id=bot.id,
        guild_id=guild_id,
        channel_id=channel_id,
        parent_channel_id=parent,
        author_id=snowflake(),
        author_name="Ann",
        content="hi",
    )


@pytest.fixture
def layout(bot):
    guild, channel = snowflake(), snowflake()
    whole_guild = discord_binding_create(
        bot=bot, guild_id=guild, assistant=AssistantFactory(organization=bot.organization)
    )
    one_channel = discord_binding_create(
        bot=bot,
        guild_id=guild,
        channel_id=channel,
        assistant=AssistantFactory(organization=bot.organization),
    )
    return guild, channel, whole_guild, one_channel


async def test_the_most_specific_binding_wins(bot, layout):
    guild, channel, whole_guild, one_channel = layout
    assert (await text.route_for(ask(bot, guild, channel))).binding == one_channel
    assert (await text.route_for(ask(bot, guild, snowflake()))).binding == whole_guild
    thread = ask(bot, guild, snowflake(), parent=channel)
    assert (await text.route_for(thread)).binding == one_channel
    assert await text.route_for(ask(bot, snowflake(), channel)) is None


async def test_disabled_bindings_and_deleted_assistants_do_not_answer(bot, layout):
    guild, channel, whole_guild, one_channel = layout
    await sync_to_async(discord_binding_update)(binding=one_channel, enabled=False)
    assert (await text.route_for(ask(bot, guild, channel))).binding == whole_guild
    await sync_to_async(assistant_archive)(assistant=whole_guild.assistant)
    assert await text.route_for(ask(bot, guild, channel)) is None


async def test_another_bots_bindings_are_not_this_bots(bot, layout, org):
    guild, channel, _, _ = layout
    other = await sync_to_async(discord_bot_create)(
        organization=org, name="second", application_id=snowflake(), token="t"
    )
    assert await text.route_for(ask(other, guild, channel)) is None
