"""Cut streamed LLM text into speakable pieces, as early as they can be spoken.

The first piece ends at the first clause boundary ("Sure," is enough) so speech starts while
the model is still writing; later pieces end at sentence boundaries, which sound more natural.
A piece that grows too long is cut at a clause boundary, or at a space as a last resort.

A boundary is a mark followed by white space, so most cuts wait for the next token. The first
piece does not wait where the mark cannot be anything else: a comma, semicolon or colon right
after a letter ("Sure," but not "1,"), or "!", "?", a dash or an ellipsis. That saves one
token's delay (~25 ms) before the first audio. A full stop always waits ("Dr.", "3.5").
"""

from __future__ import annotations

import re

SENTENCE_END = re.compile(r"[.!?…]+[\"')\]]*\s")
CLAUSE_END = re.compile("[,;:\u2014\u2013]\\s|" r"[.!?…]+[\"')\]]*\s")
# The end of the text so far is a clause boundary whatever comes next.
CLAUSE_END_NOW = re.compile("(?:(?<=[^\\W\\d_])[,;:]|[!?\u2014\u2013\u2026])$")
MAX_PIECE_CHARS = 250


class SpeechChunker:
    def __init__(self, *, first_piece_min_chars: int = 2) -> None:
        self._buffer = ""
        self._pieces_out = 0
        self._first_min = first_piece_min_chars

    def push(self, text: str) -> list[str]:
        """Add streamed text; return the pieces that are now complete."""
        self._buffer += text
        pieces = []
        while (piece := self._next_piece()) is not None:
            pieces.append(piece)
        return pieces

    def flush(self) -> list[str]:
        """The rest of the text, once the stream has ended."""
        rest, self._buffer = self._buffer.strip(), ""
        return [rest] if _speakable(rest) else []

    def _next_piece(self) -> str | None:
        first = self._pieces_out == 0
        cut = self._cut_at(CLAUSE_END if first else SENTENCE_END)
        if cut is None and first:
            cut = self._cut_at(CLAUSE_END_NOW)
        if cut is None and len(self._buffer) > MAX_PIECE_CHARS:
            cut = self._cut_at(CLAUSE_END) or self._buffer.rfind(" ", 0, MAX_PIECE_CHARS) + 1
            cut = cut if _speakable(self._buffer[:cut]) else None
        if not cut:
            return None
        piece, self._buffer = self._buffer[:cut].strip(), self._buffer[cut:]
        self._pieces_out += 1
        return piece

    def _cut_at(self, pattern: re.Pattern) -> int | None:
        # Punctuation alone ("... ") is not worth a TTS request: it stays with what follows.
        for match in pattern.finditer(self._buffer):
            prefix = self._buffer[: match.end()].strip()
            if len(prefix) >= self._first_min and _speakable(prefix):
                return match.end()
        return None


def _speakable(text: str) -> bool:
    return any(ch.isalnum() for ch in text)
