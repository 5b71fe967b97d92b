"""Webhook endpoints of the key's organization and their delivery logs.
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
from webhooks.api.serializers import (
    DeliveryOutputSerializer,
    EndpointInputSerializer,
    EndpointOutputSerializer,
    EndpointWithSecretSerializer,
)
from webhooks.models import Delivery, WebhookEndpoint
from webhooks.services import (
    delivery_redeliver,
    endpoint_create,
    endpoint_delete,
    endpoint_rotate_secret,
    endpoint_update,
)


class EndpointViewBase(OrganizationScopedAPIView[WebhookEndpoint]):
    model = WebhookEndpoint

    def endpoint_fields(self, data: Any, *, partial: bool = False) -> dict[str, Any]:
        fields = validated(EndpointInputSerializer, data, partial=partial)
        if "assistant_id" in fields:
            fields["assistant"] = self.assistant(fields.pop("assistant_id"))
        return fields

    def assistant(self, assistant_id: Any) -> Assistant | None:
        if assistant_id is None:
            return None
        assistant = Assistant.objects.for_org(self.organization).live().filter(pk=assistant_id)
        if not assistant.exists():
            raise ValidationError({"assistant_id": "No assistant with this id."})
        return assistant.get()


class EndpointListView(EndpointViewBase):
    @extend_schema(
        operation_id="webhook_endpoints_list",
        summary="List webhook endpoints",
        responses=EndpointOutputSerializer(many=True),
    )
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(EndpointOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="webhook_endpoints_create",
        summary="Add a webhook endpoint",
        description="The response carries the signing secret, once. Events are signed with it "
        "as Standard Webhooks (docs/WEBHOOKS.md).",
        request=EndpointInputSerializer,
        responses={201: EndpointWithSecretSerializer},
    )
    def post(self, request):
        endpoint = endpoint_create(
            organization=self.organization, **self.endpoint_fields(request.data)
        )
        return Response(EndpointWithSecretSerializer(endpoint).data, status=status.HTTP_201_CREATED)


class EndpointDetailView(EndpointViewBase):
    @extend_schema(summary="Get a webhook endpoint", responses=EndpointOutputSerializer)
    def get(self, request, pk):
        return Response(EndpointOutputSerializer(self.get_object()).data)

    @extend_schema(
        summary="Update a webhook endpoint",
        description="Only the fields given change. Enabling a disabled endpoint clears why it "
        "was disabled.",
        request=EndpointInputSerializer(partial=True),
        responses=EndpointOutputSerializer,
    )
    def patch(self, request, pk):
        endpoint = self.get_object()
        fields = self.endpoint_fields(request.data, partial=True)
        endpoint = endpoint_update(endpoint=endpoint, **fields)
        return Response(EndpointOutputSerializer(endpoint).data)

    @extend_schema(
        summary="Delete a webhook endpoint",
        description="Deletes the endpoint and its delivery log.",
        responses={204: None},
    )
    def delete(self, request, pk):
        endpoint_delete(endpoint=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class EndpointRotateSecretView(EndpointViewBase):
    @extend_schema(
        operation_id="webhook_endpoints_rotate_secret",
        summary="Rotate an endpoint's signing secret",
        description="A new secret signs every attempt from now on; the response shows it once.",
        request=None,
        responses=EndpointWithSecretSerializer,
    )
    def post(self, request, pk):
        endpoint = endpoint_rotate_secret(endpoint=self.get_object())
        return Response(EndpointWithSecretSerializer(endpoint).data)


class DeliveryViewBase(OrganizationScopedAPIView[Delivery]):
    """Deliveries of one endpoint: the endpoint must be the organization's (else 404)."""

    model = Delivery

    def endpoint(self) -> WebhookEndpoint:
        endpoints = WebhookEndpoint.objects.for_org(self.organization)
        return get_object_or_404(endpoints, pk=self.kwargs["endpoint_pk"])

    def scope_queryset(self, queryset):
        deliveries = queryset.filter(endpoint_id=self.kwargs.get("endpoint_pk"))
        return deliveries.select_related("event").prefetch_related("attempt_log")


class DeliveryListView(DeliveryViewBase):
    @extend_schema(
        operation_id="webhook_deliveries_list",
        summary="An endpoint's delivery log",
        description="Newest first: each event sent here, its status, next retry and attempts "
        "(status code, latency, response excerpt, error).",
        responses=DeliveryOutputSerializer(many=True),
    )
    def get(self, request, endpoint_pk):
        self.endpoint()
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(DeliveryOutputSerializer(page, many=True).data)


class DeliveryRedeliverView(DeliveryViewBase):
    @extend_schema(
        operation_id="webhook_deliveries_redeliver",
        summary="Send a delivery again",
        description="Sends the same event (same webhook-id) now, with a fresh round of retries.",
        request=None,
        responses={202: DeliveryOutputSerializer},
    )
    def post(self, request, endpoint_pk, pk):
        endpoint = self.endpoint()
        if not endpoint.enabled:
            raise ValidationError({"endpoint": "This endpoint is disabled: enable it first."})
        delivery = delivery_redeliver(delivery=self.get_object())
        delivery = self.get_queryset().get(pk=delivery.pk)
        return Response(DeliveryOutputSerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
