"""What every STT adapter does: one utterance of PCM in, its text out."""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Transcription:
    text: str
    audio_seconds: float  # length of the audio we sent, for usage metering


class STTClient(Protocol):
    async def transcribe(
        self, *, pcm16: bytes, sample_rate: int, model: str, language: str | None
    ) -> Transcription:
        """Transcribe mono 16-bit little-endian PCM. Raises ProviderError."""
        ...


def pcm16_to_wav(pcm16: bytes, sample_rate: int) -> bytes:
    """Wrap mono s16le PCM in a WAV container, the one format every provider accepts."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(pcm16)
    return buffer.getvalue()


def pcm16_seconds(pcm16: bytes, sample_rate: int) -> float:
    return len(pcm16) / (2 * sample_rate)
