"""Find utterances in a stream of 16 kHz PCM16 microphone audio with WebRTC's VAD."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import webrtcvad

SAMPLE_RATE = 16_000
FRAME_MS = 20
FRAME_BYTES = SAMPLE_RATE * FRAME_MS // 1000 * 2  # 640
START_WINDOW, START_VOICED = 8, 5  # 5 voiced frames of the last 8 (100 ms of 160 ms): speech
END_SILENCE_MS = 600  # this much silence after speech ends the utterance
PRE_ROLL_FRAMES = 15  # keep 300 ms before the onset so the first syllable is not cut
MAX_UTTERANCE_SECONDS = 30


@dataclass(frozen=True)
class VadEvent:
    kind: str  # "speech-started" | "speech-stopped"
    audio: bytes = b""  # the utterance, with "speech-stopped"

    @property
    def seconds(self) -> float:
        return len(self.audio) / (SAMPLE_RATE * 2)


class UtteranceDetector:
    def __init__(self, *, aggressiveness: int = 2, end_silence_ms: int = END_SILENCE_MS) -> None:
        self._vad = webrtcvad.Vad(aggressiveness)
        self._pending = b""
        self._recent: deque[tuple[bytes, bool]] = deque(maxlen=max(START_WINDOW, PRE_ROLL_FRAMES))
        self._utterance = bytearray()
        self._in_speech = False
        self._silent_frames = 0
        self._end_frames = end_silence_ms // FRAME_MS

    @property
    def in_speech(self) -> bool:
        return self._in_speech

    def feed(self, pcm: bytes) -> list[VadEvent]:
        self._pending += pcm
        events = []
        while len(self._pending) >= FRAME_BYTES:
            frame, self._pending = self._pending[:FRAME_BYTES], self._pending[FRAME_BYTES:]
            event = self._frame(frame, self._vad.is_speech(frame, SAMPLE_RATE))
            if event:
                events.append(event)
        return events

    def commit(self) -> VadEvent | None:
        """End the utterance now (push-to-talk): whatever was heard since the last one."""
        audio = bytes(self._utterance) if self._in_speech else b"".join(f for f, _ in self._recent)
        audio += self._pending
        self._reset()
        return VadEvent("speech-stopped", audio) if audio else None

    def _frame(self, frame: bytes, voiced: bool) -> VadEvent | None:
        if not self._in_speech:
            self._recent.append((frame, voiced))
            window = list(self._recent)[-START_WINDOW:]
            if sum(v for _, v in window) >= START_VOICED:
                self._in_speech = True
                self._utterance = bytearray(b"".join(f for f, _ in self._recent))
                self._recent.clear()
                return VadEvent("speech-started")
            return None
        self._utterance += frame
        self._silent_frames = 0 if voiced else self._silent_frames + 1
        too_long = len(self._utterance) >= MAX_UTTERANCE_SECONDS * SAMPLE_RATE * 2
        if self._silent_frames >= self._end_frames or too_long:
            audio = bytes(self._utterance)
            self._reset()
            return VadEvent("speech-stopped", audio)
        return None

    def _reset(self) -> None:
        self._utterance = bytearray()
        self._recent.clear()
        self._pending = b""
        self._in_speech = False
        self._silent_frames = 0
