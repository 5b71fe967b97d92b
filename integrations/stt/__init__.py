"""Speech-to-text providers behind one interface."""

from integrations.stt.base import STTClient, Transcription, pcm16_to_wav

__all__ = ["STTClient", "Transcription", "pcm16_to_wav"]
