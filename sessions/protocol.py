"""The live-session protocol in one place: every message either way is a typed class here.

Client -> server text frames are parsed into ``ClientMessage`` classes (``parse_text_frame``);
server -> client events are ``ServerEvent`` classes, turned into JSON by ``encode`` only. A
transport (the WebSocket consumer, the REST text turn, the Discord bridge) is a ``Sink``: it
receives events and audio and delivers them. ``sessions/protocol_schema.py`` derives the
machine-readable description (docs/protocol.schema.json) from these classes, and a test holds
docs/PROTOCOL.md to them.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Literal, NotRequired, Protocol, TypedDict

MAX_TEXT_CHARS = 8_000
MAX_FRAME_BYTES = 64 * 1024
MAX_JSON_BYTES = 64 * 1024
MAX_PLAYED_MS = 24 * 3600 * 1000  # no reply plays for a day: anything above is not a real mark
MAX_INT_DIGITS = 20

ErrorCode = Literal[
    "invalid_json",
    "invalid_message",
    "unknown_type",
    "invalid_field",
    "text_too_long",
    "message_too_large",
    "audio_frame_too_large",
    "invalid_audio",
    "no_transcriber",
    "rate_limited",
    "interruptions_disabled",
    "session_ended",
    "provider_unavailable",
    "tts_unavailable",
    "stt_unavailable",
    "tool_failed",
    "internal_error",
    "server_restarting",
    "session_taken_over",
    "service_unavailable",
    "storage_unavailable",
]


# ---- client -> server ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClientMessage:
    type: ClassVar[str]


@dataclass(frozen=True, slots=True)
class UserMessage(ClientMessage):
    """A typed turn; interrupts a reply in progress when interruptions are enabled."""

    type: ClassVar[str] = "user-message"
    content: str = field(metadata={"minLength": 1, "maxLength": MAX_TEXT_CHARS, "pattern": r"\S"})


@dataclass(frozen=True, slots=True)
class AudioCommit(ClientMessage):
    """End the current utterance now (push-to-talk)."""

    type: ClassVar[str] = "audio-commit"


@dataclass(frozen=True, slots=True)
class Interrupt(ClientMessage):
    """Stop the assistant now (barge-in)."""

    type: ClassVar[str] = "interrupt"


@dataclass(frozen=True, slots=True)
class Mark(ClientMessage):
    """How much of a reply's audio has been played."""

    type: ClassVar[str] = "mark"
    message_id: str = field(metadata={"format": "uuid"})
    played_ms: float = field(metadata={"minimum": 0, "maximum": MAX_PLAYED_MS})


@dataclass(frozen=True, slots=True)
class EndSession(ClientMessage):
    """End the session for good."""

    type: ClassVar[str] = "end-session"


@dataclass(frozen=True, slots=True)
class Ping(ClientMessage):
    """The server answers ``pong``."""

    type: ClassVar[str] = "ping"


CLIENT_MESSAGES: tuple[type[ClientMessage], ...] = (
    UserMessage,
    AudioCommit,
    Interrupt,
    Mark,
    EndSession,
    Ping,
)


# ---- server -> client ------------------------------------------------------------------------


class AssistantRef(TypedDict):
    id: str
    name: str


class AudioFormatInfo(TypedDict):
    encoding: str
    sample_rate: int
    channels: int


class AudioInfo(TypedDict):
    input: AudioFormatInfo | None
    output: AudioFormatInfo | None


class Latency(TypedDict):
    stt_ms: float | None
    llm_ttft_ms: float | None
    tts_ttfb_ms: float | None
    first_audio_ms: float | None
    error: NotRequired[str]  # only on a reply that failed: the provider's error code


class Usage(TypedDict):
    prompt_tokens: int
    completion_tokens: int
    tts_characters: int
    stt_audio_seconds: float


OMIT_NONE = {"omit_none": True}  # field metadata: left out of the JSON when it is None


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerEvent:
    type: ClassVar[str]

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": self.type}
        for name, omit_none in _layout(type(self)):
            value = getattr(self, name)
            if value is not None or not omit_none:
                data[name] = value
        return data


_LAYOUTS: dict[type, tuple[tuple[str, bool], ...]] = {}


def _layout(cls: type) -> tuple[tuple[str, bool], ...]:
    layout = _LAYOUTS.get(cls)
    if layout is None:
        layout = _LAYOUTS[cls] = tuple(
            (f.name, bool(f.metadata.get("omit_none"))) for f in fields(cls)
        )
    return layout


@dataclass(frozen=True, slots=True, kw_only=True)
class Connected(ServerEvent):
    """The session is ready: who answers, and the audio formats either way."""

    type: ClassVar[str] = "connected"
    session_id: str
    assistant: AssistantRef
    audio: AudioInfo
    simulated: bool
    notice: str | None = field(default=None, metadata=OMIT_NONE)


@dataclass(frozen=True, slots=True, kw_only=True)
class SpeechStarted(ServerEvent):
    """The user started speaking (voice activity)."""

    type: ClassVar[str] = "speech-started"


@dataclass(frozen=True, slots=True, kw_only=True)
class SpeechStopped(ServerEvent):
    """The user stopped speaking; the utterance goes to transcription."""

    type: ClassVar[str] = "speech-stopped"


@dataclass(frozen=True, slots=True, kw_only=True)
class Transcript(ServerEvent):
    """What the user said, as stored."""

    type: ClassVar[str] = "transcript"
    role: Literal["user"] = "user"
    content: str
    final: bool = True
    message_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AssistantDelta(ServerEvent):
    """A piece of the reply's text, as the model writes it."""

    type: ClassVar[str] = "assistant-delta"
    message_id: str
    content: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AudioStart(ServerEvent):
    """Binary audio frames of this reply follow, in this format."""

    type: ClassVar[str] = "audio-start"
    message_id: str
    encoding: str
    sample_rate: int
    channels: int


@dataclass(frozen=True, slots=True, kw_only=True)
class AudioEnd(ServerEvent):
    """All audio of this reply has been sent."""

    type: ClassVar[str] = "audio-end"
    message_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolCall(ServerEvent):
    """The model calls a tool."""

    type: ClassVar[str] = "tool-call"
    id: str
    name: str
    arguments: dict[str, Any] | str  # the raw text when the model's arguments are not JSON


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolResult(ServerEvent):
    """A tool's outcome: ``result`` when ``ok``, else ``error``."""

    type: ClassVar[str] = "tool-result"
    id: str
    name: str
    ok: bool
    result: Any = field(default=None, metadata=OMIT_NONE)
    error: str | None = field(default=None, metadata=OMIT_NONE)


@dataclass(frozen=True, slots=True, kw_only=True)
class AssistantMessage(ServerEvent):
    """A reply as stored, with its latency and usage."""

    type: ClassVar[str] = "assistant-message"
    message_id: str
    content: str
    interrupted: bool
    latency: Latency
    usage: Usage


@dataclass(frozen=True, slots=True, kw_only=True)
class Clear(ServerEvent):
    """The reply was cut off: drop any of its audio still queued."""

    type: ClassVar[str] = "clear"
    message_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Error(ServerEvent):
    """Something failed; the connection stays open."""

    type: ClassVar[str] = "error"
    code: ErrorCode
    message: str
    retryable: bool | None = field(default=None, metadata=OMIT_NONE)


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionEnded(ServerEvent):
    """The session is over; the server closes the socket next."""

    type: ClassVar[str] = "session-ended"
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Pong(ServerEvent):
    """The answer to ``ping``."""

    type: ClassVar[str] = "pong"


SERVER_EVENTS: tuple[type[ServerEvent], ...] = (
    Connected,
    SpeechStarted,
    SpeechStopped,
    Transcript,
    AssistantDelta,
    AudioStart,
    AudioEnd,
    ToolCall,
    ToolResult,
    AssistantMessage,
    Clear,
    Error,
    SessionEnded,
    Pong,
)


def encode(event: ServerEvent) -> str:
    """The one serializer of server events."""
    return json.dumps(event.as_dict())


class Sink(Protocol):
    """What carries a live session to its client: a WebSocket, an HTTP response, a bridge."""

    async def send_event(self, event: ServerEvent) -> None: ...

    async def send_audio(self, chunk: bytes) -> None: ...

    async def close(self) -> None: ...


# ---- parsing and validation ------------------------------------------------------------------


class ProtocolError(Exception):
    """A client frame the server refuses; the connection stays open."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message

    def event(self) -> Error:
        return Error(code=self.code, message=self.message)


def storable_text(value: str) -> bool:
    """False for text the database refuses: NUL characters and lone surrogates."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _no_fields(data: dict[str, Any], cls: type[ClientMessage]) -> ClientMessage:
    return cls()


def _user_message(data: dict[str, Any], cls: type[ClientMessage]) -> ClientMessage:
    content = data.get("content")
    if not isinstance(content, str) or not content.strip():
        raise ProtocolError("invalid_field", "user-message needs a non-empty string 'content'.")
    if not storable_text(content):
        raise ProtocolError("invalid_field", "'content' contains characters that cannot be stored.")
    if len(content) > MAX_TEXT_CHARS:
        raise ProtocolError(
            "text_too_long",
            f"'content' is {len(content)} characters; the limit is {MAX_TEXT_CHARS}.",
        )
    return UserMessage(content=content.strip())


def _mark(data: dict[str, Any], cls: type[ClientMessage]) -> ClientMessage:
    message_id, played_ms = data.get("message_id"), data.get("played_ms")
    try:
        message_id = str(uuid.UUID(str(message_id)))
    except ValueError:
        raise ProtocolError("invalid_field", "mark needs a 'message_id' UUID.") from None
    if (
        isinstance(played_ms, bool)
        or not isinstance(played_ms, int | float)
        or not 0 <= played_ms <= MAX_PLAYED_MS
    ):
        raise ProtocolError(
            "invalid_field", f"mark needs 'played_ms', a number from 0 to {MAX_PLAYED_MS}."
        )
    return Mark(message_id=message_id, played_ms=float(played_ms))


_Parser = Callable[[dict[str, Any], type[ClientMessage]], ClientMessage]
_PARSERS: dict[str, tuple[type[ClientMessage], _Parser]] = {
    UserMessage.type: (UserMessage, _user_message),
    Mark.type: (Mark, _mark),
    **{cls.type: (cls, _no_fields) for cls in (AudioCommit, Interrupt, EndSession, Ping)},
}


_FIELD_NAMES = {cls: {"type", *(f.name for f in fields(cls))} for cls in CLIENT_MESSAGES}


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:20]} is out of range")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"an integer of more than {MAX_INT_DIGITS} digits")
    return int(text)


def _load_json(text: str) -> Any:
    """Strict JSON: no NaN/Infinity, finite numbers, bounded integers and nesting."""
    try:
        return json.loads(
            text,
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
            parse_int=_bounded_int,
        )
    except json.JSONDecodeError as exc:
        raise ProtocolError("invalid_json", f"Not valid JSON: {exc.msg}.") from None
    except ValueError as exc:
        raise ProtocolError("invalid_json", f"Not valid JSON: {exc}.") from None
    except RecursionError:
        raise ProtocolError("invalid_json", "Not valid JSON: nested too deeply.") from None


def parse_text_frame(text: str) -> ClientMessage:
    """The typed client message of a text frame, or ProtocolError with a stable code."""
    if len(text) > MAX_JSON_BYTES:
        raise ProtocolError(
            "message_too_large", f"Text frames are limited to {MAX_JSON_BYTES} bytes."
        )
    data = _load_json(text)
    if not isinstance(data, dict):
        raise ProtocolError("invalid_message", "A text frame must be a JSON object.")
    kind = data.get("type")
    parser = _PARSERS.get(kind) if isinstance(kind, str) else None
    if parser is None:
        known = ", ".join(_PARSERS)
        raise ProtocolError(
            "unknown_type", f"Unknown message type {repr(kind)[:40]}; expected one of {known}."
        )
    cls, parse = parser
    unknown = set(data) - _FIELD_NAMES[cls]
    if unknown:  # strict like the REST API: a misspelt field is an error, not silence
        names = ", ".join(repr(name)[:40] for name in sorted(unknown)[:5])
        raise ProtocolError("invalid_field", f"Unknown field(s) for {cls.type}: {names}.")
    return parse(data, cls)


def check_audio_frame(frame: bytes) -> None:
    if len(frame) > MAX_FRAME_BYTES:
        raise ProtocolError(
            "audio_frame_too_large", f"Audio frames are limited to {MAX_FRAME_BYTES} bytes."
        )
    if len(frame) % 2:
        raise ProtocolError("invalid_audio", "Audio must be 16-bit PCM: an even number of bytes.")
