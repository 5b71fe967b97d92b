"""ElevenLabs Scribe v2 Realtime: streaming speech-to-text on the SDK's realtime WebSocket client
(``elevenlabs.realtime.ScribeRealtime``).

The SDK reports what the server says through callbacks; this adapter turns them into one
ordered stream of TranscriptUpdate, and every failure (a refused session, an error message, a
connection lost mid-utterance) into a ProviderError. It keeps the audio no committed
transcript covers yet, so a caller whose stream broke can transcribe that audio in batch.
"""

from __future__ import annotations

import asyncio
import base64
from collections import deque
from collections.abc import AsyncIterator, Awaitable
from typing import Any

from elevenlabs.realtime import (
    AudioFormat,
    RealtimeAudioOptions,
    RealtimeConnection,
    RealtimeEvents,
    ScribeRealtime,
)
from elevenlabs.realtime import CommitStrategy as SdkCommitStrategy
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from integrations.elevenlabs.client import PROVIDER
from integrations.errors import ProviderError
from integrations.resilience import redact, status_error
from integrations.stt import CommitStrategy, TranscriptUpdate, pcm16_seconds

DEFAULT_MODEL = "scribe_v2_realtime"
DEFAULT_BASE_URL = "wss://api.elevenlabs.io"
SAMPLE_RATES = frozenset({8000, 16000, 22050, 24000, 44100, 48000})  # the SDK's pcm_* formats
# The server's error message types -> (our code, retryable).
ERROR_CODES: dict[str, tuple[str, bool]] = {
    "auth_error": ("auth_failed", False),
    "unaccepted_terms": ("forbidden", False),
    "quota_exceeded": ("forbidden", False),
    "rate_limited": ("rate_limited", True),
    "commit_throttled": ("rate_limited", True),
    "queue_overflow": ("rate_limited", True),
    "resource_exhausted": ("rate_limited", True),
    "input_error": ("bad_request", False),
    "invalid_request": ("bad_request", False),
    "chunk_size_exceeded": ("bad_request", False),
    "insufficient_audio_activity": ("bad_request", False),
    "session_time_limit_exceeded": ("stream_broken", True),
    "transcriber_error": ("stream_broken", True),
}


class ElevenLabsRealtimeSTT:
    """Opens realtime transcription sessions (a StreamingSTTClient)."""

    def __init__(self, api_key: str, base_url: str | None, *, connect_timeout: float = 5.0):
        self._api_key = api_key
        self._connect_timeout = connect_timeout
        self._scribe = ScribeRealtime(api_key=api_key, base_url=base_url or DEFAULT_BASE_URL)

    async def open_stream(
        self,
        *,
        sample_rate: int,
        model: str = DEFAULT_MODEL,
        language: str | None = None,
        commit_strategy: CommitStrategy = "manual",
        vad_silence_seconds: float | None = None,
    ) -> ElevenLabsTranscriptStream:
        """Connect and wait for ``session_started``; ProviderError if the session is refused."""
        options = _options(sample_rate, model, language, commit_strategy, vad_silence_seconds)
        connection = await self._connect(options)
        stream = ElevenLabsTranscriptStream(connection, sample_rate, self._api_key)
        try:
            async with asyncio.timeout(self._connect_timeout):
                await stream.wait_started()
        except TimeoutError as exc:
            await stream.close()
            raise _timeout("no session_started in time") from exc
        except ProviderError:
            await stream.close()
            raise
        return stream

    async def _connect(self, options: RealtimeAudioOptions) -> RealtimeConnection:
        try:
            async with asyncio.timeout(self._connect_timeout):
                return await self._scribe.connect(options)
        except TimeoutError as exc:
            raise _timeout("connecting timed out") from exc
        except InvalidStatus as exc:
            detail = redact(exc.response.reason_phrase, self._api_key)
            raise status_error(PROVIDER, exc.response.status_code, detail) from exc
        except (OSError, InvalidHandshake, InvalidURI) as exc:
            raise ProviderError(
                PROVIDER, "unavailable", "connection failed", retryable=True
            ) from exc


def _options(
    sample_rate: int,
    model: str,
    language: str | None,
    commit_strategy: CommitStrategy,
    vad_silence_seconds: float | None,
) -> RealtimeAudioOptions:
    if sample_rate not in SAMPLE_RATES:
        message = f"unsupported sample rate {sample_rate}"
        raise ProviderError(PROVIDER, "bad_request", message, retryable=False)
    options: RealtimeAudioOptions = {
        "model_id": model,
        "audio_format": AudioFormat(f"pcm_{sample_rate}"),
        "sample_rate": sample_rate,
        "commit_strategy": SdkCommitStrategy(commit_strategy),
    }
    if language:
        options["language_code"] = language
    if vad_silence_seconds is not None:
        options["vad_silence_threshold_secs"] = vad_silence_seconds
    return options


def _timeout(message: str) -> ProviderError:
    return ProviderError(PROVIDER, "timeout", message, retryable=True)


def _broken(message: str) -> ProviderError:
    return ProviderError(PROVIDER, "stream_broken", message, retryable=True)


class ElevenLabsTranscriptStream:
    """One realtime session (a StreamingTranscriber)."""

    def __init__(self, connection: RealtimeConnection, sample_rate: int, api_key: str) -> None:
        self._connection = connection
        self._sample_rate = sample_rate
        self._api_key = api_key
        self._updates: asyncio.Queue[TranscriptUpdate | ProviderError | None] = asyncio.Queue()
        self._started = asyncio.Event()
        self._failure: ProviderError | None = None
        self._closing = False
        self._current = bytearray()  # audio since the last commit
        self._committing: deque[bytes] = deque()  # committed segments awaiting their transcript
        self.audio_seconds = 0.0  # all audio sent, for usage metering
        # Registered before the SDK's reader task first runs: no message can be missed.
        connection.on(RealtimeEvents.SESSION_STARTED, self._on_started)
        connection.on(RealtimeEvents.PARTIAL_TRANSCRIPT, self._on_partial)
        connection.on(RealtimeEvents.COMMITTED_TRANSCRIPT, self._on_committed)
        connection.on(RealtimeEvents.ERROR, self._on_error)
        connection.on(RealtimeEvents.CLOSE, self._on_close)

    async def wait_started(self) -> None:
        await self._started.wait()
        self._raise_if_failed()

    async def send(self, pcm16: bytes) -> None:
        self._raise_if_failed()
        self._current += pcm16  # kept before sending: a failed send loses nothing
        self.audio_seconds += pcm16_seconds(pcm16, self._sample_rate)
        chunk = base64.b64encode(pcm16).decode("ascii")
        await self._write(self._connection.send({"audio_base_64": chunk}))

    async def commit(self) -> None:
        self._raise_if_failed()
        self._committing.append(bytes(self._current))
        self._current.clear()
        await self._write(self._connection.commit())

    async def updates(self) -> AsyncIterator[TranscriptUpdate]:
        while True:
            self._raise_if_failed()
            update = await self._updates.get()
            if update is None:  # the caller closed the stream
                return
            if isinstance(update, ProviderError):
                raise update
            yield update

    def uncommitted_audio(self) -> bytes:
        return b"".join(self._committing) + bytes(self._current)

    async def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        await self._connection.close()
        self._updates.put_nowait(None)

    # ------------------------------------------------------------ plumbing

    async def _write(self, sending: Awaitable[None]) -> None:
        try:
            await sending
        except ConnectionClosed as exc:
            lost = _broken("connection lost while sending audio")
            self._fail(lost)
            raise (self._failure or lost) from exc

    def _raise_if_failed(self) -> None:
        if self._failure is not None:
            raise self._failure

    def _fail(self, error: ProviderError) -> None:
        if self._failure is None and not self._closing:
            self._failure = error
            self._updates.put_nowait(error)
        self._started.set()

    # The SDK's callbacks: they run on its reader task and must not raise.

    def _on_started(self, data: dict[str, Any]) -> None:
        self._started.set()

    def _on_partial(self, data: dict[str, Any]) -> None:
        self._updates.put_nowait(TranscriptUpdate(str(data.get("text", "")), final=False))

    def _on_committed(self, data: dict[str, Any]) -> None:
        if self._committing:
            segment = self._committing.popleft()
        else:  # the server's VAD committed. It does not say where the segment ended, so it
            # is taken to cover all audio sent so far (exact with manual commits only).
            segment = bytes(self._current)
            self._current.clear()
        seconds = pcm16_seconds(segment, self._sample_rate)
        text = str(data.get("text", "")).strip()
        self._updates.put_nowait(TranscriptUpdate(text, final=True, audio_seconds=seconds))

    def _on_error(self, data: dict[str, Any]) -> None:
        kind = str(data.get("message_type", ""))
        code, retryable = ERROR_CODES.get(kind, ("stream_broken", True))
        if code in ("auth_failed", "forbidden"):
            message = f"{kind}: the provider rejected the credentials or the account"
        else:
            message = f"{kind or 'connection'}: {redact(str(data.get('error', '')), self._api_key)}"
        self._fail(ProviderError(PROVIDER, code, message, retryable=retryable))

    def _on_close(self, info: dict[str, Any]) -> None:
        self._fail(_broken(f"connection closed (code {info.get('code')})"))
