"""ElevenLabs streaming text-to-speech on the official SDK."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Any

import httpx
from elevenlabs import VoiceSettings
from elevenlabs.core.api_error import ApiError

from integrations.elevenlabs.client import PROVIDER, elevenlabs_client, map_elevenlabs_error
from integrations.resilience import stream_with_retries
from integrations.tts import AudioFormat

VOICE_SETTING_KEYS = ("stability", "similarity_boost", "style", "speed", "use_speaker_boost")

logger = logging.getLogger(__name__)


def voice_settings_from(settings: dict[str, Any]) -> VoiceSettings | None:
    """Only the keys the assistant actually set, so the voice's own defaults apply otherwise."""
    chosen = {key: settings[key] for key in VOICE_SETTING_KEYS if settings.get(key) is not None}
    return VoiceSettings(**chosen) if chosen else None


class _SampleAligner:
    """Re-chunks bytes so that no chunk ends in the middle of a sample."""

    def __init__(self, sample_width: int) -> None:
        self._width = sample_width
        self._carry = b""

    def push(self, chunk: bytes) -> bytes:
        data = self._carry + chunk
        cut = len(data) - len(data) % self._width
        self._carry = data[cut:]
        return data[:cut]

    def leftover(self) -> int:
        return len(self._carry)


class ElevenLabsTTS:
    """Streams speech; retries only before the first audio byte reached the caller."""

    def __init__(
        self,
        api_key: str,
        base_url: str | None,
        timeout: float = 30,
        max_attempts: int = 2,
        chunk_size: int | None = None,
    ) -> None:
        self._api_key = api_key
        self._max_attempts = max_attempts
        # SDK read size. None: whatever the network delivered, as soon as it arrived. Fixed
        # small reads (the SDK's 1024) tripled the chunks a reply's audio is handled in.
        self._chunk_size = chunk_size
        self._http, self._client = elevenlabs_client(api_key, base_url, timeout)

    async def aclose(self) -> None:
        """Close the connection pool (the platform keeps clients for the process lifetime)."""
        await self._http.aclose()

    def stream_speech(
        self,
        *,
        text: str,
        voice_id: str,
        model_id: str,
        voice_settings: dict[str, Any],
        output_format: AudioFormat,
    ) -> AsyncIterator[bytes]:
        request: dict[str, Any] = {
            "text": text,
            "model_id": model_id,
            "output_format": output_format.provider_format,
            "request_options": {"chunk_size": self._chunk_size},
        }
        settings = voice_settings_from(voice_settings)
        if settings is not None:
            request["voice_settings"] = settings
        return stream_with_retries(
            lambda: self._stream_once(voice_id, request, output_format.sample_width),
            provider=PROVIDER,
            max_attempts=self._max_attempts,
        )

    async def _stream_once(
        self, voice_id: str, request: dict[str, Any], sample_width: int
    ) -> AsyncGenerator[bytes, None]:
        aligner = _SampleAligner(sample_width)
        try:
            async with aclosing(self._client.text_to_speech.stream(voice_id, **request)) as audio:
                async for chunk in audio:
                    aligned = aligner.push(chunk)
                    if aligned:
                        yield aligned
        except (ApiError, httpx.HTTPError) as exc:
            raise map_elevenlabs_error(exc, self._api_key) from exc
        if aligner.leftover():
            logger.warning(
                "elevenlabs: dropped %d trailing byte(s) of a partial sample", aligner.leftover()
            )
