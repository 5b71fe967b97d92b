"""WebSocket routes."""

from django.urls import path, re_path

from sessions.consumers import SessionConsumer, UnknownPathConsumer

# Channels routes ASGI applications with Django's path(), which django-stubs types for views
# only (no ASGI overload: typeddjango/django-stubs#3354), hence the two ignores.
websocket_urlpatterns = [
    path("ws/sessions/<uuid:session_id>/", SessionConsumer.as_asgi()),  # type: ignore[arg-type]
    re_path(r"", UnknownPathConsumer.as_asgi()),  # type: ignore[arg-type]  # else 4404, not 500
]
