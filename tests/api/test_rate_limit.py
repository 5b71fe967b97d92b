"""Per-organization rate limit: Organization.api_rate_limit_per_minute in a fixed one-minute
window, shared by all the organization's keys (minting keys does not multiply it)."""

from __future__ import annotations

import pytest
from django.core.cache import caches

from assistants.models import Organization
from tests.api.conftest import client_for, error_of
from tests.factories import ApiKeyFactory

URL = "/api/v1/organization/"


@pytest.fixture
def clock(monkeypatch):
    """Wall-clock seconds, moved by hand (the window is computed from time.time())."""
    state = {"now": 1_800_000_000.0}  # a whole minute
    monkeypatch.setattr("time.time", lambda: state["now"])
    return state


def set_limit(org, per_minute: int) -> None:
    Organization.objects.for_org(org).update(api_rate_limit_per_minute=per_minute)


def test_over_the_limit_is_429_with_retry_after(api, org, clock):
    set_limit(org, 3)
    clock["now"] += 20.4  # 20.4 s into the minute
    assert [api.get(URL).status_code for _ in range(3)] == [200, 200, 200]
    response = api.get(URL)
    assert response.status_code == 429
    assert response["Retry-After"] == "40"  # whole seconds, rounded up, to the window's end
    error = error_of(response)
    assert error["code"] == "throttled"
    assert "40 seconds" in error["message"]


def test_the_next_window_starts_afresh(api, org, clock):
    set_limit(org, 1)
    assert api.get(URL).status_code == 200
    assert api.get(URL).status_code == 429
    clock["now"] += 60
    assert api.get(URL).status_code == 200


def test_the_keys_of_an_organization_share_its_budget(api, org, other_api, clock):
    set_limit(org, 2)
    second_key = client_for(ApiKeyFactory.with_secret(organization=org)[1])
    assert api.get(URL).status_code == 200
    assert second_key.get(URL).status_code == 200
    assert second_key.get(URL).status_code == 429
    assert api.get(URL).status_code == 429
    assert client_for(ApiKeyFactory.with_secret(organization=org)[1]).get(URL).status_code == 429
    assert other_api.get(URL).status_code == 200  # another organization's budget is its own


def test_the_limit_is_read_on_every_request(api, org, clock):
    set_limit(org, 1)
    api.get(URL)
    assert api.get(URL).status_code == 429
    set_limit(org, 5)
    assert api.get(URL).status_code == 200


def test_refused_writes_count_too_and_do_nothing(api, org, clock):
    set_limit(org, 1)
    api.get(URL)
    response = api.post("/api/v1/assistants/", {"name": "x"}, format="json")
    assert response.status_code == 429
    assert not org.assistants.exists()


def test_a_public_key_is_limited_on_session_creation(org, assistant, public_key, clock):
    set_limit(org, 1)
    client = client_for(public_key[1])
    body = {"assistant_id": str(assistant.id)}
    assert client.post("/api/v1/sessions/", body, format="json").status_code == 201
    assert client.post("/api/v1/sessions/", body, format="json").status_code == 429


def test_requests_without_a_key_are_not_counted(api, org, clock):
    set_limit(org, 1)
    for _ in range(3):
        assert client_for().get(URL).status_code == 401
    assert api.get(URL).status_code == 200


@pytest.mark.services
def test_the_counter_is_shared_through_redis(redis_url, api, org, private_key, clock):
    """Another server process is another cache client on the same Redis: its requests count."""
    set_limit(org, 3)
    assert api.get(URL).status_code == 200
    other_process = caches.create_connection("default")
    window = int(clock["now"] // 60)
    counter = f"ratelimit:org:{org.pk}:{window}"
    assert other_process.get(counter) == 1
    other_process.incr(counter, 2)  # two requests served elsewhere
    assert api.get(URL).status_code == 429
