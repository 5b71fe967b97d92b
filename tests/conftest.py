"""Shared fixtures. Provider simulators live in tests/fixtures/ and load as plugins."""

from __future__ import annotations

import os

import pytest
from django.conf import settings
from django.core.cache import cache

from tests.factories import ApiKeyFactory, OrganizationFactory, UserFactory

pytest_plugins = [
    "tests.fixtures.simulators",
    "tests.fixtures.notion",
    "tests.fixtures.servers",
    "tests.fixtures.outages",
]

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def needs_service(name: str, configured: bool) -> None:
    """Skip a test whose service is not configured; with REQUIRE_SERVICES=1, fail instead."""
    if configured:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"{name} is required (REQUIRE_SERVICES=1) but not configured")
    pytest.skip(f"{name} not configured")


REQUIRE_BROWSER = os.environ.get("REQUIRE_BROWSER") == "1"


def need_tool(present: bool, reason: str) -> None:
    """Skip a test whose machine tool is missing (Chromium, espeak-ng, sox, libopus); with
    REQUIRE_BROWSER=1 (CI, which installs them), fail instead."""
    if present:
        return
    if REQUIRE_BROWSER:
        pytest.fail(f"{reason} (REQUIRE_BROWSER=1)")
    pytest.skip(reason)


@pytest.fixture
def redis_url() -> str:
    needs_service("REDIS_URL", bool(settings.REDIS_URL))
    return settings.REDIS_URL


@pytest.fixture
def postgres() -> None:
    needs_service(
        "PostgreSQL (DATABASE_URL)", settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    )


def pytest_sessionstart(session) -> None:
    if REQUIRE_SERVICES:
        engine = settings.DATABASES["default"]["ENGINE"]
        if not engine.endswith("postgresql") or not settings.REDIS_URL:
            raise pytest.UsageError(
                "REQUIRE_SERVICES=1 needs DATABASE_URL (PostgreSQL) and REDIS_URL"
            )


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _notion_is_simulated(settings, notion_simulator):
    """No test reaches the real Notion API, even through an endpoint it did not mean to call."""
    settings.NOTION_API_BASE_URL = notion_simulator.base_url


@pytest.fixture
def org(db):
    return OrganizationFactory(name="Acme")


@pytest.fixture
def other_org(db):
    return OrganizationFactory(name="Globex")


@pytest.fixture
def private_key(org):
    return ApiKeyFactory.with_secret(organization=org)


@pytest.fixture
def other_private_key(other_org):
    return ApiKeyFactory.with_secret(organization=other_org)


@pytest.fixture
def user(db):
    return UserFactory()
