"""The benchmark's voice phase: a caller who speaks real speech over a real socket, and the
floor its figures are measured against (docs/PERFORMANCE.md, voice turns)."""

import pytest

from bench import speech
from bench.client import VoiceSession
from bench.phases import voice_floor_ms
from bench.stack import ProviderLatency
from sessions.runtime.vad import END_SILENCE_MS
from sessions.tokens import ws_path_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
    pytest.mark.skipif(bool(speech.missing_tools()), reason="needs espeak-ng and sox"),
]


def test_the_utterance_is_whole_20_ms_frames_of_16_khz_speech():
    pcm = speech.utterance_pcm("Hello there.")
    frames = speech.frames(pcm)
    assert len(pcm) % speech.FRAME_BYTES == 0
    assert all(len(frame) == 640 for frame in frames)
    assert 0.3 < len(pcm) / 32_000 < 3  # trimmed: about the words, not espeak's silence
    assert any(frames[0]) and any(frames[len(frames) // 2])  # starts with sound, not zeros


def test_the_voice_floor_adds_end_of_turn_silence_and_stt_to_the_text_floor():
    latency = ProviderLatency(llm_ttft_ms=300, llm_token_ms=25, tts_ttfb_ms=120, stt_ms=150)
    # "Sure," is one token: 600 ms silence + 150 STT + 300 TTFT + 1 x 25 + 120 TTS.
    assert voice_floor_ms("Sure, I heard you.", latency) == END_SILENCE_MS + 150 + 300 + 25 + 120


async def test_a_spoken_turn_is_measured_from_speech_end_to_first_audio(
    providers, session, asgi_server
):
    providers.script_chat({"text": "Sure, I heard you."})
    server = asgi_server()
    caller = VoiceSession(server.ws + ws_path_for(session.id))
    assert await caller.connect(), caller.errors
    try:
        frames = speech.frames(speech.utterance_pcm("Hello there."))
        result = await caller.voice_turn(frames, 15, listen=False)
    finally:
        await caller.close()
    assert result.ok, caller.errors
    assert result.text == "Sure, I heard you."
    assert 0 < result.first_audio_ms() < 30_000
    # The server's VAD heard the speech, ended the turn after the speech, then transcribed it.
    assert result.seen["speech-started"] < result.sent_at < result.seen["speech-stopped"]
    assert result.seen["speech-stopped"] <= result.seen["transcript"] < result.first_audio_at
    assert result.audio_bytes > 0
    assert caller.frames_sent > len(frames)  # the speech, then silence until the reply
