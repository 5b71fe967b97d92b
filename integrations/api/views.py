"""Notion connections of the key's organization: list, connect a token, disconnect."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.response import Response

from assistants.api.pagination import Pagination
from assistants.api.schema import ERROR_REF
from assistants.api.views_base import OrganizationScopedAPIView, validated
from integrations.api.serializers import (
    NotionConnectionInputSerializer,
    NotionConnectionOutputSerializer,
)
from integrations.errors import ProviderError
from integrations.models import NotionConnection
from integrations.services import notion_connection_delete, notion_connection_from_token


class NotionUnavailable(APIException):
    status_code = status.HTTP_502_BAD_GATEWAY
    default_detail = "Notion is unavailable; the token could not be checked. Try again."
    default_code = "provider_unavailable"


class ConnectionPagination(Pagination):
    ordering = "-connected_at"


class NotionConnectionListView(OrganizationScopedAPIView[NotionConnection]):
    model = NotionConnection
    pagination_class = ConnectionPagination

    @extend_schema(
        operation_id="notion_connections_list",
        summary="List Notion connections",
        description="The organization's connected Notion workspaces. Tokens are never shown.",
        responses=NotionConnectionOutputSerializer(many=True),
    )
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(NotionConnectionOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="notion_connections_create",
        summary="Connect a Notion internal integration token",
        description="Notion is asked who the token is (GET /v1/users/me) before it is stored, "
        "encrypted. Connecting a workspace again replaces its token and marks it active. "
        "A token Notion rejects is a 400 on `token`; Notion being unreachable is a 502.",
        request=NotionConnectionInputSerializer,
        responses={
            201: NotionConnectionOutputSerializer,
            502: OpenApiResponse(
                response=ERROR_REF, description="Notion could not be reached to check the token."
            ),
        },
    )
    def post(self, request):
        fields = validated(NotionConnectionInputSerializer, request.data)
        try:
            connection = notion_connection_from_token(organization=self.organization, **fields)
        except ProviderError as exc:
            raise NotionUnavailable() from exc
        output = NotionConnectionOutputSerializer(connection)
        return Response(output.data, status=status.HTTP_201_CREATED)


class NotionConnectionDetailView(OrganizationScopedAPIView[NotionConnection]):
    model = NotionConnection

    @extend_schema(
        summary="Disconnect a Notion workspace",
        description="Deletes the connection and its token. Assistants that use it get a tool "
        "result saying Notion isn't connected.",
        responses={204: None},
    )
    def delete(self, request, pk):
        notion_connection_delete(connection=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
