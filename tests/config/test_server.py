"""config/server.py: the deployed server never loads the simulators; with
``--simulate-missing-providers`` (make run) they stand in for providers without credentials."""

import asyncio
import json
import os
import subprocess
import sys

import httpx
import pytest
import websockets

from config.server import providers_without_credentials
from sessions.tokens import ws_path_for
from tests.factories import AssistantFactory, SessionFactory
from tests.fixtures.servers import ROOT

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "k3y-" + "0123456789abcdefghijklmnopqrstuvwxyz" * 2,
    "ALLOWED_HOSTS": "voice.example.com",
    "FIELD_ENCRYPTION_KEY": "A" * 43 + "=",
    "DJANGO_SETTINGS_MODULE": "config.settings",
}
NO_PROVIDERS = dict.fromkeys(
    ["OPENAI_API_KEY", "OPENAI_BASE_URL", "ELEVENLABS_API_KEY", "ELEVENLABS_BASE_URL"], ""
)
LOADED_SIMULATORS = (
    "import sys; print(sorted(m for m in sys.modules if m.split('.')[0] == 'simulators'))"
)


def python(code: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "TESTING", "SECRET_KEY"}}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_asgi_and_urls_import_no_simulator():
    code = "import config.server, config.asgi, config.urls; " + LOADED_SIMULATORS
    result = python(code, **PRODUCTION)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "[]"


def test_an_unknown_simulated_provider_stops_the_settings():
    result = python("import config.settings", **PRODUCTION, SIMULATED_PROVIDERS="openai,gemini")

    assert result.returncode != 0
    assert "SIMULATED_PROVIDERS may name only openai and elevenlabs" in result.stderr


def test_a_key_or_a_base_url_counts_as_credentials():
    assert providers_without_credentials({"OPENAI_BASE_URL": "http://127.0.0.1:11434/v1"}) == [
        "elevenlabs"
    ]
    assert providers_without_credentials({"ELEVENLABS_API_KEY": "xi", **NO_PROVIDERS}) == [
        "openai",
        "elevenlabs",
    ]
    assert providers_without_credentials({"ELEVENLABS_API_KEY": "xi"}) == ["openai"]


@pytest.fixture
def session(transactional_db, org):
    assistant = AssistantFactory(
        organization=org, first_message="", voice_output_format="pcm_16000"
    )
    return SessionFactory(assistant=assistant)


async def next_event(ws, event_type: str) -> dict:
    async with asyncio.timeout(10):
        while True:
            frame = await ws.recv()
            if isinstance(frame, str) and json.loads(frame)["type"] == event_type:
                return json.loads(frame)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
async def test_make_runs_server_simulates_missing_providers_and_says_so(session, asgi_server):
    server = asgi_server("--simulate-missing-providers", **NO_PROVIDERS)
    async with httpx.AsyncClient() as http:
        health = await http.get(f"{server.http}/health")
    async with websockets.connect(server.ws + ws_path_for(session.id)) as ws:
        connected = await next_event(ws, "connected")
        await ws.send(json.dumps({"type": "user-message", "content": "Hello"}))
        reply = await next_event(ws, "assistant-delta")  # from the simulated OpenAI
        await next_event(ws, "audio-start")
        audio = await ws.recv()  # from the simulated ElevenLabs
    server.process.terminate()
    exit_code = server.process.wait(timeout=20)
    log = server.log.read_text()

    assert health.status_code == 200
    assert connected["simulated"] is True
    assert "Simulated providers (openai, elevenlabs)" in connected["notice"]
    assert reply["content"]
    assert isinstance(audio, bytes) and audio
    assert "SIMULATED PROVIDERS: openai, elevenlabs" in log
    assert exit_code == 0  # SIGTERM: the server shut down, then the simulators stopped
    assert "Traceback" not in log, log
