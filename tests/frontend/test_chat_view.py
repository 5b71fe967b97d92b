"""The test chat's page and the endpoint that starts its session (the browser side is in
tests/browser/test_chat.py)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from assistants.models import Assistant
from sessions.models import Session
from tests.factories import AssistantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def assistant(org):
    return AssistantFactory(organization=org, name="Front Desk", voice_output_format="pcm_22050")


def chat_url(assistant) -> str:
    return reverse("dashboard:assistant-chat", args=[assistant.pk])


def session_url(assistant) -> str:
    return reverse("dashboard:assistant-chat-session", args=[assistant.pk])


def test_the_page_renders_the_chat_for_a_member(member_client, assistant):
    response = member_client.get(chat_url(assistant))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Talk to Front Desk" in page
    assert f'data-session-endpoint="{session_url(assistant)}"' in page
    assert 'type="module" src="/static/frontend/chat/chat.js"' in page
    assert 'for="chat-text"' in page  # the typed message has a label
    assert "Replies play at 22050 Hz." in page


def test_the_endpoint_starts_a_web_session_for_the_member(member_client, member, assistant, org):
    response = member_client.post(session_url(assistant))

    assert response.status_code == 201
    body = response.json()
    session = Session.objects.for_org(org).get()
    assert set(body) == {
        "session_id",
        "ws_url",
        "ws_path",
        "output_sample_rate",
        "interruptions_enabled",
        "simulated",
        "simulated_providers",
        "session_url",
    }
    assert body["session_id"] == str(session.id)
    assert body["ws_url"] == f"ws://testserver/ws/sessions/{session.id}/"
    assert body["ws_path"] == f"/ws/sessions/{session.id}/"
    assert body["output_sample_rate"] == 22050
    assert body["interruptions_enabled"] is True
    assert body["session_url"] == f"/sessions/{session.id}/"
    assert session.channel == Session.Channel.WEB
    assert session.assistant == assistant
    assert session.metadata == {
        "source": "dashboard-test-chat",
        "started_by_user_id": member.user_id,
    }


def test_no_credential_reaches_the_page_or_the_endpoint(member_client, assistant, settings):
    settings.OPENAI_API_KEY = "sk-platform-secret-123"
    settings.ELEVENLABS_API_KEY = "xi-platform-secret-456"

    page = member_client.get(chat_url(assistant)).content.decode()
    answer = member_client.post(session_url(assistant))

    for text in (page, answer.content.decode()):
        assert "sk-platform-secret-123" not in text
        assert "xi-platform-secret-456" not in text
        assert "vp_sk_" not in text  # no organization API key
    assert "?" not in answer.json()["ws_url"]  # no WebSocket token: the login cookie does


def test_the_simulated_providers_are_announced(member_client, assistant, settings):
    settings.SIMULATED_PROVIDERS = ["openai", "elevenlabs"]

    page = member_client.get(chat_url(assistant)).content.decode()
    body = member_client.post(session_url(assistant)).json()

    assert "Simulated providers (openai, elevenlabs)" in page
    assert body["simulated"] is True
    assert body["simulated_providers"] == ["openai", "elevenlabs"]


def test_a_text_only_assistant_has_no_output_rate(member_client, org):
    silent = AssistantFactory(organization=org, voice_provider=Assistant.VoiceProvider.NONE)

    body = member_client.post(session_url(silent)).json()

    assert body["output_sample_rate"] is None
    assert "replies are text only" in member_client.get(chat_url(silent)).content.decode()


def test_an_archived_assistant_takes_no_new_conversation(member_client, assistant, org):
    assistant.archived_at = timezone.now()
    assistant.save()

    page = member_client.get(chat_url(assistant))
    refused = member_client.post(session_url(assistant))

    assert page.status_code == 200
    assert "This assistant has been deleted" in page.content.decode()
    assert 'id="chat-start" type="button" class="primary" disabled data-archived="true"' in (
        page.content.decode()
    )  # chat.js enables Start once wired, except for an archived assistant
    assert refused.status_code == 409
    assert refused.json() == {"error": "This assistant has been deleted."}
    assert not Session.objects.for_org(org).exists()


def test_an_outsider_gets_404_for_the_page_and_the_endpoint(outsider_client, assistant, org):
    assert outsider_client.get(chat_url(assistant)).status_code == 404
    assert outsider_client.post(session_url(assistant)).status_code == 404
    assert not Session.objects.for_org(org).exists()


def test_an_unknown_assistant_is_404(member_client, org):
    missing = "00000000-0000-0000-0000-000000000000"
    assert member_client.get(f"/assistants/{missing}/chat/").status_code == 404
    assert member_client.post(f"/assistants/{missing}/chat/session/").status_code == 404


def test_signing_in_is_required(assistant, org):
    anonymous = Client()

    page = anonymous.get(chat_url(assistant))
    endpoint = anonymous.post(session_url(assistant))

    assert page.status_code == 302 and page.url.startswith(reverse("account_login"))
    assert endpoint.status_code == 302 and endpoint.url.startswith(reverse("account_login"))
    assert not Session.objects.for_org(org).exists()


def test_the_endpoint_takes_only_post_with_a_csrf_token(member, assistant, org):
    client = Client(enforce_csrf_checks=True)
    client.force_login(member.user)

    assert client.get(session_url(assistant)).status_code == 405
    assert client.post(session_url(assistant)).status_code == 403
    assert not Session.objects.for_org(org).exists()
