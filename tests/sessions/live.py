"""A test client for the live-session WebSocket, over Channels' in-process communicator."""

from __future__ import annotations

import asyncio
import json
import math
import struct

from channels.testing import WebsocketCommunicator

from config.asgi import application
from sessions.tokens import ws_path_for


class LiveClient:
    def __init__(self, path: str, headers: list | None = None) -> None:
        self.comm = WebsocketCommunicator(application, path, headers=headers or [])
        self.events: list[dict] = []
        self.frames: list[tuple[str, object]] = []  # ("event", dict) | ("audio", bytes)

    @classmethod
    def for_session(cls, session_id, **kwargs) -> LiveClient:
        return cls(ws_path_for(session_id), **kwargs)

    async def connect(self) -> dict:
        connected, _ = await self.comm.connect(timeout=5)  # a loaded machine may take over 1 s
        assert connected
        return await self.expect("connected")

    async def close_code(self, timeout: float = 5) -> int:
        connected, _ = await self.comm.connect(timeout=5)  # a loaded machine may take over 1 s
        assert connected  # refusals accept first, so the close code reaches the client
        message = await self.comm.receive_output(timeout)
        assert message["type"] == "websocket.close", message
        return message["code"]

    async def send(self, **event) -> None:
        await self.comm.send_to(text_data=json.dumps(event))

    async def send_raw(self, text: str) -> None:
        await self.comm.send_to(text_data=text)

    async def send_audio(self, data: bytes) -> None:
        await self.comm.send_to(bytes_data=data)

    async def next(self, timeout: float = 5) -> tuple[str, object]:
        message = await self.comm.receive_output(timeout)
        if message["type"] == "websocket.close":
            frame = ("close", message.get("code"))
        elif message.get("bytes") is not None:
            frame = ("audio", message["bytes"])
        else:
            event = json.loads(message["text"])
            self.events.append(event)
            frame = ("event", event)
        self.frames.append(frame)
        return frame

    async def expect(self, event_type: str, timeout: float = 5) -> dict:
        """Read until an event of this type arrives; everything read is kept in frames."""
        async with asyncio.timeout(timeout):
            while True:
                kind, value = await self.next(timeout)
                if kind == "event" and value["type"] == event_type:
                    return value
                if kind == "close":
                    raise AssertionError(f"closed ({value}) while waiting for {event_type}")

    async def expect_reply(self, timeout: float = 5) -> dict:
        """The next new reply: an ``assistant-message`` for a message not announced before.
        (A reply cut after it was complete is announced again, as heard, when the user speaks
        over its audio: that is not the answer to what they said.)"""
        announced = {
            value["message_id"]
            for kind, value in self.frames
            if kind == "event" and value["type"] == "assistant-message"
        }
        while True:
            event = await self.expect("assistant-message", timeout)
            if event["message_id"] not in announced:
                return event

    async def no_more_output(self, seconds: float = 0.3) -> bool:
        return await self.comm.receive_nothing(seconds)

    async def disconnect(self) -> None:
        await self.comm.disconnect()

    def of_type(self, event_type: str) -> list[dict]:
        return [e for e in self.events if e["type"] == event_type]

    def audio_bytes(self) -> int:
        return sum(len(v) for k, v in self.frames if k == "audio")


def voiced_pcm(seconds: float, f0: float = 140.0) -> bytes:
    """A vowel-like harmonic signal at 16 kHz that WebRTC's VAD takes for speech."""
    samples = []
    for n in range(int(16_000 * seconds)):
        t = n / 16_000
        wave = sum(math.sin(2 * math.pi * f0 * k * t) / k for k in range(1, 15))
        wave *= 0.6 + 0.4 * math.sin(2 * math.pi * 4 * t)
        samples.append(int(max(-1.0, min(1.0, wave * 0.3)) * 32767))
    return struct.pack(f"<{len(samples)}h", *samples)


def silence_pcm(seconds: float) -> bytes:
    return b"\x00\x00" * int(16_000 * seconds)
