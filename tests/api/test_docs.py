"""Swagger UI at /api/v1/docs/ works offline: the page loads nothing from another site, and the
assets it names are served by the server itself (after collectstatic, as in the image)."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def collected_static(settings, tmp_path):
    """Static files collected as the Dockerfile does, and served by WhiteNoise from there."""
    settings.STATIC_ROOT = tmp_path
    # Without compression (what the image adds on top): seconds less, the same files and URLs.
    storage = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    settings.STORAGES = {**settings.STORAGES, "staticfiles": storage}
    call_command("collectstatic", "--noinput", verbosity=0)
    return tmp_path


def test_the_docs_page_names_only_local_assets_and_they_are_served(collected_static):
    page = Client().get("/api/v1/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert re.findall(r"https?://[^\s\"'<>]+", html) == []
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert {a.rsplit("/", 1)[-1] for a in assets} >= {
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
    }
    client = Client()  # a fresh client: WhiteNoise reads the collected files once, at start
    for url in assets:
        assert url.startswith("/static/"), url
        response = client.get(url)
        assert response.status_code == 200, url
        assert b"".join(response.streaming_content), url
