"""/api/v1/organization/: the key's organization, its limits and this month's usage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.utils import timezone

from sessions.models import Session
from sessions.selectors import month_bounds, usage_this_month
from tests.factories import SessionFactory

URL = "/api/v1/organization/"


def usage(**values) -> dict:
    return {
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "tts_characters": 0,
        "stt_audio_seconds": 0.0,
        **values,
    }


def test_name_limits_and_empty_usage(api, org):
    body = api.get(URL).json()
    assert body["id"] == str(org.id)
    assert body["name"] == "Acme" and body["slug"] == org.slug
    assert body["limits"] == {"max_concurrent_sessions": 10, "api_rate_limit_per_minute": 120}
    start, end = month_bounds(timezone.now())
    assert body["usage"] == {
        "period_start": start.isoformat().replace("+00:00", "Z"),
        "period_end": end.isoformat().replace("+00:00", "Z"),
        "sessions": 0,
        **usage(),
    }


def test_usage_sums_this_months_sessions_of_this_organization_only(api, assistant, other_org):
    SessionFactory(assistant=assistant, usage=usage(prompt_tokens=100, stt_audio_seconds=1.25))
    SessionFactory(assistant=assistant, usage=usage(prompt_tokens=20.0, tts_characters=7))
    SessionFactory(assistant=assistant, usage={})  # a session that has not used anything yet
    last_month = SessionFactory(assistant=assistant, usage=usage(prompt_tokens=5000))
    start, _ = month_bounds(timezone.now())
    Session.objects.for_org(assistant.organization).filter(pk=last_month.pk).update(
        created_at=start - timedelta(seconds=1)
    )
    SessionFactory(assistant__organization=other_org, usage=usage(prompt_tokens=999))

    totals = api.get(URL).json()["usage"]
    assert totals["sessions"] == 3
    assert totals["prompt_tokens"] == 120
    assert totals["tts_characters"] == 7
    assert totals["completion_tokens"] == 0
    assert totals["stt_audio_seconds"] == 1.25


def test_month_bounds_roll_over_the_year():
    start, end = month_bounds(datetime(2026, 12, 31, 23, 59, tzinfo=UTC))
    assert (start, end) == (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))


def test_usage_is_one_query(org, django_assert_num_queries):
    with django_assert_num_queries(1):
        usage_this_month(organization=org)
