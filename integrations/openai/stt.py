"""OpenAI speech-to-text (transcriptions endpoint) on the official SDK."""

from __future__ import annotations

import openai

from integrations.openai.client import map_openai_error, openai_client
from integrations.resilience import call_with_retries
from integrations.stt import Transcription, pcm16_seconds, pcm16_to_wav


class OpenAISTT:
    def __init__(
        self, api_key: str, base_url: str | None, timeout: float = 30, max_attempts: int = 2
    ) -> None:
        self._api_key = api_key
        self._max_attempts = max_attempts
        self._client = openai_client(api_key, base_url, timeout)

    async def aclose(self) -> None:
        await self._client.close()

    async def transcribe(
        self, *, pcm16: bytes, sample_rate: int, model: str, language: str | None
    ) -> Transcription:
        wav = pcm16_to_wav(pcm16, sample_rate)

        async def attempt() -> str:
            try:
                result = await self._client.audio.transcriptions.create(
                    model=model,
                    file=("utterance.wav", wav, "audio/wav"),
                    language=language or openai.omit,
                )
            except openai.OpenAIError as exc:
                raise map_openai_error(exc, self._api_key) from exc
            return result.text

        text = await call_with_retries(attempt, max_attempts=self._max_attempts)
        return Transcription(text=text.strip(), audio_seconds=pcm16_seconds(pcm16, sample_rate))
