"""What a tool is: a JSON-schema described async function the LLM may call."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID


@dataclass(frozen=True)
class ToolContext:
    """Who is calling. A tool only ever acts for this organization and assistant."""

    organization_id: UUID
    assistant_id: UUID
    session_id: UUID
    options: dict[str, Any] = field(default_factory=dict)  # this tool's options on the assistant
    tool_call_id: str = ""  # the model's id of this call (custom tools send it to their server)


@dataclass(frozen=True)
class ToolOutcome:
    ok: bool
    result: Any = None
    error: str | None = None
    ends_session: bool = False  # the runtime ends the session after the reply is spoken


class ToolError(Exception):
    """A tool failed in a way the assistant should tell the user about (message is user-safe)."""


class Tool(Protocol):
    # Read-only, so that frozen dataclasses (every tool here) satisfy the protocol.
    @property
    def name(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def parameters(self) -> dict[str, Any]: ...  # JSON schema of the arguments object
    @property
    def timeout_seconds(self) -> float: ...

    async def run(self, arguments: dict[str, Any], context: ToolContext) -> ToolOutcome: ...
