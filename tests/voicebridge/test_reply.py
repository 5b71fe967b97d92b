"""The reply's visible text: runtime events in order, tool lines, Discord's message size."""

from __future__ import annotations

from sessions.protocol import AssistantDelta, AssistantMessage, Error, ToolCall, ToolResult
from voicebridge.reply import MAX_MESSAGE_CHARS, ReplyText, pages_of

LATENCY = {"stt_ms": None, "llm_ttft_ms": 1.0, "tts_ttfb_ms": None, "first_audio_ms": None}
USAGE = {"prompt_tokens": 1, "completion_tokens": 1, "tts_characters": 0, "stt_audio_seconds": 0}


def test_replies_and_tool_lines_read_in_the_order_they_happened():
    reply = ReplyText()
    assert reply.apply(AssistantDelta(message_id="a", content="Let me "))
    assert reply.apply(AssistantDelta(message_id="a", content="check."))
    assert reply.apply(ToolCall(id="c1", name="notion_search", arguments={"query": "milk"}))
    assert reply.apply(ToolCall(id="c2", name="current_time", arguments="{not json"))
    assert reply.apply(ToolResult(id="c1", name="notion_search", ok=True, result=[]))
    assert reply.apply(ToolResult(id="c2", name="current_time", ok=False, error="bad\n args"))
    assert not reply.apply(Error(code="tool_failed", message="The tool current_time failed"))
    assert reply.apply(AssistantDelta(message_id="b", content="Found it"))
    assert reply.render() == (
        "Let me check.\n"
        "🔧 notion_search query=milk ✓\n"
        "🔧 current_time {not json ⚠️ bad args\n"
        "Found it"
    )
    # The stored message is the final word on its text (e.g. cut short by an interruption).
    final = AssistantMessage(
        message_id="b", content="Found it.", interrupted=False, latency=LATENCY, usage=USAGE
    )
    assert reply.apply(final)
    assert reply.render().endswith("\nFound it.")


def test_long_tool_arguments_are_shortened_to_one_line():
    reply = ReplyText()
    reply.apply(ToolCall(id="c", name="notion_append_to_page", arguments={"content": "x " * 200}))
    [line] = reply.render().splitlines()
    assert len(line) < 100 and line.endswith("…")


def test_a_notice_comes_last():
    reply = ReplyText()
    reply.apply(AssistantDelta(message_id="a", content="Half an ans"))
    reply.notice = "⚠️ The assistant could not answer."
    assert reply.render() == "Half an ans\n⚠️ The assistant could not answer."


def test_pages_fit_discord_and_cut_between_words():
    text = " ".join(f"word{n}" for n in range(1_000))
    pages = pages_of(text)
    assert len(text) == 7_889 and len(pages) == 4
    assert all(len(page) <= MAX_MESSAGE_CHARS for page in pages)
    assert " ".join(pages) == text
    assert pages_of("") == [] and pages_of("short") == ["short"]
    unbroken = "x" * (MAX_MESSAGE_CHARS + 10)
    assert pages_of(unbroken) == ["x" * MAX_MESSAGE_CHARS, "x" * 10]
