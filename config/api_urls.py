"""/api/v1/: each app's API routes, then a JSON 404 for anything else under the prefix."""

from django.urls import include, path, re_path

from assistants.api.errors import not_found

urlpatterns = [
    path("", include("assistants.api.urls")),
    path("", include("sessions.api.urls")),
    path("", include("integrations.api.urls")),
    re_path(r"", not_found),
]
