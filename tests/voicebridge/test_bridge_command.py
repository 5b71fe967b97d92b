"""``manage.py run_discord_bridge`` as a real process on this test's database: it serves its
probes with the project's JSON logs, takes the bots' leases, and stops cleanly on SIGTERM.
(discord.com is unreachable here: the bot cannot connect, which /ready must say.)"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
import yaml

from tests.fixtures.servers import ROOT, free_port, server_env
from voicebridge.models import DiscordBotLease

pytestmark = pytest.mark.django_db(transaction=True)


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (a local URL)
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def wait_for(check, seconds: float = 30, log=None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            result = check()
        except OSError:
            result = None
        if result:
            return result
        time.sleep(0.1)
    said = log.read_text(errors="replace")[-3000:] if log is not None else ""
    raise AssertionError(f"not reached in time; the process said:\n{said}")


@pytest.fixture
def bridge_process(transactional_db, tmp_path):
    port = free_port()
    log = tmp_path / "bridge.log"
    command = [sys.executable, "manage.py", "run_discord_bridge", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--poll", "0.2", "--lease-ttl", "1"]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        # database leases even where the suite has Redis: the test reads them from the database
        env=server_env({"LOG_FORMAT": "json", "LOG_LEVEL": "INFO", "REDIS_URL": ""}),
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    yield process, f"http://127.0.0.1:{port}", log
    if process.poll() is None:
        process.kill()
        process.wait()


def test_the_process_serves_probes_holds_the_lease_and_stops_on_sigterm(bot, bridge_process):
    process, url, log = bridge_process
    assert wait_for(lambda: get(url + "/health")) == (200, {"status": "ok"})
    lease = wait_for(lambda: DiscordBotLease.objects.unscoped().filter(bot=bot).first(), log=log)

    status, ready = get(url + "/ready")
    assert status == 503  # the bot is leased here but its gateway is not connected
    assert ready["owner"] == lease.owner
    assert ready["bots"][str(bot.id)]["connected"] is False

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0
    assert not DiscordBotLease.objects.unscoped().exists()  # given back on the way out
    records = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    messages = [r["message"] for r in records if r.get("logger") == "voicebridge.runner"]
    assert f"Discord bridge {lease.owner} started" in messages
    assert f"Discord bridge {lease.owner} stopped" in messages
    assert all(bot.token not in line for line in log.read_text().splitlines())


def test_the_lease_ttl_must_cover_three_polls():
    result = subprocess.run(
        [sys.executable, "manage.py", "run_discord_bridge", "--poll", "10", "--lease-ttl", "5"],
        cwd=ROOT,
        env=server_env({}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "--lease-ttl must be at least three times --poll" in result.stderr


def test_the_compose_service_healthcheck_passes_against_the_process(bridge_process):
    service = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    bridge = service["discord-bridge"]
    port = bridge["command"][bridge["command"].index("--port") + 1]
    assert bridge["expose"] == [port]
    process, url, _ = bridge_process
    wait_for(lambda: get(url + "/health"))
    _, *check = bridge["healthcheck"]["test"]  # CMD python -c "...8090..."
    assert f":{port}/health" in check[-1]
    check[-1] = check[-1].replace(f":{port}/", f":{url.rsplit(':', 1)[1]}/")
    check[0] = sys.executable
    assert subprocess.run(check, timeout=30).returncode == 0
    process.kill()
    process.wait()
    assert subprocess.run(check, timeout=30, capture_output=True).returncode != 0
