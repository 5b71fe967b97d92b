"""Discord bots of the key's organization and the guilds/channels each binds to an assistant.
Each method: validate, call one service, render."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from assistants.api.views_base import OrganizationScopedAPIView, validated
from assistants.models import Assistant
from voicebridge.api.serializers import (
    DiscordBindingInputSerializer,
    DiscordBindingOutputSerializer,
    DiscordBotInputSerializer,
    DiscordBotOutputSerializer,
)
from voicebridge.models import DiscordBinding, DiscordBot
from voicebridge.services import (
    discord_binding_create,
    discord_binding_delete,
    discord_binding_update,
    discord_bot_create,
    discord_bot_delete,
    discord_bot_update,
)


class DiscordBotListView(OrganizationScopedAPIView[DiscordBot]):
    model = DiscordBot

    @extend_schema(
        operation_id="discord_bots_list",
        summary="List Discord bots",
        responses=DiscordBotOutputSerializer(many=True),
    )
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(DiscordBotOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="discord_bots_create",
        summary="Connect a Discord bot",
        description="The token is stored encrypted and never returned. The response's "
        "invite_url adds the bot to a server with the permissions the bridge needs.",
        request=DiscordBotInputSerializer,
        responses={201: DiscordBotOutputSerializer},
    )
    def post(self, request):
        fields = validated(DiscordBotInputSerializer, request.data)
        bot = discord_bot_create(organization=self.organization, **fields)
        return Response(DiscordBotOutputSerializer(bot).data, status=status.HTTP_201_CREATED)


class DiscordBotDetailView(OrganizationScopedAPIView[DiscordBot]):
    model = DiscordBot

    @extend_schema(summary="Get a Discord bot", responses=DiscordBotOutputSerializer)
    def get(self, request, pk):
        return Response(DiscordBotOutputSerializer(self.get_object()).data)

    @extend_schema(
        summary="Update a Discord bot",
        description="Only the fields given change. A new token replaces the stored one.",
        request=DiscordBotInputSerializer(partial=True),
        responses=DiscordBotOutputSerializer,
    )
    def patch(self, request, pk):
        bot = self.get_object()
        fields = validated(DiscordBotInputSerializer, request.data, partial=True)
        bot = discord_bot_update(bot=bot, **fields)
        return Response(DiscordBotOutputSerializer(bot).data)

    @extend_schema(
        summary="Delete a Discord bot",
        description="Deletes the bot, its token and its bindings. Sessions held in Discord stay "
        "readable under /sessions/.",
        responses={204: None},
    )
    def delete(self, request, pk):
        discord_bot_delete(bot=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class BindingViewBase(OrganizationScopedAPIView[DiscordBinding]):
    """Bindings of one bot: the bot must be the organization's (else 404)."""

    model = DiscordBinding

    def bot(self) -> DiscordBot:
        bots = DiscordBot.objects.for_org(self.organization)
        return get_object_or_404(bots, pk=self.kwargs["bot_pk"])

    def scope_queryset(self, queryset):
        return queryset.filter(bot_id=self.kwargs.get("bot_pk")).select_related("assistant")

    def binding_fields(self, data: Any, *, partial: bool = False) -> dict[str, Any]:
        fields = validated(DiscordBindingInputSerializer, data, partial=partial)
        if "assistant_id" in fields:
            fields["assistant"] = self.assistant(fields.pop("assistant_id"))
        return fields

    def assistant(self, assistant_id: Any) -> Assistant:
        assistants = Assistant.objects.for_org(self.organization).live()
        assistant = assistants.filter(pk=assistant_id).first()
        if assistant is None:
            raise ValidationError({"assistant_id": "No assistant with this id."})
        return assistant


class DiscordBindingListView(BindingViewBase):
    @extend_schema(
        operation_id="discord_bindings_list",
        summary="List a bot's bindings",
        responses=DiscordBindingOutputSerializer(many=True),
    )
    def get(self, request, bot_pk):
        self.bot()
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(DiscordBindingOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="discord_bindings_create",
        summary="Bind a server or channel to an assistant",
        description="Without channel_id, every channel of the server. A channel binding wins "
        "over its server's.",
        request=DiscordBindingInputSerializer,
        responses={201: DiscordBindingOutputSerializer},
    )
    def post(self, request, bot_pk):
        bot = self.bot()
        binding = discord_binding_create(bot=bot, **self.binding_fields(request.data))
        output = DiscordBindingOutputSerializer(binding)
        return Response(output.data, status=status.HTTP_201_CREATED)


class DiscordBindingDetailView(BindingViewBase):
    @extend_schema(summary="Get a binding", responses=DiscordBindingOutputSerializer)
    def get(self, request, bot_pk, pk):
        return Response(DiscordBindingOutputSerializer(self.get_object()).data)

    @extend_schema(
        summary="Update a binding",
        description="Only the fields given change.",
        request=DiscordBindingInputSerializer(partial=True),
        responses=DiscordBindingOutputSerializer,
    )
    def patch(self, request, bot_pk, pk):
        binding = self.get_object()
        fields = self.binding_fields(request.data, partial=True)
        binding = discord_binding_update(binding=binding, **fields)
        return Response(DiscordBindingOutputSerializer(binding).data)

    @extend_schema(summary="Delete a binding", responses={204: None})
    def delete(self, request, bot_pk, pk):
        discord_binding_delete(binding=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
