from django.contrib import admin
from django.urls import include, path

from config import health, metrics

urlpatterns = [
    # The dashboard at / (also the admin's "View site" and where signing in lands).
    path("", include("frontend.urls")),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("integrations/", include("integrations.urls")),
    path("api/v1/", include("config.api_urls")),
    path("health", health.health, name="health"),
    path("ready", health.ready, name="ready"),
    path("metrics", metrics.metrics_view, name="metrics"),
]
