"""Per-call overrides: a session's own first message and the variables of its prompts.

``POST /api/v1/sessions/`` takes ``overrides``: ``first_message`` replaces the assistant's
(``""``: no greeting), ``variables`` fill the ``{{name}}`` placeholders of the system prompt and
of the first message, ``metadata`` is merged into the session's metadata. The first two are
kept in the session's metadata under ``"overrides"`` (a reserved key), where the runtime reads
them, checked again, when the session runs.

A placeholder without a variable is left as it is written: the conversation goes on, and the
transcript shows which variable the caller did not send.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError

logger = logging.getLogger(__name__)

RESERVED_KEY = "overrides"
VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]{0,63})\s*\}\}")
MAX_VARIABLES = 50
MAX_VARIABLE_CHARS = 1_000
MAX_FIRST_MESSAGE_CHARS = 2_000


def fill(template: str, variables: dict[str, str]) -> str:
    """``template`` with each ``{{name}}`` that has a variable replaced by its value."""
    if not variables:
        return template
    return PLACEHOLDER.sub(lambda match: variables.get(match.group(1), match.group(0)), template)


def validate_variables(value: Any) -> None:
    if not isinstance(value, dict):
        raise ValidationError('Must be a JSON object of strings, like {"name": "Ada"}.')
    if len(value) > MAX_VARIABLES:
        raise ValidationError(f"At most {MAX_VARIABLES} variables.")
    for name, text in value.items():
        if not VARIABLE_NAME.match(name):
            raise ValidationError(
                f"Variable {name[:70]!r}: a name is a letter or '_', then letters, digits or '_'"
                " (at most 64)."
            )
        if not isinstance(text, str) or len(text) > MAX_VARIABLE_CHARS:
            raise ValidationError(
                f"Variable {name!r} must be a string of at most {MAX_VARIABLE_CHARS} characters."
            )


def validate_first_message(value: Any) -> None:
    if not isinstance(value, str) or len(value) > MAX_FIRST_MESSAGE_CHARS:
        raise ValidationError(f"Must be a string of at most {MAX_FIRST_MESSAGE_CHARS} characters.")


def validate_no_reserved_key(metadata: Any) -> None:
    if isinstance(metadata, dict) and RESERVED_KEY in metadata:
        raise ValidationError(
            f'"{RESERVED_KEY}" is reserved in metadata: send overrides in the "overrides" field.'
        )


@dataclass(frozen=True)
class SessionOverrides:
    first_message: str | None = None  # None: the assistant's
    variables: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_metadata(cls, metadata: Any) -> SessionOverrides:
        """What a session's metadata says, checked; none if it is not valid (logged)."""
        stored = metadata.get(RESERVED_KEY) if isinstance(metadata, dict) else None
        if not isinstance(stored, dict):
            return cls()
        try:
            _check_stored(stored)
        except ValidationError as exc:
            logger.warning("session overrides ignored: %s", "; ".join(exc.messages))
            return cls()
        return cls(stored.get("first_message"), dict(stored.get("variables", {})))

    def system_prompt(self, assistant_prompt: str) -> str:
        return fill(assistant_prompt, self.variables)

    def first_message_for(self, assistant_first_message: str) -> str:
        chosen = assistant_first_message if self.first_message is None else self.first_message
        return fill(chosen, self.variables)


def _check_stored(stored: dict[str, Any]) -> None:
    if set(stored) - {"first_message", "variables"}:
        raise ValidationError("unknown keys")
    if "first_message" in stored:
        validate_first_message(stored["first_message"])
    validate_variables(stored.get("variables", {}))


def session_metadata(
    metadata: dict[str, Any] | None, overrides: dict[str, Any] | None
) -> dict[str, Any]:
    """A new session's metadata: the caller's, ``overrides.metadata`` merged on top (its keys
    win), and the prompt overrides under the reserved key. Checked as a whole by the model."""
    metadata, overrides = dict(metadata or {}), overrides or {}
    for part in (metadata, overrides.get("metadata") or {}):
        try:
            validate_no_reserved_key(part)
        except ValidationError as exc:
            raise ValidationError({"metadata": exc.messages}) from exc
    merged = {**metadata, **(overrides.get("metadata") or {})}
    prompts = {k: overrides[k] for k in ("first_message", "variables") if k in overrides}
    if prompts:
        merged[RESERVED_KEY] = prompts
    return merged
