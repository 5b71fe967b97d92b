"""Serve HTTP and WebSockets with daphne (what `make run` calls)."""

from __future__ import annotations

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve the platform (HTTP + WebSocket) with daphne."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, host: str, port: int, **options):
        # daphne's runserver: ASGI, WebSockets, and static files for the admin in DEBUG.
        call_command("runserver", f"{host}:{port}", use_reloader=False)
