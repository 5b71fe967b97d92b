"""The Scribe v2 Realtime simulator, driven by the elevenlabs SDK's own realtime client with real
speech from espeak-ng (resampled by sox to 16 kHz mono PCM16).

Without espeak-ng or sox these tests skip with the reason; with REQUIRE_BROWSER=1 (CI) a
missing tool fails instead.
"""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from elevenlabs.realtime import (
    AudioFormat,
    CommitStrategy,
    RealtimeAudioOptions,
    RealtimeConnection,
    ScribeRealtime,
)
from websockets.exceptions import ConnectionClosed

from tests.conftest import need_tool

KEY = "sk_test_0123456789abcdef0123456789"
SPOKEN = "Please add buy milk to my list."
RATE = 16000
CHUNK_BYTES = 2 * RATE * 20 // 1000  # 20 ms


@pytest.fixture(scope="session")
def speech_pcm(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return make_speech_pcm(tmp_path_factory.mktemp("realtime-speech"))


def make_speech_pcm(folder: Path) -> bytes:
    """SPOKEN as 16 kHz mono s16le PCM, made at test time."""
    need_tool(bool(shutil.which("espeak-ng")), "espeak-ng is not installed (apt install espeak-ng)")
    need_tool(bool(shutil.which("sox")), "sox is not installed (apt install sox)")
    wav, raw = folder / "speech.wav", folder / "speech.raw"
    subprocess.run(["espeak-ng", "-s", "150", "-w", str(wav), SPOKEN], check=True)
    to_pcm = ["-r", str(RATE), "-c", "1", "-b", "16", "-e", "signed-integer", "-t", "raw"]
    subprocess.run(["sox", str(wav), *to_pcm, str(raw), "norm", "-3"], check=True)
    pcm = raw.read_bytes()
    assert 1.0 < len(pcm) / (2 * RATE) < 5.0
    return pcm


def chunks_of(pcm: bytes, size: int = CHUNK_BYTES) -> list[bytes]:
    return [pcm[start : start + size] for start in range(0, len(pcm), size)]


def said(pcm: bytes) -> str:
    """What the batch simulator answers for this much audio."""
    return f"I said something for {len(pcm) / (2 * RATE):.1f} seconds."


def heard(pcm: bytes) -> str:
    """What the realtime simulator answers: the audio up to the 20 ms frame of its last sound
    (a sample of 64 or more), since trailing silence holds no words."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.int32)
    loud = np.flatnonzero(np.abs(samples) >= 64)
    end = (int(loud[-1]) // 320 + 1) * 320 if loud.size else 0
    return f"I said something for {min(end, len(samples)) / RATE:.1f} seconds."


class Messages:
    """Everything the server sent on one SDK connection, with arrival times."""

    def __init__(self, connection: RealtimeConnection) -> None:
        self.received: list[tuple[float, dict[str, Any]]] = []
        self.closed: dict[str, Any] | None = None
        self._arrived = asyncio.Event()
        for kind in ("session_started", "partial_transcript", "committed_transcript"):
            connection.on(kind, self._record)
        connection.on("committed_transcript_with_timestamps", self._record)
        connection.on("error", self._record)
        connection.on("close", self._on_close)

    def _record(self, data: dict[str, Any]) -> None:
        self.received.append((time.monotonic(), data))
        self._arrived.set()

    def _on_close(self, info: dict[str, Any]) -> None:
        self.closed = info
        self._arrived.set()

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [data for _, data in self.received if data.get("message_type") == kind]

    def time_of(self, kind: str) -> float:
        return next(at for at, data in self.received if data.get("message_type") == kind)

    async def wait_for(self, kind: str, timeout: float = 3.0) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while not self.of(kind):
                if self.closed is not None:
                    raise AssertionError(f"closed before {kind}: {self.received}")
                self._arrived.clear()
                await self._arrived.wait()
        return self.of(kind)[0]

    async def wait_closed(self, timeout: float = 3.0) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while self.closed is None:
                self._arrived.clear()
                await self._arrived.wait()
        return self.closed


Connect = Callable[..., Any]


@pytest.fixture
async def connect(sims) -> AsyncIterator[Connect]:
    """Open SDK connections to the simulator; they are closed after the test."""
    opened: list[RealtimeConnection] = []

    async def open_connection(
        api_key: str = KEY, **options: Any
    ) -> tuple[RealtimeConnection, Messages]:
        settings: RealtimeAudioOptions = {
            "model_id": "scribe_v2_realtime",
            "audio_format": AudioFormat.PCM_16000,
            "sample_rate": RATE,
            **options,  # type: ignore[typeddict-item]
        }
        scribe = ScribeRealtime(api_key=api_key, base_url=sims.elevenlabs_base_url)
        connection = await scribe.connect(settings)
        opened.append(connection)
        return connection, Messages(connection)

    yield open_connection
    for connection in opened:
        await connection.close()


async def send_all(connection: RealtimeConnection, pcm: bytes, pace_s: float = 0.002) -> None:
    for chunk in chunks_of(pcm):
        await connection.send({"audio_base_64": base64.b64encode(chunk).decode()})
        await asyncio.sleep(pace_s)


async def test_session_started_echoes_the_session_config(connect, sims):
    _, messages = await connect(commit_strategy=CommitStrategy.VAD, language_code="en")

    started = await messages.wait_for("session_started")

    assert started["session_id"]
    config = started["config"]
    assert config["model_id"] == "scribe_v2_realtime"
    assert (config["sample_rate"], config["audio_format"]) == (RATE, "pcm_16000")
    assert (config["commit_strategy"], config["language_code"]) == ("vad", "en")
    [logged] = sims.requests(path="/v1/speech-to-text/realtime")
    assert logged["query"]["model_id"] == "scribe_v2_realtime"


async def test_partials_while_speaking_then_the_committed_transcript(connect, speech_pcm):
    connection, messages = await connect()
    await messages.wait_for("session_started")

    await send_all(connection, speech_pcm)
    partials_before_commit = messages.of("partial_transcript")
    await connection.commit()
    committed = await messages.wait_for("committed_transcript")

    # One partial per 200 ms of audio (the default), each covering the audio so far.
    assert len(partials_before_commit) == len(speech_pcm) // (2 * RATE // 5)
    assert partials_before_commit[0]["text"] == "I said something for 0.2 seconds."
    assert committed["text"] == heard(speech_pcm)


async def test_each_commit_covers_only_its_own_segment(connect, speech_pcm):
    connection, messages = await connect()
    half = len(speech_pcm) // 2 // CHUNK_BYTES * CHUNK_BYTES

    await send_all(connection, speech_pcm[:half])
    await connection.commit()
    await send_all(connection, speech_pcm)
    await connection.commit()
    await messages.wait_for("committed_transcript")
    async with asyncio.timeout(3):
        while len(messages.of("committed_transcript")) < 2:
            await asyncio.sleep(0.01)

    texts = [data["text"] for data in messages.of("committed_transcript")]
    assert texts == [heard(speech_pcm[:half]), heard(speech_pcm)]


async def test_vad_commits_after_the_silence_threshold(connect, speech_pcm):
    connection, messages = await connect(
        commit_strategy=CommitStrategy.VAD, vad_silence_threshold_secs=0.3
    )
    silence = bytes(2 * RATE)  # 1 s

    await send_all(connection, speech_pcm + silence)
    committed = await messages.wait_for("committed_transcript")

    # Committed once the speech was followed by 0.3 s of quiet (espeak-ng's own trailing
    # silence counts), and only once: the silence alone commits nothing. The words are those
    # of the speech: the silence adds none.
    assert last_loud_frame_end(speech_pcm) < len(speech_pcm) / (2 * RATE)
    assert committed["text"] == heard(speech_pcm)
    await asyncio.sleep(0.1)
    assert len(messages.of("committed_transcript")) == 1


def last_loud_frame_end(pcm: bytes) -> float:
    """Where the last 20 ms frame loud enough for the simulated VAD (RMS >= 800) ends."""
    usable = len(pcm) // CHUNK_BYTES * CHUNK_BYTES
    frames = np.frombuffer(pcm[:usable], dtype="<i2").astype(np.float64).reshape(-1, 320)
    loud = np.flatnonzero(np.sqrt((frames * frames).mean(axis=1)) >= 800)
    return (int(loud[-1]) + 1) * 0.02


async def test_commit_latency_follows_the_config(connect, sims, speech_pcm):
    sims.configure(stt_realtime_commit_ms=300)
    connection, messages = await connect()
    await send_all(connection, speech_pcm[: 10 * CHUNK_BYTES], pace_s=0)

    committed_at = time.monotonic()
    await connection.commit()
    await messages.wait_for("committed_transcript")

    assert messages.time_of("committed_transcript") - committed_at >= 0.3


async def test_timestamps_when_asked(connect, speech_pcm):
    connection, messages = await connect(include_timestamps=True)
    await send_all(connection, speech_pcm[: 25 * CHUNK_BYTES], pace_s=0)
    await connection.commit()

    detailed = await messages.wait_for("committed_transcript_with_timestamps")

    assert detailed["text"] == "I said something for 0.5 seconds."
    assert detailed["words"][0]["end"] == pytest.approx(0.5)


async def test_a_scripted_text_grows_in_the_partials(connect, sims, speech_pcm):
    sims.state.script("elevenlabs_realtime_stt", [{"text": "Add buy milk to my list"}])
    connection, messages = await connect()

    await send_all(connection, speech_pcm[: 25 * CHUNK_BYTES])  # 0.5 s: two partials
    await connection.commit()
    committed = await messages.wait_for("committed_transcript")

    assert [data["text"] for data in messages.of("partial_transcript")] == ["Add", "Add buy"]
    assert committed["text"] == "Add buy milk to my list"


async def test_a_refused_key_gets_auth_error_and_a_policy_close(connect, sims):
    sims.state.script("elevenlabs_realtime_stt", [{"fault": "401"}])
    _, messages = await connect(api_key="sk_revoked")

    error = await messages.wait_for("auth_error")
    closed = await messages.wait_closed()

    assert error["error"] == "Invalid API key"
    assert closed["code"] == 1008
    assert not messages.of("session_started")


async def test_a_missing_key_is_refused(connect):
    _, messages = await connect(api_key=" ")  # the SDK insists on some key; the server strips it

    assert (await messages.wait_for("auth_error"))["error"] == "Missing xi-api-key header"


async def test_an_invalid_request_is_refused(connect):
    _, messages = await connect(commit_strategy=CommitStrategy.VAD, vad_silence_threshold_secs=5)

    error = await messages.wait_for("invalid_request")

    assert "vad_silence_threshold_secs" in error["error"]
    assert (await messages.wait_closed())["code"] == 1008


async def test_bad_input_gets_input_error_and_the_session_goes_on(connect, speech_pcm):
    connection, messages = await connect()
    await messages.wait_for("session_started")

    await connection.websocket.send(json.dumps({"message_type": "nonsense"}))
    await connection.websocket.send(
        json.dumps({"message_type": "input_audio_chunk", "audio_base_64": "@@not base64@@"})
    )
    await send_all(connection, speech_pcm[: 10 * CHUNK_BYTES], pace_s=0)
    await connection.commit()
    committed = await messages.wait_for("committed_transcript")

    errors = [data["error"] for data in messages.of("input_error")]
    assert errors == ["Unknown message_type", "audio_base_64 is not valid base64"]
    assert committed["text"] == "I said something for 0.2 seconds."


async def test_a_scripted_drop_breaks_the_connection_mid_utterance(connect, sims, speech_pcm):
    sims.state.script("elevenlabs_realtime_stt", [{"fault": "break", "after_chunks": 5}])
    connection, messages = await connect()

    with pytest.raises(ConnectionClosed):
        await send_all(connection, speech_pcm)
    closed = await messages.wait_closed()

    assert closed["code"] != 1000  # no clean close: the TCP connection just went away
    assert not messages.of("committed_transcript")


async def test_a_scripted_transcriber_error_closes_the_session(connect, sims, speech_pcm):
    sims.state.script(
        "elevenlabs_realtime_stt", [{"fault": "transcriber_error", "after_chunks": 3}]
    )
    connection, messages = await connect()

    await send_all(connection, speech_pcm[: 3 * CHUNK_BYTES])
    error = await messages.wait_for("transcriber_error")

    assert error["error"] == "Transcriber failed (simulated)"
    assert (await messages.wait_closed())["code"] == 1011
