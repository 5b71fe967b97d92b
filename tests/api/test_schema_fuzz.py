"""Schema-driven fuzzing: schemathesis generates valid and invalid requests for every operation
in /api/v1/schema/ and sends them to a live server with a real private key. No response may be
a 5xx or break the documented schema (status, body and headers of 2xx and error responses).

Bounded (FUZZ_EXAMPLES per operation and mode, derandomized) so CI runs it on every build.
"""

from __future__ import annotations

import contextlib
import os

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import (
    ApiKeyFactory,
    AssistantFactory,
    MessageFactory,
    OrganizationFactory,
    SessionFactory,
)

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def target(live_server):
    """An organization with data, a key for it, and real ids for the operations on objects.

    Deletes get objects of their own, so the other operations keep finding theirs.
    """
    org = OrganizationFactory(api_rate_limit_per_minute=1_000_000)
    assistant = AssistantFactory(organization=org, tools=[{"name": "current_time"}])
    session = SessionFactory(assistant=assistant, metadata={"ticket": 7})
    for sequence in (1, 2, 3):
        MessageFactory(session=session, sequence=sequence)
    _, raw_key = ApiKeyFactory.with_secret(organization=org)
    ids = {
        ("get", "/api/v1/assistants/{id}/"): assistant.id,
        ("patch", "/api/v1/assistants/{id}/"): assistant.id,
        ("delete", "/api/v1/assistants/{id}/"): AssistantFactory(organization=org).id,
        ("get", "/api/v1/sessions/{id}/"): session.id,
        ("get", "/api/v1/sessions/{id}/messages/"): session.id,
        ("delete", "/api/v1/api-keys/{id}/"): ApiKeyFactory.with_secret(organization=org)[0].id,
    }
    return live_server.url, raw_key, ids


def test_no_operation_answers_5xx_or_off_schema(target):
    base_url, raw_key, ids = target
    raw_schema = requests.get(f"{base_url}/api/v1/schema/?format=json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(raw_schema)
    headers = {"Authorization": f"Bearer {raw_key}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 13
    calls = []
    for operation in operations:
        known_id = ids.get((operation.method.lower(), operation.path))
        path_parameters = {"id": str(known_id)} if known_id else None
        positive = operation.as_strategy(headers=headers, path_parameters=path_parameters)
        _fuzz(positive, base_url, calls)
        # Invalid data everywhere, path ids included (the auth header stays valid).
        negative = operation.as_strategy(generation_mode=GenerationMode.NEGATIVE, headers=headers)
        with contextlib.suppress(Unsatisfiable):  # nothing to invalidate: GET /organization/
            _fuzz(negative, base_url, calls)
    # The run reached the interesting answers, not only 404s.
    assert {200, 201, 204, 400, 404} <= set(calls), set(calls)


def _fuzz(strategy, base_url: str, calls: list[int]) -> None:
    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def run(case) -> None:
        response = case.call(base_url=base_url, timeout=10)
        calls.append(response.status_code)
        case.validate_response(response, checks=CHECKS)

    run()
