"""docs/PROTOCOL.md's tables name exactly the message types, fields and error codes of
sessions/protocol.py: a message or field added on one side only fails here, naming it."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any, get_args, get_type_hints, is_typeddict

from sessions.protocol import CLIENT_MESSAGES, SERVER_EVENTS, ErrorCode

DOC = Path(__file__).resolve().parents[2] / "docs" / "PROTOCOL.md"
CODE = "sessions/protocol.py"
JSON_LITERALS = {"null", "true", "false"}  # values the prose quotes, e.g. "either may be `null`"
TOKEN = re.compile(r"[{}]|`([^`]+)`")
NAME = re.compile(r"[A-Za-z_][\w-]*")

Fields = dict[str, set[str] | None]  # field -> its nested keys, if the field is an object


def table(heading: str) -> list[list[str]]:
    """The body rows of the first table under ``### heading``, as stripped cells."""
    lines = DOC.read_text(encoding="utf-8").splitlines()
    assert f"### {heading}" in lines, f"docs/PROTOCOL.md has no '### {heading}' section"
    rows: list[list[str]] = []
    for line in lines[lines.index(f"### {heading}") + 1 :]:
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif rows or line.startswith("#"):
            break
    return rows[2:]  # after the header and the |---| line


def names(cell: str) -> list[str]:
    """The names quoted in a cell: `role: "user"` names role; quoted JSON values are skipped."""
    found = (NAME.match(match) for match in re.findall(r"`([^`]+)`", cell))
    return [name.group() for name in found if name and name.group() not in JSON_LITERALS]


def documented_fields(cell: str) -> Fields:
    """`latency` {`stt_ms`, …} -> {"latency": {"stt_ms", …}}; a field without braces -> None."""
    fields: Fields = {}
    depth, last = 0, ""
    for match in TOKEN.finditer(cell):
        if match.group() in "{}":
            depth += 1 if match.group() == "{" else -1
            if depth:
                fields[last] = set()
            continue
        for name in names(match.group()):
            if depth:
                fields[last] = (fields.get(last) or set()) | {name}
            else:
                fields[name], last = None, name
    return fields


def documented(heading: str) -> dict[str, Fields]:
    messages: dict[str, Fields] = {}
    for row in table(heading):
        for kind in names(row[0]):  # "`speech-started` / `speech-stopped`" documents two
            messages[kind] = documented_fields(row[1])
    return messages


def nested_keys(hint: Any) -> set[str] | None:
    for candidate in (hint, *get_args(hint)):  # AudioInfo, or AudioFormatInfo | None
        if is_typeddict(candidate):
            return set(get_type_hints(candidate))
    return None


def coded(classes: tuple[type, ...]) -> dict[str, Fields]:
    messages: dict[str, Fields] = {}
    for cls in classes:
        hints = get_type_hints(cls)
        messages[cls.type] = {f.name: nested_keys(hints[f.name]) for f in dataclasses.fields(cls)}
    return messages


def one_side(what: str, in_code: set[str], in_doc: set[str]) -> list[str]:
    return [
        *(f"{what} `{name}`: in {CODE}, not in the table" for name in sorted(in_code - in_doc)),
        *(f"{what} `{name}`: in the table, not in {CODE}" for name in sorted(in_doc - in_code)),
    ]


def disagreements(code: dict[str, Fields], doc: dict[str, Fields]) -> list[str]:
    found = one_side("message type", set(code), set(doc))
    for kind in code.keys() & doc.keys():
        found += one_side(f"{kind}: field", set(code[kind]), set(doc[kind]))
        for field in code[kind].keys() & doc[kind].keys():
            keys_in_code, keys_in_doc = code[kind][field], doc[kind][field]
            if keys_in_code != keys_in_doc:
                found += one_side(
                    f"{kind}.{field}: key", keys_in_code or set(), keys_in_doc or set()
                )
                if (keys_in_code is None) != (keys_in_doc is None):
                    found.append(f"{kind}.{field}: an object on one side only ({{…}} in the table)")
    return found


def assert_agree(heading: str, found: list[str]) -> None:
    assert not found, f"docs/PROTOCOL.md '{heading}' and {CODE} disagree:\n  " + "\n  ".join(found)


def test_client_messages_table_matches_the_code():
    heading = "Client → server"
    assert_agree(heading, disagreements(coded(CLIENT_MESSAGES), documented(heading)))


def test_server_events_table_matches_the_code():
    heading = "Server → client"
    assert_agree(heading, disagreements(coded(SERVER_EVENTS), documented(heading)))


def test_error_codes_table_matches_the_code():
    documented_codes = {code for row in table("Error codes") for code in names(row[0])}
    assert_agree("Error codes", one_side("error code", set(get_args(ErrorCode)), documented_codes))


def test_the_table_reader_finds_types_fields_and_nested_keys():
    doc = documented("Server → client")
    assert {"speech-started", "speech-stopped", "pong"} <= doc.keys()
    assert doc["pong"] == {} and doc["transcript"].keys() == {
        "role",
        "content",
        "final",
        "message_id",
    }
    assert doc["connected"]["assistant"] == {"id", "name"}
    assert doc["connected"]["simulated"] is None and "null" not in doc["connected"]
