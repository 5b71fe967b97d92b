"""API test helpers: a client per key, and the objects most tests need."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from assistants.models import ApiKey
from tests.factories import ApiKeyFactory, AssistantFactory, MessageFactory, SessionFactory


def client_for(raw_key: str | None = None, **headers: str) -> APIClient:
    client = APIClient()
    if raw_key is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {raw_key}"
    client.credentials(**headers)
    return client


@pytest.fixture
def api(private_key) -> APIClient:
    """A client with a private key of ``org``."""
    return client_for(private_key[1])


@pytest.fixture
def other_api(other_private_key) -> APIClient:
    """A client with a private key of ``other_org``."""
    return client_for(other_private_key[1])


@pytest.fixture
def assistant(org):
    return AssistantFactory(organization=org)


@pytest.fixture
def session(assistant):
    return SessionFactory(assistant=assistant)


@pytest.fixture
def transcript(session):
    """Three messages, created out of order on purpose."""
    for sequence, role in ((2, "assistant"), (1, "user"), (3, "user")):
        MessageFactory(session=session, sequence=sequence, role=role, content=f"m{sequence}")
    return session


@pytest.fixture
def public_key(org, assistant):
    return ApiKeyFactory.with_secret(
        organization=org,
        kind=ApiKey.Kind.PUBLIC,
        allowed_origins=["https://app.example.com"],
        allowed_assistants=[assistant],
    )


def error_of(response) -> dict:
    """The common error body; fails the test if the shape is wrong."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message"} <= set(body["error"]) <= {"code", "message", "fields"}, body
    return body["error"]
