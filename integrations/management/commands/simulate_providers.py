"""Run the OpenAI and ElevenLabs wire simulators in the foreground for offline development."""

from __future__ import annotations

import argparse
import asyncio
import signal
from typing import Any

from django.core.management.base import BaseCommand

from integrations.simulators.server import AsyncSimulatorHandle, start_simulators_async


class Command(BaseCommand):
    help = "Serve local OpenAI/ElevenLabs simulators and print the environment to use them."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--openai-port", type=int, default=8001)
        parser.add_argument("--elevenlabs-port", type=int, default=8002)
        parser.add_argument("--llm-ttft-ms", type=float, default=250)
        parser.add_argument("--llm-token-ms", type=float, default=15)
        parser.add_argument("--tts-ttfb-ms", type=float, default=150)
        parser.add_argument("--tts-chunk-ms", type=float, default=100)
        parser.add_argument("--stt-ms", type=float, default=150)
        parser.add_argument(
            "--tts-realtime",
            action=argparse.BooleanOptionalAction,
            default=True,
            help="pace TTS audio at playback speed (default: on)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        asyncio.run(self._serve(options))

    async def _serve(self, options: dict[str, Any]) -> None:
        handle = await start_simulators_async(
            options["host"],
            options["openai_port"],
            elevenlabs_port=options["elevenlabs_port"],
            llm_ttft_ms=options["llm_ttft_ms"],
            llm_token_ms=options["llm_token_ms"],
            tts_ttfb_ms=options["tts_ttfb_ms"],
            tts_chunk_ms=options["tts_chunk_ms"],
            tts_realtime=options["tts_realtime"],
            stt_ms=options["stt_ms"],
        )
        self.stdout.write(export_lines(handle))
        self.stdout.write("Serving provider simulators; Ctrl-C to stop.")
        try:
            await _until_signalled()
        finally:
            await handle.stop()
        self.stdout.write("Simulators stopped.")


async def _until_signalled() -> None:
    # SIGTERM too: supervisors and `docker stop` use it, and it should shut down cleanly.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()


def export_lines(handle: AsyncSimulatorHandle) -> str:
    # "sim" keys: the simulators only check that a key is present.
    return "\n".join(
        [
            f"export OPENAI_BASE_URL={handle.openai_base_url}",
            "export OPENAI_API_KEY=sim",
            f"export ELEVENLABS_BASE_URL={handle.elevenlabs_base_url}",
            "export ELEVENLABS_API_KEY=sim",
        ]
    )
