"""Authentication at the API boundary: Bearer keys, 401s, revocation, last_used_at."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from assistants.models import ApiKey
from assistants.services import api_key_revoke
from tests.api.conftest import client_for, error_of

URL = "/api/v1/organization/"


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Token vp_sk_0123456789ab_secret",
        "Basic dXNlcjpwYXNz",
        "Bearer vp_sk_0123456789ab_secret extra",
        "Bearer not-a-key",
        "Bearer vp_sk_0123456789ab_unknownsecret",
        "Bearer vp_xx_0123456789ab_secret",
    ],
)
def test_missing_malformed_or_unknown_key_is_401_with_www_authenticate(db, header):
    headers = {} if header is None else {"HTTP_AUTHORIZATION": header}
    response = client_for(**headers).get(URL)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert error_of(response)["code"] in {"not_authenticated", "authentication_failed"}


def test_right_prefix_wrong_secret_is_401(private_key):
    api_key, raw_key = private_key
    forged = f"{api_key.prefix}_{'x' * 43}"
    assert forged != raw_key
    assert client_for(forged).get(URL).status_code == 401


def test_a_valid_key_resolves_its_organization(api, org):
    response = api.get(URL)
    assert response.status_code == 200
    assert response.json()["id"] == str(org.id)


def test_revocation_is_seen_on_the_next_request(api, private_key):
    api_key, raw_key = private_key
    assert api.get(URL).status_code == 200
    # Revoked elsewhere (another process, the admin): nothing is cached in this process.
    api_key_revoke(api_key=ApiKey.objects.for_org(api_key.organization_id).get(pk=api_key.pk))
    response = client_for(raw_key).get(URL)
    assert response.status_code == 401
    assert error_of(response)["code"] == "authentication_failed"


def test_a_key_can_revoke_itself_and_is_refused_at_once(api, private_key):
    api_key, _ = private_key
    assert api.delete(f"/api/v1/api-keys/{api_key.id}/").status_code == 204
    assert api.get(URL).status_code == 401


def test_last_used_at_is_written_at_most_once_a_minute(api, private_key):
    api_key, _ = private_key
    keys = ApiKey.objects.for_org(api_key.organization_id)
    assert keys.get(pk=api_key.pk).last_used_at is None
    api.get(URL)
    first = keys.get(pk=api_key.pk).last_used_at
    assert first is not None
    api.get(URL)
    assert keys.get(pk=api_key.pk).last_used_at == first  # no write this minute
    cache.clear()  # the minute is over
    api.get(URL)
    assert keys.get(pk=api_key.pk).last_used_at > first


def test_an_authenticated_request_costs_few_queries(api, django_assert_max_num_queries):
    api.get(URL)  # last_used_at written once
    with django_assert_max_num_queries(3):  # key + organization, the page's own reads
        assert api.get(URL).status_code == 200


def test_schema_and_docs_need_no_key(db):
    assert client_for().get("/api/v1/schema/").status_code == 200
    assert client_for().get("/api/v1/docs/").status_code == 200
