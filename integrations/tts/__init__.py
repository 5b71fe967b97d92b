"""Text-to-speech providers behind one streaming interface."""

from integrations.tts.base import AudioFormat, TTSClient, audio_format_for

__all__ = ["AudioFormat", "TTSClient", "audio_format_for"]
