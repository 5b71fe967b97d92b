"""Real speech for the voice phase: espeak-ng says a sentence, sox makes it what a client sends
(16 kHz mono PCM16, silence trimmed at both ends so the last frame is the end of speech)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

SAMPLE_RATE = 16_000
FRAME_MS = 20
FRAME_BYTES = SAMPLE_RATE * FRAME_MS // 1000 * 2  # 640, as docs/PROTOCOL.md asks
UTTERANCE = "Can you book a table for two tonight?"
# Trim leading and trailing silence below 1 % of full scale (sox's silence effect, twice
# with the audio reversed in between: once for the start, once for the end).
TRIM = ["silence", "1", "0.02", "1%", "reverse", "silence", "1", "0.02", "1%", "reverse"]


def missing_tools() -> list[str]:
    return [tool for tool in ("espeak-ng", "sox") if shutil.which(tool) is None]


def utterance_pcm(text: str = UTTERANCE) -> bytes:
    """The spoken ``text`` as raw PCM16 16 kHz mono, padded with zeros to whole 20 ms frames."""
    if missing := missing_tools():
        raise RuntimeError(f"the voice phase needs {' and '.join(missing)}")
    with tempfile.TemporaryDirectory(prefix="vp-bench-speech-") as work:
        wav, raw = Path(work) / "speech.wav", Path(work) / "speech.raw"
        _run(["espeak-ng", "-w", str(wav), text])
        encode = ["-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", "-e", "signed-integer"]
        _run(["sox", str(wav), *encode, "-t", "raw", str(raw), *TRIM])
        pcm = raw.read_bytes()
    if not pcm:
        raise RuntimeError("espeak-ng produced no audible speech")
    return pcm + bytes(-len(pcm) % FRAME_BYTES)


def frames(pcm: bytes) -> list[bytes]:
    return [pcm[i : i + FRAME_BYTES] for i in range(0, len(pcm), FRAME_BYTES)]


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    if result.returncode:
        raise RuntimeError(f"{command[0]} failed: {result.stderr.strip()[-500:]}")
