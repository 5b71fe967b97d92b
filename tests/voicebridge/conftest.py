"""A Discord bot of ``org`` with a binding, and ids that look like Discord's."""

from __future__ import annotations

import itertools

import pytest

from tests.factories import AssistantFactory
from voicebridge.services import discord_binding_create, discord_bot_create

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.never-shown.bot-token-of-acme"
_snowflakes = itertools.count(1_300_000_000_000_000_000)


def snowflake() -> str:
    return str(next(_snowflakes))


@pytest.fixture
def bot(org):
    return discord_bot_create(
        organization=org, name="Acme bot", application_id=snowflake(), token=TOKEN
    )


@pytest.fixture
def bound_assistant(org):
    return AssistantFactory(organization=org, name="Helper")


@pytest.fixture
def binding(bot, bound_assistant):
    return discord_binding_create(bot=bot, guild_id=snowflake(), assistant=bound_assistant)
