"""Cost: the price table's math, operators' prices, and the cost stored with every message."""

from __future__ import annotations

from decimal import Decimal

import pytest
from channels.db import database_sync_to_async
from django.test import override_settings
from django.urls import reverse
from prometheus_client import REGISTRY
from rest_framework.test import APIClient

from assistants.models import Membership
from assistants.services import staff_grant_permissions
from integrations import pricing
from integrations.models import Price
from sessions.models import Message, Session
from sessions.runtime.store import usage_totals
from tests.factories import (
    AssistantFactory,
    MembershipFactory,
    SessionFactory,
    UserFactory,
    append_message,
)
from tests.sessions.live import LiveClient, silence_pcm, voiced_pcm

pytestmark = pytest.mark.django_db

MINI = pricing.Models("gpt-4o-mini", "eleven_flash_v2_5", "gpt-4o-mini-transcribe")
USAGE = {
    "prompt_tokens": 1200,
    "completion_tokens": 80,
    "tts_characters": 310,
    "stt_audio_seconds": 2.5,
}


@pytest.fixture(autouse=True)
def fresh_price_cache():
    pricing.forget_price_table()
    yield
    pricing.forget_price_table()


def test_cost_of_a_message_at_list_prices():
    cost = pricing.usage_cost(USAGE, MINI)

    # 1200 * 0.15/1M + 80 * 0.60/1M = 0.000228; 310 * 50/1M = 0.0155; 2.5 s * 0.003/min
    assert cost == {
        "currency": "USD",
        "llm": "0.000228",
        "tts": "0.015500",
        "stt": "0.000125",
        "total": "0.015853",
    }


def test_each_kind_is_rounded_half_up_and_the_total_is_the_sum_of_the_rounded_kinds():
    # 10 prompt tokens of gpt-4o-mini: 0.0000015 -> 0.000002; 1 s of scribe: 0.000111116...
    cost = pricing.usage_cost(
        {"prompt_tokens": 10, "stt_audio_seconds": 1},
        pricing.Models("gpt-4o-mini", "eleven_flash_v2_5", "scribe_v1"),
    )

    assert cost["llm"] == "0.000002"
    assert cost["stt"] == "0.000111"
    assert cost["tts"] == "0.000000"
    assert Decimal(cost["total"]) == Decimal(cost["llm"]) + Decimal(cost["stt"])
    assert pricing.money(Decimal("0.0000005")) == "0.000001"
    assert pricing.money(Decimal("0.00000049")) == "0.000000"


def test_an_unknown_model_costs_its_kinds_default():
    unknown = pricing.Models("my-fine-tune", "some-voice", "some-transcriber")

    cost = pricing.usage_cost(USAGE, unknown)

    # defaults: LLM 2.50/10.00 per 1M tokens, TTS 100 per 1M characters, STT 0.006 per minute
    assert cost["llm"] == "0.003800"
    assert cost["tts"] == "0.031000"
    assert cost["stt"] == "0.000250"


def test_streaming_transcription_has_a_list_price_of_its_own():
    realtime = pricing.Models("gpt-4o-mini", "eleven_flash_v2_5", "scribe_v2_realtime")

    cost = pricing.usage_cost({"stt_audio_seconds": 60}, realtime)

    assert cost["stt"] == "0.006500"  # $0.39 an hour, not the default's 0.006 a minute


@override_settings(PRICES={"llm": {"gpt-4o-mini": {"input": "1", "output": "2"}}})
def test_a_kind_without_a_price_or_default_is_free():
    cost = pricing.usage_cost(USAGE, MINI)

    assert cost["llm"] == "0.001360"
    assert cost["tts"] == cost["stt"] == "0.000000"


def test_an_operators_price_overrides_the_settings_and_is_seen_at_once():
    assert pricing.usage_cost(USAGE, MINI)["llm"] == "0.000228"  # the table is now cached

    price = Price.objects.create(
        kind="llm", model="gpt-4o-mini", price=Decimal("1.00"), output_price=Decimal("4.00")
    )
    assert pricing.usage_cost(USAGE, MINI)["llm"] == "0.001520"  # 1200*1/1M + 80*4/1M

    price.delete()
    assert pricing.usage_cost(USAGE, MINI)["llm"] == "0.000228"


def test_a_price_saved_by_another_process_is_used_once_the_cached_table_expires(monkeypatch):
    assert pricing.usage_cost(USAGE, MINI)["llm"] == "0.000228"
    price = Price(kind="llm", model="gpt-4o-mini", price=1, output_price=4)
    super(Price, price).save()  # stored as another process would: this one's copy is kept

    assert pricing.usage_cost(USAGE, MINI)["llm"] == "0.000228"
    later = pricing.time.monotonic() + pricing.CACHE_SECONDS + 1
    monkeypatch.setattr(pricing.time, "monotonic", lambda: later)
    assert pricing.usage_cost(USAGE, MINI)["llm"] == "0.001520"


def test_an_operators_default_prices_every_unlisted_model():
    Price.objects.create(kind="tts", model="default", price=Decimal("10"))

    unknown = pricing.Models("gpt-4o-mini", "some-voice", "whisper-1")
    assert pricing.usage_cost(USAGE, unknown)["tts"] == "0.003100"
    assert pricing.usage_cost(USAGE, MINI)["tts"] == "0.015500"  # listed: its own price


def test_price_rows_check_their_output_price():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="output price"):
        Price(kind="llm", model="x", price=Decimal(1)).full_clean()
    with pytest.raises(ValidationError, match="Only LLM"):
        Price(kind="tts", model="x", price=Decimal(1), output_price=Decimal(1)).full_clean()
    with pytest.raises(ValidationError):
        Price(kind="stt", model="x", price=Decimal(-1)).full_clean()


def test_costs_add_up_and_a_missing_cost_counts_as_zero():
    one = pricing.usage_cost(USAGE, MINI)

    assert pricing.cost_sum(one, one, None)["total"] == "0.031706"
    assert pricing.session_cost({"prompt_tokens": 0}) == pricing.zero_cost()
    assert pricing.zero_cost()["total"] == "0.000000"


def test_usage_totals_sum_cost_exactly():
    cost = {"currency": "USD", "llm": "0.1", "tts": "0.2", "stt": "0.000001", "total": "0.300001"}
    totals: dict = {}
    for _ in range(10):  # ten floats 0.1 + 0.2 would drift; Decimals do not
        totals = usage_totals(totals, {**USAGE, "cost": cost})

    assert totals["cost"] == {
        "currency": "USD",
        "llm": "1.000000",
        "tts": "2.000000",
        "stt": "0.000010",
        "total": "3.000010",
    }
    assert totals["prompt_tokens"] == 12000


def test_a_stored_message_gets_its_cost_and_the_session_the_sum():
    assistant = AssistantFactory(
        model_name="gpt-4o", voice_model="eleven_multilingual_v2", transcriber_model="whisper-1"
    )
    session = SessionFactory(assistant=assistant)
    models = pricing.Models.of(assistant)

    first = append_message(session_id=session.id, role="assistant", content="a", usage=USAGE)
    append_message(session_id=session.id, role="user", content="more")  # no usage, no cost
    second = append_message(session_id=session.id, role="assistant", content="b", usage=USAGE)

    expected = pricing.usage_cost(USAGE, models)
    assert expected["total"] == "0.035050"  # 0.003800 + 0.031000 + 0.000250 (2.5 s at 0.006)
    assert first.usage["cost"] == second.usage["cost"] == expected
    assert first.usage["prompt_tokens"] == 1200  # the units are kept beside the cost
    session_usage = Session.objects.unscoped().get(pk=session.id).usage
    assert session_usage["cost"] == pricing.cost_sum(expected, expected)
    assert session_usage["cost"]["total"] == "0.070100"


def test_cost_uses_the_assistants_models_when_the_message_is_stored():
    assistant = AssistantFactory(model_name="gpt-4o-mini")
    session = SessionFactory(assistant=assistant)
    before = append_message(session_id=session.id, role="assistant", usage=USAGE)
    assistant.model_name = "gpt-4o"
    assistant.save(update_fields=["model_name"])

    after = append_message(session_id=session.id, role="assistant", usage=USAGE)

    assert before.usage["cost"]["llm"] == "0.000228"
    assert after.usage["cost"]["llm"] == "0.003800"


def _sample(kind: str, model: str) -> float:
    value = REGISTRY.get_sample_value("vp_cost_usd_total", {"kind": kind, "model": model})
    return value or 0.0


def test_stored_cost_is_counted_in_prometheus(django_capture_on_commit_callbacks):
    assistant = AssistantFactory(model_name="gpt-4.1-mini")
    session = SessionFactory(assistant=assistant)
    before = _sample("llm", "gpt-4.1-mini")

    with django_capture_on_commit_callbacks(execute=True):
        append_message(session_id=session.id, role="assistant", usage=USAGE)

    # 1200 * 0.40/1M + 80 * 1.60/1M
    assert _sample("llm", "gpt-4.1-mini") - before == pytest.approx(0.000608)


# ---- real turns, against the provider simulators ---------------------------------------------


@database_sync_to_async
def _assistant_messages(session) -> list:
    return list(
        Message.objects.unscoped().filter(session=session, role="assistant").order_by("sequence")
    )


@database_sync_to_async
def _session_usage(session) -> dict:
    return Session.objects.unscoped().get(pk=session.pk).usage


@pytest.mark.django_db(transaction=True)
async def test_a_spoken_turn_stores_its_cost_per_kind_and_the_session_sums_it(
    providers, session, assistant
):
    providers.script_transcription("What time is it?")
    providers.script_chat({"text": "Sure, it is noon."}, {"text": "Still noon."})
    client = LiveClient.for_session(session.id)
    await client.connect()
    audio = silence_pcm(0.2) + voiced_pcm(0.8) + silence_pcm(0.8)
    for i in range(0, len(audio), 640):
        await client.send_audio(audio[i : i + 640])
    spoken = await client.expect("assistant-message")
    if not client.of_type("audio-end"):  # heard to the end: the next message cuts nothing
        await client.expect("audio-end")
    await client.send(type="user-message", content="And now?")
    await client.expect_reply()
    await client.disconnect()

    first, second = await _assistant_messages(session)
    models = pricing.Models.of(assistant)
    for message in (first, second):
        units = {key: message.usage[key] for key in USAGE}
        assert message.usage["cost"] == pricing.usage_cost(units, models)
        assert Decimal(message.usage["cost"]["llm"]) > 0
        assert Decimal(message.usage["cost"]["tts"]) > 0  # the reply was spoken
    assert first.usage["stt_audio_seconds"] > 0.8
    assert Decimal(first.usage["cost"]["stt"]) > 0
    assert second.usage["cost"]["stt"] == "0.000000"  # typed, not spoken
    # 50 USD per 1M characters of eleven_flash_v2_5
    assert first.usage["cost"]["tts"] == pricing.money(
        Decimal(first.usage["tts_characters"]) * 50 / 1_000_000
    )
    totals = await _session_usage(session)
    assert totals["cost"] == pricing.cost_sum(first.usage["cost"], second.usage["cost"])
    assert spoken["usage"] == {key: first.usage[key] for key in USAGE}  # the frame is unchanged


@pytest.mark.django_db(transaction=True)
def test_a_rest_text_turn_stores_the_llm_cost(providers, session, private_key):
    providers.script_chat({"text": "Hello there."})
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {private_key[1]}")

    response = client.post(
        f"/api/v1/sessions/{session.id}/messages/", {"content": "Hi"}, format="json"
    )

    assert response.status_code == 201, response.content
    reply = response.json()["messages"][-1]
    stored = Message.objects.unscoped().get(pk=reply["id"])
    tokens = stored.usage["prompt_tokens"], stored.usage["completion_tokens"]
    assert all(tokens)
    # gpt-4o-mini: 0.15 / 0.60 USD per 1M tokens; a text turn has no audio either way
    llm = pricing.money(
        (Decimal(tokens[0]) * Decimal("0.15") + tokens[1] * Decimal("0.60")) / 10**6
    )
    assert stored.usage["cost"] == {
        "currency": "USD",
        "llm": llm,
        "tts": "0.000000",
        "stt": "0.000000",
        "total": llm,
    }
    assert reply["usage"]["cost"] == stored.usage["cost"]  # the transcript API shows it
    assert Session.objects.unscoped().get(pk=session.pk).usage["cost"] == stored.usage["cost"]


# ---- the admin --------------------------------------------------------------------------------


def _staff_owner(organization):
    user = UserFactory(username="staff-owner")
    staff_grant_permissions(user=user)
    MembershipFactory(user=user, organization=organization, role=Membership.Role.OWNER)
    return user


def test_a_superuser_sets_a_price_in_the_admin_and_the_next_message_uses_it(admin_client):
    session = SessionFactory(assistant=AssistantFactory(voice_model="eleven_turbo_v2_5"))
    append_message(session_id=session.id, role="assistant", usage=USAGE)  # caches the table

    response = admin_client.post(
        reverse("admin:integrations_price_add"),
        {"kind": "tts", "model": "eleven_turbo_v2_5", "price": "20.5", "output_price": ""},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    message = append_message(session_id=session.id, role="assistant", usage=USAGE)
    assert message.usage["cost"]["tts"] == "0.006355"  # 310 characters at 20.50 per 1M
    page = admin_client.get(reverse("admin:integrations_price_changelist")).content.decode()
    assert "eleven_turbo_v2_5" in page


def test_the_admin_refuses_an_llm_price_without_output_price(admin_client):
    response = admin_client.post(
        reverse("admin:integrations_price_add"), {"kind": "llm", "model": "x", "price": "1"}
    )

    assert response.status_code == 200
    assert "An LLM price needs an output price." in response.content.decode()
    assert not Price.objects.exists()


def test_a_bulk_delete_in_the_admin_restores_the_settings_price(admin_client):
    Price.objects.create(kind="llm", model="gpt-4o-mini", price=1, output_price=4)
    assert pricing.usage_cost(USAGE, MINI)["llm"] == "0.001520"

    response = admin_client.post(
        reverse("admin:integrations_price_changelist"),
        {
            "action": "delete_selected",
            "_selected_action": list(Price.objects.values_list("pk", flat=True)),
            "post": "yes",
        },
    )

    assert response.status_code == 302
    assert pricing.usage_cost(USAGE, MINI)["llm"] == "0.000228"


def test_only_superusers_see_prices(client, org):
    Price.objects.create(kind="stt", model="whisper-1", price=1)
    client.force_login(_staff_owner(org))

    assert client.get(reverse("admin:integrations_price_changelist")).status_code == 403
    assert client.get(reverse("admin:integrations_price_add")).status_code == 403
    assert "Prices" not in client.get(reverse("admin:index")).content.decode()


def test_the_session_admin_shows_cost(client, org):
    session = SessionFactory(assistant=AssistantFactory(organization=org))
    append_message(session_id=session.id, role="assistant", content="hi", usage=USAGE)
    SessionFactory(assistant=AssistantFactory(organization=org))  # nothing used yet
    client.force_login(_staff_owner(org))

    listing = client.get(reverse("admin:voice_sessions_session_changelist")).content.decode()
    detail = client.get(
        reverse("admin:voice_sessions_session_change", args=[session.pk])
    ).content.decode()

    assert "$0.015853" in listing and "$0.000000" in listing
    assert "$0.015853 (LLM $0.000228, TTS $0.015500, STT $0.000125)" in detail
