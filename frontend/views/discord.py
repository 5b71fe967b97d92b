"""Discord: the organization's bots (token write-only), their invite links and the status the
bridge reports, and the servers and channels each bot binds to an assistant."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from assistants.models import Assistant, Membership
from frontend.forms.discord import DiscordBindingForm, DiscordBotForm
from frontend.forms.team import add_service_errors
from frontend.organizations import DashboardRequest, member_required
from frontend.views.confirm import confirm_page
from voicebridge.models import DiscordBinding, DiscordBot
from voicebridge.services import (
    discord_binding_create,
    discord_binding_delete,
    discord_binding_update,
    discord_bot_create,
    discord_bot_delete,
    discord_bot_update,
)

ADMIN = Membership.Role.ADMIN


@dataclass(frozen=True)
class BotRow:
    bot: DiscordBot
    binding_form: DiscordBindingForm


@member_required(ADMIN)
@require_safe
def discord(request: DashboardRequest) -> HttpResponse:
    return _discord_page(request)


def _discord_page(
    request: DashboardRequest, sent: tuple[uuid.UUID, DiscordBindingForm] | None = None
) -> HttpResponse:
    """The page, with the binding form that was just sent (and its errors) under its bot."""
    organization = request.organization
    bindings = DiscordBinding.objects.for_org(organization).select_related("assistant")
    bots = DiscordBot.objects.for_org(organization).prefetch_related(
        Prefetch("bindings", queryset=bindings)
    )
    forms = dict([sent]) if sent else {}
    rows = [BotRow(bot, forms.get(bot.pk) or _binding_form(request, bot)) for bot in bots]
    context = {
        "rows": rows,
        "has_assistants": Assistant.objects.for_org(organization).live().exists(),
    }
    return render(request, "frontend/discord/discord.html", context)


def _binding_form(request: DashboardRequest, bot: DiscordBot, **kwargs) -> DiscordBindingForm:
    return DiscordBindingForm(organization=request.organization, prefix=f"bot-{bot.pk}", **kwargs)


def _bot(request: DashboardRequest, pk: uuid.UUID) -> DiscordBot:
    return get_object_or_404(DiscordBot.objects.for_org(request.organization), pk=pk)


def _back_to(bot: DiscordBot) -> HttpResponse:
    return redirect(reverse("dashboard:discord") + f"#bot-{bot.pk}")


# Bots


@member_required(ADMIN)
@require_http_methods(["GET", "POST"])
def bot_new(request: DashboardRequest) -> HttpResponse:
    form = DiscordBotForm(request.POST or None, is_new=True)
    if request.method == "POST" and form.is_valid():
        try:
            bot = discord_bot_create(organization=request.organization, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Added the bot “{bot.name}”: invite it to a server next.")
            return _back_to(bot)
    return render(request, "frontend/discord/bot_form.html", {"form": form, "bot": None})


@member_required(ADMIN)
@require_http_methods(["GET", "POST"])
def bot_edit(request: DashboardRequest, pk: uuid.UUID) -> HttpResponse:
    bot = _bot(request, pk)
    initial = {name: getattr(bot, name) for name in DiscordBotForm.base_fields if name != "token"}
    form = DiscordBotForm(request.POST or None, initial=initial, is_new=False)
    if request.method == "POST" and form.is_valid():
        fields = dict(form.cleaned_data)
        token = fields.pop("token") or None  # blank: keep the stored token
        try:
            discord_bot_update(bot=bot, token=token, **fields)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Saved the bot “{bot.name}”.")
            return _back_to(bot)
    return render(request, "frontend/discord/bot_form.html", {"form": form, "bot": bot})


@member_required(ADMIN)
@require_POST
def bot_toggle(request: DashboardRequest, pk: uuid.UUID) -> HttpResponse:
    bot = _bot(request, pk)
    try:
        discord_bot_update(bot=bot, enabled=not bot.enabled)
    except ValidationError as error:
        messages.error(request, f"“{bot.name}” was not changed: {' '.join(error.messages)}")
    else:
        done = "Enabled" if bot.enabled else "Disabled"
        messages.success(request, f"{done} “{bot.name}”; the bridge notices within seconds.")
    return _back_to(bot)


@member_required(ADMIN)
@require_http_methods(["GET", "POST"])
def bot_delete(request: DashboardRequest, pk: uuid.UUID) -> HttpResponse:
    bot = _bot(request, pk)
    if request.method == "GET":
        return confirm_page(
            request,
            title="Delete Discord bot",
            question=f"Delete the bot “{bot.name}” ({bot.application_id})?",
            detail="Its token and its bindings are deleted and the bridge stops it; its"
            " conversations stay under Sessions. The application itself stays in Discord.",
            button="Delete",
            back="dashboard:discord",
        )
    discord_bot_delete(bot=bot)
    messages.success(request, f"Deleted the bot “{bot.name}”.")
    return redirect("dashboard:discord")


# Bindings


def _binding(request: DashboardRequest, pk: uuid.UUID, binding_pk: uuid.UUID) -> DiscordBinding:
    bindings = DiscordBinding.objects.for_org(request.organization).filter(bot_id=pk)
    return get_object_or_404(bindings.select_related("bot", "assistant"), pk=binding_pk)


def _where(binding: DiscordBinding) -> str:
    channel = f"channel {binding.channel_id}" if binding.channel_id else "every channel"
    return f"server {binding.guild_id}, {channel}"


@member_required(ADMIN)
@require_POST
def binding_new(request: DashboardRequest, pk: uuid.UUID) -> HttpResponse:
    bot = _bot(request, pk)
    form = _binding_form(request, bot, data=request.POST)
    if form.is_valid():
        try:
            binding = discord_binding_create(bot=bot, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Bound {_where(binding)} to {binding.assistant.name}.")
            return _back_to(bot)
    form.focus_first_error()
    return _discord_page(request, sent=(bot.pk, form))


@member_required(ADMIN)
@require_POST
def binding_toggle(request: DashboardRequest, pk: uuid.UUID, binding_pk: uuid.UUID) -> HttpResponse:
    binding = _binding(request, pk, binding_pk)
    try:
        discord_binding_update(binding=binding, enabled=not binding.enabled)
    except ValidationError as error:
        messages.error(request, f"Not changed: {' '.join(error.messages)}")
    else:
        done = "Enabled" if binding.enabled else "Disabled"
        messages.success(request, f"{done} the binding of {_where(binding)}.")
    return _back_to(binding.bot)


@member_required(ADMIN)
@require_http_methods(["GET", "POST"])
def binding_remove(request: DashboardRequest, pk: uuid.UUID, binding_pk: uuid.UUID) -> HttpResponse:
    binding = _binding(request, pk, binding_pk)
    if request.method == "GET":
        return confirm_page(
            request,
            title="Remove binding",
            question=f"Stop answering in {_where(binding)} with {binding.assistant.name}?",
            detail=f"The bot “{binding.bot.name}” no longer answers there (unless the whole"
            " server is bound too); past conversations stay under Sessions.",
            button="Remove",
            back="dashboard:discord",
        )
    discord_binding_delete(binding=binding)
    messages.success(request, f"Removed the binding of {_where(binding)}.")
    return _back_to(binding.bot)


urls = [
    path("discord/", discord, name="discord"),
    path("discord/new/", bot_new, name="discord-bot-new"),
    path("discord/<uuid:pk>/edit/", bot_edit, name="discord-bot-edit"),
    path("discord/<uuid:pk>/toggle/", bot_toggle, name="discord-bot-toggle"),
    path("discord/<uuid:pk>/delete/", bot_delete, name="discord-bot-delete"),
    path("discord/<uuid:pk>/bindings/", binding_new, name="discord-binding-new"),
    path(
        "discord/<uuid:pk>/bindings/<uuid:binding_pk>/toggle/",
        binding_toggle,
        name="discord-binding-toggle",
    ),
    path(
        "discord/<uuid:pk>/bindings/<uuid:binding_pk>/remove/",
        binding_remove,
        name="discord-binding-remove",
    ),
]
