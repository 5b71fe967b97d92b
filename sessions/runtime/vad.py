"""Find utterances in a stream of 16 kHz PCM16 microphone audio with WebRTC's VAD.

The detector reports, in order: ``speech-started`` (with the pre-roll and onset audio), each
further frame of the utterance (``audio``), a short ``paused`` and ``resumed`` inside it (where
a preemptive reply may start, and must stop), and ``speech-stopped`` with the whole utterance
once the assistant's end-of-turn silence has passed.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal

import numpy as np
import webrtcvad

SAMPLE_RATE = 16_000
FRAME_MS = 20
FRAME_BYTES = SAMPLE_RATE * FRAME_MS // 1000 * 2  # 640
END_SILENCE_MS = 500  # the default end of turn (Assistant.end_of_turn_silence_ms)
MIN_SPEECH_MS = 100  # the default minimum speech (Assistant.min_speech_ms)
PAUSE_MS = 200  # a short pause: where a preemptive reply starts
ONSET_SLACK_FRAMES = 3  # speech starts at MIN_SPEECH_MS voiced within MIN_SPEECH_MS + 60 ms
PRE_ROLL_FRAMES = 15  # keep 300 ms before the onset so the first syllable is not cut
MAX_UTTERANCE_SECONDS = 30
# WebRTC's VAD keeps saying "voiced" for ~80 ms after speech stops (its hangover), which delayed
# every end of turn. Inside an utterance, a frame 26 dB below the utterance's speech level is
# silence whatever the VAD says; digital silence always is.
QUIET_RATIO = 0.05
SILENT_RMS = 16.0

EventKind = Literal["speech-started", "audio", "paused", "resumed", "speech-stopped"]


@dataclass(frozen=True, slots=True)
class VadEvent:
    kind: EventKind
    audio: bytes = b""  # the onset, one frame, or (speech-stopped) the whole utterance

    @property
    def seconds(self) -> float:
        return len(self.audio) / (SAMPLE_RATE * 2)


class UtteranceDetector:
    def __init__(
        self,
        *,
        aggressiveness: int = 2,
        end_silence_ms: int = END_SILENCE_MS,
        min_speech_ms: int = MIN_SPEECH_MS,
        pause_ms: int | None = None,
    ) -> None:
        self._vad = webrtcvad.Vad(aggressiveness)
        self._end_frames = max(1, end_silence_ms // FRAME_MS)
        self._onset_frames = max(1, min_speech_ms // FRAME_MS)
        pause = pause_ms // FRAME_MS if pause_ms else 0
        self._pause_frames = pause if 0 < pause < self._end_frames else 0
        window = self._onset_frames + ONSET_SLACK_FRAMES
        self._recent: deque[tuple[bytes, bool]] = deque(maxlen=max(window, PRE_ROLL_FRAMES))
        self._window = window
        self._pending = b""
        self._utterance = bytearray()
        self._in_speech = self._paused = False
        self._silent_frames = self._voiced_frames = 0
        self._speech_level = 0.0

    @property
    def in_speech(self) -> bool:
        return self._in_speech

    @property
    def voiced_ms(self) -> int:
        """How long the current utterance has been voiced so far."""
        return self._voiced_frames * FRAME_MS

    def feed(self, pcm: bytes) -> list[VadEvent]:
        events: list[VadEvent] = []
        if type(pcm) is not bytes:
            pcm = bytes(pcm)  # frames are kept (pre-roll, events): never a caller's buffer
        if self._pending:
            pcm, self._pending = self._pending + pcm, b""
        if len(pcm) == FRAME_BYTES:  # the usual case: one whole 20 ms frame, nothing to cut
            self._frame(pcm, events)
            return events
        whole = len(pcm) - len(pcm) % FRAME_BYTES
        for start in range(0, whole, FRAME_BYTES):
            self._frame(pcm[start : start + FRAME_BYTES], events)
        self._pending = pcm[whole:]
        return events

    def commit(self) -> VadEvent | None:
        """End the utterance now (push-to-talk): whatever was heard since the last one."""
        audio = bytes(self._utterance) if self._in_speech else b"".join(f for f, _ in self._recent)
        audio += self._pending
        self._pending = b""
        self._reset()
        return VadEvent("speech-stopped", audio) if audio else None

    # ---- frames --------------------------------------------------------------------------

    def _frame(self, frame: bytes, events: list[VadEvent]) -> None:
        level = _rms(frame)
        voiced = level > SILENT_RMS and self._vad.is_speech(frame, SAMPLE_RATE)
        if not self._in_speech:
            self._before_speech(frame, voiced, events)
            return
        if voiced and level < self._speech_level * QUIET_RATIO:
            voiced = False  # the VAD's hangover after the last word
        self._utterance += frame
        events.append(VadEvent("audio", frame))
        if voiced:
            self._voiced(level, events)
        else:
            self._silent(events)

    def _before_speech(self, frame: bytes, voiced: bool, events: list[VadEvent]) -> None:
        self._recent.append((frame, voiced))
        if not voiced:  # the window lost a frame and gained a silent one: still short of onset
            return
        window = list(self._recent)[-self._window :]
        if sum(v for _, v in window) < self._onset_frames:
            return
        self._in_speech = True
        self._voiced_frames = self._onset_frames
        self._speech_level = max(_rms(f) for f, v in window if v)
        self._utterance = bytearray(b"".join(f for f, _ in self._recent))
        self._recent.clear()
        events.append(VadEvent("speech-started", bytes(self._utterance)))

    def _voiced(self, level: float, events: list[VadEvent]) -> None:
        self._voiced_frames += 1
        self._speech_level = max(self._speech_level * 0.995, level)  # follows a softer voice
        if self._paused:
            self._paused = False
            events.append(VadEvent("resumed"))
        self._silent_frames = 0
        if len(self._utterance) >= MAX_UTTERANCE_SECONDS * SAMPLE_RATE * 2:
            self._stop(events)

    def _silent(self, events: list[VadEvent]) -> None:
        self._silent_frames += 1
        if self._silent_frames == self._pause_frames:
            self._paused = True
            events.append(VadEvent("paused"))
        too_long = len(self._utterance) >= MAX_UTTERANCE_SECONDS * SAMPLE_RATE * 2
        if self._silent_frames >= self._end_frames or too_long:
            self._stop(events)

    def _stop(self, events: list[VadEvent]) -> None:
        events.append(VadEvent("speech-stopped", bytes(self._utterance)))
        self._reset()

    def _reset(self) -> None:
        self._utterance = bytearray()
        self._recent.clear()
        self._in_speech = False
        self._paused = False
        self._silent_frames = 0
        self._voiced_frames = 0
        self._speech_level = 0.0


def _rms(frame: bytes) -> float:
    if frame == _DIGITAL_SILENCE:  # a muted microphone: no need for numpy to say 0.0
        return 0.0
    samples = np.frombuffer(frame, dtype=np.int16).astype(np.float32)
    return float(np.sqrt(samples.dot(samples) / len(samples)))


_DIGITAL_SILENCE = bytes(FRAME_BYTES)
