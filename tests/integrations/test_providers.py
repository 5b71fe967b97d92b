"""Provider factories: names, credentials from settings, and client reuse."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from django.test import override_settings

from integrations import providers
from integrations.elevenlabs.stt import ElevenLabsSTT
from integrations.elevenlabs.tts import ElevenLabsTTS
from integrations.openai.llm import OpenAILLM
from integrations.openai.stt import OpenAISTT
from integrations.providers import (
    ProviderCredentials,
    aclose_clients,
    build_llm,
    build_stt,
    build_tts,
    default_credentials,
)

CREDS = ProviderCredentials(api_key="sk-test-secret-value", base_url="http://127.0.0.1:9/v1")


@pytest.fixture(autouse=True)
async def _own_clients() -> AsyncIterator[None]:
    yield
    await aclose_clients()


async def test_builds_each_kind_by_provider_name():
    assert isinstance(build_llm("openai", CREDS), OpenAILLM)
    assert isinstance(build_tts("elevenlabs", CREDS), ElevenLabsTTS)
    assert isinstance(build_stt("openai", CREDS), OpenAISTT)
    assert isinstance(build_stt("elevenlabs", CREDS), ElevenLabsSTT)


@pytest.mark.parametrize(
    ("build", "provider"),
    [(build_llm, "elevenlabs"), (build_tts, "openai"), (build_stt, "azure")],
)
async def test_unknown_provider_is_a_value_error(build, provider):
    with pytest.raises(ValueError, match=provider):
        build(provider, CREDS)


async def test_clients_are_reused_per_credentials():
    other = ProviderCredentials(api_key="sk-test-other-value", base_url=CREDS.base_url)

    assert build_llm("openai", CREDS) is build_llm("openai", CREDS)
    assert build_llm("openai", CREDS) is not build_llm("openai", other)


async def test_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(providers, "CACHE_SIZE", 2)
    first = build_llm("openai", CREDS)
    for n in range(2):
        build_llm("openai", ProviderCredentials(api_key=f"sk-test-{n}", base_url=None))

    assert build_llm("openai", CREDS) is not first


def test_clients_belong_to_the_loop_that_uses_them():
    with pytest.raises(RuntimeError, match="event loop"):
        build_llm("openai", CREDS)


async def test_each_loop_has_its_own_clients():
    here = build_llm("openai", CREDS)

    elsewhere = await asyncio.to_thread(asyncio.run, _build_and_close())

    assert elsewhere is not here


async def _build_and_close() -> object:
    client = build_llm("openai", CREDS)
    await aclose_clients()
    return client


def test_credentials_repr_hides_the_key():
    assert "sk-test-secret-value" not in repr(CREDS)


@override_settings(OPENAI_API_KEY="sk-from-settings", OPENAI_BASE_URL="")
def test_default_credentials_from_settings():
    assert default_credentials("openai") == ProviderCredentials("sk-from-settings", None)


@override_settings(ELEVENLABS_API_KEY="", ELEVENLABS_BASE_URL="")
def test_default_credentials_none_when_unset():
    assert default_credentials("elevenlabs") is None


def test_default_credentials_unknown_provider():
    with pytest.raises(ValueError, match="nope"):
        default_credentials("nope")
