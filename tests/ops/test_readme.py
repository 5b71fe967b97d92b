"""What README.md promises about every turn is what a turn records."""

from __future__ import annotations

from pathlib import Path

from sessions.models import Message, empty_usage

ROOT = Path(__file__).resolve().parents[2]


def introduction() -> str:
    text = (ROOT / "README.md").read_text()
    return text.split("\n\n")[1].replace("\n", " ")


def recorded_per_turn() -> set[str]:
    """Names of what an assistant message stores: its fields and its usage's units."""
    return {field.name for field in Message._meta.get_fields()} | set(empty_usage())


def test_the_readme_claims_only_what_a_turn_records():
    intro, recorded = introduction(), recorded_per_turn()
    assert "recorded for every turn" in intro
    assert "latency" in intro and "latency" in recorded
    assert "usage" in intro and "usage" in recorded
    # Money: promised only once a turn stores it (the usage issue adds it).
    assert "cost" not in intro or any("cost" in name for name in recorded)
