"""The live-session fixtures (an assistant with tools, a session); ``providers`` (the simulated
providers) comes from tests/fixtures/simulators.py for every test."""

from tests.sessions.conftest import assistant, session

__all__ = ["assistant", "session"]
