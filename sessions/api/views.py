"""Sessions and transcripts. Each method: validate, call one service (or read), render.

The live-session endpoints (POST .../messages/, POST .../end/) live in sessions/api/live.py.
"""

from __future__ import annotations

from adrf.views import APIView as AsyncAPIView
from asgiref.sync import sync_to_async
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from assistants.api.cors import BrowserCallableMixin
from assistants.api.pagination import SequencePagination
from assistants.api.views_base import OrganizationScopedAPIView, validated
from sessions.api import live
from sessions.api.access import ws_access_for
from sessions.api.serializers import (
    MessageOutputSerializer,
    SessionCreatedOutputSerializer,
    SessionCreateInputSerializer,
    SessionFilterSerializer,
    SessionOutputSerializer,
)
from sessions.models import Session
from sessions.services import session_start

FILTER_LOOKUPS = {
    "assistant": "assistant_id",
    "status": "status",
    "channel": "channel",
    "created_after": "created_at__gte",
    "created_before": "created_at__lt",
}


class SessionListView(BrowserCallableMixin, OrganizationScopedAPIView[Session]):
    model = Session
    public_key_allowed = True  # POST only; the service applies the key's limits

    @extend_schema(
        operation_id="sessions_list",
        summary="List sessions",
        parameters=[SessionFilterSerializer],
        responses=SessionOutputSerializer(many=True),
    )
    def get(self, request):
        filters = validated(SessionFilterSerializer, request.query_params)
        sessions = self.get_queryset().filter(
            **{FILTER_LOOKUPS[name]: value for name, value in filters.items()}
        )
        page = self.paginate_queryset(sessions)
        return self.get_paginated_response(SessionOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="sessions_create",
        summary="Start a session",
        description="Returns the session with a WebSocket URL and a short-lived token for this "
        "session only, so a browser can join without an organization key. Public keys may call "
        "this for their allowed assistants, from their allowed origins.",
        request=SessionCreateInputSerializer,
        responses={201: SessionCreatedOutputSerializer},
    )
    def post(self, request):
        fields = validated(SessionCreateInputSerializer, request.data)
        session = session_start(
            api_key=request.user.api_key, origin=request.headers.get("Origin"), **fields
        )
        output = SessionCreatedOutputSerializer(
            session, context={"ws_access": ws_access_for(request, session)}
        )
        return Response(output.data, status=status.HTTP_201_CREATED)


class SessionDetailView(OrganizationScopedAPIView[Session]):
    model = Session

    @extend_schema(summary="Get a session", responses=SessionOutputSerializer)
    def get(self, request, pk):
        return Response(SessionOutputSerializer(self.get_object()).data)


class SessionMessagesView(OrganizationScopedAPIView[Session], AsyncAPIView):
    """The transcript. Readable after the assistant is deleted (archived).

    Async (adrf): a text turn lasts as long as the model writes, and must not hold Django's
    one sync thread meanwhile; reading the transcript runs in that thread as usual."""

    model = Session
    pagination_class = SequencePagination

    def messages(self) -> QuerySet:
        return self.get_object().messages.all()

    @extend_schema(
        operation_id="sessions_messages_list",
        summary="List a session's messages",
        description="In the order they were spoken (by sequence).",
        responses=MessageOutputSerializer(many=True),
    )
    async def get(self, request, pk):
        return await sync_to_async(self._page)()

    def _page(self) -> Response:
        page = self.paginate_queryset(self.messages())
        return self.get_paginated_response(MessageOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="sessions_messages_create",
        summary="Run one text turn",
        description="Stores the user's message, runs the assistant (tools included, no audio) "
        "through the same runtime as a live call, and returns the messages this turn stored. "
        "409 if the session has ended; 502 if the model provider failed (the message is saved).",
        request=live.TextTurnInputSerializer,
        responses={201: live.TextTurnOutput, **live.TEXT_TURN_ERRORS},
    )
    async def post(self, request, pk):
        return await live.text_turn(self, request, pk)
