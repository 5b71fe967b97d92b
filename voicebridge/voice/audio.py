"""Audio between the runtime's formats and Discord's: 48 kHz stereo s16le in 20 ms frames.

Out: the assistant's TTS (mono PCM16 at its output rate, e.g. 24 kHz, or 8 kHz mu-law) is
resampled to 48 kHz with soxr's streaming resampler, copied to both channels and cut into
3,840-byte frames, the size discord.py's Opus encoder takes (960 samples x 2 channels x 2 bytes).
In: Opus packets are decoded by libopus to 48 kHz stereo, averaged to mono and resampled to the
16 kHz mono the runtime's VAD and transcribers take.

The resamplers keep state between chunks (soxr's filter needs the samples around a chunk's
edge), so one stream is one resampler: one per reply out, one per speaking member in.
"""

from __future__ import annotations

import numpy as np
import soxr
from discord import opus

from sessions.runtime.vad import SAMPLE_RATE as LISTEN_RATE

DISCORD_RATE = 48_000
DISCORD_CHANNELS = 2
FRAME_MS = 20
FRAME_BYTES = DISCORD_RATE * FRAME_MS // 1000 * DISCORD_CHANNELS * 2  # 3,840
SILENT_FRAME = bytes(FRAME_BYTES)


class OpusUnavailable(RuntimeError):
    """libopus could not be loaded: Discord voice cannot be encoded or decoded."""


def load_opus() -> None:
    """Load the system's libopus (Debian: libopus0) for discord.py, once."""
    if opus.is_loaded():
        return
    if not opus._load_default():  # discord.py's own lookup (ctypes.util.find_library)
        raise OpusUnavailable("libopus is not installed (Debian: apt install libopus0)")


def _mulaw_table() -> np.ndarray:
    """G.711 mu-law byte -> linear PCM16 sample."""
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    exponent = (codes >> 4) & 0x07
    magnitude = (((codes & 0x0F) << 3) + 0x84) << exponent
    return np.where(codes & 0x80, 0x84 - magnitude, magnitude - 0x84).astype(np.int16)


MULAW_TO_PCM = _mulaw_table()


def _samples(chunk: bytes, encoding: str) -> np.ndarray:
    if encoding == "mulaw":
        return MULAW_TO_PCM[np.frombuffer(chunk, dtype=np.uint8)]
    return np.frombuffer(chunk, dtype="<i2")


class ToDiscord:
    """One reply's TTS audio, as 20 ms frames of 48 kHz stereo PCM16 for Discord."""

    def __init__(self, *, sample_rate: int, encoding: str = "pcm_s16le") -> None:
        self._encoding = encoding
        self._stream = soxr.ResampleStream(sample_rate, DISCORD_RATE, 1, dtype="int16")
        self._pending = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        """The whole frames that ``chunk`` completes (the rest waits for the next chunk)."""
        return self._frames(self._stream.resample_chunk(_samples(chunk, self._encoding)))

    def flush(self) -> list[bytes]:
        """The end of the reply: the resampler's tail, the last frame padded with silence."""
        frames = self._frames(self._stream.resample_chunk(np.zeros(0, np.int16), last=True))
        if self._pending:
            frames.append(self._pending.ljust(FRAME_BYTES, b"\x00"))
            self._pending = b""
        return frames

    def _frames(self, mono: np.ndarray) -> list[bytes]:
        stereo = np.repeat(mono.astype("<i2"), DISCORD_CHANNELS).tobytes()
        data = self._pending + stereo
        cut = len(data) - len(data) % FRAME_BYTES
        self._pending = data[cut:]
        return [data[i : i + FRAME_BYTES] for i in range(0, cut, FRAME_BYTES)]


class FromDiscord:
    """One member's voice: Opus packets in, 16 kHz mono PCM16 for the runtime out."""

    def __init__(self) -> None:
        load_opus()
        self._decoder = opus.Decoder()
        self._stream = soxr.ResampleStream(DISCORD_RATE, LISTEN_RATE, 1, dtype="int16")

    def decode(self, packet: bytes | None) -> bytes:
        """One Opus packet (None: a lost one, concealed by libopus) as 16 kHz mono PCM16."""
        return self.downmix(self._decoder.decode(packet, fec=False))

    def downmix(self, pcm: bytes) -> bytes:
        """48 kHz stereo PCM16 -> 16 kHz mono PCM16."""
        stereo = np.frombuffer(pcm, dtype="<i2").reshape(-1, DISCORD_CHANNELS)
        mono = stereo.mean(axis=1).round().astype(np.int16)
        return self._stream.resample_chunk(mono).astype("<i2").tobytes()
