"""``python -m simulators`` (``make simulate``): the OpenAI and ElevenLabs wire simulators in
the foreground, for offline development. Prints the ``export`` lines that point the platform
at them; Ctrl-C or SIGTERM stops them.

Django plays no part: the simulators are plain aiohttp servers.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from simulators.server import AsyncSimulatorHandle, start_simulators_async


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m simulators",
        description="Serve local OpenAI/ElevenLabs simulators; print the environment to use them.",
    )
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
    return parser


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


async def serve(args: argparse.Namespace) -> None:
    handle = await start_simulators_async(
        args.host,
        args.openai_port,
        elevenlabs_port=args.elevenlabs_port,
        llm_ttft_ms=args.llm_ttft_ms,
        llm_token_ms=args.llm_token_ms,
        tts_ttfb_ms=args.tts_ttfb_ms,
        tts_chunk_ms=args.tts_chunk_ms,
        tts_realtime=args.tts_realtime,
        stt_ms=args.stt_ms,
    )
    print(export_lines(handle))
    print("Serving provider simulators; Ctrl-C to stop.", flush=True)
    try:
        await _until_signalled()
    finally:
        await handle.stop()
    print("Simulators stopped.")


async def _until_signalled() -> None:
    # SIGTERM too: supervisors (and make bench) use it, and it should shut down cleanly.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        asyncio.run(serve(args))
    except OSError as exc:  # a port in use: say which, without a traceback
        sys.exit(f"python -m simulators: {exc}")


if __name__ == "__main__":
    main()
