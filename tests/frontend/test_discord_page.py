"""/discord/ (owners and admins): the organization's bots with their invite links and the status the
bridge reports, added and edited with a write-only token, enabled, disabled and deleted; the
servers and channels each bot binds to one of the organization's live assistants."""

from __future__ import annotations

import re

import pytest
from django.db.models import TextField
from django.db.models.functions import Cast
from django.utils import timezone

from tests.factories import AssistantFactory
from tests.voicebridge.conftest import TOKEN, snowflake
from voicebridge.models import DiscordBinding, DiscordBot
from voicebridge.services import (
    discord_binding_create,
    discord_bot_create,
    discord_bot_report_status,
)

pytestmark = pytest.mark.django_db

PAGE = "/discord/"
NEW = "/discord/new/"
NEW_TOKEN = "MTk5OTk5OTk5OTk5OTk5OTk5.replaced.another-secret-token"


@pytest.fixture
def bot(org):
    return discord_bot_create(
        organization=org, name="Acme bot", application_id=snowflake(), token=TOKEN
    )


@pytest.fixture
def helper(org):
    return AssistantFactory(organization=org, name="Helper")


@pytest.fixture
def binding(bot, helper):
    return discord_binding_create(bot=bot, guild_id=snowflake(), assistant=helper)


def bots_of(org):
    return DiscordBot.objects.for_org(org)


def stored_token(bot) -> str:
    """The token column as the database holds it (ciphertext)."""
    rows = bots_of(bot.organization).filter(pk=bot.pk).annotate(raw=Cast("token", TextField()))
    return rows.values_list("raw", flat=True).get()


def bind_url(bot) -> str:
    return f"/discord/{bot.pk}/bindings/"


def binding_url(binding, action: str) -> str:
    return f"/discord/{binding.bot_id}/bindings/{binding.pk}/{action}/"


def binding_data(bot, **fields) -> dict[str, str]:
    return {f"bot-{bot.pk}-{name}": str(value) for name, value in fields.items()}


def bot_data(**fields) -> dict[str, str]:
    data = {"name": "Acme bot", "application_id": snowflake(), "token": TOKEN, "enabled": "on"}
    data.update(fields)
    return data


# Roles


def test_members_may_not_open_or_change_discord(member_client, bot, binding):
    assert member_client.get(PAGE).status_code == 403
    assert member_client.get(NEW).status_code == 403
    assert member_client.post(NEW, bot_data()).status_code == 403
    for action in ("edit", "toggle", "delete"):
        assert member_client.post(f"/discord/{bot.pk}/{action}/").status_code == 403
    assert member_client.post(bind_url(bot), {}).status_code == 403
    assert member_client.post(binding_url(binding, "remove")).status_code == 403
    assert (
        bots_of(bot.organization).get().enabled
        and DiscordBinding.objects.for_org(bot.organization).exists()
    )
    assert 'href="/discord/"' not in member_client.get("/").content.decode()


def test_admins_and_owners_see_the_page_in_the_navigation(admin_client_, owner_client):
    for client in (admin_client_, owner_client):
        response = client.get(PAGE)
        assert response.status_code == 200
        html = response.content.decode()
        assert '<a href="/discord/" aria-current="page">Discord</a>' in html
        assert "No Discord bot yet." in html
        assert "python manage.py run_discord_bridge" in html and "docs/DISCORD.md" in html


# Bots


def test_a_bot_is_added_with_its_token_stored_encrypted_and_never_shown(admin_client_, org):
    response = admin_client_.post(NEW, bot_data(name="Helpdesk"), follow=True)
    bot = bots_of(org).get()
    assert response.redirect_chain[-1][0] == f"{PAGE}#bot-{bot.pk}"
    assert bot.name == "Helpdesk" and bot.enabled and not bot.sharded
    assert str(bot.token) == TOKEN
    assert TOKEN not in stored_token(bot)  # encrypted at rest
    html = response.content.decode()
    assert "Added the bot “Helpdesk”" in html
    assert f'href="{bot.invite_url.replace("&", "&amp;")}"' in html
    assert "Invite to a server" in html and "Not started yet" in html
    for url in (PAGE, NEW, f"/discord/{bot.pk}/edit/", f"/discord/{bot.pk}/delete/"):
        page = admin_client_.get(url).content.decode()
        assert TOKEN not in page and stored_token(bot) not in page, url


def test_the_token_field_is_a_write_only_password(admin_client_, bot):
    html = admin_client_.get(f"/discord/{bot.pk}/edit/").content.decode()
    assert 'type="password" name="token"' in html
    assert "Stored encrypted, never shown again. Leave blank to keep the current one." in html


def test_editing_without_a_token_keeps_it(admin_client_, bot):
    discord_bot_report_status(bot_id=bot.pk, status="error", error="Discord refused the token")
    response = admin_client_.post(
        f"/discord/{bot.pk}/edit/",
        bot_data(name="Renamed", application_id=bot.application_id, token="", sharded="on"),
    )
    assert response.status_code == 302
    bot.refresh_from_db()
    assert bot.name == "Renamed" and bot.sharded and str(bot.token) == TOKEN
    assert bot.status == DiscordBot.Status.ERROR  # the old token's error stays


def test_a_new_token_replaces_the_stored_one_and_clears_its_error(admin_client_, bot):
    discord_bot_report_status(bot_id=bot.pk, status="error", error="Discord refused the token")
    admin_client_.post(
        f"/discord/{bot.pk}/edit/", bot_data(application_id=bot.application_id, token=NEW_TOKEN)
    )
    bot.refresh_from_db()
    assert str(bot.token) == NEW_TOKEN
    assert bot.status == DiscordBot.Status.NEW and bot.last_error == ""


def test_a_bad_application_id_is_a_field_error_and_the_token_is_not_typed_back(admin_client_, org):
    response = admin_client_.post(NEW, bot_data(application_id="12ab"))
    assert response.status_code == 200
    assert response.context["form"].errors["application_id"] == [
        "A Discord id: 16 to 20 digits (Developer Mode, Copy ID)."
    ]
    assert TOKEN not in response.content.decode()
    assert not bots_of(org).exists()


def test_an_application_already_connected_elsewhere_is_a_field_error(admin_client_, org, other_org):
    theirs = discord_bot_create(
        organization=other_org, name="Theirs", application_id=snowflake(), token=TOKEN
    )
    response = admin_client_.post(NEW, bot_data(application_id=theirs.application_id))
    assert response.status_code == 200
    assert response.context["form"].errors["application_id"] == [
        "This Discord application is already connected."
    ]
    assert not bots_of(org).exists()


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"token": ""}, "token", "This field is required."),
        ({"token": "two words"}, "token", "one word of ASCII"),
        ({"allowed_role_ids": "123 not-a-role"}, "allowed_role_ids", "16 to 20 digits"),
        ({"name": ""}, "name", "This field is required."),
    ],
)
def test_bad_bot_input_is_a_field_error(admin_client_, org, fields, field, message):
    response = admin_client_.post(NEW, bot_data(**fields))
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not bots_of(org).exists()


def test_allowed_roles_are_one_a_line_and_shown(admin_client_, org):
    roles = [snowflake(), snowflake()]
    admin_client_.post(NEW, bot_data(allowed_role_ids=f"{roles[0]}\r\n{roles[1]}, {roles[0]}"))
    bot = bots_of(org).get()
    assert bot.allowed_role_ids == roles
    assert f"<code>{roles[0]}</code>, <code>{roles[1]}</code>" in (
        admin_client_.get(PAGE).content.decode()
    )
    edit = admin_client_.get(f"/discord/{bot.pk}/edit/").content.decode()
    assert f"{roles[0]}\n{roles[1]}</textarea>" in edit


def test_the_bridges_status_and_last_error_are_shown(admin_client_, bot):
    discord_bot_report_status(
        bot_id=bot.pk, status="error", error="Discord refused the bot token (401)."
    )
    html = admin_client_.get(PAGE).content.decode()
    assert '<span class="badge failed">Error</span>' in html
    assert "Discord refused the bot token (401)." in html
    changed = timezone.localtime(bots_of(bot.organization).get().status_changed_at)
    assert f"since {changed:%Y-%m-%d %H:%M}" in html
    discord_bot_report_status(bot_id=bot.pk, status="connected")
    html = admin_client_.get(PAGE).content.decode()
    assert '<span class="badge active">Connected</span>' in html and "Last error" not in html


def test_a_bot_is_disabled_and_enabled_again(admin_client_, bot):
    response = admin_client_.post(f"/discord/{bot.pk}/toggle/", follow=True)
    assert "Disabled “Acme bot”" in response.content.decode()
    assert not bots_of(bot.organization).get().enabled
    assert admin_client_.get(f"/discord/{bot.pk}/toggle/").status_code == 405
    admin_client_.post(f"/discord/{bot.pk}/toggle/")
    assert bots_of(bot.organization).get().enabled


def test_deleting_a_bot_asks_first_then_deletes_its_bindings(admin_client_, bot, binding):
    confirm = admin_client_.get(f"/discord/{bot.pk}/delete/")
    assert confirm.status_code == 200 and "Acme bot" in confirm.content.decode()
    assert bots_of(bot.organization).exists()
    response = admin_client_.post(f"/discord/{bot.pk}/delete/", follow=True)
    assert response.redirect_chain[-1][0] == PAGE
    assert "Deleted the bot “Acme bot”" in response.content.decode()
    assert not bots_of(bot.organization).exists()
    assert not DiscordBinding.objects.for_org(bot.organization).exists()


# Bindings


def test_a_server_is_bound_to_an_assistant_and_listed(admin_client_, bot, helper):
    guild = snowflake()
    response = admin_client_.post(
        bind_url(bot), binding_data(bot, guild_id=guild, channel_id="", assistant=helper.pk)
    )
    assert response.status_code == 302
    binding = DiscordBinding.objects.for_org(bot.organization).get()
    assert (binding.guild_id, binding.channel_id, binding.assistant) == (guild, "", helper)
    html = admin_client_.get(PAGE).content.decode()
    assert f"<code>{guild}</code>" in html and "every channel" in html and "Helper" in html


def test_a_channel_binding_and_a_duplicate_refused(admin_client_, bot, helper):
    guild, channel = snowflake(), snowflake()
    data = binding_data(bot, guild_id=guild, channel_id=channel, assistant=helper.pk)
    admin_client_.post(bind_url(bot), data)
    again = admin_client_.post(bind_url(bot), data)
    assert again.status_code == 200
    form = again.context["rows"][0].binding_form
    assert form.non_field_errors() == ["This server or channel is already bound for this bot."]
    assert DiscordBinding.objects.for_org(bot.organization).get().channel_id == channel


def test_a_bad_server_id_is_a_field_error_under_its_bot(admin_client_, bot, helper):
    response = admin_client_.post(
        bind_url(bot), binding_data(bot, guild_id="guild", assistant=helper.pk)
    )
    assert response.status_code == 200
    errors = response.context["rows"][0].binding_form.errors
    assert errors["guild_id"] == ["A Discord id: 16 to 20 digits (Developer Mode, Copy ID)."]
    html = response.content.decode()
    assert "A Discord id: 16 to 20 digits" in html
    focused = re.search(r"<input [^>]*autofocus[^>]*>", html)
    assert focused and f'name="bot-{bot.pk}-guild_id"' in focused.group()
    assert not DiscordBinding.objects.for_org(bot.organization).exists()


def test_only_the_organizations_live_assistants_are_offered(admin_client_, bot, helper, other_org):
    theirs = AssistantFactory(organization=other_org, name="Their assistant")
    archived = AssistantFactory(organization=bot.organization, name="Old one")
    archived.archived_at = timezone.now()
    archived.save()
    html = admin_client_.get(PAGE).content.decode()
    assert f'value="{helper.pk}"' in html
    assert str(theirs.pk) not in html and "Their assistant" not in html
    assert str(archived.pk) not in html
    for refused in (theirs, archived):
        response = admin_client_.post(
            bind_url(bot), binding_data(bot, guild_id=snowflake(), assistant=refused.pk)
        )
        assert response.status_code == 200
        assert "Select a valid choice" in str(
            response.context["rows"][0].binding_form.errors["assistant"]
        )
    assert not DiscordBinding.objects.for_org(bot.organization).exists()


def test_without_assistants_the_page_says_to_make_one(admin_client_, bot):
    html = admin_client_.get(PAGE).content.decode()
    assert "make an assistant</a> first" in html and bind_url(bot) not in html


def test_a_binding_is_disabled_then_removed_after_asking(admin_client_, binding):
    admin_client_.post(binding_url(binding, "toggle"))
    binding.refresh_from_db()
    assert not binding.enabled
    confirm = admin_client_.get(binding_url(binding, "remove"))
    assert confirm.status_code == 200
    assert binding.guild_id in confirm.content.decode()
    response = admin_client_.post(binding_url(binding, "remove"), follow=True)
    assert "Removed the binding" in response.content.decode()
    assert not DiscordBinding.objects.for_org(binding.bot.organization).exists()


# Another organization


def test_an_outsider_sees_nothing_and_reaches_nothing(outsider_client, outsider, bot, binding):
    html = outsider_client.get(PAGE).content.decode()
    assert "Acme bot" not in html and bot.application_id not in html
    for action in ("edit", "toggle", "delete"):
        assert outsider_client.post(f"/discord/{bot.pk}/{action}/").status_code == 404
    bound = outsider_client.post(
        bind_url(bot),
        binding_data(bot, guild_id=snowflake(), assistant=binding.assistant_id),
    )
    assert bound.status_code == 404
    # their own bot's id with this organization's binding is no way in either
    theirs = discord_bot_create(
        organization=outsider.organization, name="Theirs", application_id=snowflake(), token="x"
    )
    for action in ("toggle", "remove"):
        url = f"/discord/{theirs.pk}/bindings/{binding.pk}/{action}/"
        assert outsider_client.post(url).status_code == 404
    assert DiscordBinding.objects.for_org(bot.organization).get().enabled
    assert bots_of(bot.organization).get().name == "Acme bot"
