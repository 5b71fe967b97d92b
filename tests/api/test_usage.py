"""GET /api/v1/usage/: usage and cost per day or per assistant, summed in the database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from integrations import pricing
from sessions.models import Session
from tests.api.conftest import error_of
from tests.factories import AssistantFactory, SessionFactory, append_message

pytestmark = pytest.mark.django_db

URL = "/api/v1/usage/"
UNITS = {"prompt_tokens": 1000, "completion_tokens": 100, "tts_characters": 200}


def cost(llm: str, tts: str = "0", stt: str = "0") -> dict:
    return pricing.cost_sum({"llm": llm, "tts": tts, "stt": stt})


def session_on(assistant, day: date, hour: int = 12, **usage) -> Session:
    """A session created on ``day`` (UTC) with the usage totals given."""
    session = SessionFactory(assistant=assistant, usage=usage)
    created = datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
    Session.objects.for_org(assistant.organization).filter(pk=session.pk).update(created_at=created)
    return session


@pytest.fixture
def month(org, other_org):
    """Two assistants of ``org`` over three days of November, and ``other_org``'s big spender."""
    alpha = AssistantFactory(organization=org, name="Alpha")
    beta = AssistantFactory(organization=org, name="Beta")
    session_on(alpha, date(2026, 11, 2), hour=0, **UNITS, cost=cost("0.1", "0.2", "0.000001"))
    session_on(alpha, date(2026, 11, 2), hour=23, **UNITS, cost=cost("0.1", "0.2", "0.000001"))
    session_on(beta, date(2026, 11, 3), stt_audio_seconds=2.5, cost=cost("0", "0", "0.000125"))
    session_on(beta, date(2026, 11, 5))  # a session that used nothing yet: usage {}
    session_on(alpha, date(2026, 10, 31), hour=23, **UNITS, cost=cost("9"))  # before the range
    session_on(alpha, date(2026, 11, 6), hour=0, **UNITS, cost=cost("9"))  # after it
    theirs = AssistantFactory(organization=other_org, name="Theirs")
    session_on(theirs, date(2026, 11, 2), **UNITS, cost=cost("500"))
    return alpha, beta


def test_per_day(api, month):
    response = api.get(URL, {"from": "2026-11-01", "to": "2026-11-05", "group_by": "day"})

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["from"], body["to"], body["group_by"]) == ("2026-11-01", "2026-11-05", "day")
    assert body["groups"] == [
        {
            "day": "2026-11-02",
            "sessions": 2,
            "prompt_tokens": 2000,
            "completion_tokens": 200,
            "tts_characters": 400,
            "stt_audio_seconds": 0.0,
            # 0.1 + 0.1 and 0.2 + 0.2 exactly: summed as decimals, not floats
            "cost": cost("0.2", "0.4", "0.000002"),
        },
        {
            "day": "2026-11-03",
            "sessions": 1,
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "tts_characters": 0,
            "stt_audio_seconds": 2.5,
            "cost": cost("0", "0", "0.000125"),
        },
        {
            "day": "2026-11-05",
            "sessions": 1,
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "tts_characters": 0,
            "stt_audio_seconds": 0.0,
            "cost": pricing.zero_cost(),
        },
    ]
    assert body["totals"] == {
        "sessions": 4,
        "prompt_tokens": 2000,
        "completion_tokens": 200,
        "tts_characters": 400,
        "stt_audio_seconds": 2.5,
        "cost": {
            "currency": "USD",
            "llm": "0.200000",
            "tts": "0.400000",
            "stt": "0.000127",
            "total": "0.600127",
        },
    }


def test_per_assistant(api, month):
    alpha, beta = month

    body = api.get(URL, {"from": "2026-11-01", "to": "2026-11-30", "group_by": "assistant"})
    groups = body.json()["groups"]

    assert [(g["assistant_id"], g["assistant_name"], g["sessions"]) for g in groups] == [
        (str(alpha.id), "Alpha", 3),  # 2, 2 and 6 November
        (str(beta.id), "Beta", 2),
    ]
    assert groups[0]["cost"]["total"] == "9.600002"
    assert groups[1]["cost"]["total"] == "0.000125"
    assert "day" not in groups[0]
    assert body.json()["totals"]["cost"]["total"] == "9.600127"


def test_an_archived_assistants_usage_still_counts(api, month):
    alpha, _ = month
    alpha.archived_at = timezone.now()
    alpha.save()

    body = api.get(URL, {"from": "2026-11-02", "to": "2026-11-02", "group_by": "assistant"})

    assert [g["assistant_name"] for g in body.json()["groups"]] == ["Alpha"]


def test_the_default_range_is_the_last_30_days_per_day(api, assistant):
    today = timezone.now().date()
    SessionFactory(assistant=assistant, usage={**UNITS, "cost": cost("0.5")})
    session_on(assistant, today - timedelta(days=30), **UNITS, cost=cost("7"))  # one day too old

    body = api.get(URL).json()

    assert (body["from"], body["to"]) == (str(today - timedelta(days=29)), str(today))
    assert body["group_by"] == "day"
    assert [g["day"] for g in body["groups"]] == [str(today)]
    assert body["totals"]["cost"]["total"] == "0.500000"


def test_an_empty_range_has_no_groups_and_zero_totals(api, org):
    body = api.get(URL, {"from": "2020-01-01", "to": "2020-01-31"}).json()

    assert body["groups"] == []
    assert body["totals"] == {
        "sessions": 0,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "tts_characters": 0,
        "stt_audio_seconds": 0,
        "cost": pricing.zero_cost(),
    }


def test_stored_turns_are_reported_with_their_cost(api, assistant):
    session = SessionFactory(assistant=assistant)
    for _ in range(3):
        append_message(session_id=session.id, role="assistant", content="hi", usage=UNITS)
    one = pricing.usage_cost(UNITS, pricing.Models.of(assistant))

    body = api.get(URL, {"group_by": "assistant"}).json()

    assert body["groups"][0]["prompt_tokens"] == 3000
    assert body["groups"][0]["cost"] == pricing.cost_sum(one, one, one)


def test_max_range_is_366_days(api, org):
    assert api.get(URL, {"from": "2024-01-01", "to": "2024-12-31"}).status_code == 200  # 366

    response = api.get(URL, {"from": "2024-01-01", "to": "2025-01-01"})

    assert response.status_code == 400
    assert "366" in error_of(response)["fields"]["to"][0]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-13-01"}, "from"),
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-02-30"}, "to"),
        ({"from": "2026-11-05", "to": "2026-11-04"}, "from"),
        ({"group_by": "week"}, "group_by"),
        ({"groupby": "day"}, "groupby"),
        ({"from": "9999-12-31", "to": "9999-12-31"}, "to"),
    ],
)
def test_bad_parameters_are_400_with_field_messages(api, org, params, field):
    response = api.get(URL, params)

    assert response.status_code == 400, response.content
    error = error_of(response)
    assert error["code"] == "invalid"
    assert list(error["fields"]) == [field]


def test_another_organizations_key_sees_only_its_own_usage(other_api, month):
    body = other_api.get(URL, {"from": "2026-11-01", "to": "2026-11-30", "group_by": "assistant"})

    groups = body.json()["groups"]
    assert [g["assistant_name"] for g in groups] == ["Theirs"]
    assert body.json()["totals"]["cost"]["total"] == "500.000000"


def test_own_key_never_counts_another_organizations_usage(api, month):
    body = api.get(URL, {"from": "2026-11-02", "to": "2026-11-02"}).json()

    assert body["totals"]["sessions"] == 2
    assert body["totals"]["cost"]["total"] == "0.600002"


def test_a_public_key_is_refused(public_key):
    from tests.api.conftest import client_for

    client = client_for(public_key[1], HTTP_ORIGIN="https://app.example.com")
    response = client.get(URL)

    assert response.status_code == 403
    assert error_of(response)["code"] == "permission_denied"


def test_documented_in_the_schema(api):
    schema = api.get("/api/v1/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/usage/"]["get"]

    assert {p["name"] for p in operation["parameters"]} == {"from", "to", "group_by"}
    assert {"200", "400", "401", "403", "429"} <= set(operation["responses"])
    cost_schema = schema["components"]["schemas"]["Cost"]
    assert set(cost_schema["properties"]) == {"currency", "llm", "tts", "stt", "total"}


@pytest.mark.parametrize(
    "params",
    [
        {"from": "0001-01-01", "to": "0001-01-01"},
        {"from": "9999-12-29", "to": "9999-12-30", "group_by": "assistant"},
    ],
)
def test_the_ends_of_the_calendar_are_empty_not_errors(api, org, params):
    response = api.get(URL, params)

    assert response.status_code == 200, response.content
    assert response.json()["groups"] == []
