"""ElevenLabsTTS through the real elevenlabs SDK against the local ElevenLabs simulator."""

from __future__ import annotations

import array
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from integrations.elevenlabs.tts import ElevenLabsTTS
from integrations.errors import ProviderError
from integrations.tts import AudioFormat, audio_format_for

KEY = "sk_test_0123456789abcdef0123456789"
PCM_24K = audio_format_for("pcm_24000")
SHORT = "Hello there."
LONG = "Hello there. " * 4


@pytest.fixture
async def make_tts(sims) -> AsyncIterator[Callable[..., ElevenLabsTTS]]:
    """Build adapters pointed at the simulator; their connection pools close after the test."""
    built: list[ElevenLabsTTS] = []

    def make(**options: Any) -> ElevenLabsTTS:
        built.append(ElevenLabsTTS(KEY, sims.elevenlabs_base_url, **({"timeout": 2.0} | options)))
        return built[-1]

    yield make
    for tts in built:
        await tts.aclose()


def speak(
    tts: ElevenLabsTTS,
    text: str = SHORT,
    output_format: AudioFormat = PCM_24K,
    voice_settings: dict[str, Any] | None = None,
):
    return tts.stream_speech(
        text=text,
        voice_id="voice-1",
        model_id="eleven_flash_v2_5",
        voice_settings=voice_settings or {},
        output_format=output_format,
    )


async def collect(tts: ElevenLabsTTS, **kwargs: Any) -> list[bytes]:
    return [chunk async for chunk in speak(tts, **kwargs)]


def expected_bytes(text: str, fmt: AudioFormat) -> int:
    """~65 ms of audio per character, as the simulator promises."""
    return fmt.sample_rate * 65 * len(text.strip()) // 1000 * fmt.sample_width


def tts_requests(sims) -> list[dict[str, Any]]:
    return sims.requests(path="/v1/text-to-speech")


# ---------------------------------------------------------------- audio


async def test_pcm_length_follows_the_text(sims, make_tts):
    tts = make_tts()

    short = b"".join(await collect(tts, text=SHORT))
    long = b"".join(await collect(tts, text=LONG))

    assert len(short) == expected_bytes(SHORT, PCM_24K)
    assert len(long) == expected_bytes(LONG, PCM_24K)
    assert 3.5 < len(long) / len(short) < 4.5


async def test_every_chunk_holds_whole_samples(sims, make_tts):
    chunks = await collect(make_tts(chunk_size=1001), text=LONG)  # odd SDK reads

    assert len(chunks) > 5
    assert all(len(chunk) % 2 == 0 for chunk in chunks)
    assert sum(map(len, chunks)) == expected_bytes(LONG, PCM_24K)


async def test_audio_is_a_tone_not_silence(sims, make_tts):
    samples = array.array("h", b"".join(await collect(make_tts())))

    assert max(abs(sample) for sample in samples) > 1000


@pytest.mark.parametrize("name", ["pcm_16000", "pcm_44100", "ulaw_8000"])
async def test_other_formats(sims, name, make_tts):
    fmt = audio_format_for(name)

    audio = b"".join(await collect(make_tts(), output_format=fmt))

    assert len(audio) == expected_bytes(SHORT, fmt)
    assert tts_requests(sims)[0]["query"]["output_format"] == name


async def test_request_carries_model_and_only_the_given_voice_settings(sims, make_tts):
    await collect(make_tts(), voice_settings={"stability": 0.4, "speed": 1.1, "junk": 1})

    request = tts_requests(sims)[0]
    assert request["path"] == "/v1/text-to-speech/voice-1/stream"
    assert request["body"]["model_id"] == "eleven_flash_v2_5"
    assert request["body"]["voice_settings"] == {"stability": 0.4, "speed": 1.1}


async def test_no_voice_settings_are_sent_when_none_are_set(sims, make_tts):
    await collect(make_tts())

    assert tts_requests(sims)[0]["body"].get("voice_settings") is None


async def test_realtime_pacing_streams_the_first_chunk_early(sims, make_tts):
    sims.configure(tts_realtime=True, tts_chunk_ms=50)  # 12 characters: ~0.8 s of audio

    started = time.monotonic()
    arrivals = [time.monotonic() - started async for _ in speak(make_tts())]

    assert arrivals[0] < 0.2
    assert arrivals[-1] > 0.6


# ---------------------------------------------------------------- errors


async def test_unknown_output_format_is_bad_request_and_not_retried(sims, make_tts):
    odd = AudioFormat("pcm_s16le", 12345, 1, "pcm_12345")

    with pytest.raises(ProviderError) as caught:
        await collect(make_tts(), output_format=odd)

    assert (caught.value.code, caught.value.status) == ("bad_request", 422)
    assert "output_format" in caught.value.message
    assert len(tts_requests(sims)) == 1


async def test_429_then_success_is_retried(sims, make_tts):
    sims.script_tts({"fault": "429", "retry_after_ms": 50})

    audio = b"".join(await collect(make_tts()))

    assert len(audio) == expected_bytes(SHORT, PCM_24K)
    assert len(tts_requests(sims)) == 2


async def test_429_until_attempts_run_out_is_rate_limited(sims, make_tts):
    sims.script_tts({"fault": "429", "retry_after_ms": 50, "times": 2})

    with pytest.raises(ProviderError) as caught:
        await collect(make_tts(max_attempts=2))

    assert (caught.value.code, caught.value.retryable) == ("rate_limited", True)
    assert caught.value.retry_after == pytest.approx(0.05)
    assert len(tts_requests(sims)) == 2


async def test_500_until_attempts_run_out_is_unavailable(sims, make_tts):
    sims.script_tts({"fault": "500", "times": 2})

    with pytest.raises(ProviderError) as caught:
        await collect(make_tts(max_attempts=2))

    assert (caught.value.code, caught.value.retryable) == ("unavailable", True)


async def test_break_after_audio_started_is_stream_broken_and_not_retried(sims, make_tts):
    sims.script_tts({"fault": "break", "after_chunks": 2})
    received = []

    with pytest.raises(ProviderError) as caught:
        async for chunk in speak(make_tts(), text=LONG):
            received.append(chunk)

    assert received
    assert (caught.value.code, caught.value.retryable) == ("stream_broken", False)
    assert len(tts_requests(sims)) == 1


async def test_no_response_is_retried_then_times_out(sims, make_tts):
    sims.script_tts({"fault": "timeout", "times": 2})

    with pytest.raises(ProviderError) as caught:
        await collect(make_tts(timeout=0.3, max_attempts=2))

    assert (caught.value.code, caught.value.retryable) == ("timeout", True)
    assert len(tts_requests(sims)) == 2


async def test_rejected_key_is_auth_failed_and_never_shown(sims, make_tts):
    sims.script_tts({"fault": "401"})

    with pytest.raises(ProviderError) as caught:
        await collect(make_tts())

    assert (caught.value.code, caught.value.retryable) == ("auth_failed", False)
    assert KEY not in str(caught.value)
    assert len(tts_requests(sims)) == 1


def test_audio_format_for_rejects_unknown_names():
    assert audio_format_for("ulaw_8000") == AudioFormat("mulaw", 8000, 1, "ulaw_8000")
    with pytest.raises(ValueError, match="mp3_44100_128"):
        audio_format_for("mp3_44100_128")
