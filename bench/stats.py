"""Percentiles, and the provider floor of a turn: the latency no orchestrator can beat."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bench.stack import ProviderLatency
from simulators.replies import split_tokens

# A speakable piece ends at a clause or sentence mark followed by a space ("Sure, ").
FIRST_PIECE = re.compile(r"^\s*(.+?[,;:.!?\u2014\u2013\u2026])\s")


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary(values: Sequence[float], digits: int = 1) -> dict[str, float | int | None]:
    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, digits)

    return {
        "n": len(values),
        "p50": rounded(percentile(values, 50)),
        "p95": rounded(percentile(values, 95)),
        "p99": rounded(percentile(values, 99)),
        "max": rounded(max(values)) if values else None,
    }


def first_piece_tokens(reply_text: str) -> int:
    """Tokens (as the simulator splits them) of the reply's first speakable piece."""
    match = FIRST_PIECE.match(reply_text)
    piece = match.group(1) if match else reply_text
    return len(split_tokens(piece))


def provider_floor_ms(reply_text: str, latency: ProviderLatency) -> float:
    """Time to first token, plus the first piece's tokens at the per-token delay (the piece is
    complete when the token after it arrives), plus TTS time to first byte."""
    tokens = first_piece_tokens(reply_text)
    return latency.llm_ttft_ms + tokens * latency.llm_token_ms + latency.tts_ttfb_ms


def strict_floor_ms(reply_text: str, latency: ProviderLatency) -> float:
    """The floor without the lookahead: the first piece sent to TTS with its own last token
    (the runtime does that for "Sure,"). No orchestrator can be earlier than this."""
    return provider_floor_ms(reply_text, latency) - latency.llm_token_ms
