"""What every STT adapter does: one utterance of PCM in, its text out (batch), or PCM streamed
as it arrives with partial and committed transcripts coming back (streaming)."""

from __future__ import annotations

import io
import wave
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal, Protocol

# "manual": the caller commits each segment; "vad": the provider commits when speech ends.
CommitStrategy = Literal["manual", "vad"]


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


# ---------------------------------------------------------------- streaming


@dataclass(frozen=True)
class TranscriptUpdate:
    """What a streaming transcriber heard so far.

    ``final`` is False for a partial transcript (live captions; later ones replace it) and True
    for a committed one (the segment's text will not change). ``audio_seconds`` is the length
    of the committed segment's audio as we sent it, for usage metering; 0 for partials.
    """

    text: str
    final: bool
    audio_seconds: float = 0.0


class StreamingTranscriber(Protocol):
    """One open realtime transcription session: PCM in as it arrives, transcripts out.

    Every method raises ProviderError; a connection lost mid-utterance raises it with code
    "stream_broken", and ``uncommitted_audio()`` still holds the audio that no committed
    transcript covers, so the caller can transcribe it in batch instead.
    """

    async def send(self, pcm16: bytes) -> None:
        """Stream a chunk of mono 16-bit little-endian PCM at the session's sample rate."""
        ...

    async def commit(self) -> None:
        """End the current segment: a committed transcript for it follows."""
        ...

    def updates(self) -> AsyncIterator[TranscriptUpdate]:
        """Partial and committed transcripts in arrival order, until ``close()``."""
        ...

    def uncommitted_audio(self) -> bytes:
        """The PCM sent since the last committed transcript (all of it if none came).

        Exact with manual commits; with the provider's VAD committing, a committed transcript
        is taken to cover everything sent until it arrived."""
        ...

    async def close(self) -> None: ...


class StreamingSTTClient(Protocol):
    async def open_stream(
        self,
        *,
        sample_rate: int,
        model: str,
        language: str | None,
        commit_strategy: CommitStrategy = "manual",
        vad_silence_seconds: float | None = None,
    ) -> StreamingTranscriber:
        """Open a session; raises ProviderError if the provider refuses it."""
        ...
