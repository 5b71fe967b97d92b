"""Assistants, API keys and the organization. Each method: validate, call one service, render."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from assistants.api.serializers import (
    ApiKeyCreatedOutputSerializer,
    ApiKeyInputSerializer,
    ApiKeyOutputSerializer,
    AssistantInputSerializer,
    AssistantOutputSerializer,
    OrganizationOutputSerializer,
    ToolSigningSecretOutputSerializer,
)
from assistants.api.views_base import OrganizationScopedAPIView, validated
from assistants.models import ApiKey, Assistant, Organization
from assistants.services import (
    api_key_issue,
    api_key_revoke,
    assistant_archive,
    assistant_create,
    assistant_rotate_tool_signing_secret,
    assistant_update,
)
from sessions.selectors import usage_this_month


class AssistantListView(OrganizationScopedAPIView[Assistant]):
    model = Assistant

    def scope_queryset(self, queryset):
        return queryset.live()

    @extend_schema(
        operation_id="assistants_list",
        summary="List assistants",
        responses=AssistantOutputSerializer(many=True),
    )
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(AssistantOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="assistants_create",
        summary="Create an assistant",
        request=AssistantInputSerializer,
        responses={201: AssistantOutputSerializer},
    )
    def post(self, request):
        fields = validated(AssistantInputSerializer, request.data)
        assistant = assistant_create(organization=self.organization, **fields)
        return Response(AssistantOutputSerializer(assistant).data, status=status.HTTP_201_CREATED)


class AssistantDetailView(OrganizationScopedAPIView[Assistant]):
    model = Assistant

    def scope_queryset(self, queryset):
        return queryset.live()

    @extend_schema(summary="Get an assistant", responses=AssistantOutputSerializer)
    def get(self, request, pk):
        return Response(AssistantOutputSerializer(self.get_object()).data)

    @extend_schema(
        summary="Update an assistant",
        description="Only the fields given change.",
        request=AssistantInputSerializer(partial=True),
        responses=AssistantOutputSerializer,
    )
    def patch(self, request, pk):
        assistant = self.get_object()
        fields = validated(AssistantInputSerializer, request.data, partial=True)
        assistant = assistant_update(assistant=assistant, **fields)
        return Response(AssistantOutputSerializer(assistant).data)

    @extend_schema(
        summary="Delete an assistant",
        description="An assistant with sessions is archived: it disappears from the API, but its "
        "sessions and their transcripts stay readable.",
        responses={204: None},
    )
    def delete(self, request, pk):
        assistant_archive(assistant=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class AssistantToolSigningSecretView(OrganizationScopedAPIView[Assistant]):
    model = Assistant

    def scope_queryset(self, queryset):
        return queryset.live()

    @extend_schema(
        operation_id="assistants_tool_signing_secret_rotate",
        summary="Make a new tool signing secret",
        description="The secret that signs the assistant's custom tool calls (Standard Webhooks). "
        "The old secret stops working at once; the new one is shown only in this response.",
        request=None,
        responses={201: ToolSigningSecretOutputSerializer},
    )
    def post(self, request, pk):
        secret = assistant_rotate_tool_signing_secret(assistant=self.get_object())
        output = ToolSigningSecretOutputSerializer({"tool_signing_secret": secret})
        return Response(output.data, status=status.HTTP_201_CREATED)


class ApiKeyListView(OrganizationScopedAPIView[ApiKey]):
    model = ApiKey

    def scope_queryset(self, queryset):
        return queryset.prefetch_related("allowed_assistants")

    @extend_schema(
        operation_id="api_keys_list",
        summary="List API keys",
        description="Active and revoked keys. Secrets are never shown again after creation.",
        responses=ApiKeyOutputSerializer(many=True),
    )
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ApiKeyOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="api_keys_create",
        summary="Create an API key",
        description="The response carries the secret, once. Public keys (kind=public) need at "
        "least one allowed assistant and may list allowed browser origins.",
        request=ApiKeyInputSerializer,
        responses={201: ApiKeyCreatedOutputSerializer},
    )
    def post(self, request):
        fields = validated(ApiKeyInputSerializer, request.data)
        api_key, secret = api_key_issue(organization=self.organization, **fields)
        output = ApiKeyCreatedOutputSerializer(api_key, context={"secret": secret})
        return Response(output.data, status=status.HTTP_201_CREATED)


class ApiKeyDetailView(OrganizationScopedAPIView[ApiKey]):
    model = ApiKey

    @extend_schema(
        summary="Revoke an API key",
        description="Takes effect on the next request, on every server. Revoking twice is fine.",
        responses={204: None},
    )
    def delete(self, request, pk):
        api_key_revoke(api_key=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class OrganizationView(OrganizationScopedAPIView[Organization]):
    model = Organization
    pagination_class = None

    @extend_schema(
        summary="Get the key's organization",
        description="Name, limits and usage totals for the current calendar month (UTC).",
        responses=OrganizationOutputSerializer,
    )
    def get(self, request):
        organization = self.get_queryset().get()
        usage = usage_this_month(organization=organization)
        overview = {"organization": organization, "usage": usage}
        return Response(OrganizationOutputSerializer(overview).data)
