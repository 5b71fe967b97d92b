"""The benchmark's voice phase: a caller who speaks real speech over a real socket, and the
floor its figures are measured against (docs/PERFORMANCE.md, voice turns)."""

import pytest

from bench import speech
from bench.__main__ import voice_targets
from bench.client import VoiceSession
from bench.phases import preemptive_limit_ms, voice_floor_ms
from bench.stack import ProviderLatency
from bench.voice import parse_counters, plan
from sessions.runtime.vad import END_SILENCE_MS, PAUSE_MS
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


LATENCY = ProviderLatency(
    llm_ttft_ms=300, llm_token_ms=25, tts_ttfb_ms=120, stt_ms=150, stt_realtime_commit_ms=140
)


def test_the_batch_floor_adds_the_silence_and_the_upload_s_transcription_to_the_text_floor():
    # "Sure," is one token: 500 ms silence + 150 STT + 300 TTFT + 1 x 25 + 120 TTS.
    assert voice_floor_ms("Sure, I heard you.", LATENCY) == END_SILENCE_MS + 150 + 300 + 25 + 120
    assert voice_floor_ms("Sure, I heard you.", LATENCY, silence_ms=800) == 800 + 595


def test_the_streaming_floor_waits_for_the_commit_s_finalization_instead():
    floor = voice_floor_ms("Sure, I heard you.", LATENCY, mode="streaming", silence_ms=500)
    assert floor == 500 + 140 + 445


def test_the_preemptive_floor_starts_the_reply_at_the_pause_and_holds_it_to_the_commit():
    # The reply starts on the caption at the pause: ready 200 + 445 = 645 ms after speech end;
    # it plays once the end of turn's commit confirms the words, 500 + 140 = 640 ms: 645 wins.
    assert PAUSE_MS == 200
    assert voice_floor_ms("Sure, I heard you.", LATENCY, mode="preemptive", silence_ms=500) == 645
    # A longer silence hides the whole reply: the committed transcript is the floor.
    assert voice_floor_ms("Sure, I heard you.", LATENCY, mode="preemptive", silence_ms=800) == 940
    assert preemptive_limit_ms(LATENCY, 800) == 800 + 140 + 60
    with pytest.raises(ValueError, match="unknown voice mode"):
        voice_floor_ms("Sure,", LATENCY, mode="eager")


def test_the_runs_set_each_mode_on_the_assistant_and_preemptive_at_each_silence():
    runs = plan("batch,streaming,preemptive", 500, "500,800")
    assert [run.name for run in runs] == [
        "batch-500",
        "streaming-500",
        "preemptive-500",
        "preemptive-800",
    ]
    assert runs[0].assistant_settings() == {
        "transcriber_provider": "openai",
        "transcriber_mode": "batch",
        "transcriber_model": "gpt-4o-mini-transcribe",
        "preemptive_replies": False,
        "end_of_turn_silence_ms": 500,
    }
    assert runs[1].assistant_settings()["transcriber_mode"] == "streaming"
    assert runs[1].assistant_settings()["preemptive_replies"] is False
    assert runs[3].assistant_settings() == {
        "transcriber_provider": "elevenlabs",
        "transcriber_mode": "streaming",
        "transcriber_model": "scribe_v2_realtime",
        "preemptive_replies": True,
        "end_of_turn_silence_ms": 800,
    }
    assert [run.name for run in plan("streaming", 600, "500,800")] == ["streaming-600"]
    with pytest.raises(ValueError, match="eager"):
        plan("batch,eager", 500, "")


def test_the_server_counters_are_read_from_prometheus_text():
    exposition = "\n".join(
        [
            "# HELP vp_preemptive_replies_total Replies started at a short pause.",
            "# TYPE vp_preemptive_replies_total counter",
            'vp_preemptive_replies_total{outcome="used"} 7.0',
            'vp_preemptive_replies_total{outcome="discarded"} 2.0',
            'vp_preemptive_replies_created{outcome="used"} 1.7e+09',
            'vp_stt_stream_fallbacks_total{code="timeout",provider="elevenlabs"} 1.0',
            'vp_stt_stream_fallbacks_total{code="closed",provider="elevenlabs"} 2.0',
            'vp_turns_total{outcome="completed"} 40.0',
        ]
    )
    assert parse_counters(exposition) == {
        "preemptive_used": 7.0,
        "preemptive_discarded": 2.0,
        "stt_stream_fallbacks": 3.0,
    }


def _run(mode: str, silence_ms: int, **phases: dict) -> dict:
    return {"mode": mode, "silence_ms": silence_ms, **phases}


def test_voice_targets_per_mode():
    fast = {"overhead_ms": {"p95": 25}}
    slow = {"overhead_ms": {"p95": 70}}
    below = {
        "provider_floor_ms": {"max": 470},
        "preemptive_limit_ms": 710,
        "speech_end_to_first_audio_ms": {"p95": 800},
    }
    above = {**below, "provider_floor_ms": {"max": 900}}
    checks = voice_targets(
        {
            "batch-500": _run("batch", 500, n1=fast, n100=slow),
            "streaming-500": _run("streaming", 500, n1=fast),
            "preemptive-500": _run("preemptive", 500, n1=below, n20=above),
        }
    )
    found = {(c["target"].split(", ")[1], c["phase"]): (c["limit"], c["met"]) for c in checks}
    assert found == {
        ("batch-500", "n1"): (30, True),
        ("batch-500", "n100"): (60, False),
        ("streaming-500", "n1"): (30, True),
        ("streaming-500", "n100"): (60, False),  # not measured: a miss, not a pass
        ("preemptive-500", "n1"): (710, False),  # the provider floor above the silence: no target
    }


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
