"""Serve HTTP and WebSockets with the production server, uvicorn (what `make run` calls).

With no OpenAI or ElevenLabs credentials configured, the provider simulators start in this
process and stand in for the missing providers; the console and every client are told so.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from config.server import serve
from integrations.providers import default_credentials

BANNER = """
==============================================================================
  SIMULATED PROVIDERS: {names}
  No credentials are configured for them, so replies and voices come from the
  local simulators, not from real models. Set OPENAI_API_KEY / ELEVENLABS_API_KEY
  (or *_BASE_URL for compatible servers) to use real providers.
==============================================================================
"""


class Command(BaseCommand):
    help = "Serve the platform (HTTP + WebSocket) as config.server does in production."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--no-simulators", action="store_true", help="never stand in for missing providers"
        )

    def handle(self, *args, host: str, port: int, no_simulators: bool, **options):
        missing = [p for p in ("openai", "elevenlabs") if default_credentials(p) is None]
        if missing and not no_simulators:
            self._simulate(missing)
        self.stdout.write(f"Serving at http://{host}:{port}/ (Ctrl-C to stop)")
        serve(host, port)

    def _simulate(self, providers: list[str]) -> None:
        from simulators.server import start_simulators

        self.simulators = start_simulators()  # lives as long as this process
        urls = {
            "openai": self.simulators.openai_base_url,
            "elevenlabs": self.simulators.elevenlabs_base_url,
        }
        for provider in providers:
            prefix = provider.upper()
            setattr(settings, f"{prefix}_API_KEY", "simulated")
            setattr(settings, f"{prefix}_BASE_URL", urls[provider])
        settings.SIMULATED_PROVIDERS = providers
        self.stderr.write(self.style.WARNING(BANNER.format(names=", ".join(providers))))
