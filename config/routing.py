"""WebSocket routes."""

from django.urls import path, re_path

from sessions.consumers import SessionConsumer, UnknownPathConsumer

websocket_urlpatterns = [
    path("ws/sessions/<uuid:session_id>/", SessionConsumer.as_asgi()),
    re_path(r"", UnknownPathConsumer.as_asgi()),  # anything else: 4404, not a 500
]
