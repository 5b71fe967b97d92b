"""The utterance detector: onset, end of turn, pauses, and no hangover after the last word."""

from __future__ import annotations

import numpy as np
import pytest

from sessions.runtime.vad import FRAME_BYTES, FRAME_MS, UtteranceDetector
from tests.sessions.live import silence_pcm, voiced_pcm


def timeline(detector: UtteranceDetector, audio: bytes) -> list[tuple[str, int]]:
    """The detector's events (audio frames left out) and when, in ms of audio fed."""
    events = []
    for i in range(0, len(audio), FRAME_BYTES):
        for event in detector.feed(audio[i : i + FRAME_BYTES]):
            if event.kind != "audio":
                events.append((event.kind, (i + FRAME_BYTES) // FRAME_BYTES * FRAME_MS))
    return events


def test_the_turn_ends_exactly_the_end_silence_after_the_last_voiced_frame():
    # WebRTC's VAD alone called ~80 ms of the silence after speech voiced.
    for silence_ms in (300, 500, 800):
        detector = UtteranceDetector(end_silence_ms=silence_ms)
        events = timeline(detector, voiced_pcm(1.0) + silence_pcm(1.0))
        assert events[-1] == ("speech-stopped", 1000 + silence_ms)


def test_a_quiet_noise_floor_does_not_keep_the_turn_open():
    rng = np.random.default_rng(1)
    noise = rng.normal(0, 40, 16_000).astype("<i2").tobytes()
    events = timeline(UtteranceDetector(end_silence_ms=500), voiced_pcm(1.0) + noise)
    assert events[-1] == ("speech-stopped", 1500)


def test_speech_shorter_than_the_minimum_is_not_an_utterance():
    blip = voiced_pcm(0.08) + silence_pcm(0.5)
    assert timeline(UtteranceDetector(min_speech_ms=100), blip) == []
    events = timeline(UtteranceDetector(min_speech_ms=60), blip)
    assert [kind for kind, _ in events] == ["speech-started", "speech-stopped"]


def test_a_short_pause_is_reported_and_so_is_speech_resuming():
    detector = UtteranceDetector(end_silence_ms=600, pause_ms=200)
    audio = voiced_pcm(0.6) + silence_pcm(0.3) + voiced_pcm(0.4) + silence_pcm(0.7)
    assert [kind for kind, _ in timeline(detector, audio)] == [
        "speech-started",
        "paused",
        "resumed",
        "paused",
        "speech-stopped",
    ]


def test_the_utterance_carries_its_onset_and_every_frame():
    detector = UtteranceDetector(end_silence_ms=500)
    audio = silence_pcm(0.1) + voiced_pcm(0.5) + silence_pcm(0.6)
    streamed = b""
    stopped = None
    for i in range(0, len(audio), FRAME_BYTES):
        for event in detector.feed(audio[i : i + FRAME_BYTES]):
            if event.kind in ("speech-started", "audio"):
                streamed += event.audio
            elif event.kind == "speech-stopped":
                stopped = event
    assert stopped is not None
    assert stopped.audio == streamed  # what a stream was sent is the whole utterance
    assert stopped.seconds == pytest.approx(1.1)


def test_voiced_ms_counts_the_speech_so_far():
    detector = UtteranceDetector()
    detector.feed(voiced_pcm(0.4))
    assert 300 <= detector.voiced_ms <= 400
    assert detector.in_speech
