"""STT adapters through the real openai/elevenlabs SDKs against the local simulators."""

from __future__ import annotations

import io
import math
import struct
import wave
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from integrations.elevenlabs.stt import ElevenLabsSTT
from integrations.errors import ProviderError
from integrations.openai.stt import OpenAISTT
from integrations.stt import STTClient, Transcription, pcm16_to_wav

OPENAI_KEY = "sk-test-abcdefghijklmnop0123456789"
ELEVENLABS_KEY = "sk_test_0123456789abcdef0123456789"
RATE = 16000


def speech(seconds: float, rate: int = RATE) -> bytes:
    count = int(seconds * rate)
    return struct.pack(f"<{count}h", *(int(3000 * math.sin(i / 7)) for i in range(count)))


@pytest.fixture
async def make_stt(sims) -> AsyncIterator[Callable[..., OpenAISTT | ElevenLabsSTT]]:
    """Build adapters pointed at the simulators; their connection pools close after the test."""
    built: list[OpenAISTT | ElevenLabsSTT] = []

    def make(provider: str, **options: Any) -> OpenAISTT | ElevenLabsSTT:
        options = {"timeout": 2.0} | options
        if provider == "openai":
            built.append(OpenAISTT(OPENAI_KEY, sims.openai_base_url, **options))
        else:
            built.append(ElevenLabsSTT(ELEVENLABS_KEY, sims.elevenlabs_base_url, **options))
        return built[-1]

    yield make
    for stt in built:
        await stt.aclose()


async def transcribe(stt: STTClient, seconds: float = 1.5, language: str | None = None):
    model = "gpt-4o-mini-transcribe" if isinstance(stt, OpenAISTT) else "scribe_v2"
    return await stt.transcribe(
        pcm16=speech(seconds), sample_rate=RATE, model=model, language=language
    )


def stt_requests(sims, provider: str) -> list[dict[str, Any]]:
    path = "/v1/audio/transcriptions" if provider == "openai" else "/v1/speech-to-text"
    return sims.requests(path=path)


PROVIDERS = pytest.mark.parametrize("provider", ["openai", "elevenlabs"])


def test_pcm16_to_wav_wraps_the_samples_unchanged():
    pcm = speech(0.25)

    with wave.open(io.BytesIO(pcm16_to_wav(pcm, RATE)), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, RATE)
        assert wav.readframes(wav.getnframes()) == pcm


@PROVIDERS
async def test_default_transcript_reflects_audio_length(sims, provider, make_stt):
    result = await transcribe(make_stt(provider), seconds=1.5)

    assert result == Transcription("I said something for 1.5 seconds.", 1.5)


@PROVIDERS
async def test_scripted_transcripts_are_used_in_order(sims, provider, make_stt):
    sims.script_transcription("  Book a table for two.  ", "Thanks!", provider=provider)
    stt = make_stt(provider)

    first, second = await transcribe(stt), await transcribe(stt)

    assert (first.text, second.text) == ("Book a table for two.", "Thanks!")


async def test_openai_request_carries_model_language_and_a_wav_file(sims, make_stt):
    await transcribe(make_stt("openai"), language="de")

    body = stt_requests(sims, "openai")[0]["body"]
    assert body["model"] == "gpt-4o-mini-transcribe"
    assert body["language"] == "de"
    assert body["file"]["filename"] == "utterance.wav"
    assert body["file"]["content_type"] == "audio/wav"


async def test_elevenlabs_request_carries_model_and_language(sims, make_stt):
    await transcribe(make_stt("elevenlabs"), language="fr")

    body = stt_requests(sims, "elevenlabs")[0]["body"]
    assert (body["model_id"], body["language_code"]) == ("scribe_v2", "fr")


@PROVIDERS
async def test_language_is_left_out_when_unknown(sims, provider, make_stt):
    await transcribe(make_stt(provider), language=None)

    body = stt_requests(sims, provider)[0]["body"]
    assert not body.get("language") and not body.get("language_code")


@PROVIDERS
async def test_rate_limit_then_success_is_retried(sims, provider, make_stt):
    sims.script_transcription({"fault": "429", "retry_after_ms": 50}, provider=provider)

    result = await transcribe(make_stt(provider))

    assert result.text == "I said something for 1.5 seconds."
    assert len(stt_requests(sims, provider)) == 2


@PROVIDERS
async def test_server_errors_until_attempts_run_out(sims, provider, make_stt):
    sims.script_transcription({"fault": "500", "times": 2}, provider=provider)

    with pytest.raises(ProviderError) as caught:
        await transcribe(make_stt(provider, max_attempts=2))

    assert (caught.value.provider, caught.value.code) == (provider, "unavailable")
    assert caught.value.retryable
    assert len(stt_requests(sims, provider)) == 2


@PROVIDERS
async def test_rejected_key_is_auth_failed_and_not_retried(sims, provider, make_stt):
    sims.script_transcription({"fault": "401"}, provider=provider)

    with pytest.raises(ProviderError) as caught:
        await transcribe(make_stt(provider))

    assert (caught.value.code, caught.value.retryable) == ("auth_failed", False)
    assert OPENAI_KEY not in str(caught.value) and ELEVENLABS_KEY not in str(caught.value)
    assert len(stt_requests(sims, provider)) == 1


@PROVIDERS
async def test_no_response_times_out(sims, provider, make_stt):
    sims.script_transcription({"fault": "timeout"}, provider=provider)

    with pytest.raises(ProviderError) as caught:
        await transcribe(make_stt(provider, timeout=0.3, max_attempts=1))

    assert (caught.value.code, caught.value.retryable) == ("timeout", True)
