"""Shared, thread-safe simulator state: latency config, script queues and the request log.

Handlers run on the simulator's event loop while tests poke the state from other threads;
every operation is short and synchronous, so one plain lock is enough.
"""

from __future__ import annotations

import dataclasses
import time
from collections import deque
from dataclasses import dataclass
from threading import Lock
from typing import Any

LOG_LIMIT = 1000
# Exact names: a substring rule would also hide harmless fields such as "max_tokens".
SECRET_NAMES = frozenset(
    {"api_key", "apikey", "xi-api-key", "authorization", "token", "access_token", "secret"}
    | {"client_secret", "password"}
)


@dataclass
class SimConfig:
    llm_ttft_ms: float = 250
    llm_token_ms: float = 15
    tts_ttfb_ms: float = 150
    tts_realtime: bool = True
    tts_chunk_ms: float = 100
    stt_ms: float = 150
    # Realtime STT: audio (ms) between two partial transcripts, and the finalization time from
    # a commit (manual, or the simulated VAD's) to its committed transcript.
    stt_realtime_partial_every_ms: float = 200
    stt_realtime_commit_ms: float = 100

    def updated(self, changes: dict[str, Any]) -> SimConfig:
        """A copy with ``changes`` applied; unknown names or bad values raise ValueError."""
        known = {f.name: f for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - set(known))
        if unknown:
            raise ValueError(f"unknown config option(s): {', '.join(unknown)}")
        values = {}
        for name, value in changes.items():
            values[name] = _coerce(name, value, bool_field=known[name].type in (bool, "bool"))
        return dataclasses.replace(self, **values)


def _coerce(name: str, value: Any, *, bool_field: bool) -> Any:
    if bool_field:
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{name} must be a number >= 0")
    return float(value)


class ScriptQueue:
    """FIFO of scripted responses; the first item whose ``match`` fits is used."""

    def __init__(self) -> None:
        self._items: list[dict[str, Any]] = []

    def push(self, items: list[dict[str, Any]]) -> None:
        self._items.extend(_normalize_item(item) for item in items)

    def take(self, subject: str) -> dict[str, Any] | None:
        lowered = subject.lower()
        for position, item in enumerate(self._items):
            match = item.get("match")
            if match and match.lower() not in lowered:
                continue
            if item["times"] > 1:
                item["times"] -= 1  # stays at its place for the next request
                return dict(item)
            return self._items.pop(position)
        return None

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


def _normalize_item(item: str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(item, str):
        item = {"text": item}
    if not isinstance(item, dict):
        raise ValueError("a script item is a string or an object")
    normalized = dict(item)
    if normalized.get("fault") is not None:
        normalized["fault"] = str(normalized["fault"])
    times = normalized.get("times", 1)
    if not isinstance(times, int) or times < 1:
        raise ValueError("times must be an integer >= 1")
    normalized["times"] = times
    return normalized


def scrub(value: Any) -> Any:
    """Drop anything secret-looking from a logged body."""
    if isinstance(value, dict):
        return {
            key: scrub(inner)
            for key, inner in value.items()
            if str(key).lower() not in SECRET_NAMES
        }
    if isinstance(value, list):
        return [scrub(inner) for inner in value]
    return value


QUEUE_NAMES = (
    "openai_chat",
    "openai_stt",
    "elevenlabs_tts",
    "elevenlabs_stt",
    "elevenlabs_realtime_stt",
)


class SimState:
    def __init__(self, config: SimConfig | None = None) -> None:
        self._lock = Lock()
        self._defaults = config or SimConfig()
        self._config = self._defaults
        self._queues = {name: ScriptQueue() for name in QUEUE_NAMES}
        self._log: deque[dict[str, Any]] = deque(maxlen=LOG_LIMIT)

    @property
    def config(self) -> SimConfig:
        return self._config  # replaced wholesale, never mutated, so no lock needed to read

    def configure(self, changes: dict[str, Any]) -> SimConfig:
        with self._lock:
            self._config = self._config.updated(changes)
            return self._config

    def script(self, queue: str, items: list[Any]) -> int:
        with self._lock:
            self._queues[queue].push(items)
            return len(self._queues[queue])

    def take_script(self, queue: str, subject: str) -> dict[str, Any] | None:
        with self._lock:
            return self._queues[queue].take(subject)

    def record(
        self, provider: str, method: str, path: str, query: dict[str, str], body: Any
    ) -> None:
        entry = {
            "provider": provider,
            "method": method,
            "path": path,
            "query": scrub(query),
            "body": scrub(body),
            "time": time.time(),
        }
        with self._lock:
            self._log.append(entry)

    def requests(
        self, path: str | None = None, provider: str | None = None
    ) -> list[dict[str, Any]]:
        with self._lock:
            entries = list(self._log)
        return [
            entry
            for entry in entries
            if (path is None or path in entry["path"])
            and (provider is None or entry["provider"] == provider)
        ]

    def reset(self) -> None:
        with self._lock:
            self._config = self._defaults
            for queue in self._queues.values():
                queue.clear()
            self._log.clear()
