"""The benchmark's phases: concurrent live sessions, a burst, the non-streaming baseline, REST."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench import proc
from bench.client import QUESTIONS, BenchSession, LoopLag, TurnResult, VoiceSession
from bench.direct import DirectClients
from bench.stack import ProviderLatency, Stack
from bench.stats import (
    first_piece_tokens,
    percentile,
    provider_floor_ms,
    strict_floor_ms,
    summary,
)
from sessions.runtime.vad import END_SILENCE_MS, PAUSE_MS

TURN_TIMEOUT_S = 30
CREATE_CONCURRENCY = 16
CONNECT_CONCURRENCY = 32


@dataclass
class LoadResult:
    """Every turn of a phase, and what the server process spent on it."""

    sessions: list[BenchSession]
    connect_seconds: float
    cpu_connect_s: float
    cpu_turns_s: float
    rss_fresh_kb: int  # before the sessions were created over REST
    rss_before_kb: int  # created, not yet connected
    rss_idle_kb: int
    rss_peak_kb: int
    lag_ms: list[float]
    control_lateness: list[list[float]]
    wall_s: float
    unfinished: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def turns(self) -> list[TurnResult]:
        return [turn for session in self.sessions for turn in session.turns]


async def bounded(coros: list[Awaitable], limit: int) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def run(coro: Awaitable) -> Any:
        async with gate:
            return await coro

    return await asyncio.gather(*(run(c) for c in coros))


async def create_sessions(stack: Stack, count: int) -> list[str]:
    """POST /api/v1/sessions/ as a customer's backend does; returns each session's ws_url."""
    headers = {"Authorization": f"Bearer {stack.api_key}"}
    limits = httpx.Limits(max_connections=CREATE_CONCURRENCY)
    async with httpx.AsyncClient(base_url=stack.http, headers=headers, limits=limits) as http:

        async def create() -> str:
            response = await http.post(
                "/api/v1/sessions/", json={"assistant_id": stack.assistant_id}, timeout=30
            )
            response.raise_for_status()
            return response.json()["ws_url"]

        return await bounded([create() for _ in range(count)], CREATE_CONCURRENCY)


class ControlStream:
    """Direct streams to the simulator, one after another, while the load runs: the
    simulator's own token lateness under the same load, to net out of the platform's."""

    def __init__(self, stack: Stack) -> None:
        self.clients = DirectClients(stack)
        self.runs: list[list[float]] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            question = QUESTIONS[len(self.runs) % len(QUESTIONS)]
            self.runs.append(await self.clients.token_lateness(question))

    async def __aenter__(self) -> ControlStream:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.clients.aclose()


class RssPeak:
    def __init__(self, pid: int) -> None:
        self.pid, self.peak_kb = pid, proc.rss_kb(pid)
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            self.peak_kb = max(self.peak_kb, proc.rss_kb(self.pid))
            await asyncio.sleep(0.5)

    async def __aenter__(self) -> RssPeak:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


Driver = Callable[[list[BenchSession]], Coroutine[Any, Any, None]]


async def settle(stack: Stack, *, idle_share: float = 0.05, limit_s: float = 30) -> None:
    """Wait until the server is idle, so one phase's backlog does not leak into the next."""
    pid, deadline = stack.server_process().pid, time.perf_counter() + limit_s
    while time.perf_counter() < deadline:
        before = proc.cpu_seconds(pid)
        await asyncio.sleep(1)
        if proc.cpu_seconds(pid) - before <= idle_share:
            return


async def load(
    stack: Stack,
    count: int,
    drive: Driver,
    *,
    deadline_s: float,
    session: type[BenchSession] = BenchSession,
) -> LoadResult:
    """Create and connect ``count`` sessions, let them sit idle, then ``drive`` them."""
    pid = stack.server_process().pid
    rss_fresh = proc.rss_kb(pid)
    sessions = [session(url) for url in await create_sessions(stack, count)]
    rss_before, cpu_before = proc.rss_kb(pid), proc.cpu_seconds(pid)
    started = time.perf_counter()
    await bounded([s.connect() for s in sessions], CONNECT_CONCURRENCY)
    connect_seconds = time.perf_counter() - started
    await asyncio.sleep(2)  # idle: what a connected, silent session costs
    rss_idle, cpu_connected = proc.rss_kb(pid), proc.cpu_seconds(pid)
    live = [s for s in sessions if s.connected]
    started = time.perf_counter()
    async with LoopLag() as lag, RssPeak(pid) as rss, ControlStream(stack) as control:
        task = asyncio.create_task(drive(live))
        done, _ = await asyncio.wait([task], timeout=deadline_s)
        unfinished = 0
        if not done:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            unfinished = sum(1 for s in live if not s.turns or s.turns[-1].done_at is None)
    wall = time.perf_counter() - started
    cpu_after = proc.cpu_seconds(pid)
    await bounded([s.close() for s in sessions], 64)
    return LoadResult(
        sessions=sessions,
        connect_seconds=connect_seconds,
        cpu_connect_s=cpu_connected - cpu_before,
        cpu_turns_s=cpu_after - cpu_connected,
        rss_fresh_kb=rss_fresh,
        rss_before_kb=rss_before,
        rss_idle_kb=rss_idle,
        rss_peak_kb=rss.peak_kb,
        lag_ms=lag.samples,
        control_lateness=control.runs,
        wall_s=wall,
        unfinished=unfinished,
    )


def staggered(
    turns: int,
    *,
    spread_s: float,
    think_s: tuple[float, float],
    seed: int,
    listen: bool = True,
    speech: list[bytes] | None = None,
) -> Driver:
    """Each session starts at a random moment within ``spread_s``, listens to each reply to
    its end, then takes ``think_s`` to say the next thing: callers do not all speak at once.
    With ``speech``, each turn is spoken (``VoiceSession.voice_turn``) instead of typed."""
    rng = random.Random(seed)

    async def one(session: BenchSession, offset: float, pauses: list[float]) -> None:
        await asyncio.sleep(offset)
        for number in range(turns):
            if speech is None:
                question = QUESTIONS[number % len(QUESTIONS)]
                result = await session.turn(question, TURN_TIMEOUT_S, listen=listen)
            else:
                assert isinstance(session, VoiceSession)
                result = await session.voice_turn(speech, TURN_TIMEOUT_S)
            if result.error and result.error.startswith(("connection", "turn timed out")):
                await session.close()  # a caller left waiting that long hangs up
                return
            await asyncio.sleep(pauses[number])

    async def drive(sessions: list[BenchSession]) -> None:
        plans = [
            (rng.uniform(0, spread_s), [rng.uniform(*think_s) for _ in range(turns)])
            for _ in sessions
        ]
        await asyncio.gather(*(one(s, *plan) for s, plan in zip(sessions, plans, strict=True)))

    return drive


def simultaneous(rounds: int) -> Driver:
    """Every session sends its user-message at the same instant, ``rounds`` times."""

    async def drive(sessions: list[BenchSession]) -> None:
        for number in range(rounds):
            go = asyncio.Event()

            async def one(
                session: BenchSession, number: int = number, go: asyncio.Event = go
            ) -> None:
                await go.wait()
                await session.turn(QUESTIONS[number % len(QUESTIONS)], TURN_TIMEOUT_S)

            tasks = [asyncio.create_task(one(s)) for s in sessions]
            await asyncio.sleep(0.2)  # every task is parked on the event
            go.set()
            await asyncio.gather(*tasks)
            await asyncio.sleep(0.5)

    return drive


def report(result: LoadResult, stack: Stack) -> dict[str, Any]:
    latency = stack.latency
    ok = [t for t in result.turns if t.ok]
    measured = [t.first_audio_ms() for t in ok]
    floors = [provider_floor_ms(t.text, latency) for t in ok]
    overhead = [m - f for m, f in zip(measured, floors, strict=True)]
    ratio = [m / f for m, f in zip(measured, floors, strict=True)]
    strict = [m - strict_floor_ms(t.text, latency) for m, t in zip(measured, ok, strict=True)]
    lateness = [_delta_lateness(t, latency) for t in ok]
    control = _median_curve(result.control_lateness)
    net_delay = [
        late - control[min(index, len(control) - 1)]
        for turn in lateness
        for index, late in enumerate(turn)
        if control
    ]
    server_first_audio = _server_stage(ok, "first_audio_ms")
    errors = [e for s in result.sessions for e in s.errors]
    connected = sum(1 for s in result.sessions if s.connected)
    count = len(result.sessions)
    return {
        "sessions": count,
        "connected": connected,
        "turns_completed": len(ok),
        "turns_attempted": len(result.turns),
        "errors": len(errors) + result.unfinished,
        "error_kinds": _kinds(errors + ["phase deadline"] * result.unfinished),
        "first_audio_ms": summary(measured),
        "provider_floor_ms": summary(floors),
        "overhead_ms": summary(overhead),
        "measured_over_floor": summary(ratio, digits=3),
        "overhead_vs_strict_floor_ms": summary(strict),
        "assistant_delta_delay_ms": summary(net_delay),
        "assistant_delta_lateness_ms": summary([late for turn in lateness for late in turn]),
        "simulator_token_lateness_ms": summary(
            [late for run in result.control_lateness for late in run]
        ),
        "server_first_audio_ms": summary(server_first_audio),
        # As the server saw them: from its request to the first token / first audio byte.
        # Above the simulator's fixed delays they are the providers' (simulator's) lateness
        # plus the request's cost in our process.
        "server_llm_ttft_ms": summary(_server_stage(ok, "llm_ttft_ms")),
        "server_tts_ttfb_ms": summary(_server_stage(ok, "tts_ttfb_ms")),
        "first_piece_tokens": sorted({first_piece_tokens(t.text) for t in ok}),
        "reply_tokens_mean": round(sum(len(t.deltas) for t in ok) / len(ok), 1) if ok else None,
        "server_cpu_ms_per_turn": round(1000 * result.cpu_turns_s / len(ok), 2) if ok else None,
        "server_cpu_ms_per_connect": round(1000 * result.cpu_connect_s / count, 2),
        "server_rss_kb": {
            "before_creating_sessions": result.rss_fresh_kb,
            "sessions_created": result.rss_before_kb,
            "idle_connected": result.rss_idle_kb,
            "peak": result.rss_peak_kb,
        },
        # Conservative: what creating the sessions over REST left behind counts as theirs.
        "rss_kb_per_idle_session": round((result.rss_idle_kb - result.rss_fresh_kb) / count, 1),
        "connect_seconds": round(result.connect_seconds, 2),
        "turns_wall_seconds": round(result.wall_s, 1),
        "client_loop_lag_ms": summary(result.lag_ms),
    }


def _server_stage(turns: list[TurnResult], name: str) -> list[float]:
    return [
        t.server_latency[name]
        for t in turns
        if t.server_latency and t.server_latency.get(name) is not None
    ]


def _delta_lateness(turn: TurnResult, latency) -> list[float]:
    """How late each assistant-delta arrived against the provider's nominal schedule."""
    return [
        (arrival - turn.sent_at) * 1000 - (latency.llm_ttft_ms + index * latency.llm_token_ms)
        for index, (arrival, _) in enumerate(turn.deltas)
    ]


def _median_curve(runs: list[list[float]]) -> list[float]:
    """Per token index, the median lateness of the control streams."""
    length = max((len(run) for run in runs), default=0)
    medians = (percentile([run[i] for run in runs if len(run) > i], 50) for i in range(length))
    return [median for median in medians if median is not None]  # some run reaches each i


def _kinds(errors: list[str]) -> dict[str, int]:
    kinds: dict[str, int] = {}
    for error in errors:
        kinds[error] = kinds.get(error, 0) + 1
    return kinds


# ---- voice -----------------------------------------------------------------------------


def spoken(
    turns: int,
    speech: list[bytes],
    *,
    spread_s: float,
    think_s: tuple[float, float],
    seed: int,
) -> Driver:
    """As ``staggered``, but each caller speaks ``speech`` (20 ms frames, real time) into a
    microphone that streams silence around it, and the server's VAD ends the turn."""
    return staggered(turns, spread_s=spread_s, think_s=think_s, seed=seed, speech=speech)


VOICE_MODES = ("batch", "streaming", "preemptive")


def voice_floor_ms(
    reply_text: str,
    latency: ProviderLatency,
    *,
    mode: str = "batch",
    silence_ms: float = END_SILENCE_MS,
) -> float:
    """What no orchestrator can beat from speech end to first audio, per transcription mode.

    ``batch``: the end-of-turn silence, the upload's transcription, then the text floor (TTFT,
    first piece, TTS TTFB). ``streaming``: the silence, the commit's finalization, the text
    floor. ``preemptive``: the reply starts on the live caption at the first short pause
    (``PAUSE_MS`` of silence) and is held until the transcript committed at the end of turn
    confirms it: the later of silence + finalization and pause + text floor.
    """
    text_floor = provider_floor_ms(reply_text, latency)
    if mode == "batch":
        return silence_ms + latency.stt_ms + text_floor
    if mode == "streaming":
        return silence_ms + latency.stt_realtime_commit_ms + text_floor
    if mode == "preemptive":
        return max(silence_ms + latency.stt_realtime_commit_ms, PAUSE_MS + text_floor)
    raise ValueError(f"unknown voice mode {mode!r}; one of {', '.join(VOICE_MODES)}")


def preemptive_limit_ms(latency: ProviderLatency, silence_ms: float) -> float:
    """Issue #16's target with preemptive replies: silence + STT finalization + 60 ms."""
    return silence_ms + latency.stt_realtime_commit_ms + 60


def voice_report(
    result: LoadResult,
    stack: Stack,
    speech_seconds: float,
    *,
    mode: str = "batch",
    silence_ms: float = END_SILENCE_MS,
) -> dict[str, Any]:
    """Speech end (the last speech frame sent) -> first audio byte, against the mode's floor."""
    latency = stack.latency
    ok = [t for t in result.turns if t.ok]
    measured = [t.first_audio_ms() for t in ok]
    floors = [voice_floor_ms(t.text, latency, mode=mode, silence_ms=silence_ms) for t in ok]
    extra = {}
    if mode == "preemptive":  # what the same turns would wait for without preemptive replies
        streamed = [
            voice_floor_ms(t.text, latency, mode="streaming", silence_ms=silence_ms) for t in ok
        ]
        extra["floor_without_preemptive_ms"] = summary(streamed)
    return {
        **_voice_counts(result, ok, speech_seconds),
        "speech_end_to_first_audio_ms": summary(measured),
        # preemptive: the expected value (overhead aside): max(silence + STT, pause + text floor)
        "floor_ms": summary(floors),
        "overhead_ms": summary([m - f for m, f in zip(measured, floors, strict=True)]),
        # TTFT + first piece + TTS TTFB: the preemptive target applies when it is < the silence
        "provider_floor_ms": summary([provider_floor_ms(t.text, latency) for t in ok]),
        **extra,
        **_voice_detail(result, ok),
    }


def _voice_counts(
    result: LoadResult, ok: list[TurnResult], speech_seconds: float
) -> dict[str, Any]:
    errors = [e for s in result.sessions for e in s.errors]
    return {
        "sessions": len(result.sessions),
        "connected": sum(1 for s in result.sessions if s.connected),
        "turns_completed": len(ok),
        "turns_attempted": len(result.turns),
        "errors": len(errors) + result.unfinished,
        "error_kinds": _kinds(errors + ["phase deadline"] * result.unfinished),
        "utterance_seconds": round(speech_seconds, 2),
    }


def _voice_detail(result: LoadResult, ok: list[TurnResult]) -> dict[str, Any]:
    audio_s = sum(getattr(s, "frames_sent", 0) for s in result.sessions) * 0.02
    return {
        # Where the time goes, at the client: each stage from the one before it.
        "stages_ms": {
            "speech_end_to_speech_stopped": summary(_between(ok, None, "speech-stopped")),
            "speech_stopped_to_transcript": summary(_between(ok, "speech-stopped", "transcript")),
            "transcript_to_first_audio": summary(_between(ok, "transcript", "first-audio")),
        },
        # As the server saw them: STT from its end of turn, first audio from its end of turn.
        "server_stt_ms": summary(_server_stage(ok, "stt_ms")),
        "server_llm_ttft_ms": summary(_server_stage(ok, "llm_ttft_ms")),
        "server_tts_ttfb_ms": summary(_server_stage(ok, "tts_ttfb_ms")),
        "server_first_audio_ms": summary(_server_stage(ok, "first_audio_ms")),
        "first_piece_tokens": sorted({first_piece_tokens(t.text) for t in ok}),
        # Everything the server spent while the callers talked: VAD on every 20 ms frame
        # (silence included), the upload to STT or the realtime stream, the reply (and any
        # preemptive reply thrown away), divided by the turns answered.
        "server_cpu_ms_per_turn": round(1000 * result.cpu_turns_s / len(ok), 2) if ok else None,
        # The same CPU per second of microphone audio the server received and ran VAD on.
        "server_cpu_ms_per_audio_second": round(1000 * result.cpu_turns_s / audio_s, 2)
        if audio_s
        else None,
        "microphone_audio_seconds": round(audio_s, 1),
        "server_rss_kb_peak": result.rss_peak_kb,
        "turns_wall_seconds": round(result.wall_s, 1),
        "client_loop_lag_ms": summary(result.lag_ms),
    }


def _between(turns: list[TurnResult], start: str | None, end: str) -> list[float]:
    """Milliseconds from event ``start`` (None: speech end) to ``end`` ("first-audio": the
    first audio byte), for the turns that saw both."""
    spans = []
    for turn in turns:
        begin = turn.sent_at if start is None else turn.seen.get(start)
        finish = turn.first_audio_at if end == "first-audio" else turn.seen.get(end)
        if begin is not None and finish is not None:
            spans.append((finish - begin) * 1000)
    return spans
