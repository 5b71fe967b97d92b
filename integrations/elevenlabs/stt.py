"""ElevenLabs speech-to-text (Scribe) on the official SDK."""

from __future__ import annotations

from typing import Any

import httpx
from elevenlabs.core.api_error import ApiError

from integrations.elevenlabs.client import PROVIDER, elevenlabs_client, map_elevenlabs_error
from integrations.errors import ProviderError
from integrations.resilience import call_with_retries
from integrations.stt import Transcription, pcm16_seconds, pcm16_to_wav


class ElevenLabsSTT:
    def __init__(
        self, api_key: str, base_url: str | None, timeout: float = 30, max_attempts: int = 2
    ) -> None:
        self._api_key = api_key
        self._max_attempts = max_attempts
        self._http, self._client = elevenlabs_client(api_key, base_url, timeout)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def transcribe(
        self, *, pcm16: bytes, sample_rate: int, model: str, language: str | None
    ) -> Transcription:
        wav = pcm16_to_wav(pcm16, sample_rate)
        extra: dict[str, Any] = {"language_code": language} if language else {}

        async def attempt() -> str:
            try:
                result = await self._client.speech_to_text.convert(
                    model_id=model,
                    file=("utterance.wav", wav, "audio/wav"),
                    request_options={"max_retries": 0},  # we retry ourselves
                    **extra,
                )
            except (ApiError, httpx.HTTPError) as exc:
                raise map_elevenlabs_error(exc, self._api_key) from exc
            text = getattr(result, "text", None)
            if not isinstance(text, str):  # multichannel/webhook shapes: not what we asked for
                raise ProviderError(
                    PROVIDER, "bad_request", "response has no transcript text", retryable=False
                )
            return text

        text = await call_with_retries(attempt, max_attempts=self._max_attempts)
        return Transcription(text=text.strip(), audio_seconds=pcm16_seconds(pcm16, sample_rate))
