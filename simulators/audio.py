"""Synthetic audio for the TTS simulator and WAV inspection for the STT simulators."""

from __future__ import annotations

import io
import math
import struct
import wave
from functools import lru_cache

MS_PER_CHARACTER = 65
MIN_SPEECH_MS = 100
TONE_HZ = 200  # 100 ms holds exactly 20 cycles at every supported rate, so blocks loop seamlessly
TONE_AMPLITUDE = 2000  # about -24 dBFS: clearly audible, not harsh
BLOCK_MS = 100

# (encoding, sample_rate) the simulator can produce, by ElevenLabs output_format name.
OUTPUT_FORMATS: dict[str, tuple[str, int]] = {
    **{f"pcm_{rate}": ("pcm_s16le", rate) for rate in (16000, 22050, 24000, 44100, 48000)},
    "ulaw_8000": ("mulaw", 8000),
}


def speech_ms(text: str) -> int:
    return max(MS_PER_CHARACTER * len(text.strip()), MIN_SPEECH_MS)


def sample_width(encoding: str) -> int:
    return 2 if encoding == "pcm_s16le" else 1


def synthesize(text: str, encoding: str, sample_rate: int) -> bytes:
    """A soft tone whose length follows the text, in the requested encoding."""
    samples = sample_rate * speech_ms(text) // 1000
    block = _tone_block(encoding, sample_rate)
    width = sample_width(encoding)
    repeats = -(-samples * width // len(block))  # ceiling division
    return (block * repeats)[: samples * width]


def chunk_bytes(encoding: str, sample_rate: int, chunk_ms: float) -> int:
    """Bytes in ``chunk_ms`` of audio, always a whole number of samples."""
    samples = max(1, round(sample_rate * chunk_ms / 1000))
    return samples * sample_width(encoding)


def seconds_of(byte_count: int, encoding: str, sample_rate: int) -> float:
    return byte_count / (sample_width(encoding) * sample_rate)


@lru_cache(maxsize=16)
def _tone_block(encoding: str, sample_rate: int) -> bytes:
    count = sample_rate * BLOCK_MS // 1000
    samples = [
        round(TONE_AMPLITUDE * math.sin(2 * math.pi * TONE_HZ * i / sample_rate))
        for i in range(count)
    ]
    if encoding == "mulaw":
        return bytes(_linear_to_ulaw(sample) for sample in samples)
    return struct.pack(f"<{count}h", *samples)


def _linear_to_ulaw(sample: int) -> int:
    """G.711 mu-law encoding of one signed 16-bit sample."""
    bias, clip = 0x84, 32635
    sign = 0x80 if sample < 0 else 0
    magnitude = min(abs(sample), clip) + bias
    exponent = max(magnitude.bit_length() - 8, 0)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def wav_seconds(data: bytes) -> float:
    """Duration of a WAV file; ValueError if ``data`` is not one."""
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            return wav.getnframes() / wav.getframerate()
    except (wave.Error, EOFError, ZeroDivisionError) as exc:
        raise ValueError(f"not a WAV file: {exc}") from exc
