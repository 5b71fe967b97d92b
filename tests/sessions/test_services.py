import pytest
from django.core.exceptions import ValidationError

from sessions.models import Message, Session
from sessions.services import (
    session_activate,
    session_create,
    session_end,
)
from sessions.tokens import ws_token_claims, ws_token_for
from tests.factories import AssistantFactory, SessionFactory, append_message

pytestmark = pytest.mark.django_db


def test_message_sequences_increase_without_gaps():
    session = SessionFactory()
    roles = ["user", "assistant", "tool", "assistant"]
    messages = [append_message(session_id=session.id, role=r, content=r) for r in roles]
    assert [m.sequence for m in messages] == [1, 2, 3, 4]
    assert (
        list(Message.objects.unscoped().filter(session=session).values_list("role", flat=True))
        == roles
    )


def test_session_create_takes_the_assistants_organization():
    assistant = AssistantFactory()
    session = session_create(assistant=assistant, channel="web", metadata={"k": "v"})
    assert session.organization_id == assistant.organization_id
    assert session.status == Session.Status.CREATED


def test_session_create_refuses_archived_assistant():
    assistant = AssistantFactory()
    SessionFactory(assistant=assistant)
    assistant.archived_at = assistant.created_at
    assistant.save()
    with pytest.raises(ValidationError):
        session_create(assistant=assistant)


def test_session_ends_once():
    session = SessionFactory()
    assert session_activate(session_id=session.id)
    assert session_end(session_id=session.id, reason="user-ended")
    assert not session_end(session_id=session.id, reason="again")
    assert not session_activate(session_id=session.id)
    session.refresh_from_db()
    assert (session.status, session.ended_reason) == ("ended", "user-ended")


def test_each_messages_usage_adds_up_in_the_session():
    session = SessionFactory()
    usage = [{"prompt_tokens": 10, "tts_characters": 5}, {"prompt_tokens": 3}]
    append_message(session_id=session.id, role="assistant", content="a", usage=usage[0])
    append_message(session_id=session.id, role="user", content="b")  # no usage of its own
    append_message(session_id=session.id, role="assistant", content="c", usage=usage[1])
    append_message(
        session_id=session.id, role="assistant", content="d", usage={"stt_audio_seconds": 1.5}
    )
    session.refresh_from_db()
    assert session.usage == {
        "prompt_tokens": 13,
        "completion_tokens": 0,
        "tts_characters": 5,
        "stt_audio_seconds": 1.5,
        # priced at the default models' list prices (integrations/pricing.py)
        "cost": {
            "currency": "USD",
            "llm": "0.000002",
            "tts": "0.000250",
            "stt": "0.000075",
            "total": "0.000327",
        },
    }


def test_ws_token_is_bound_to_one_session():
    first, second = SessionFactory(), SessionFactory()
    token = ws_token_for(first.id)
    assert ws_token_claims(token, first.id) is not None
    assert ws_token_claims(token, second.id) is None
    assert ws_token_claims(token + "x", first.id) is None
    assert ws_token_claims("garbage", first.id) is None


def test_ws_token_expires(settings):
    session = SessionFactory()
    token = ws_token_for(session.id)
    settings.WS_TOKEN_TTL_SECONDS = -1
    assert ws_token_claims(token, session.id) is None


@pytest.mark.django_db(transaction=True)
async def test_a_deferred_reply_that_is_cut_is_written_as_heard():
    """A reply the database refused (an outage) and then interrupted: the write that follows
    recovery stores what was heard, not the whole reply."""
    import uuid

    from channels.db import database_sync_to_async

    from sessions.runtime.store import Conversation, load_context

    session = await database_sync_to_async(SessionFactory)()
    conversation = Conversation.of(await load_context(session.id))
    reply_id = uuid.uuid4()
    conversation.defer("assistant", "Sure, here is the whole long reply.", id=reply_id)
    await conversation.cut(reply_id, "Sure,")
    await conversation.save_pending()
    stored = await database_sync_to_async(Message.objects.unscoped().get)(pk=reply_id)
    assert (stored.content, stored.interrupted) == ("Sure,", True)
    assert conversation.for_llm()[-1] == {"role": "assistant", "content": "Sure,"}
