"""Where streamed text is cut into the pieces that go to TTS."""

import pytest

from sessions.runtime.speech import MAX_PIECE_CHARS, SpeechChunker


def pieces_as_streamed(tokens: list[str]) -> list[list[str]]:
    """What each push returned, then what flush returned."""
    chunker = SpeechChunker()
    return [chunker.push(token) for token in tokens] + [chunker.flush()]


def test_the_first_clause_goes_out_with_its_own_token():
    assert pieces_as_streamed(["Sure,", " here", " it", " is.", " More"]) == [
        ["Sure,"],
        [],
        [],
        [],
        ["here it is."],
        ["More"],
    ]


@pytest.mark.parametrize("first", ["Really?", "Wait!", "Well\u2014", "Hmm\u2026", "Note:", "Ça,"])
def test_marks_that_cannot_continue_end_the_first_piece_at_once(first):
    assert SpeechChunker().push(first) == [first]


@pytest.mark.parametrize(
    ("tokens", "first_piece"),
    [
        (["It costs 1,", "000 euros.", " Then"], "It costs 1,000 euros."),
        (["Version 3.", "5 is out.", " Then"], "Version 3.5 is out."),
        (["Okay.", " Then", " more"], "Okay."),  # a full stop waits for what follows it
    ],
)
def test_marks_that_may_continue_wait_for_the_next_token(tokens, first_piece):
    chunker = SpeechChunker()
    assert chunker.push(tokens[0]) == []
    assert [*chunker.push(tokens[1]), *chunker.push(tokens[2])] == [first_piece]


def test_later_pieces_end_at_sentences_not_clauses():
    chunker = SpeechChunker()
    assert chunker.push("Sure,") == ["Sure,"]
    assert chunker.push(" first, second,") == []
    assert chunker.push(" third. And") == ["first, second, third."]
    assert chunker.flush() == ["And"]


def test_punctuation_alone_stays_with_what_follows():
    assert pieces_as_streamed([",", " ok,", " then"]) == [[], [", ok,"], [], ["then"]]


def test_a_piece_without_a_boundary_is_cut_before_it_grows_too_long():
    chunker = SpeechChunker()
    assert chunker.push("Hi,") == ["Hi,"]
    pieces = chunker.push(" word" * 100)
    assert pieces and all(len(piece) <= MAX_PIECE_CHARS for piece in pieces)
    assert " ".join([*pieces, *chunker.flush()]) == ("word " * 100).strip()
