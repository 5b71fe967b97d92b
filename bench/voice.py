"""The voice phases: callers who speak, per transcription mode and end-of-turn silence.

Each run PATCHes the bench assistant (docs/API.md) before its phases: a session reads its
assistant's settings when it connects, and every phase creates and connects its own sessions.
"""

from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass
from typing import Any

import httpx

from bench import phases
from bench.client import VoiceSession
from bench.stack import Stack

SETUP_ALLOWANCE_S = 45  # creating, connecting and settling a phase's sessions
BATCH_MODEL = "gpt-4o-mini-transcribe"
REALTIME_MODEL = "scribe_v2_realtime"
COUNTERS = ("vp_preemptive_replies_total", "vp_stt_stream_fallbacks_total")
SAMPLE = re.compile(r"^(\w+)(?:\{([^}]*)\})?\s+(\S+)$")


@dataclass(frozen=True)
class VoiceRun:
    """One transcription mode at one end-of-turn silence."""

    mode: str
    silence_ms: int

    @property
    def name(self) -> str:
        return f"{self.mode}-{self.silence_ms}"

    def assistant_settings(self) -> dict[str, Any]:
        streaming = self.mode != "batch"
        return {
            "transcriber_provider": "elevenlabs" if streaming else "openai",
            "transcriber_mode": "streaming" if streaming else "batch",
            "transcriber_model": REALTIME_MODEL if streaming else BATCH_MODEL,
            "preemptive_replies": self.mode == "preemptive",
            "end_of_turn_silence_ms": self.silence_ms,
        }


def plan(modes: str, silence_ms: int, preemptive_silences: str) -> list[VoiceRun]:
    """The runs, in order: each mode at ``silence_ms``; preemptive also at each extra silence."""
    chosen = [m.strip() for m in modes.split(",") if m.strip()]
    if unknown := sorted(set(chosen) - set(phases.VOICE_MODES)):
        raise ValueError(f"unknown voice mode(s) {', '.join(unknown)}")
    runs = [VoiceRun(mode, silence_ms) for mode in phases.VOICE_MODES if mode in chosen]
    if "preemptive" in chosen:
        extra = sorted({int(s) for s in preemptive_silences.split(",") if s.strip()})
        runs += [VoiceRun("preemptive", s) for s in extra if s != silence_ms]
    return runs


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


async def configure(stack: Stack, run: VoiceRun) -> dict[str, Any]:
    """PATCH the bench assistant to ``run``'s settings; returns what the API stored."""
    headers = {"Authorization": f"Bearer {stack.api_key}"}
    async with httpx.AsyncClient(base_url=stack.http, headers=headers, timeout=30) as http:
        path = f"/api/v1/assistants/{stack.assistant_id}/"
        response = await http.patch(path, json=run.assistant_settings())
    if response.status_code != 200:
        raise RuntimeError(f"PATCH {path}: {response.status_code} {response.text[:500]}")
    stored = response.json()
    return {name: stored.get(name) for name in run.assistant_settings()}


async def counters(stack: Stack) -> dict[str, float]:
    """The server's preemptive-reply and STT-fallback counters, from GET /metrics."""
    headers = {"Authorization": f"Bearer {stack.metrics_token}"}
    async with httpx.AsyncClient(base_url=stack.http, headers=headers, timeout=30) as http:
        response = await http.get("/metrics")
    response.raise_for_status()
    return parse_counters(response.text)


def parse_counters(exposition: str) -> dict[str, float]:
    """``{"preemptive_used": n, "preemptive_discarded": n, "stt_stream_fallbacks": n}`` from
    Prometheus text; fallbacks are summed over provider and error code."""
    found = {"preemptive_used": 0.0, "preemptive_discarded": 0.0, "stt_stream_fallbacks": 0.0}
    for line in exposition.splitlines():
        match = SAMPLE.match(line.strip())
        if match is None or match.group(1) not in COUNTERS:
            continue
        name, labels, value = match.groups()
        if name == "vp_stt_stream_fallbacks_total":
            found["stt_stream_fallbacks"] += float(value)
        elif (outcome := re.search(r'outcome="(\w+)"', labels or "")) is not None:
            key = f"preemptive_{outcome.group(1)}"
            found[key] = found.get(key, 0.0) + float(value)
    return found


async def run_all(args: Any, stack: Stack, frames: list[bytes], seconds: float) -> dict[str, Any]:
    """Every run of ``plan``; each gets ``--voice-budget`` seconds for its phases."""
    runs = plan(args.voice_modes, args.voice_silence_ms, args.voice_preemptive_silence)
    found: dict[str, Any] = {}
    for run in runs:
        settings = await configure(stack, run)
        log(f"voice {run.name}: assistant {settings}")
        found[run.name] = {
            "mode": run.mode,
            "silence_ms": run.silence_ms,
            "assistant": settings,
            **await _phases(args, stack, run, frames, seconds),
        }
    return found


async def _phases(
    args: Any, stack: Stack, run: VoiceRun, frames: list[bytes], seconds: float
) -> dict[str, Any]:
    counts = sorted({int(n) for n in args.voice_sessions.split(",") if n})
    found: dict[str, Any] = {}
    started = time.perf_counter()
    for count in counts:
        turns = args.voice_single_turns if count == 1 else args.voice_turns
        spread = 0 if count == 1 else args.voice_spread
        deadline = spread + turns * (seconds + 25) + 15
        if time.perf_counter() - started + deadline + SETUP_ALLOWANCE_S > args.voice_budget:
            log(f"voice {run.name} N={count}: skipped, it could overrun the budget")
            found[f"n{count}"] = {"sessions": count, "skipped": "time budget"}
            continue
        await phases.settle(stack)
        log(f"voice {run.name} N={count}: {turns} spoken turn(s) of {seconds:.2f} s per caller")
        drive = phases.spoken(turns, frames, spread_s=spread, think_s=(0.5, 1.5), seed=count)
        found[f"n{count}"] = await _phase(stack, run, count, drive, seconds, deadline)
    return found


async def _phase(
    stack: Stack,
    run: VoiceRun,
    count: int,
    drive: phases.Driver,
    seconds: float,
    deadline: float,
) -> dict[str, Any]:
    """One phase of ``run`` at ``count`` callers, with the server counters it moved."""
    before = await counters(stack)
    result = await phases.load(stack, count, drive, deadline_s=deadline, session=VoiceSession)
    after = await counters(stack)
    phase = phases.voice_report(result, stack, seconds, mode=run.mode, silence_ms=run.silence_ms)
    phase["server_counters"] = {name: after[name] - before.get(name, 0) for name in after}
    if run.mode == "preemptive":
        phase["preemptive_limit_ms"] = phases.preemptive_limit_ms(stack.latency, run.silence_ms)
    _progress(phase)
    return phase


def _progress(phase: dict[str, Any]) -> None:
    measured = phase["speech_end_to_first_audio_ms"]
    log(
        f"  speech end -> first audio p50/p95 {measured['p50']}/{measured['p95']} ms, floor"
        f" {phase['floor_ms']['p50']} ms, overhead p95 {phase['overhead_ms']['p95']} ms,"
        f" errors {phase['errors']}, cpu/turn {phase['server_cpu_ms_per_turn']} ms,"
        f" counters {phase['server_counters']}"
    )
