"""The live-session protocol as a JSON Schema (draft 2020-12), derived from sessions/protocol.py.

Nothing here restates a message: every schema comes from the dataclasses and TypedDicts in
``sessions.protocol`` (their type hints, ``omit_none`` and constraint metadata), so the shipped
copy, docs/protocol.schema.json, can only drift if nobody regenerates it, and a test catches that:

    python -m sessions.protocol_schema > docs/protocol.schema.json

Client messages are closed (``additionalProperties: false``): they say what a client may send.
Server events are open, so that a field added later does not break a client that validates.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import types
from typing import (
    Any,
    Literal,
    NotRequired,
    Required,
    Union,
    get_args,
    get_origin,
    get_type_hints,
    is_typeddict,
)

from sessions.protocol import CLIENT_MESSAGES, SERVER_EVENTS, ClientMessage, ErrorCode, ServerEvent

Schema = dict[str, Any]

DIALECT = "https://json-schema.org/draft/2020-12/schema"
CONSTRAINTS = ("minLength", "maxLength", "pattern", "minimum", "maximum", "format")
PRIMITIVES: dict[type, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


def _ref(pointer: str) -> Schema:
    return {"$ref": f"#/$defs/{pointer}"}


def _union(members: list[Schema]) -> Schema:
    if all(member.keys() == {"type"} for member in members):
        return {"type": [member["type"] for member in members]}
    return {"anyOf": members}


def _description(cls: type) -> str | None:
    """The class's own docstring; dataclass() writes the signature where there is none."""
    doc = cls.__doc__
    if not doc or doc.startswith(f"{cls.__name__}("):
        return None
    return " ".join(doc.split())


class _Builder:
    """Turns type hints into schemas, collecting the TypedDicts it meets into ``defs``."""

    def __init__(self) -> None:
        self.defs: dict[str, Schema] = {}

    def of(self, hint: object, *, nullable: bool = True) -> Schema:
        """``nullable=False`` drops None from a union: an ``omit_none`` field is never null."""
        origin, args = get_origin(hint), get_args(hint)
        if hint is Any:
            return {}
        if isinstance(hint, type) and hint in PRIMITIVES:
            return {"type": PRIMITIVES[hint]}
        if hint == ErrorCode:
            return _ref("errorCode")
        if origin is Literal:
            return {"const": args[0]} if len(args) == 1 else {"enum": list(args)}
        if origin in (Union, types.UnionType):
            members = [arg for arg in args if nullable or arg is not type(None)]
            return self.of(members[0]) if len(members) == 1 else _union(list(map(self.of, members)))
        if origin is dict:
            values = self.of(args[1])
            return {"type": "object", **({"additionalProperties": values} if values else {})}
        if origin is list:
            return {"type": "array", "items": self.of(args[0])}
        if is_typeddict(hint):
            return self.typed_dict(hint)
        raise TypeError(f"No JSON Schema for {hint!r}; teach sessions/protocol_schema.py")

    def typed_dict(self, cls: Any) -> Schema:
        if cls.__name__ not in self.defs:
            # Python 3.11 cannot see NotRequired behind `from __future__ import annotations`
            # in __required_keys__, so the markers are read from the hints themselves.
            hints = get_type_hints(cls, include_extras=True)
            required = set(cls.__required_keys__)
            properties: Schema = {}
            for name, hint in hints.items():
                marker = get_origin(hint)
                if marker in (NotRequired, Required):
                    (required.discard if marker is NotRequired else required.add)(name)
                    hint = get_args(hint)[0]
                properties[name] = self.of(hint)
            self.defs[cls.__name__] = {
                "type": "object",
                "title": cls.__name__,
                "properties": properties,
                **({"required": sorted(required)} if required else {}),
            }
        return _ref(cls.__name__)

    def message(self, cls: type[ClientMessage] | type[ServerEvent], *, sent: bool) -> Schema:
        """One message; ``sent`` is true for server events, which always carry every field
        except the ``omit_none`` ones."""
        hints = get_type_hints(cls)
        properties: Schema = {"type": {"const": cls.type}}
        required = ["type"]
        for field in dataclasses.fields(cls):
            omit_none = bool(field.metadata.get("omit_none"))
            constraints = {key: field.metadata[key] for key in CONSTRAINTS if key in field.metadata}
            properties[field.name] = (
                self.of(hints[field.name], nullable=not omit_none) | constraints
            )
            has_default = field.default is not dataclasses.MISSING
            if not omit_none and (sent or not has_default):
                required.append(field.name)
        schema: Schema = {
            "type": "object",
            "title": cls.__name__,
            "properties": properties,
            "required": required,
        }
        if description := _description(cls):
            schema["description"] = description
        if not sent:
            schema["additionalProperties"] = False
        return schema


def _group(key: str, title: str, messages: dict[str, Schema]) -> Schema:
    """Any one of ``messages``, which live in the group's own $defs, keyed by their type."""
    return {
        "title": title,
        "oneOf": [_ref(f"{key}/$defs/{kind}") for kind in messages],
        "$defs": messages,
    }


def protocol_schema() -> Schema:
    builder = _Builder()
    client = {cls.type: builder.message(cls, sent=False) for cls in CLIENT_MESSAGES}
    server = {cls.type: builder.message(cls, sent=True) for cls in SERVER_EVENTS}
    return {
        "$schema": DIALECT,
        "title": "Live-session WebSocket protocol: text frames",
        "description": (
            "Every JSON text frame of /ws/sessions/{session_id}/, either way. Binary frames are "
            "PCM audio. Generated from sessions/protocol.py; prose in docs/PROTOCOL.md."
        ),
        "oneOf": [_ref("clientMessages"), _ref("serverEvents")],
        "$defs": {
            "clientMessages": _group("clientMessages", "Any client -> server message", client),
            "serverEvents": _group("serverEvents", "Any server -> client event", server),
            "errorCode": {"title": "ErrorCode", "enum": list(get_args(ErrorCode))},
            **builder.defs,
        },
    }


def render() -> str:
    """The shipped text: pretty, with sorted keys, so a regeneration only shows real changes."""
    return json.dumps(protocol_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
