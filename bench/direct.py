"""Straight to the simulators with the providers' SDKs, no platform in between.

- ``non_streaming_turn``: wait for the whole LLM reply, then synthesize all of it, as a simple
  orchestrator does: the baseline our streaming first audio is compared with.
- ``streaming_turn``: the least any streaming orchestrator on these SDKs can do: cut the first
  clause as soon as it is complete and synthesize it. What the platform adds is measured on top.
- ``sdk_cpu_per_turn``: the CPU the providers' SDKs alone spend on one turn (stream the reply,
  synthesize its pieces): the share of the server's CPU per turn that is not the platform's.
- ``token_lateness``: how late the simulator's tokens arrive against the nominal schedule
  (time to first token + n x per-token delay). Its pacing drifts (each sleep overshoots a
  little), so the platform's assistant-delta delay is reported net of this control stream.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncGenerator

import httpx
from elevenlabs.client import AsyncElevenLabs
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionMessageParam

from bench.stack import Stack
from bench.stats import FIRST_PIECE

MODEL = "gpt-4o-mini"
VOICE_ID = "21m00Tcm4TlvDq8ikWAM"
VOICE_MODEL = "eleven_flash_v2_5"
SYSTEM = "You are a helpful voice assistant. Answer in a few short sentences."


class DirectClients:
    def __init__(self, stack: Stack) -> None:
        env = stack.env
        self.latency = stack.latency
        self.llm = AsyncOpenAI(
            api_key=env["OPENAI_API_KEY"], base_url=stack.openai_base_url, max_retries=0
        )
        self._http = httpx.AsyncClient(timeout=30)
        self.tts = AsyncElevenLabs(
            api_key=env["ELEVENLABS_API_KEY"],
            base_url=stack.elevenlabs_base_url,
            httpx_client=self._http,
        )

    async def aclose(self) -> None:
        await self.llm.close()
        await self._http.aclose()

    async def non_streaming_turn(self, question: str) -> float:
        started = time.perf_counter()
        completion = await self.llm.chat.completions.create(
            model=MODEL, messages=_messages(question)
        )
        text = completion.choices[0].message.content or ""
        audio = self.tts.text_to_speech.convert(
            VOICE_ID, text=text, model_id=VOICE_MODEL, output_format="pcm_16000"
        )
        return await _first_byte_ms(audio, started)

    async def streaming_turn(self, question: str) -> float:
        started = time.perf_counter()
        stream = await self.llm.chat.completions.create(
            model=MODEL, messages=_messages(question), stream=True
        )
        text, match = "", None
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                text += chunk.choices[0].delta.content
                if match := FIRST_PIECE.match(text):
                    break
        await stream.close()
        if match is None:
            raise RuntimeError(f"the LLM simulator's reply has no speakable piece: {text!r}")
        audio = self.tts.text_to_speech.stream(
            VOICE_ID, text=match.group(1), model_id=VOICE_MODEL, output_format="pcm_16000"
        )
        return await _first_byte_ms(audio, started)

    async def token_lateness(self, question: str) -> list[float]:
        latency = self.latency
        started = time.perf_counter()
        stream = await self.llm.chat.completions.create(
            model=MODEL, messages=_messages(question), stream=True
        )
        late: list[float] = []
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                nominal = latency.llm_ttft_ms + len(late) * latency.llm_token_ms
                late.append((time.perf_counter() - started) * 1000 - nominal)
        return late


SENTENCE = re.compile(r"(?<=[.!?])\s+")


async def sdk_cpu_per_turn(clients: DirectClients, question: str) -> dict[str, float]:
    """CPU seconds of this thread while the SDKs stream one reply and speak it piece by piece
    (first clause, then sentences, three at a time, as the platform does)."""
    started = time.thread_time()
    stream = await clients.llm.chat.completions.create(
        model=MODEL,
        messages=_messages(question),
        stream=True,
        stream_options={"include_usage": True},
    )
    text = ""
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            text += chunk.choices[0].delta.content
    llm = time.thread_time() - started
    first = FIRST_PIECE.match(text)
    if first is None:
        raise RuntimeError(f"the LLM simulator's reply has no speakable piece: {text!r}")
    pieces = [first.group(1), *SENTENCE.split(text[first.end() :].strip())]
    slots = asyncio.Semaphore(3)

    async def speak(piece: str) -> None:
        async with slots:
            async for _ in clients.tts.text_to_speech.stream(
                VOICE_ID, text=piece, model_id=VOICE_MODEL, output_format="pcm_16000"
            ):
                pass

    started = time.thread_time()
    await asyncio.gather(*(speak(piece) for piece in pieces if piece))
    return {"llm_ms": llm * 1000, "tts_ms": (time.thread_time() - started) * 1000}


def _messages(question: str) -> list[ChatCompletionMessageParam]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}]


async def _first_byte_ms(audio: AsyncGenerator[bytes, None], started: float) -> float:
    first = None
    async for chunk in audio:
        if chunk:
            first = time.perf_counter()
            break
    await audio.aclose()
    if first is None:
        raise RuntimeError("the TTS simulator returned no audio")
    return (first - started) * 1000
