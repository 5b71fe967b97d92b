"""ElevenLabs: streaming speech (ElevenLabsTTS) and Scribe transcription (ElevenLabsSTT) on the
official SDK."""
