"""ElevenLabsRealtimeSTT through the real elevenlabs SDK (its realtime WebSocket client) against
the local Scribe v2 Realtime simulator, with real speech from espeak-ng streamed in 20 ms chunks.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from integrations.elevenlabs.realtime_stt import ElevenLabsRealtimeSTT, ElevenLabsTranscriptStream
from integrations.elevenlabs.stt import ElevenLabsSTT
from integrations.errors import ProviderError
from integrations.stt import StreamingTranscriber, TranscriptUpdate
from tests.simulators.test_elevenlabs_realtime import (
    CHUNK_BYTES,
    KEY,
    RATE,
    chunks_of,
    heard,
    make_speech_pcm,
    said,
)


@pytest.fixture(scope="session")
def speech_pcm(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """Real speech (espeak-ng, sox): 16 kHz mono PCM16; skips without the tools."""
    return make_speech_pcm(tmp_path_factory.mktemp("realtime-speech"))


class Listener:
    """Reads a stream's updates on its own task, as the runtime will, with arrival times."""

    def __init__(self, stream: StreamingTranscriber) -> None:
        self.updates: list[tuple[float, TranscriptUpdate]] = []
        self.error: ProviderError | None = None
        self._changed = asyncio.Event()
        self._task = asyncio.create_task(self._listen(stream))

    async def _listen(self, stream: StreamingTranscriber) -> None:
        try:
            async for update in stream.updates():
                self.updates.append((time.monotonic(), update))
                self._changed.set()
        except ProviderError as exc:
            self.error = exc
            self._changed.set()

    def partials(self) -> list[TranscriptUpdate]:
        return [update for _, update in self.updates if not update.final]

    def finals(self) -> list[TranscriptUpdate]:
        return [update for _, update in self.updates if update.final]

    async def wait(self, condition: Callable[[], bool], timeout: float = 3.0) -> None:
        async with asyncio.timeout(timeout):
            while not condition():
                self._changed.clear()
                await self._changed.wait()

    async def next_final(self, count: int = 1) -> TranscriptUpdate:
        await self.wait(lambda: len(self.finals()) >= count or self.error is not None)
        if self.error is not None:
            raise self.error
        return self.finals()[count - 1]

    async def finished(self, timeout: float = 2.0) -> None:
        """Wait until the updates ended on their own."""
        await asyncio.wait_for(asyncio.shield(self._task), timeout)

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


@pytest.fixture
async def open_stream(sims) -> AsyncIterator[Callable[..., Any]]:
    """Open adapter streams on the simulator; closed (with their listeners) after the test."""
    opened: list[tuple[ElevenLabsTranscriptStream, Listener]] = []

    async def start(
        api_key: str = KEY, base_url: str | None = None, **options: Any
    ) -> tuple[ElevenLabsTranscriptStream, Listener]:
        client = ElevenLabsRealtimeSTT(
            api_key, base_url or sims.elevenlabs_base_url, connect_timeout=2.0
        )
        stream = await client.open_stream(sample_rate=options.pop("sample_rate", RATE), **options)
        opened.append((stream, Listener(stream)))
        return opened[-1]

    yield start
    for stream, listener in opened:
        await stream.close()
        await listener.stop()


async def stream_audio(stream: StreamingTranscriber, pcm: bytes, pace_s: float = 0.004) -> float:
    """Send ``pcm`` in 20 ms chunks (about five times real time); when the last one went."""
    for chunk in chunks_of(pcm):
        await stream.send(chunk)
        await asyncio.sleep(pace_s)
    return time.monotonic()


# ---------------------------------------------------------------- transcripts


async def test_partials_during_speech_then_the_whole_utterance_committed(open_stream, speech_pcm):
    stream, listener = await open_stream()

    last_chunk_at = await stream_audio(stream, speech_pcm)
    await stream.commit()
    final = await listener.next_final()

    first_partial_at = listener.updates[0][0]
    assert first_partial_at < last_chunk_at  # live captions while the user still speaks
    assert listener.partials()[0] == TranscriptUpdate("I said something for 0.2 seconds.", False)
    assert final.text == heard(speech_pcm)  # every chunk arrived
    assert final.audio_seconds == pytest.approx(len(speech_pcm) / (2 * RATE))
    assert stream.audio_seconds == pytest.approx(len(speech_pcm) / (2 * RATE))
    assert stream.uncommitted_audio() == b""


async def test_two_utterances_on_one_session(open_stream, speech_pcm):
    stream, listener = await open_stream()
    first = speech_pcm[: 30 * CHUNK_BYTES]

    await stream_audio(stream, first, pace_s=0)
    await stream.commit()
    await stream_audio(stream, speech_pcm, pace_s=0)
    assert len(stream.uncommitted_audio()) in (len(speech_pcm), len(first) + len(speech_pcm))
    await stream.commit()

    assert (await listener.next_final(1)).text == heard(first)
    assert (await listener.next_final(2)).text == heard(speech_pcm)
    assert stream.uncommitted_audio() == b""


async def test_vad_commit_strategy_commits_without_a_commit_call(open_stream, sims, speech_pcm):
    stream, listener = await open_stream(commit_strategy="vad", vad_silence_seconds=0.3)

    await stream_audio(stream, speech_pcm + bytes(2 * RATE), pace_s=0.001)
    final = await listener.next_final()

    # The server decided where the utterance ended (0.3 s after the speech, before the second of
    # silence was over); the adapter cannot know that point, so it meters the audio sent until
    # the transcript arrived.
    spoken = float(final.text.split()[-2])
    assert len(speech_pcm) / (2 * RATE) - 0.6 < spoken < len(speech_pcm) / (2 * RATE) + 0.5
    assert spoken <= final.audio_seconds <= len(speech_pcm) / (2 * RATE) + 1
    [logged] = sims.requests(path="/v1/speech-to-text/realtime")
    assert logged["query"]["commit_strategy"] == "vad"
    assert logged["query"]["vad_silence_threshold_secs"] == "0.3"


async def test_language_and_model_reach_the_provider(open_stream, sims):
    await open_stream(language="fr", model="scribe_v2_realtime")

    [logged] = sims.requests(path="/v1/speech-to-text/realtime")
    assert logged["query"]["language_code"] == "fr"
    assert logged["query"]["model_id"] == "scribe_v2_realtime"
    assert logged["query"]["audio_format"] == "pcm_16000"
    assert "xi-api-key" not in logged["query"]


async def test_finalization_latency_shows_in_time_to_commit(open_stream, sims, speech_pcm):
    utterance = speech_pcm[: 20 * CHUNK_BYTES]

    async def time_to_commit() -> float:
        stream, listener = await open_stream()
        await stream_audio(stream, utterance, pace_s=0)
        committed_at = time.monotonic()
        await stream.commit()
        await listener.next_final()
        return listener.updates[-1][0] - committed_at

    fast = await time_to_commit()
    sims.configure(stt_realtime_commit_ms=300)
    slow = await time_to_commit()

    assert fast < 0.25
    assert 0.3 <= slow < 0.3 + 0.25


# ---------------------------------------------------------------- failures


async def test_a_refused_key_raises_auth_failed_at_open(open_stream, sims):
    sims.state.script("elevenlabs_realtime_stt", [{"fault": "401"}])

    with pytest.raises(ProviderError) as caught:
        await open_stream(api_key="sk_revoked_0123456789abcdef0123456789")

    assert (caught.value.code, caught.value.retryable) == ("auth_failed", False)
    assert "sk_revoked" not in str(caught.value)


async def test_a_rate_limited_session_is_retryable(open_stream, sims):
    sims.state.script("elevenlabs_realtime_stt", [{"fault": "429"}])

    with pytest.raises(ProviderError) as caught:
        await open_stream()

    assert (caught.value.code, caught.value.retryable) == ("rate_limited", True)


async def test_connection_dropped_mid_utterance_keeps_the_audio_for_batch(
    open_stream, sims, speech_pcm
):
    sims.state.script("elevenlabs_realtime_stt", [{"fault": "break", "after_chunks": 40}])
    stream, listener = await open_stream()

    with pytest.raises(ProviderError) as caught:
        await stream_audio(stream, speech_pcm)
        await stream.commit()
        await listener.next_final()
    await listener.wait(lambda: listener.error is not None)

    assert (caught.value.code, caught.value.retryable) == ("stream_broken", True)
    assert listener.error is not None and listener.error.code == "stream_broken"
    assert not listener.finals()
    # Nothing lost: what the stream kept transcribes in batch as the whole audio sent.
    kept = stream.uncommitted_audio()
    assert speech_pcm.startswith(kept) and len(kept) >= 40 * CHUNK_BYTES
    batch = ElevenLabsSTT(KEY, sims.elevenlabs_base_url, timeout=2)
    try:
        result = await batch.transcribe(
            pcm16=kept, sample_rate=RATE, model="scribe_v1", language=None
        )
    finally:
        await batch.aclose()
    assert result.text == said(kept)
    with pytest.raises(ProviderError):  # the stream stays broken
        await stream.send(speech_pcm[:CHUNK_BYTES])


async def test_a_transcriber_error_mid_stream_is_a_broken_stream(open_stream, sims, speech_pcm):
    sims.state.script(
        "elevenlabs_realtime_stt", [{"fault": "transcriber_error", "after_chunks": 5}]
    )
    stream, listener = await open_stream()

    await stream_audio(stream, speech_pcm[: 5 * CHUNK_BYTES], pace_s=0)
    await listener.wait(lambda: listener.error is not None)

    assert listener.error is not None
    assert (listener.error.code, listener.error.retryable) == ("stream_broken", True)
    assert "transcriber_error" in listener.error.message
    assert stream.uncommitted_audio() == speech_pcm[: 5 * CHUNK_BYTES]


async def test_an_unreachable_server_is_unavailable(open_stream):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(ProviderError) as caught:
        await open_stream(base_url=f"http://127.0.0.1:{port}")

    assert (caught.value.code, caught.value.retryable) == ("unavailable", True)


async def test_an_unsupported_sample_rate_is_refused_before_connecting(open_stream, sims):
    with pytest.raises(ProviderError) as caught:
        await open_stream(sample_rate=11025)

    assert (caught.value.code, caught.value.retryable) == ("bad_request", False)
    assert not sims.requests(path="/v1/speech-to-text/realtime")


async def test_closing_ends_the_updates(open_stream, speech_pcm):
    stream, listener = await open_stream()
    await stream_audio(stream, speech_pcm[: 15 * CHUNK_BYTES], pace_s=0)

    await stream.close()
    await listener.finished()

    assert listener.error is None
    assert [update.text for update in listener.partials()] == ["I said something for 0.2 seconds."]
