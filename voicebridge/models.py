"""An organization's Discord bots, the guilds and channels bound to its assistants, and the
link from each stored message to the Discord message it came from.

The bot token is ``editable=False`` and encrypted at rest: no ModelForm renders it, the admin and
the API only take a new one. Reach rows through ``objects.for_org(...)``.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

import discord
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from assistants.models import Assistant, Organization
from assistants.scoping import DJANGO_INTERNALS_MANAGER, OrgScopedQuerySet, ScopeRequiredManager
from integrations.fields import EncryptedTextField

#: Discord ids ("snowflakes") are unsigned 64-bit integers, kept as their decimal text.
validate_snowflake = RegexValidator(
    r"^[1-9][0-9]{15,19}\Z",
    "A Discord id: 16 to 20 digits (Developer Mode, Copy ID).",
    # not "invalid": a form field would show its own message for that code instead of this one
    code="snowflake",
)

#: What the bridge does in a server: read and answer in text channels, run its slash commands,
#: and join voice channels to listen and speak. Built from discord.py's flags, not a number.
BRIDGE_PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    read_message_history=True,
    embed_links=True,
    use_application_commands=True,
    connect=True,
    speak=True,
    use_voice_activation=True,
)
INVITE_SCOPES = ("bot", "applications.commands")
AUTHORIZE_URL = "https://discord.com/oauth2/authorize"


def validate_role_ids(value: object) -> None:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError('Must be a list of Discord role ids, e.g. ["123456789012345678"].')
    if len(value) > 50:
        raise ValidationError("At most 50 roles.")
    for item in value:
        validate_snowflake(item)


def invite_url(application_id: str) -> str:
    """The link a server admin follows to add the bot with the permissions the bridge needs."""
    query = urlencode(
        {
            "client_id": application_id,
            "scope": " ".join(INVITE_SCOPES),
            "permissions": BRIDGE_PERMISSIONS.value,
        },
        quote_via=lambda text, *_: text.replace(" ", "%20"),
    )
    return f"{AUTHORIZE_URL}?{query}"


class DiscordBot(models.Model):
    """A Discord application of the organization, run by the bridge with its bot token."""

    class Status(models.TextChoices):
        NEW = "new", "Not started yet"
        CONNECTED = "connected", "Connected"
        DISCONNECTED = "disconnected", "Disconnected"
        ERROR = "error", "Error"  # the gateway refused it (bad token, missing intents, ...)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="discord_bots"
    )
    name = models.CharField(max_length=100)
    # Unique across organizations: one application runs once, or every message is answered twice.
    application_id = models.CharField(
        max_length=20,
        unique=True,
        validators=[validate_snowflake],
        error_messages={"unique": "This Discord application is already connected."},
        help_text="Developer Portal, General Information, Application ID.",
    )
    token = EncryptedTextField(editable=False)
    enabled = models.BooleanField(default=True)
    sharded = models.BooleanField(
        default=False,
        help_text="Run it with Discord's recommended number of shards (bots in 2,500+ servers).",
    )
    allowed_role_ids = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_role_ids],
        help_text="Only members with one of these roles are answered. Empty: everyone.",
    )
    status = models.CharField(max_length=15, choices=Status.choices, default=Status.NEW)
    last_error = models.TextField(blank=True, editable=False)
    status_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopeRequiredManager.from_queryset(OrgScopedQuerySet)()
    for_django_internals = OrgScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "Discord bot"
        default_manager_name = DJANGO_INTERNALS_MANAGER

    def __str__(self) -> str:
        return self.name

    @property
    def invite_url(self) -> str:
        return invite_url(self.application_id)

    def allows(self, role_ids: set[str]) -> bool:
        """Whether a member with these roles may talk to the bot's assistants."""
        return not self.allowed_role_ids or bool(role_ids & set(self.allowed_role_ids))


class DiscordBindingQuerySet(OrgScopedQuerySet["DiscordBinding"]):
    org_lookup = "bot__organization"

    def active(self) -> DiscordBindingQuerySet:
        return self.filter(enabled=True, assistant__archived_at__isnull=True)


class DiscordBinding(models.Model):
    """A guild (every channel) or one channel of it, answered by an assistant."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    bot = models.ForeignKey(DiscordBot, on_delete=models.CASCADE, related_name="bindings")
    guild_id = models.CharField(
        max_length=20, validators=[validate_snowflake], help_text="The server's id."
    )
    channel_id = models.CharField(
        max_length=20,
        blank=True,
        validators=[validate_snowflake],
        help_text="A channel of that server; blank: every channel of the server.",
    )
    assistant = models.ForeignKey(
        Assistant, on_delete=models.CASCADE, related_name="discord_bindings"
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopeRequiredManager.from_queryset(DiscordBindingQuerySet)()
    for_django_internals = DiscordBindingQuerySet.as_manager()

    class Meta:
        ordering = ["guild_id", "channel_id"]
        verbose_name = "Discord binding"
        default_manager_name = DJANGO_INTERNALS_MANAGER
        constraints = [
            models.UniqueConstraint(
                fields=["bot", "guild_id", "channel_id"],
                name="unique_discord_binding",
                violation_error_message="This server or channel is already bound for this bot.",
            )
        ]

    def __str__(self) -> str:
        where = f"channel {self.channel_id}" if self.channel_id else "every channel"
        return f"guild {self.guild_id}, {where} → {self.assistant_id}"

    def clean(self) -> None:
        if not (self.bot_id and self.assistant_id):
            return
        if self.assistant.organization_id != self.bot.organization_id:
            raise ValidationError({"assistant": "The assistant belongs to another organization."})
        if self.assistant.archived_at is not None:
            raise ValidationError({"assistant": "This assistant has been deleted."})


class DiscordMessageQuerySet(OrgScopedQuerySet["DiscordMessage"]):
    org_lookup = "session__organization"


class DiscordMessage(models.Model):
    """Where a stored user message came from in Discord, and the messages that answered it.

    Transcript messages carry no metadata of their own, so the Discord ids of each turn are kept
    here (the session's metadata holds the ids that do not change: bot, guild, channel, user)."""

    id = models.BigAutoField(primary_key=True)
    session = models.ForeignKey(
        "voice_sessions.Session", on_delete=models.CASCADE, related_name="discord_messages"
    )
    message = models.OneToOneField(
        "voice_sessions.Message", on_delete=models.CASCADE, related_name="discord"
    )
    discord_message_id = models.CharField(max_length=20, blank=True)  # blank: a slash command
    interaction_id = models.CharField(max_length=20, blank=True)
    author_id = models.CharField(max_length=20)
    reply_message_ids = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopeRequiredManager.from_queryset(DiscordMessageQuerySet)()
    for_django_internals = DiscordMessageQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        default_manager_name = DJANGO_INTERNALS_MANAGER
        constraints = [
            models.CheckConstraint(
                condition=~Q(discord_message_id="", interaction_id=""),
                name="discord_message_has_a_source",
            )
        ]

    def __str__(self) -> str:
        return f"Discord message {self.discord_message_id or self.interaction_id}"


class DiscordMemberSettingsQuerySet(OrgScopedQuerySet["DiscordMemberSettings"]):
    org_lookup = "bot__organization"


class DiscordMemberSettings(models.Model):
    """What one member chose for their own turns in one server (``/target-page``, ``/dry-run``):
    it overrides the Notion tools' options of the assistant for that member's sessions only."""

    id = models.BigAutoField(primary_key=True)
    bot = models.ForeignKey(DiscordBot, on_delete=models.CASCADE, related_name="member_settings")
    guild_id = models.CharField(max_length=20, validators=[validate_snowflake])
    user_id = models.CharField(max_length=20, validators=[validate_snowflake])
    notion_page_id = models.CharField(
        max_length=36, blank=True, help_text="Blank: the assistant's default page."
    )
    dry_run = models.BooleanField(null=True, blank=True, help_text="None: the assistant's setting.")
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopeRequiredManager.from_queryset(DiscordMemberSettingsQuerySet)()
    for_django_internals = DiscordMemberSettingsQuerySet.as_manager()

    class Meta:
        verbose_name = "Discord member settings"
        verbose_name_plural = "Discord member settings"
        default_manager_name = DJANGO_INTERNALS_MANAGER
        constraints = [
            models.UniqueConstraint(
                fields=["bot", "guild_id", "user_id"], name="unique_discord_member_settings"
            )
        ]

    def __str__(self) -> str:
        return f"member {self.user_id} in guild {self.guild_id}"

    @property
    def tool_options(self) -> dict[str, object]:
        """The Notion tools' options this member overrides (none when nothing was chosen)."""
        options: dict[str, object] = {}
        if self.notion_page_id:
            options["default_page_id"] = self.notion_page_id
        if self.dry_run is not None:
            options["dry_run"] = self.dry_run
        return options


class DiscordBotLeaseQuerySet(OrgScopedQuerySet["DiscordBotLease"]):
    org_lookup = "bot__organization"


class DiscordBotLease(models.Model):
    """Which bridge process runs a bot, until when (``voicebridge.leases``, without Redis).

    A process takes a lease that is free or expired, and renews it well before it expires; a
    process that cannot renew stops the bot, so two processes never answer for the same bot."""

    bot = models.OneToOneField(
        DiscordBot, on_delete=models.CASCADE, primary_key=True, related_name="lease"
    )
    owner = models.CharField(max_length=100)
    expires_at = models.DateTimeField()

    objects = ScopeRequiredManager.from_queryset(DiscordBotLeaseQuerySet)()
    for_django_internals = DiscordBotLeaseQuerySet.as_manager()

    class Meta:
        default_manager_name = DJANGO_INTERNALS_MANAGER

    def __str__(self) -> str:
        return f"{self.bot_id} held by {self.owner} until {self.expires_at:%H:%M:%S}"
