from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import include, path

from config import health, metrics


def home(request: HttpRequest) -> HttpResponseRedirect:
    """/ (also the admin's "View site" and where signing in lands): the admin for someone signed
    in, the login page for anyone else. The dashboard will have its home here."""
    if request.user.is_authenticated:
        return redirect("admin:index")
    return redirect(settings.LOGIN_URL)


urlpatterns = [
    path("", home, name="home"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("integrations/", include("integrations.urls")),
    path("api/v1/", include("config.api_urls")),
    path("health", health.health, name="health"),
    path("ready", health.ready, name="ready"),
    path("metrics", metrics.metrics_view, name="metrics"),
]
