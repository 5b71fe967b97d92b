"""Audio already waiting for the socket leaves in one frame, in order, up to a size limit."""

import asyncio

from integrations.errors import ProviderError
from sessions.runtime.speech import MAX_FRAME_BYTES, _join_waiting


def queue_of(*items) -> asyncio.Queue:
    queue: asyncio.Queue = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)
    return queue


def test_waiting_chunks_join_in_order():
    queue = queue_of(b"bb", b"cc")
    assert _join_waiting(b"aa", queue) == (b"aabbcc", None)
    assert queue.empty()


def test_joining_stops_at_what_is_not_audio_and_hands_it_back():
    error = ProviderError("elevenlabs", "stream_broken", "cut", retryable=False)
    queue = queue_of(b"bb", error, b"cc")
    assert _join_waiting(b"aa", queue) == (b"aabb", error)
    assert queue.get_nowait() == b"cc"


def test_a_frame_stops_growing_at_the_limit():
    big = b"x" * (MAX_FRAME_BYTES // 2)
    queue = queue_of(big, big)
    frame, held = _join_waiting(big, queue)
    assert len(frame) == MAX_FRAME_BYTES and held is None
    assert queue.get_nowait() == big  # the next frame starts with it
