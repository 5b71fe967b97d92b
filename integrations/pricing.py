"""Money: the price table, and the cost of a message's usage.

Prices come from ``settings.PRICES`` with the operators' ``Price`` rows on top (admin). Units:
LLM per 1M input and per 1M output tokens, TTS per 1M characters, STT per minute of audio. A model
with no price of its own costs its kind's ``default``.

Amounts are ``Decimal`` and travel in JSON as strings with exactly six decimal places (US
dollars, so one unit is a micro-dollar): ``"0.000135"``. Strings, because a JSON number is a
float to most readers, and a sum of floats drifts. Each kind's cost is rounded half-up to six
places when the message is stored; ``total`` is the sum of the rounded kinds, so the parts always
add up to the total, in a message and in a session.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypedDict

from django.conf import settings

from integrations.models import Price

CURRENCY = "USD"
KINDS = ("llm", "tts", "stt")
MICRO = Decimal("0.000001")
MILLION = Decimal(1_000_000)
SECONDS_PER_MINUTE = Decimal(60)
# Each process keeps the table in its own memory: pricing a message never waits on Redis (nor
# fails with it). Long enough to spare the database a read per message; short enough that a
# price saved in another process (the admin's) is used everywhere within a minute. The
# process that saves a price forgets its copy at once (Price.save).
CACHE_SECONDS = 60


class Cost(TypedDict):
    currency: str
    llm: str
    tts: str
    stt: str
    total: str


@dataclass(frozen=True)
class Rate:
    """One model's price: ``input`` is the only price of a TTS or STT model."""

    input: Decimal
    output: Decimal = Decimal(0)


@dataclass(frozen=True)
class Models:
    """The models whose prices apply: an assistant's model_name, voice_model, transcriber_model."""

    llm: str
    tts: str
    stt: str

    @classmethod
    def of(cls, assistant: Any) -> Models:
        return cls(assistant.model_name, assistant.voice_model, assistant.transcriber_model)


PriceTable = dict[str, dict[str, Rate]]
_cached: tuple[float, PriceTable | None] = (0.0, None)


def money(amount: Decimal | str | int | float) -> str:
    """``amount`` as the six-decimal string of the JSON contract, rounded half-up."""
    return str(Decimal(str(amount)).quantize(MICRO, rounding=ROUND_HALF_UP))


def zero_cost() -> Cost:
    return _cost(Decimal(0), Decimal(0), Decimal(0))


def _cost(llm: Decimal, tts: Decimal, stt: Decimal) -> Cost:
    """Each kind rounded to six places; the total is the sum of the rounded kinds."""
    llm, tts, stt = (Decimal(money(amount)) for amount in (llm, tts, stt))
    return {
        "currency": CURRENCY,
        "llm": money(llm),
        "tts": money(tts),
        "stt": money(stt),
        "total": money(llm + tts + stt),
    }


def price_table() -> PriceTable:
    """Settings' prices with the operators' rows on top, kept for ``CACHE_SECONDS``."""
    global _cached
    loaded_at, table = _cached
    if table is None or time.monotonic() - loaded_at > CACHE_SECONDS:
        table = settings_prices()
        for row in Price.objects.all():
            output = row.output_price if row.output_price is not None else Decimal(0)
            table.setdefault(row.kind, {})[row.model] = Rate(row.price, output)
        _cached = (time.monotonic(), table)
    return table


def settings_prices() -> PriceTable:
    """``settings.PRICES`` alone, without the operators' rows."""
    return {
        kind: {
            model: Rate(Decimal(price["input"]), Decimal(price.get("output", "0")))
            for model, price in settings.PRICES.get(kind, {}).items()
        }
        for kind in KINDS
    }


def forget_price_table() -> None:
    """Empty this process's cache: its next cost is computed with the prices stored now."""
    global _cached
    _cached = (0.0, None)


def rate(table: PriceTable, kind: str, model: str) -> Rate:
    """``model``'s price, else its kind's default, else free (a table without a default)."""
    prices = table.get(kind, {})
    return prices.get(model) or prices.get("default") or Rate(Decimal(0))


def usage_cost(usage: dict[str, Any], models: Models, table: PriceTable | None = None) -> Cost:
    """What one message's usage (tokens, characters, audio seconds) cost."""
    table = table if table is not None else price_table()
    llm, tts, stt = (rate(table, kind, getattr(models, kind)) for kind in KINDS)
    return _cost(
        (
            _units(usage, "prompt_tokens") * llm.input
            + _units(usage, "completion_tokens") * llm.output
        )
        / MILLION,
        _units(usage, "tts_characters") * tts.input / MILLION,
        _units(usage, "stt_audio_seconds") * stt.input / SECONDS_PER_MINUTE,
    )


def cost_sum(*costs: dict[str, Any] | None) -> Cost:
    """The sum of several costs (a missing one counts as zero)."""
    sums = [sum((_amount(cost, kind) for cost in costs), Decimal(0)) for kind in KINDS]
    return _cost(*sums)


def session_cost(usage: dict[str, Any] | None) -> Cost:
    """A session's cost so far from its ``usage``: zero before its first priced message."""
    return cost_sum((usage or {}).get("cost"))


def _units(usage: dict[str, Any], key: str) -> Decimal:
    return Decimal(str(usage.get(key) or 0))


def _amount(cost: dict[str, Any] | None, kind: str) -> Decimal:
    return Decimal(str((cost or {}).get(kind) or "0"))
