"""The runtime's one door to the database, and the transcript it keeps in memory.

Every path that runs a conversation — the WebSocket, the REST text turn, a bridge — reads and
writes through this module; each call is one trip to Django's sync thread. The runtime is
system access: it reaches a session ``unscoped()``, after its transport has checked who may use
the session (a token for it, or membership of its organization).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from channels.db import database_sync_to_async
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from assistants.models import ApiKey, Assistant, Membership
from config import metrics
from integrations import pricing
from integrations.credentials import credentials_for
from integrations.providers import ProviderCredentials
from sessions import expiry, services
from sessions.models import Message, Session, empty_usage
from sessions.overrides import SessionOverrides
from webhooks import events as webhook_events

logger = logging.getLogger(__name__)
USAGE_KEYS = tuple(empty_usage())
PRICED_MODEL_FIELDS = ("model_name", "voice_model", "transcriber_model")

P = ParamSpec("P")
R = TypeVar("R")


class StoreUnavailable(OperationalError):
    """The database did not answer (down, unreachable, out of connections): nothing was
    written. The runtime tells the client and keeps what it could not store."""


def _door(fn: Callable[P, R]) -> Callable[P, Coroutine[Any, Any, R]]:
    """``fn`` run in Django's sync thread, a database outage raised as StoreUnavailable."""
    in_thread = database_sync_to_async(fn)

    @wraps(fn)
    async def call(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await in_thread(*args, **kwargs)
        except (OperationalError, InterfaceError) as exc:
            raise StoreUnavailable(str(exc)) from exc

    return call


@dataclass
class SessionContext:
    session_id: uuid.UUID
    organization_id: uuid.UUID
    assistant: Assistant
    status: str
    messages: list[Message]
    #: per-session options of the assistant's tools (``metadata["tool_options"]``, checked)
    tool_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: the caller's first message and prompt variables (``metadata["overrides"]``, checked)
    overrides: SessionOverrides = field(default_factory=SessionOverrides)

    @property
    def system_prompt(self) -> str:
        return self.overrides.system_prompt(self.assistant.system_prompt)

    @property
    def first_message(self) -> str:
        return self.overrides.first_message_for(self.assistant.first_message)

    @property
    def is_over(self) -> bool:
        return self.status in (Session.Status.ENDED, Session.Status.FAILED)

    @property
    def enabled_tools(self) -> dict[str, dict[str, Any]]:
        """The assistant's tools and their options, with this session's overrides on top (an
        override never enables a tool the assistant does not have)."""
        return {
            name: {**options, **self.tool_options.get(name, {})}
            for name, options in self.assistant.enabled_tools.items()
        }


@_door
def load_context(session_id: uuid.UUID) -> SessionContext | None:
    session = (
        Session.objects.unscoped()
        .select_related("assistant__organization")
        .filter(pk=session_id)
        .first()
    )
    if session is None:
        return None
    return SessionContext(
        session_id=session.id,
        organization_id=session.organization_id,
        assistant=session.assistant,
        status=session.status,
        messages=list(session.messages.order_by("sequence")),
        tool_options=_session_tool_options(session),
        overrides=SessionOverrides.from_metadata(session.metadata),
    )


def _session_tool_options(session: Session) -> dict[str, dict[str, Any]]:
    """``{tool name: {option: value}}`` from the session's metadata, checked as the assistant's
    own options are (a Notion connection of another organization is refused); {} if invalid."""
    from integrations.notion.options import notion_tool_option_errors

    chosen = session.metadata.get("tool_options") if isinstance(session.metadata, dict) else None
    if not isinstance(chosen, dict):
        return {}
    overrides = {name: opts for name, opts in chosen.items() if isinstance(opts, dict)}
    as_tools = [{"name": name, "options": opts} for name, opts in overrides.items()]
    errors = notion_tool_option_errors(as_tools, organization_id=session.organization_id)
    if errors:
        logger.warning("session %s: tool_options ignored: %s", session.id, "; ".join(errors))
        return {}
    return overrides


@_door
def is_member(user: Any, organization_id: uuid.UUID) -> bool:
    return Membership.objects.for_org(organization_id).filter(user=user).exists()


@_door
def api_key_active(api_key_id: str) -> bool:
    """Whether the key that minted a WebSocket token is still active (not revoked)."""
    return ApiKey.objects.unscoped().active().filter(pk=api_key_id).exists()


@_door
def provider_credentials(assistant: Assistant) -> dict[str, ProviderCredentials | None]:
    """The credentials of every provider the assistant uses: its organization's, else ours."""
    providers = {assistant.model_provider, assistant.transcriber_provider}
    if assistant.voice_provider != Assistant.VoiceProvider.NONE:
        providers.add(assistant.voice_provider)
    return {name: credentials_for(assistant.organization_id, name) for name in providers}


@_door
def activate(session_id: uuid.UUID) -> bool:
    return services.session_activate(session_id=session_id)


@_door
def end(session_id: uuid.UUID, reason: str, failed: bool = False) -> bool:
    return services.session_end(session_id=session_id, reason=reason, failed=failed)


@_door
def touch(session_id: uuid.UUID) -> None:
    """The session is still in use (a live connection's heartbeat): it must not expire."""
    expiry.session_touch(session_id=session_id)


@_door
def messages_from(session_id: uuid.UUID, sequence: int) -> list[Message]:
    return list(Message.objects.unscoped().filter(session_id=session_id, sequence__gte=sequence))


@transaction.atomic
def message_append(session_id: uuid.UUID, role: str, fields: dict[str, Any]) -> Message:
    """Store the next message of a session, and add its ``usage`` (if any) to the session's.

    One transaction, three statements, and the webhook endpoints' look-up. Sequences are
    gap-free and strictly increasing even with several writers: the session row stays locked
    from the SELECT until commit."""
    session = (
        Session.objects.unscoped()
        .select_for_update(of=("self",))
        .select_related("assistant")
        .only(
            "last_sequence",
            "usage",
            "organization_id",
            *(f"assistant__{f}" for f in PRICED_MODEL_FIELDS),
        )
        .get(pk=session_id)
    )
    session.last_sequence += 1
    session.last_activity_at = timezone.now()  # a stored message is activity: see expiry.py
    changed = ["last_sequence", "last_activity_at"]
    if fields.get("usage"):
        fields = {**fields, "usage": priced(fields["usage"], session.assistant)}
        session.usage = usage_totals(session.usage, fields["usage"])
        changed.append("usage")
    session.save(update_fields=changed)
    message = Message.objects.create(
        session_id=session_id, sequence=session.last_sequence, role=role, **fields
    )
    webhook_events.message_stored(session, message)  # in this transaction (webhooks/)
    return message


_append = _door(message_append)


def priced(usage: dict[str, Any], assistant: Assistant) -> dict[str, Any]:
    """A message's usage with its ``cost`` at today's prices of the assistant's models; the
    cost is counted in the metrics once the message is committed."""
    models = pricing.Models.of(assistant)
    cost = pricing.usage_cost(usage, models)
    transaction.on_commit(lambda: metrics.count_cost(cost, models))
    return {**usage, "cost": cost}


def usage_totals(totals: dict[str, Any], usage: dict[str, Any]) -> dict[str, Any]:
    """The session's usage so far plus one message's, its cost included (integrations/pricing)."""
    summed = {**empty_usage(), **totals}
    for key in USAGE_KEYS:
        summed[key] = round(summed[key] + usage.get(key, 0), 3)
    summed["cost"] = pricing.cost_sum(totals.get("cost"), usage.get("cost"))
    return summed


@_door
def _cut(message_id: uuid.UUID, heard: str) -> None:
    Message.objects.unscoped().filter(pk=message_id).update(interrupted=True, content=heard)


@dataclass
class Conversation:
    """One session's conversation: what is stored, and the model's view of it, kept in step.

    The only owner of the history the model sees and of the client's playback marks: every
    message reaches both the database and the history through here, and so does the cut of
    an interrupted reply to what was heard.
    """

    session_id: uuid.UUID
    _history: list[dict[str, Any]] = field(default_factory=list)
    _history_ids: list[uuid.UUID | None] = field(default_factory=list)
    _marks: dict[str, float] = field(default_factory=dict)
    # Messages the database refused (an outage), in order: written before any newer one.
    _pending: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @classmethod
    def of(cls, context: SessionContext) -> Conversation:
        conversation = cls(context.session_id)
        if context.system_prompt:
            conversation._remember(None, {"role": "system", "content": context.system_prompt})
        answered = {m.tool_call_id for m in context.messages if m.role == Message.Role.TOOL}
        for message in context.messages:
            item = _replayable(llm_message(message), answered)
            if item is not None:
                conversation._remember(message.id, item)
        return conversation

    def for_llm(self) -> list[dict[str, Any]]:
        return list(self._history)

    def mark(self, message_id: str, played_ms: float) -> None:
        self._marks[message_id] = played_ms

    def played_ms(self, message_id: uuid.UUID) -> float | None:
        return self._marks.get(str(message_id))

    async def add(self, role: str, content: str = "", **fields: Any) -> Message:
        """Store a message (and add its usage to the session's), then let the model see it.
        StoreUnavailable when the database does not answer: nothing is stored or seen."""
        await self.save_pending()
        message = await _append(self.session_id, role, {"content": content, **fields})
        self._remember(message.id, llm_message(message))
        return message

    def defer(self, role: str, content: str, **fields: Any) -> None:
        """A message the database refused: the model sees it now, the database gets it at the
        next ``save_pending`` (before any newer message, so the transcript keeps its order)."""
        message = Message(session_id=self.session_id, role=role, content=content, **fields)
        self._remember(message.id, llm_message(message))
        self._pending.append((role, {"content": content, **fields}))

    @property
    def unsaved(self) -> int:
        return len(self._pending)

    async def save_pending(self) -> None:
        """Write the deferred messages, oldest first; StoreUnavailable if it still cannot."""
        while self._pending:
            role, fields = self._pending[0]
            await _append(self.session_id, role, fields)
            self._pending.pop(0)

    async def cut(self, message_id: uuid.UUID, heard: str) -> None:
        """A stored reply was interrupted: keep only what the listener heard of it (in the
        database, or in the deferred write if the database refused it)."""
        pending = [f for _, f in self._pending if f.get("id") == message_id]
        if pending:
            pending[0].update(content=heard, interrupted=True)
        else:
            await _cut(message_id, heard)
        if message_id in self._history_ids:
            index = self._history_ids.index(message_id)
            del self._history[index], self._history_ids[index]
        if heard:
            self._remember(message_id, {"role": "assistant", "content": heard})

    def _remember(self, message_id: uuid.UUID | None, item: dict[str, Any] | None) -> None:
        if item is not None:
            self._history.append(item)
            self._history_ids.append(message_id)


def llm_message(message: Message) -> dict[str, Any] | None:
    """The chat-completions message for a stored one; None for what the model must not see."""
    if message.role == Message.Role.TOOL:
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}
    if message.role == Message.Role.ASSISTANT:
        executed = [c for c in message.tool_calls if c.get("executed", True)]
        if not message.interrupted and executed:
            return {
                "role": "assistant",
                "content": message.content or None,
                "tool_calls": [_openai_tool_call(c) for c in executed],
            }
        return {"role": "assistant", "content": message.content} if message.content else None
    return {"role": message.role, "content": message.content}


def _openai_tool_call(call: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": call["id"],
        "type": "function",
        "function": {"name": call["name"], "arguments": call["arguments"]},
    }


def _replayable(item: dict[str, Any] | None, answered: set[str]) -> dict[str, Any] | None:
    """A stored message as the model may see it again. A tool call without a stored result
    (the process died mid-tool) would make the provider reject the whole history."""
    if item is None or "tool_calls" not in item:
        return item
    calls = [c for c in item["tool_calls"] if c["id"] in answered]
    if calls:
        return {**item, "tool_calls": calls}
    return {"role": "assistant", "content": item["content"]} if item["content"] else None
