"""ElevenLabs Scribe v2 Realtime simulator: the WebSocket ``/v1/speech-to-text/realtime``.

It speaks what the SDK's realtime client (``elevenlabs/realtime/``) sends and expects:

- query: ``model_id``, ``audio_format`` (``pcm_<rate>``), ``commit_strategy`` (``manual`` or
  ``vad``), ``vad_silence_threshold_secs``, ``vad_threshold``, ``min_speech_duration_ms``,
  ``language_code``, ``include_timestamps``; the key in the ``xi-api-key`` header (or a
  single-use ``token`` in the query).
- client -> server: ``{"message_type": "input_audio_chunk", "audio_base_64": ..., "commit":
  bool, "sample_rate": int, "previous_text": ...}``.
- server -> client: ``session_started``, ``partial_transcript`` (every
  ``stt_realtime_partial_every_ms`` of audio), ``committed_transcript`` (and
  ``committed_transcript_with_timestamps`` when asked) ``stt_realtime_commit_ms`` after a manual
  commit or after the simulated VAD hears the silence threshold, and the error messages
  ``auth_error``, ``rate_limited``, ``quota_exceeded``, ``invalid_request``, ``input_error``,
  ``chunk_size_exceeded``, ``transcriber_error``.

Transcripts are the batch simulator's: "I said something for N seconds.", N the segment's length
up to its last sound, so a test can tell that the audio arrived whole; trailing silence (samples
below ``SILENT_PEAK``) adds no words, as with a real model, so the transcript once the speaker
has stopped does not change with more silence, and a silent segment is heard as no words. A
script item (queue ``elevenlabs_realtime_stt``, taken when a session opens) changes one session:
``{"text": ...}`` is every committed text; ``{"fault": "401" | "429" | "402"}`` refuses the
session (auth_error / rate_limited / quota_exceeded, then close 1008);
``{"fault": "break" | "transcriber_error", "after_chunks": n}`` drops the TCP connection, or
sends transcriber_error and closes (1011), on the n-th audio chunk.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from aiohttp import WSMsgType, web

from simulators import replies
from simulators.wire import break_connection, query_of, sleep_ms, state_of

PROVIDER = "elevenlabs"
PATH = "/v1/speech-to-text/realtime"
POLICY_VIOLATION = 1008
INTERNAL_ERROR = 1011
MAX_CHUNK_SECONDS = 5.0
FRAME_MS = 20
# The real defaults and limits of the VAD parameters.
VAD_DEFAULTS = {"vad_silence_threshold_secs": 1.5, "vad_threshold": 0.4, "min_speech_ms": 100}
VAD_SILENCE_RANGE = (0.3, 3.0)
SILENT_PEAK = 64  # a segment whose samples all stay below this is transcribed as no words
VAD_LEVEL_AT_THRESHOLD_1 = 2000  # RMS of a 20 ms frame that counts as speech at vad_threshold=1
REFUSALS = {
    "401": ("auth_error", "Invalid API key"),
    "429": ("rate_limited", "Too many concurrent sessions (simulated)"),
    "402": ("quota_exceeded", "Quota exceeded (simulated)"),
}


def add_routes(app: web.Application) -> None:
    app.router.add_get(PATH, realtime_speech_to_text)


# ---------------------------------------------------------------- session start


class _Refused(Exception):
    def __init__(self, message_type: str, error: str) -> None:
        super().__init__(error)
        self.message_type = message_type
        self.error = error


class _Vad:
    """Energy VAD on 20 ms frames: speech, then ``silence_ms`` of quiet, ends a segment."""

    def __init__(self, sample_rate: int, silence_ms: float, threshold: float, min_speech_ms: float):
        self._frame_bytes = 2 * sample_rate * FRAME_MS // 1000
        self._level = threshold * VAD_LEVEL_AT_THRESHOLD_1
        self._silence_ms = silence_ms
        self._min_speech_ms = min_speech_ms
        self._carry = b""
        self._speech = 0.0
        self._quiet = 0.0

    def heard_end(self, pcm: bytes) -> bool:
        """Feed a chunk; True when speech has ended in it (decided at chunk granularity)."""
        data = self._carry + pcm
        whole = len(data) - len(data) % self._frame_bytes
        self._carry = data[whole:]
        samples = np.frombuffer(data[:whole], dtype="<i2").astype(np.float64)
        ended = False
        for frame in samples.reshape(-1, self._frame_bytes // 2):
            ended = self._frame(float(np.sqrt(np.mean(frame * frame)))) or ended
        return ended

    def _frame(self, rms: float) -> bool:
        if rms >= self._level:
            self._speech, self._quiet = self._speech + FRAME_MS, 0.0
            return False
        if self._speech < self._min_speech_ms:
            return False
        self._quiet += FRAME_MS
        if self._quiet < self._silence_ms:
            return False
        self._speech, self._quiet = 0.0, 0.0
        return True


@dataclass
class _Session:
    ws: web.WebSocketResponse
    request: web.Request
    sample_rate: int
    settings: dict[str, Any]  # what session_started echoes
    vad: _Vad | None
    item: dict[str, Any]
    segment: bytearray = field(default_factory=bytearray)
    since_partial: int = 0
    partials: int = 0
    chunks: int = 0
    last_commit: asyncio.Task[None] | None = None
    tasks: set[asyncio.Task[None]] = field(default_factory=set)


def _number(query: dict[str, str], name: str, default: float) -> float:
    try:
        return float(query[name]) if query.get(name) else default
    except ValueError as exc:
        raise _Refused("invalid_request", f"{name} must be a number") from exc


def _settings(query: dict[str, str]) -> dict[str, Any]:
    if not query.get("model_id"):
        raise _Refused("invalid_request", "model_id is required")
    audio_format = query.get("audio_format", "pcm_16000")
    rate = audio_format.removeprefix("pcm_")
    if not audio_format.startswith("pcm_") or not rate.isdigit():
        raise _Refused("invalid_request", "The simulator accepts pcm_<rate> audio formats only")
    strategy = query.get("commit_strategy", "manual")
    if strategy not in ("manual", "vad"):
        raise _Refused("invalid_request", "commit_strategy must be manual or vad")
    silence = _number(
        query, "vad_silence_threshold_secs", VAD_DEFAULTS["vad_silence_threshold_secs"]
    )
    if not VAD_SILENCE_RANGE[0] <= silence <= VAD_SILENCE_RANGE[1]:
        raise _Refused("invalid_request", "vad_silence_threshold_secs must be from 0.3 to 3.0")
    return {
        "sample_rate": int(rate),
        "audio_format": audio_format,
        "language_code": query.get("language_code"),
        "commit_strategy": strategy,
        "vad_silence_threshold_secs": silence,
        "vad_threshold": _number(query, "vad_threshold", VAD_DEFAULTS["vad_threshold"]),
        "min_speech_duration_ms": _number(
            query, "min_speech_duration_ms", VAD_DEFAULTS["min_speech_ms"]
        ),
        "model_id": query["model_id"],
        "include_timestamps": query.get("include_timestamps") == "true",
    }


def _open_session(request: web.Request, ws: web.WebSocketResponse) -> _Session:
    """The session the handshake asks for; _Refused if it cannot be served."""
    query = query_of(request)
    authenticated = request.headers.get("xi-api-key", "").strip() or query.get("token")
    if not authenticated:
        raise _Refused("auth_error", "Missing xi-api-key header")
    item = state_of(request).take_script("elevenlabs_realtime_stt", "") or {}
    if (refusal := REFUSALS.get(str(item.get("fault")))) is not None:
        raise _Refused(*refusal)
    settings = _settings(query)
    vad = None
    if settings["commit_strategy"] == "vad":
        vad = _Vad(
            settings["sample_rate"],
            1000 * settings["vad_silence_threshold_secs"],
            settings["vad_threshold"],
            settings["min_speech_duration_ms"],
        )
    return _Session(ws, request, settings["sample_rate"], settings, vad, item)


# ---------------------------------------------------------------- the socket


async def realtime_speech_to_text(request: web.Request) -> web.StreamResponse:
    state_of(request).record(PROVIDER, request.method, request.path, query_of(request), None)
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    try:
        session = _open_session(request, ws)
    except _Refused as refused:
        await _send_error(ws, refused.message_type, refused.error)
        await ws.close(code=POLICY_VIOLATION, message=refused.error[:100].encode())
        return ws
    await ws.send_json(
        {
            "message_type": "session_started",
            "session_id": uuid.uuid4().hex,
            "config": session.settings,
        }
    )
    try:
        await _serve(session)
    finally:
        for task in list(session.tasks):
            task.cancel()
    return ws


async def _serve(session: _Session) -> None:
    async for message in session.ws:
        if message.type != WSMsgType.TEXT:
            await _send_error(session.ws, "input_error", "Send JSON text messages")
            continue
        await _on_message(session, message.data)
        if session.ws.closed:
            return


async def _send_error(ws: web.WebSocketResponse, message_type: str, error: str) -> None:
    await ws.send_json({"message_type": message_type, "error": error})


async def _on_message(session: _Session, raw: str) -> None:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        return await _send_error(session.ws, "input_error", "Message is not valid JSON")
    if not isinstance(data, dict) or data.get("message_type") != "input_audio_chunk":
        return await _send_error(session.ws, "input_error", "Unknown message_type")
    try:
        pcm = base64.b64decode(str(data.get("audio_base_64") or ""), validate=True)
    except (binascii.Error, ValueError):
        return await _send_error(session.ws, "input_error", "audio_base_64 is not valid base64")
    if data.get("sample_rate") not in (None, session.sample_rate):
        message = f"sample_rate must match audio_format ({session.sample_rate})"
        return await _send_error(session.ws, "input_error", message)
    if len(pcm) > 2 * session.sample_rate * MAX_CHUNK_SECONDS:
        return await _send_error(session.ws, "chunk_size_exceeded", "Audio chunk too large")
    if pcm:
        await _on_audio(session, pcm)
    if data.get("commit") is True and not session.ws.closed:
        _commit(session)
    return None


async def _on_audio(session: _Session, pcm: bytes) -> None:
    session.chunks += 1
    if await _misbehave(session):
        return
    session.segment += pcm
    session.since_partial += len(pcm)
    config = state_of(session.request).config
    every = 2 * session.sample_rate * config.stt_realtime_partial_every_ms / 1000
    if session.since_partial >= max(every, 2):
        session.since_partial = 0
        await session.ws.send_json(
            {"message_type": "partial_transcript", "text": _partial(session)}
        )
    if session.vad is not None and session.vad.heard_end(pcm):
        _commit(session)


async def _misbehave(session: _Session) -> bool:
    """The scripted mid-stream fault, once its chunk count is reached."""
    fault = session.item.get("fault")
    if fault not in ("break", "transcriber_error"):
        return False
    if session.chunks < int(session.item.get("after_chunks", 0)):
        return False
    if fault == "break":
        await break_connection(session.request)
        return True
    await _send_error(session.ws, "transcriber_error", "Transcriber failed (simulated)")
    await session.ws.close(code=INTERNAL_ERROR, message=b"transcriber error")
    return True


def _segment_seconds(segment: bytes | bytearray, sample_rate: int) -> float:
    return len(segment) / (2 * sample_rate)


def _spoken_seconds(segment: bytes | bytearray, sample_rate: int) -> float:
    """The segment up to its last sound: trailing silence holds no words, so a transcript
    made once the speaker stopped is the one made after any more silence."""
    samples = np.frombuffer(bytes(segment[: len(segment) - len(segment) % 2]), dtype="<i2")
    frame = sample_rate * FRAME_MS // 1000
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) >= SILENT_PEAK)
    if not loud.size:
        return 0.0
    end = min(len(samples), (int(loud[-1]) // frame + 1) * frame)
    return end / sample_rate


def _partial(session: _Session) -> str:
    session.partials += 1
    spoken = _spoken_seconds(session.segment, session.sample_rate)
    if not spoken:
        return ""
    if "text" in session.item:  # a scripted text grows a word per partial
        words = str(session.item["text"]).split()
        return " ".join(words[: session.partials])
    return replies.default_transcript(spoken)


def _commit(session: _Session) -> None:
    """Close the segment; its committed transcript follows after the finalization time, in
    commit order."""
    segment = bytes(session.segment)
    session.segment.clear()
    session.since_partial = session.partials = 0
    task = asyncio.create_task(_send_committed(session, segment, session.last_commit))
    session.last_commit = task
    session.tasks.add(task)
    task.add_done_callback(session.tasks.discard)


async def _send_committed(
    session: _Session, segment: bytes, previous: asyncio.Task[None] | None
) -> None:
    await sleep_ms(state_of(session.request).config.stt_realtime_commit_ms)
    if previous is not None:
        await asyncio.wait({previous})  # its outcome is its own; only the order matters here
    seconds = _segment_seconds(segment, session.sample_rate)
    spoken = _spoken_seconds(segment, session.sample_rate)
    if not spoken:
        text = ""
    elif "text" in session.item:
        text = str(session.item["text"])
    else:
        text = replies.default_transcript(spoken)
    if session.ws.closed:
        return
    await session.ws.send_json({"message_type": "committed_transcript", "text": text})
    if session.settings["include_timestamps"]:
        language = session.settings["language_code"] or "en"
        await session.ws.send_json(
            {
                "message_type": "committed_transcript_with_timestamps",
                "text": text,
                "language_code": language,
                "words": [{"text": text, "start": 0.0, "end": seconds, "type": "word"}]
                if text
                else [],
            }
        )
