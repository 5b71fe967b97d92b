"""Real libopus and real soxr: the formats Discord voice needs, checked by measurement."""

from __future__ import annotations

import numpy as np
import pytest
from discord import opus

from tests.voicebridge.voice.conftest import opus_packets
from voicebridge.voice.audio import FRAME_BYTES, FromDiscord, ToDiscord

pytestmark = pytest.mark.usefixtures("libopus")


def sine(freq: float, rate: int, seconds: float, channels: int = 1) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    wave = (8000 * np.sin(2 * np.pi * freq * t)).astype(np.int16)
    return np.repeat(wave, channels) if channels > 1 else wave


def peak_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[spectrum.argmax()])


def test_opus_round_trip_keeps_a_tone_and_compresses_it():
    pcm = sine(440, 48_000, 1.0, channels=2).tobytes()
    packets = opus_packets(pcm)
    assert len(packets) == 50  # 20 ms each
    assert all(len(p) < FRAME_BYTES // 4 for p in packets)
    decoder = opus.Decoder()
    decoded = b"".join(decoder.decode(p, fec=False) for p in packets)
    assert len(decoded) == len(pcm)
    left = np.frombuffer(decoded, "<i2")[0::2]
    assert peak_hz(left[4800:], 48_000) == pytest.approx(440, abs=2)
    assert np.abs(left[4800:]).max() > 4000  # not silence


def test_a_lost_packet_is_concealed_with_a_whole_frame():
    decoder = opus.Decoder()
    decoder.decode(opus_packets(sine(440, 48_000, 0.02, channels=2).tobytes())[0], fec=False)
    assert len(decoder.decode(None, fec=False)) == FRAME_BYTES


@pytest.mark.parametrize(("rate", "encoding"), [(24_000, "pcm_s16le"), (16_000, "pcm_s16le")])
def test_tts_audio_becomes_48k_stereo_frames_at_its_pitch(rate, encoding):
    tone = sine(300, rate, 1.0)
    out = ToDiscord(sample_rate=rate, encoding=encoding)
    frames = []
    for start in range(0, len(tone), 1234):  # uneven chunks, as the TTS stream delivers them
        frames += out.feed(tone[start : start + 1234].tobytes())
    frames += out.flush()
    assert {len(f) for f in frames} == {FRAME_BYTES}
    assert len(frames) == pytest.approx(50, abs=1)  # one second of 20 ms frames
    stereo = np.frombuffer(b"".join(frames), "<i2").reshape(-1, 2)
    assert (stereo[:, 0] == stereo[:, 1]).all()
    assert peak_hz(stereo[2400:-2400, 0], 48_000) == pytest.approx(300, abs=2)


def mulaw_encode(samples: np.ndarray) -> bytes:
    """G.711 mu-law, the encoder's side (bias 0x84, clip 32635), sample by sample."""
    codes = []
    for value in samples.astype(np.int32):
        sign = 0x80 if value < 0 else 0
        biased = min(abs(int(value)), 32635) + 0x84
        exponent = max(0, min(7, biased.bit_length() - 8))
        mantissa = (biased >> (exponent + 3)) & 0x0F
        codes.append(~(sign | exponent << 4 | mantissa) & 0xFF)
    return bytes(codes)


def test_mulaw_tts_is_expanded_before_resampling():
    tone = sine(300, 8_000, 0.5)
    frames = ToDiscord(sample_rate=8_000, encoding="mulaw").feed(mulaw_encode(tone))
    left = np.frombuffer(b"".join(frames), "<i2")[0::2]
    assert peak_hz(left[2400:], 48_000) == pytest.approx(300, abs=3)
    assert np.abs(left[2400:]).max() == pytest.approx(8000, rel=0.05)


def test_discord_voice_becomes_16k_mono_at_its_pitch():
    pcm = sine(1_000, 48_000, 1.0, channels=2).tobytes()
    inbound = FromDiscord()
    frames = [pcm[i : i + FRAME_BYTES] for i in range(0, len(pcm), FRAME_BYTES)]
    out = b"".join(inbound.downmix(frame) for frame in frames)
    mono = np.frombuffer(out, "<i2")
    assert len(mono) == pytest.approx(16_000, abs=480)  # less the resampler's delay (~20 ms)
    assert peak_hz(mono[1600:], 16_000) == pytest.approx(1_000, abs=2)
    assert np.abs(mono[1600:]).max() == pytest.approx(8000, rel=0.05)


def test_decoding_packets_gives_20ms_of_16k_mono_each(speech_packets):
    inbound = FromDiscord()
    sizes = [len(inbound.decode(p)) for p in speech_packets]
    steady = sizes[10:]  # after the resampler's first ~20 ms of delay
    assert sum(steady) == pytest.approx(len(steady) * 640, abs=640)  # 640 B = 20 ms, 16 kHz
    assert sum(sizes) / 32_000 == pytest.approx(len(speech_packets) / 50, abs=0.03)
