"""Built-in tools that need no outside system."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from integrations.tools.base import ToolContext, ToolOutcome
from integrations.tools.registry import register


@dataclass(frozen=True)
class CurrentTime:
    name: str = "current_time"
    description: str = "Get the current date and time, optionally in an IANA time zone."
    parameters: dict[str, Any] = field(
        default_factory=lambda: {
            "type": "object",
            "properties": {
                "timezone": {
                    "type": "string",
                    "description": "IANA time zone such as Europe/Paris. Defaults to UTC.",
                }
            },
            "additionalProperties": False,
        }
    )
    timeout_seconds: float = 2.0

    async def run(self, arguments: dict[str, Any], context: ToolContext) -> ToolOutcome:
        zone_name = arguments.get("timezone") or context.options.get("timezone") or "UTC"
        try:
            zone = ZoneInfo(str(zone_name))
        except (ZoneInfoNotFoundError, ValueError):
            return ToolOutcome(ok=False, error=f"Unknown time zone {zone_name!r}.")
        now = datetime.now(UTC).astimezone(zone)
        return ToolOutcome(ok=True, result={"iso": now.isoformat(), "timezone": str(zone)})


@dataclass(frozen=True)
class EndSession:
    name: str = "end_session"
    description: str = (
        "End the conversation. Call it when the user says goodbye or the task is done; "
        "say your closing sentence in the same reply."
    )
    parameters: dict[str, Any] = field(
        default_factory=lambda: {
            "type": "object",
            "properties": {"reason": {"type": "string", "description": "Why it ends."}},
            "additionalProperties": False,
        }
    )
    timeout_seconds: float = 1.0

    async def run(self, arguments: dict[str, Any], context: ToolContext) -> ToolOutcome:
        reason = str(arguments.get("reason") or "assistant-ended")[:200]
        return ToolOutcome(ok=True, result={"ending": True, "reason": reason}, ends_session=True)


register(CurrentTime())
register(EndSession())
