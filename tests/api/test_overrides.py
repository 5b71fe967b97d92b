"""POST /api/v1/sessions/ with overrides: validated, stored with the session, and used when the
session runs (the model sees the filled prompt; the greeting is the caller's)."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from sessions.models import Session
from tests.api.conftest import error_of
from tests.factories import AssistantFactory
from tests.sessions.live import LiveClient

SESSIONS = "/api/v1/sessions/"
PROMPT = "You help {{name}} with order {{ order }}. Unknown stays: {{not_sent}}."


def start(api, assistant, **body):
    return api.post(SESSIONS, {"assistant_id": str(assistant.id), **body}, format="json")


def test_overrides_are_stored_with_the_session(api, assistant):
    response = start(
        api,
        assistant,
        metadata={"crm_id": "c-1", "source": "web"},
        overrides={
            "first_message": "Hi {{name}}!",
            "variables": {"name": "Ada", "order": "42"},
            "metadata": {"source": "campaign"},
        },
    )
    assert response.status_code == 201, response.json()
    assert response.json()["metadata"] == {
        "crm_id": "c-1",
        "source": "campaign",  # the overrides' metadata wins
        "overrides": {"first_message": "Hi {{name}}!", "variables": {"name": "Ada", "order": "42"}},
    }
    stored = Session.objects.unscoped().get(pk=response.json()["id"])
    assert stored.metadata == response.json()["metadata"]


def test_no_overrides_leaves_the_metadata_alone(api, assistant):
    response = start(api, assistant, metadata={"a": 1})
    assert response.json()["metadata"] == {"a": 1}
    assert start(api, assistant, overrides={}).json()["metadata"] == {}


INVALID = [
    ({"variables": {"name": 5}}, ["overrides", "variables"], "must be a string"),
    ({"variables": {"bad name": "x"}}, ["overrides", "variables"], "a name is a letter"),
    ({"variables": {"v": "x" * 1001}}, ["overrides", "variables"], "at most 1000"),
    (
        {"variables": {f"v{n}": "x" for n in range(51)}},
        ["overrides", "variables"],
        "At most 50",
    ),
    ({"variables": ["a"]}, ["overrides", "variables"], "Must be a JSON object"),
    ({"first_message": "x" * 2001}, ["overrides", "first_message"], "at most 2000"),
    ({"first_message": 5}, ["overrides", "first_message"], "Not a valid string"),
    ({"metadata": "x"}, ["overrides", "metadata"], "Must be a JSON object"),
    ({"metadata": 49896175}, ["overrides", "metadata"], "Must be a JSON object"),
    ({"metadata": {"overrides": {}}}, ["overrides", "metadata"], "is reserved"),
    ({"voice": "x"}, ["overrides", "voice"], "Unknown field"),
]


@pytest.mark.parametrize(("overrides", "where", "message"), INVALID, ids=[i[2] for i in INVALID])
def test_invalid_overrides_are_field_errors(api, assistant, overrides, where, message):
    response = start(api, assistant, overrides=overrides)
    assert response.status_code == 400
    errors = error_of(response)["fields"]
    for key in where:
        errors = errors[key]
    assert message in " ".join(errors)
    assert not Session.objects.unscoped().exists()


def test_metadata_may_not_smuggle_overrides(api, assistant):
    response = start(api, assistant, metadata={"overrides": {"first_message": "x" * 5000}})
    assert response.status_code == 400
    assert "is reserved" in error_of(response)["fields"]["metadata"][0]


@pytest.fixture
def prompted(providers, org):
    return AssistantFactory(
        organization=org,
        system_prompt=PROMPT,
        first_message="Hello {{name}}, this is the assistant's greeting.",
        voice_output_format="pcm_16000",
    )


@pytest.mark.django_db(transaction=True)
async def test_a_live_session_greets_and_prompts_with_the_overrides(api, providers, prompted):
    providers.script_chat({"text": "Order 42 has shipped."})
    overrides = {"first_message": "Hi {{name}}!", "variables": {"name": "Ada", "order": "42"}}
    response = await _start_async(api, prompted, overrides=overrides)
    client = LiveClient.for_session(response["id"])
    await client.connect()
    greeting = await client.expect("assistant-message")
    assert greeting["content"] == "Hi Ada!"
    await client.send(type="user-message", content="Where is it?")
    reply = await client.expect("assistant-message")
    while reply["content"] != "Order 42 has shipped.":  # the greeting cut short comes first
        reply = await client.expect("assistant-message")
    [request] = providers.requests(path="/v1/chat/completions")
    system = request["body"]["messages"][0]
    assert system == {
        "role": "system",
        "content": "You help Ada with order 42. Unknown stays: {{not_sent}}.",
    }
    await client.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_variables_fill_the_assistants_own_first_message(api, providers, prompted):
    response = await _start_async(api, prompted, overrides={"variables": {"name": "Grace"}})
    client = LiveClient.for_session(response["id"])
    await client.connect()
    greeting = await client.expect("assistant-message")
    assert greeting["content"] == "Hello Grace, this is the assistant's greeting."
    await client.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_an_empty_first_message_means_no_greeting(api, providers, prompted):
    response = await _start_async(api, prompted, overrides={"first_message": ""})
    client = LiveClient.for_session(response["id"])
    await client.connect()
    assert await client.no_more_output(0.5)
    await client.disconnect()


@pytest.mark.django_db(transaction=True)
def test_a_text_turn_uses_the_filled_prompt(api, providers, prompted):
    providers.script_chat({"text": "Done."})
    session = start(api, prompted, overrides={"variables": {"name": "Ada", "order": "7"}}).json()
    turn = api.post(f"{SESSIONS}{session['id']}/messages/", {"content": "Hi"}, format="json")
    assert turn.status_code == 201, turn.json()
    [request] = providers.requests(path="/v1/chat/completions")
    assert request["body"]["messages"][0]["content"] == (
        "You help Ada with order 7. Unknown stays: {{not_sent}}."
    )


async def _start_async(api, assistant, **body) -> dict:
    response = await sync_to_async(start)(api, assistant, **body)
    assert response.status_code == 201, response.json()
    return response.json()
