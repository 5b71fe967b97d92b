"""Run the tool calls of a finished generation: each bounded in time, none can crash a turn;
each is announced, stored and reported to the client."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from config import metrics
from integrations.errors import ProviderError
from integrations.llm import ToolCallRequest
from integrations.tools.base import Tool, ToolContext, ToolError, ToolOutcome
from integrations.tools.custom import CustomTool, custom_tools_from
from integrations.tools.registry import get_tool, openai_tool_schema
from sessions.protocol import Error, Sink, ToolCall, ToolResult
from sessions.runtime.store import Conversation, SessionContext, StoreUnavailable

logger = logging.getLogger(__name__)
MAX_RESULT_CHARS = 8_000


@dataclass(frozen=True)
class EnabledTools:
    tools: dict[str, tuple[Tool, dict[str, Any]]]

    @classmethod
    def for_assistant(
        cls, enabled: dict[str, dict[str, Any]], custom: list[CustomTool] | None = None
    ) -> EnabledTools:
        """The built-in tools enabled with their options, and the assistant's custom tools
        (their names never clash with a built-in's: assistants.validators)."""
        builtin = {
            name: (tool, options)
            for name, options in enabled.items()
            if (tool := get_tool(name)) is not None
        }
        own: dict[str, tuple[Tool, dict[str, Any]]] = {t.name: (t, {}) for t in custom or []}
        return cls({**own, **builtin})

    @classmethod
    def for_session(cls, context: SessionContext) -> EnabledTools:
        assistant = context.assistant
        custom = custom_tools_from(assistant.custom_tools, assistant.tool_signing_secret)
        return cls.for_assistant(context.enabled_tools, custom)

    def metrics_label(self, name: str) -> str:
        """Custom tool names are the tenants': one label for all keeps the series few."""
        if name not in self.tools:
            return "unknown"
        return "custom" if isinstance(self.tools[name][0], CustomTool) else name

    def schemas(self) -> list[dict[str, Any]] | None:
        return [openai_tool_schema(tool) for tool, _ in self.tools.values()] or None


def parse_arguments(call: ToolCallRequest) -> dict[str, Any] | None:
    try:
        arguments = json.loads(call.arguments or "{}")
    except json.JSONDecodeError:
        return None
    return arguments if isinstance(arguments, dict) else None


async def run_tool_call(
    call: ToolCallRequest,
    enabled: EnabledTools,
    *,
    organization_id: UUID,
    assistant_id: UUID,
    session_id: UUID,
) -> ToolOutcome:
    if call.name not in enabled.tools:
        return ToolOutcome(ok=False, error=f"The tool {call.name!r} is not available.")
    arguments = parse_arguments(call)
    if arguments is None:
        return ToolOutcome(ok=False, error="The arguments were not a JSON object.")
    tool, options = enabled.tools[call.name]
    context = ToolContext(organization_id, assistant_id, session_id, options, call.id)
    try:
        return await asyncio.wait_for(tool.run(arguments, context), tool.timeout_seconds)
    except TimeoutError:
        return ToolOutcome(ok=False, error=f"The tool timed out after {tool.timeout_seconds:g} s.")
    except (ToolError, ProviderError) as exc:
        return ToolOutcome(ok=False, error=str(getattr(exc, "message", exc)))
    except Exception:  # a tool bug must not end the conversation: report it and go on
        logger.exception("tool %s failed", call.name)
        return ToolOutcome(ok=False, error="The tool failed unexpectedly.")


def outcome_payload(outcome: ToolOutcome) -> str:
    body = (
        {"ok": True, "result": outcome.result}
        if outcome.ok
        else {"ok": False, "error": outcome.error}
    )
    text = json.dumps(body, default=str)
    if len(text) > MAX_RESULT_CHARS:
        text = json.dumps({"ok": outcome.ok, "truncated": True, "result": text[:MAX_RESULT_CHARS]})
    return text


@dataclass(frozen=True)
class ToolScope:
    """Whose tool call it is: what a tool may act for."""

    organization_id: UUID
    assistant_id: UUID
    session_id: UUID


async def run_tool_calls(
    calls: list[ToolCallRequest],
    enabled: EnabledTools,
    scope: ToolScope,
    *,
    conversation: Conversation,
    sink: Sink,
) -> bool:
    """Announce the calls, run them side by side, store and report each outcome.

    True if one of them ends the session (the ``end_session`` tool)."""
    for call in calls:
        arguments = parse_arguments(call)
        shown = arguments if arguments is not None else call.arguments
        await sink.send_event(ToolCall(id=call.id, name=call.name, arguments=shown))
    outcomes = await asyncio.gather(
        *(
            run_tool_call(
                call,
                enabled,
                organization_id=scope.organization_id,
                assistant_id=scope.assistant_id,
                session_id=scope.session_id,
            )
            for call in calls
        )
    )
    for call, outcome in zip(calls, outcomes, strict=True):
        await _report(call, outcome, enabled, conversation=conversation, sink=sink)
    return any(outcome.ends_session for outcome in outcomes)


async def _report(
    call: ToolCallRequest,
    outcome: ToolOutcome,
    enabled: EnabledTools,
    *,
    conversation: Conversation,
    sink: Sink,
) -> None:
    metrics.TOOL_CALLS.labels(
        enabled.metrics_label(call.name), "ok" if outcome.ok else "error"
    ).inc()
    payload = outcome_payload(outcome)
    try:
        await conversation.add("tool", payload, tool_call_id=call.id)
    except StoreUnavailable:  # kept, and written once the database answers again
        conversation.defer("tool", payload, tool_call_id=call.id)
    await sink.send_event(
        ToolResult(
            id=call.id,
            name=call.name,
            ok=outcome.ok,
            result=outcome.result if outcome.ok else None,
            error=None if outcome.ok else outcome.error,
        )
    )
    if not outcome.ok:  # the conversation goes on; the client still hears of the failure
        await sink.send_event(
            Error(code="tool_failed", message=f"The tool {call.name} failed: {outcome.error}")
        )
