"""What every TTS adapter streams back: raw audio bytes in an agreed format."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class AudioFormat:
    encoding: str  # "pcm_s16le" or "mulaw"
    sample_rate: int
    channels: int
    provider_format: str  # the provider's name for it, e.g. "pcm_24000"

    @property
    def sample_width(self) -> int:
        """Bytes per sample per channel: chunk boundaries must fall on multiples of this."""
        return 2 if self.encoding == "pcm_s16le" else 1

    @property
    def bytes_per_second(self) -> int:
        return self.sample_rate * self.channels * self.sample_width


_PCM_RATES = (16000, 22050, 24000, 44100, 48000)
_FORMATS: dict[str, AudioFormat] = {
    **{f"pcm_{rate}": AudioFormat("pcm_s16le", rate, 1, f"pcm_{rate}") for rate in _PCM_RATES},
    "ulaw_8000": AudioFormat("mulaw", 8000, 1, "ulaw_8000"),
}


def audio_format_for(provider_format: str) -> AudioFormat:
    """The AudioFormat for a provider format name such as "pcm_24000" or "ulaw_8000"."""
    try:
        return _FORMATS[provider_format]
    except KeyError:
        known = ", ".join(sorted(_FORMATS))
        raise ValueError(
            f"unsupported audio format {provider_format!r}; use one of {known}"
        ) from None


class TTSClient(Protocol):
    def stream_speech(
        self,
        *,
        text: str,
        voice_id: str,
        model_id: str,
        voice_settings: dict[str, Any],
        output_format: AudioFormat,
    ) -> AsyncIterator[bytes]:
        """Yield audio chunks as they arrive, each a whole number of samples.

        Raises ProviderError. Closing the iterator closes the underlying HTTP stream.
        """
        ...
