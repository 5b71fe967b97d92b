"""The system under test: a throwaway database, the provider simulators in their own process
and one server process (config/server.py: uvicorn), started the way a deployment starts them."""

from __future__ import annotations

import base64
import json
import os
import resource
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 60


@dataclass(frozen=True)
class ProviderLatency:
    llm_ttft_ms: float = 300
    llm_token_ms: float = 25
    tts_ttfb_ms: float = 120
    tts_chunk_ms: float = 100
    stt_ms: float = 150  # batch transcription: upload received -> transcript
    # Realtime transcription: a commit -> its committed transcript (the same finalization as
    # batch, so the two modes compare), and the audio between two partial transcripts.
    stt_realtime_commit_ms: float = 150
    stt_realtime_partial_every_ms: float = 200


@dataclass
class Stack:
    workdir: Path
    env: dict[str, str]
    latency: ProviderLatency
    database: str
    channel_layer: str
    openai_base_url: str = ""
    elevenlabs_base_url: str = ""
    http: str = ""
    ws: str = ""
    api_key: str = ""
    assistant_id: str = ""
    metrics_token: str = ""
    server: subprocess.Popen[bytes] | None = None
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    drop_database: str | None = None
    profile: Path | None = None  # run the server under pyinstrument, write its report here

    def server_process(self) -> subprocess.Popen[bytes]:
        """The running server (``build`` starts it before it returns the stack)."""
        if self.server is None:
            raise RuntimeError("the stack's server is not started")
        return self.server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def raise_file_limit() -> None:
    """Hundreds of sessions hold thousands of sockets; children inherit the raised limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def build(latency: ProviderLatency, *, profile: Path | None = None) -> Stack:
    workdir = Path(tempfile.mkdtemp(prefix="vp-bench-"))
    database_url, drop = _bench_database(workdir)
    postgres = database_url.startswith("postgres")
    openai_port, elevenlabs_port = free_port(), free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PROMETHEUS_"))},
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",  # plain HTTP on loopback; TLS ends at the proxy in production
        "FIELD_ENCRYPTION_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "DATABASE_URL": database_url,
        "CACHE_KEY_PREFIX": f"vp-bench-{secrets.token_hex(4)}",
        "OPENAI_API_KEY": f"sk-bench-{secrets.token_hex(8)}",
        "OPENAI_BASE_URL": f"http://127.0.0.1:{openai_port}/v1",
        "ELEVENLABS_API_KEY": f"xi-bench-{secrets.token_hex(8)}",
        "ELEVENLABS_BASE_URL": f"http://127.0.0.1:{elevenlabs_port}",
        # SQLite: one persistent connection for the process's database thread; PostgreSQL
        # pools instead (config/settings.py, docs/PERFORMANCE.md).
        "CONN_MAX_AGE": "0" if postgres else "60",
        "LOG_LEVEL": "WARNING",
        # GET /metrics with this bearer token: the voice phase reads the preemptive-reply and
        # STT-fallback counters before and after each phase.
        "METRICS_TOKEN": secrets.token_urlsafe(24),
        "PYTHONUNBUFFERED": "1",
    }
    stack = Stack(
        workdir=workdir,
        env=env,
        latency=latency,
        database="postgresql" if postgres else "sqlite",
        channel_layer="redis" if env.get("REDIS_URL") else "in-memory",
        openai_base_url=env["OPENAI_BASE_URL"],
        elevenlabs_base_url=env["ELEVENLABS_BASE_URL"],
        drop_database=drop,
        profile=profile,
        metrics_token=env["METRICS_TOKEN"],
    )
    try:
        _migrate_and_seed(stack)
        _start_simulators(stack, openai_port, elevenlabs_port)
        _start_server(stack)
    except BaseException:
        teardown(stack)
        raise
    return stack


def _bench_database(workdir: Path) -> tuple[str, str | None]:
    """A database of its own: SQLite in the work directory, or `<name>_bench` beside the
    PostgreSQL database named by DATABASE_URL (dropped and re-created; dev data is untouched)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return f"sqlite:///{workdir / 'bench.sqlite3'}", None
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/') or 'postgres'}_bench"
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return urlunsplit(parts._replace(path=f"/{name}")), name


def _drop_database(name: str) -> None:
    import psycopg
    from psycopg import sql

    parts = urlsplit(os.environ["DATABASE_URL"])
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(drop)


def _run(stack: Stack, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_S * 3,
        check=False,
    )
    if result.returncode:
        raise RuntimeError(f"{' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def _migrate_and_seed(stack: Stack) -> None:
    _run(stack, "manage.py", "migrate", "--noinput", "-v0")
    seeded = json.loads(_run(stack, "-m", "bench.seed").strip().splitlines()[-1])
    stack.api_key, stack.assistant_id = seeded["api_key"], seeded["assistant_id"]


def _spawn(stack: Stack, name: str, args: list[str]) -> subprocess.Popen[bytes]:
    log = (stack.workdir / f"{name}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, *args], cwd=ROOT, env=stack.env, stdout=log, stderr=subprocess.STDOUT
    )
    stack.processes.append(process)
    return process


def _start_simulators(stack: Stack, openai_port: int, elevenlabs_port: int) -> None:
    latency = stack.latency
    process = _spawn(
        stack,
        "simulators",
        [
            "-m",
            "simulators",
            "--openai-port",
            str(openai_port),
            "--elevenlabs-port",
            str(elevenlabs_port),
            "--llm-ttft-ms",
            str(latency.llm_ttft_ms),
            "--llm-token-ms",
            str(latency.llm_token_ms),
            "--tts-ttfb-ms",
            str(latency.tts_ttfb_ms),
            "--tts-chunk-ms",
            str(latency.tts_chunk_ms),
            "--stt-ms",
            str(latency.stt_ms),
            "--tts-realtime",
        ],
    )
    _wait_listening(stack, process, "simulators", openai_port)
    _wait_listening(stack, process, "simulators", elevenlabs_port)
    _configure_realtime_stt(stack)


def _configure_realtime_stt(stack: Stack) -> None:
    """Realtime STT latencies have no command-line flag: set them over /_sim/config."""
    wanted = {
        "stt_realtime_commit_ms": stack.latency.stt_realtime_commit_ms,
        "stt_realtime_partial_every_ms": stack.latency.stt_realtime_partial_every_ms,
    }
    url = f"{stack.elevenlabs_base_url}/_sim/config"
    config = httpx.post(url, json=wanted, timeout=10).raise_for_status().json()
    if any(config.get(name) != value for name, value in wanted.items()):
        raise RuntimeError(f"the simulators did not take {wanted}: {config}")


def _start_server(stack: Stack) -> None:
    port = free_port()
    # As the Dockerfile starts it (config/server.py: uvicorn on uvloop).
    command = ["-m", "config.server", "--host", "127.0.0.1", "--port", str(port)]
    if stack.profile is not None:  # the report is written when the server exits on SIGTERM
        command = ["-m", "pyinstrument", "-r", "text", "-o", str(stack.profile), *command]
    stack.server = _spawn(stack, "server", command)
    _wait_listening(stack, stack.server, "server", port)
    stack.http, stack.ws = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}"


def restart_server(stack: Stack) -> None:
    """A fresh server process (same database and simulators)."""
    old = stack.server_process()
    old.terminate()
    try:
        old.wait(timeout=15)
    except subprocess.TimeoutExpired:
        old.kill()
        old.wait()
    stack.processes.remove(old)
    _start_server(stack)


def _wait_listening(stack: Stack, process: subprocess.Popen[bytes], name: str, port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited: {server_log(stack, name)[-3000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{name} did not listen on {port} within {START_TIMEOUT_S}s")


def server_log(stack: Stack, name: str = "server") -> str:
    path = stack.workdir / f"{name}.log"
    return path.read_text(errors="replace") if path.exists() else ""


def teardown(stack: Stack, *, keep_workdir: bool = False) -> None:
    for process in stack.processes:
        if process.poll() is None:
            process.terminate()
    for process in stack.processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if stack.drop_database:
        _drop_database(stack.drop_database)
    if not keep_workdir:
        shutil.rmtree(stack.workdir, ignore_errors=True)
