"""The README's first step, `cp .env.example .env`, gives settings that load; and a bad value in
an env file stops start-up with a message that names its variable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FILLED = {
    "SECRET_KEY": "k3y-" + "0123456789abcdefghijklmnopqrstuvwxyz" * 2,
    "ALLOWED_HOSTS": "voice.example.com",
    "FIELD_ENCRYPTION_KEY": "A" * 43 + "=",
}
# Printed by the child: settings an operator relies on, as loaded.
REPORT = """
import json
from django.conf import settings
db = settings.DATABASES["default"]
print(json.dumps({
    "DEBUG": settings.DEBUG, "ALLOWED_HOSTS": settings.ALLOWED_HOSTS,
    "ENGINE": db["ENGINE"], "CONN_MAX_AGE": db["CONN_MAX_AGE"],
    "WS_TOKEN_TTL_SECONDS": settings.WS_TOKEN_TTL_SECONDS,
    "PROVIDER_TIMEOUT_SECONDS": settings.PROVIDER_TIMEOUT_SECONDS,
    "SECURE_HSTS_SECONDS": settings.SECURE_HSTS_SECONDS, "LOG_FORMAT": settings.LOG_FORMAT,
    "OPENAI_BASE_URL": settings.OPENAI_BASE_URL, "CACHE": settings.CACHES["default"]["BACKEND"],
}))
"""


def env_file_from_example(tmp_path: Path, **values: str) -> Path:
    """.env.example with ``values`` filled in, as an operator edits it."""
    lines = []
    for line in (ROOT / ".env.example").read_text().splitlines():
        name = line.split("=", 1)[0]
        lines.append(f"{name}={values.pop(name)}" if name in values and "=" in line else line)
    lines += [f"{name}={value}" for name, value in values.items()]
    path = tmp_path / "env"
    path.write_text("\n".join(lines) + "\n")
    return path


def load_settings(env_file: Path) -> subprocess.CompletedProcess:
    """Settings in a fresh process whose only configuration is ``env_file``."""
    environ = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    environ |= {"ENV_FILE": str(env_file), "DJANGO_SETTINGS_MODULE": "config.settings"}
    return subprocess.run(
        [sys.executable, "-c", REPORT],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_example_filled_in_loads_with_its_documented_defaults(tmp_path):
    result = load_settings(env_file_from_example(tmp_path, **FILLED))
    assert result.returncode == 0, result.stderr[-2000:]
    loaded = json.loads(result.stdout)
    assert loaded == {
        "DEBUG": False,
        "ALLOWED_HOSTS": ["voice.example.com"],
        "ENGINE": "django.db.backends.sqlite3",
        "CONN_MAX_AGE": 0,
        "WS_TOKEN_TTL_SECONDS": 300,
        "PROVIDER_TIMEOUT_SECONDS": 30.0,
        "SECURE_HSTS_SECONDS": 2592000,
        "LOG_FORMAT": "text",
        "OPENAI_BASE_URL": "",
        "CACHE": "django.core.cache.backends.locmem.LocMemCache",
    }


def test_the_example_as_it_is_asks_for_what_production_needs(tmp_path):
    result = load_settings(ROOT / ".env.example")
    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY must be set" in result.stderr


def test_the_example_with_debug_on_loads_without_secrets(tmp_path):
    result = load_settings(env_file_from_example(tmp_path, DEBUG="1"))
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout)["DEBUG"] is True


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CONN_MAX_AGE", "0  # seconds"),
        ("DB_POOL_MAX_SIZE", "ten"),  # read with PostgreSQL only: see below
        ("WS_MESSAGES_PER_SECOND", "5.5"),
        ("PROVIDER_TIMEOUT_SECONDS", "30s"),
        ("SECURE_HSTS_SECONDS", "a month"),
        ("DEBUG", "perhaps"),
        ("SECURE_SSL_REDIRECT", "yes please"),
        ("DATABASE_URL", "postgres//db/voice"),
        ("DATABASE_URL", "postgres://voice:pw@db:notaport/voice"),
    ],
)
def test_a_bad_value_is_reported_by_its_name(tmp_path, name, value):
    postgres = {"DATABASE_URL": "postgres://voice@127.0.0.1:5432/voice"}
    values = {**FILLED, **(postgres if name == "DB_POOL_MAX_SIZE" else {}), name: value}
    result = load_settings(env_file_from_example(tmp_path, **values))
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith(f"django.core.exceptions.ImproperlyConfigured: {name} "), (
        result.stderr[-1500:]
    )
    if name == "DATABASE_URL":
        assert "pw" not in last_line  # a URL may hold a password: never echoed
