"""Baselines measured straight against the simulators (see bench/direct.py), on an idle system."""

from __future__ import annotations

from typing import Any

from bench.client import QUESTIONS
from bench.direct import DirectClients, sdk_cpu_per_turn
from bench.stack import Stack
from bench.stats import summary


async def measure(stack: Stack, turns: int) -> dict[str, Any]:
    clients = DirectClients(stack)
    non_streaming, streaming, lateness = [], [], []
    try:
        for number in range(turns):
            question = QUESTIONS[number % len(QUESTIONS)]
            non_streaming.append(await clients.non_streaming_turn(question))
            streaming.append(await clients.streaming_turn(question))
            lateness.extend(await clients.token_lateness(question))
        sdk_cpu = await sdk_cpu_per_turn(clients, QUESTIONS[0])
    finally:
        await clients.aclose()
    return {
        "turns": turns,
        "non_streaming_first_audio_ms": summary(non_streaming),
        "direct_streaming_first_audio_ms": summary(streaming),
        "simulator_token_lateness_ms": summary(lateness),
        "sdk_cpu_ms_per_turn": {key: round(value, 1) for key, value in sdk_cpu.items()},
    }
