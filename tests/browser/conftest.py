"""Real-browser tests: Debian's Chromium, driven by Playwright, against a real server process.

The microphone is real too: Chromium's fake capture device plays a WAV of speech made with
espeak-ng at test time, so the page's getUserMedia -> AudioWorklet -> WebSocket path runs end
to end against the provider simulators.

Playwright's sync API keeps an asyncio loop marked as running on the main thread for as long as
it is started. pytest-playwright starts it once per test session, which would break every
async test that runs after these ones, so here it lives for this directory's module only
(``playwright`` and ``browser`` are overridden with module scope), and Django's ORM is told that
the test's own fixtures may run beside it (``DJANGO_ALLOW_ASYNC_UNSAFE``, for these tests only).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Generator, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from assistants.models import Membership
from simulators.server import SimulatorHandle
from tests.conftest import need_tool
from tests.factories import AssistantFactory, MembershipFactory
from tests.fixtures.servers import Server, server_env, start_server

CHROMIUM = Path("/usr/bin/chromium")
SPOKEN = "Hello there, what time is it?"  # about 1.9 s of speech
# What the microphone hears from the moment it starts (Chromium loops the file; each capture
# starts at its beginning): the question at 0.5 s, then again at ~8.8 s (a barge-in if a
# reply is still playing), then silence.
LEAD_IN_S, GAP_S, TAIL_S = 0.5, 6, 30


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real speech, 48 kHz mono 16-bit: the question twice, then silence."""
    need_tool(bool(shutil.which("espeak-ng")), "espeak-ng is not installed (apt install espeak-ng)")
    need_tool(bool(shutil.which("sox")), "sox is not installed (apt install sox)")
    folder = tmp_path_factory.mktemp("speech")
    raw, said, first = folder / "raw.wav", folder / "said.wav", folder / "first.wav"
    wav = folder / "speech.wav"
    subprocess.run(["espeak-ng", "-s", "150", "-w", str(raw), SPOKEN], check=True)
    for command in (
        [raw, "-r", "48000", "-c", "1", "-b", "16", said, "norm", "-3"],
        [said, first, "pad", str(LEAD_IN_S), str(GAP_S)],
        [first, said, wav, "pad", "0", str(TAIL_S)],
    ):
        subprocess.run(["sox", "-q", *map(str, command)], check=True)
    return wav


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    need_tool(CHROMIUM.exists(), f"{CHROMIUM} is absent (apt install chromium)")
    with sync_playwright() as instance:
        yield instance


BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--use-fake-device-for-media-stream",
]


@pytest.fixture(scope="module")
def browser(playwright: Playwright, speech_wav: Path) -> Iterator[Browser]:
    """Chromium whose microphone "hears" the WAV, with the permission prompt answered yes."""
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=[
            *BROWSER_ARGS,
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-audio-capture={speech_wav}",
        ],
    )
    yield browser
    browser.close()


@pytest.fixture
def browser_without_consent(playwright: Playwright) -> Iterator[Browser]:
    """Chromium whose microphone permission prompt nobody answers: headless, that is a denial.
    (With the fake-UI flag every request is granted, whatever the site's permission says.)"""
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=BROWSER_ARGS
    )
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def browser_context_args() -> dict:
    return {"viewport": {"width": 1100, "height": 900}}


@pytest.fixture(scope="module", autouse=True)
def _orm_beside_playwright() -> Iterator[None]:
    """Module scope: the test database is flushed after a test's function fixtures are gone."""
    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if before is None:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = before


@pytest.fixture(scope="module")
def chat_server(
    django_db_setup, django_db_blocker, provider_simulators: SimulatorHandle, tmp_path_factory
) -> Iterator[Server]:
    """One server process for the module, on the test database, with simulated providers."""
    with django_db_blocker.unblock():
        env = server_env(
            {
                "DEBUG": "1",  # WhiteNoise serves the apps' static files without collectstatic
                "OPENAI_API_KEY": "sk-sim-openai-secret",
                "OPENAI_BASE_URL": provider_simulators.openai_base_url,
                "ELEVENLABS_API_KEY": "xi-sim-elevenlabs-secret",
                "ELEVENLABS_BASE_URL": provider_simulators.elevenlabs_base_url,
                "SIMULATED_PROVIDERS": "openai,elevenlabs",
            }
        )
    server = start_server(env, tmp_path_factory.mktemp("server") / "server.log")
    yield server
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest.fixture(autouse=True)
def _sessions_over_before_flush(request: pytest.FixtureRequest) -> Iterator[None]:
    """The module's server outlives each test, and a page left open keeps its live session
    talking to the database: the flush that ends the test would race its writes (a deadlock
    on PostgreSQL). Set up after the page and the database, so torn down before both: close
    the page, then wait until the server has stored what was said and let go."""
    if "chat_server" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("transactional_db")
    page = request.getfixturevalue("page") if "page" in request.fixturenames else None
    server: Server = request.getfixturevalue("chat_server")
    yield
    if page is not None:
        page.close()
    deadline = time.monotonic() + 15
    while live_sessions(server) > 0:
        assert time.monotonic() < deadline, "the server still holds a live session"
        time.sleep(0.05)


def live_sessions(server: Server) -> float:
    metrics = httpx.get(f"{server.http}/metrics", timeout=5).text
    found = re.search(r"^vp_live_sessions (\S+)$", metrics, re.MULTILINE)
    assert found is not None, "the server's /metrics has no vp_live_sessions"
    return float(found.group(1))


@pytest.fixture
def member(transactional_db, org) -> Membership:
    return MembershipFactory(organization=org, role=Membership.Role.MEMBER)


@pytest.fixture
def outsider(transactional_db, other_org) -> Membership:
    return MembershipFactory(organization=other_org, role=Membership.Role.OWNER)


@pytest.fixture
def voice_assistant(transactional_db, org):
    return AssistantFactory(
        organization=org,
        name="Browser Test Assistant",
        first_message="",
        voice_output_format="pcm_24000",
        tools=[{"name": "current_time"}],
    )


@pytest.fixture(autouse=True)
def _browser_console(request: pytest.FixtureRequest) -> list[str]:
    """What the page logged (errors included), shown with a failing test's report."""
    lines: list[str] = []
    if "page" in request.fixturenames:
        page = request.getfixturevalue("page")
        page.on("console", lambda message: lines.append(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: lines.append(f"pageerror: {error}"))
    return lines


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    fixtures = getattr(item, "funcargs", {})
    if report.failed and "chat_server" in fixtures:
        log = fixtures["chat_server"].log.read_text(errors="replace")
        report.sections.append(("server log (last lines)", "\n".join(log.splitlines()[-40:])))
    if report.failed and fixtures.get("_browser_console"):
        report.sections.append(("browser console", "\n".join(fixtures["_browser_console"])))
    return report
