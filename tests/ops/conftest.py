"""The live-session fixtures (simulated providers, an assistant with tools, a session)."""

from tests.sessions.conftest import assistant, providers, session

__all__ = ["assistant", "providers", "session"]
