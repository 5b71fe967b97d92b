"""The browser test chat: talk to an assistant by voice or text from its page."""

from __future__ import annotations

urls: list = []
