"""Control a live session from a backend: end it wherever it runs, or run one text turn."""

from __future__ import annotations

from uuid import UUID

from asgiref.sync import sync_to_async
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from assistants.api.fields import StrictCharField, StrictSerializer
from assistants.api.views_base import OrganizationScopedAPIView, validated
from sessions.api.access import ws_access_for
from sessions.api.serializers import (
    MessageOutputSerializer,
    SessionCreatedOutputSerializer,
    SessionOutputSerializer,
)
from sessions.models import Session
from sessions.protocol import MAX_TEXT_CHARS
from sessions.runtime import text_turn as runtime
from sessions.services import session_stop


class SessionOver(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The session has ended."
    default_code = "session_ended"


class ProviderUnavailable(APIException):
    status_code = status.HTTP_502_BAD_GATEWAY
    default_detail = "The model provider is unavailable. Your message was saved."
    default_code = "provider_unavailable"


class TurnCrashed(APIException):
    status_code = status.HTTP_500_INTERNAL_SERVER_ERROR
    default_detail = "Something went wrong on our side. Your message was saved."
    default_code = "internal_error"


class TextTurnInputSerializer(StrictSerializer):
    content = StrictCharField(max_length=MAX_TEXT_CHARS, trim_whitespace=True)


SESSION_ENDED = OpenApiResponse(description="`session_ended`: the session has ended.")
TEXT_TURN_ERRORS = {
    409: SESSION_ENDED,
    500: OpenApiResponse(description="`internal_error`: a bug on our side; the message is saved."),
    502: OpenApiResponse(
        description="`provider_unavailable`: the model failed after its retries; the message "
        "is saved and the session goes on."
    ),
}

TextTurnOutput = inline_serializer(
    "TextTurnOutput",
    {
        "messages": MessageOutputSerializer(many=True),
        "session_ended": serializers.CharField(allow_null=True),
    },
)


class SessionEndView(OrganizationScopedAPIView[Session]):
    model = Session

    @extend_schema(
        operation_id="sessions_end",
        summary="End a session",
        description="Ends the session wherever its live connection runs; idempotent.",
        request=None,
        responses=SessionOutputSerializer,
    )
    def post(self, request, pk):
        session = session_stop(session=self.get_object())
        return Response(SessionOutputSerializer(session).data)


class SessionTokenView(OrganizationScopedAPIView[Session]):
    model = Session

    @extend_schema(
        operation_id="sessions_token",
        summary="New WebSocket token",
        description="A fresh ws_url and ws_token to (re)connect to a session that has not ended.",
        request=None,
        responses={201: SessionCreatedOutputSerializer, 409: SESSION_ENDED},
    )
    def post(self, request, pk):
        session = self.get_object()
        if session.is_over:
            raise SessionOver()
        output = SessionCreatedOutputSerializer(
            session, context={"ws_access": ws_access_for(request, session)}
        )
        return Response(output.data, status=status.HTTP_201_CREATED)


async def text_turn(
    view: OrganizationScopedAPIView[Session], request: Request, pk: UUID
) -> Response:
    """POST on the session-messages URL: one text turn, tools included, no audio, run on the
    event loop (the view is async) like a live call."""
    session = await sync_to_async(view.get_object)()
    fields = validated(TextTurnInputSerializer, request.data)
    try:
        result = await runtime.run_text_turn(session.pk, fields["content"])
    except runtime.SessionOver:
        raise SessionOver() from None
    except runtime.TurnFailed:
        raise ProviderUnavailable() from None
    except runtime.TurnCrashed:
        raise TurnCrashed() from None
    body = {
        "messages": MessageOutputSerializer(result.messages, many=True).data,
        "session_ended": result.session_ended,
    }
    return Response(body, status=status.HTTP_201_CREATED)
