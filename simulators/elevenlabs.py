"""ElevenLabs wire simulator: text-to-speech (streamed and whole), speech-to-text and the
voice list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from simulators import audio, elevenlabs_realtime, replies
from simulators.catalogs import elevenlabs_voice_page
from simulators.state import SimConfig
from simulators.wire import (
    break_connection,
    fault_status,
    hold,
    query_of,
    read_json,
    read_upload,
    retry_after_headers,
    sleep_ms,
    state_of,
)

PROVIDER = "elevenlabs"
DEFAULT_OUTPUT_FORMAT = "mp3_44100_128"  # the real default; the simulator cannot encode MP3
_STATUS_DETAILS = {
    401: ("invalid_api_key", "Invalid API key"),
    403: ("missing_permissions", "The API key does not have the required permissions"),
    404: ("voice_not_found", "A voice with the voice_id was not found"),
    429: ("too_many_concurrent_requests", "Too many concurrent requests (simulated)"),
    500: ("internal_server_error", "An internal error occurred (simulated)"),
    503: ("system_busy", "The system is busy, please try again later (simulated)"),
}


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v1/text-to-speech/{voice_id}/stream", text_to_speech_stream)
    app.router.add_post("/v1/text-to-speech/{voice_id}", text_to_speech)
    app.router.add_post("/v1/speech-to-text", speech_to_text)
    elevenlabs_realtime.add_routes(app)  # the Scribe v2 Realtime WebSocket
    app.router.add_get("/v2/voices", voices)


def detail_error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(
        {"detail": {"status": code, "message": message}}, status=status, headers=headers
    )


def _validation_error(location: list[str], message: str, value: Any) -> web.Response:
    # FastAPI's shape, which is what ElevenLabs answers for invalid parameters.
    detail = [{"type": "value_error", "loc": location, "msg": message, "input": value}]
    return web.json_response({"detail": detail}, status=422)


def _auth_error(request: web.Request) -> web.Response | None:
    if request.headers.get("xi-api-key", "").strip():
        return None
    return detail_error(401, "invalid_api_key", "Missing xi-api-key header")


def _status_fault(item: dict[str, Any], status: int) -> web.Response:
    code, message = _STATUS_DETAILS.get(status, ("error", f"Simulated HTTP {status}"))
    headers = retry_after_headers(item) if status == 429 else None
    return detail_error(status, code, message, headers)


async def _early_fault(item: dict[str, Any]) -> web.Response | None:
    """Faults that happen before any body is sent: error statuses and "timeout"."""
    if (status := fault_status(item)) is not None:
        return _status_fault(item, status)
    if item.get("fault") == "timeout":
        await hold(item)
        return detail_error(504, "timeout", "Simulated gateway timeout")
    return None


# ---------------------------------------------------------------- text-to-speech


@dataclass(frozen=True)
class _SpeechCall:
    text: str
    encoding: str
    rate: int
    item: dict[str, Any]  # the script item it consumed (may hold a mid-stream fault)


async def _speech_call(request: web.Request) -> web.Response | _SpeechCall:
    """Validate a TTS call; an error response if it cannot be served."""
    state = state_of(request)
    body = await read_json(request)
    state.record(PROVIDER, request.method, request.path, query_of(request), body)
    if (denied := _auth_error(request)) is not None:
        return denied
    output_format = request.query.get("output_format", DEFAULT_OUTPUT_FORMAT)
    if output_format not in audio.OUTPUT_FORMATS:
        supported = ", ".join(audio.OUTPUT_FORMATS)
        message = f"Unsupported output_format; the simulator produces {supported}"
        return _validation_error(["query", "output_format"], message, output_format)
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip():
        return _validation_error(["body", "text"], "Field required", text)
    item = state.take_script("elevenlabs_tts", text) or {}
    if (fault := await _early_fault(item)) is not None:
        return fault
    return _SpeechCall(text, *audio.OUTPUT_FORMATS[output_format], item)


async def text_to_speech_stream(request: web.Request) -> web.StreamResponse:
    call = await _speech_call(request)
    if isinstance(call, web.Response):
        return call
    config = state_of(request).config
    pcm = audio.synthesize(call.text, call.encoding, call.rate)
    step = audio.chunk_bytes(call.encoding, call.rate, config.tts_chunk_ms)
    response = web.StreamResponse(headers={"Content-Type": _content_type(call.encoding)})
    await response.prepare(request)
    await sleep_ms(config.tts_ttfb_ms)
    fault, fault_after = call.item.get("fault"), int(call.item.get("after_chunks", 0))
    for sent, start in enumerate(range(0, len(pcm), step)):
        if fault in ("stall", "break") and sent >= fault_after:
            return await _misbehave(request, response, call.item)
        if sent:
            await _pace(config, step, call.encoding, call.rate)
        await response.write(pcm[start : start + step])
    await response.write_eof()
    return response


async def _pace(config: SimConfig, step: int, encoding: str, rate: int) -> None:
    # Real time means one chunk per chunk-duration, like a provider generating as it speaks.
    if config.tts_realtime:
        await sleep_ms(1000 * audio.seconds_of(step, encoding, rate))


async def _misbehave(
    request: web.Request, response: web.StreamResponse, item: dict[str, Any]
) -> web.StreamResponse:
    if item.get("fault") == "break":
        await break_connection(request)
    else:
        await hold(item)
    return response


async def text_to_speech(request: web.Request) -> web.StreamResponse:
    call = await _speech_call(request)
    if isinstance(call, web.Response):
        return call
    await sleep_ms(state_of(request).config.tts_ttfb_ms)
    pcm = audio.synthesize(call.text, call.encoding, call.rate)
    return web.Response(body=pcm, headers={"Content-Type": _content_type(call.encoding)})


def _content_type(encoding: str) -> str:
    return "audio/pcm" if encoding == "pcm_s16le" else "audio/basic"


# ---------------------------------------------------------------- speech-to-text


async def speech_to_text(request: web.Request) -> web.StreamResponse:
    state = state_of(request)
    if not request.content_type.startswith("multipart/"):
        state.record(PROVIDER, request.method, request.path, query_of(request), None)
        return _validation_error(["body"], "Expected multipart/form-data", None)
    upload = await read_upload(request)
    fields = upload.fields
    body = {**fields, "file": upload.summary()}
    state.record(PROVIDER, request.method, request.path, query_of(request), body)
    if (denied := _auth_error(request)) is not None:
        return denied
    if not fields.get("model_id"):
        return _validation_error(["body", "model_id"], "Field required", None)
    seconds = _upload_seconds(upload.data, fields.get("file_format", "other"))
    if seconds is None:
        return detail_error(
            400,
            "invalid_content",
            "The simulator decodes WAV files or file_format=pcm_s16le_16 only",
        )
    return await _transcribe(request, fields, seconds)


def _upload_seconds(data: bytes, file_format: str) -> float | None:
    if file_format == "pcm_s16le_16":
        return len(data) / 32000
    try:
        return audio.wav_seconds(data)
    except ValueError:
        return None


async def _transcribe(
    request: web.Request, fields: dict[str, str], seconds: float
) -> web.StreamResponse:
    state = state_of(request)
    item = state.take_script("elevenlabs_stt", "") or {}
    if (fault := await _early_fault(item)) is not None:
        return fault
    await sleep_ms(state.config.stt_ms)
    text = str(item["text"]) if "text" in item else replies.default_transcript(seconds)
    return web.json_response(
        {
            "language_code": fields.get("language_code") or "en",
            "language_probability": 0.98,
            "text": text,
            "words": [],
            "audio_duration_secs": seconds,
        }
    )


# ---------------------------------------------------------------- voices

MAX_VOICE_PAGE = 100
DEFAULT_VOICE_PAGE = 10


async def voices(request: web.Request) -> web.Response:
    """``GET /v2/voices`` (the SDK's ``voices.search``): search and page through the voices."""
    query = query_of(request)
    state_of(request).record(PROVIDER, request.method, request.path, query, None)
    if (denied := _auth_error(request)) is not None:
        return denied
    page_size = _query_int(query, "page_size", DEFAULT_VOICE_PAGE)
    if page_size is None or not 1 <= page_size <= MAX_VOICE_PAGE:
        message = f"page_size must be an integer from 1 to {MAX_VOICE_PAGE}"
        return _validation_error(["query", "page_size"], message, query.get("page_size"))
    offset = _query_int(query, "next_page_token", 0)
    if offset is None or offset < 0:
        token = query.get("next_page_token")
        return _validation_error(["query", "next_page_token"], "Invalid page token", token)
    page = elevenlabs_voice_page(search=query.get("search", ""), page_size=page_size, offset=offset)
    return web.json_response(page)


def _query_int(query: dict[str, str], name: str, default: int) -> int | None:
    try:
        return int(query[name]) if query.get(name) else default
    except ValueError:
        return None
