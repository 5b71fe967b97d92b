"""/api/v1/: each app's API routes, then a JSON 404 for anything else under the prefix."""

from django.urls import include, path, re_path

from assistants.api.errors import not_found
from sessions.api.protocol import protocol_schema

urlpatterns = [
    path("", include("assistants.api.urls")),
    path("", include("sessions.api.urls")),
    path("", include("integrations.api.urls")),
    path("", include("voicebridge.api.urls")),
    path("", include("webhooks.api.urls")),
    path("protocol.schema.json", protocol_schema, name="protocol-schema"),
    re_path(r"", not_found),
]
