"""The simulators' model and voice lists, read through the official SDKs."""

from __future__ import annotations

import aiohttp
import pytest
from elevenlabs.client import AsyncElevenLabs
from elevenlabs.core.api_error import ApiError
from openai import AsyncOpenAI


async def test_openai_models_list_through_the_sdk(sims):
    client = AsyncOpenAI(api_key="sk-test", base_url=sims.openai_base_url, max_retries=0)
    try:
        page = await client.models.list()
        ids = [model.id async for model in page]
    finally:
        await client.close()

    assert {"gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "whisper-1"} <= set(ids)
    assert all(model.object == "model" and model.owned_by for model in page.data)
    assert sims.requests(path="/v1/models")[0]["method"] == "GET"


async def test_openai_models_need_a_key(sims):
    async with aiohttp.ClientSession() as http:  # the SDK itself refuses to send no key
        response = await http.get(f"{sims.openai_base_url}/models")
        body = await response.json()

    assert response.status == 401
    assert "API key" in body["error"]["message"]


async def test_elevenlabs_voices_search_through_the_sdk(sims):
    client = AsyncElevenLabs(api_key="sk_test", base_url=sims.elevenlabs_base_url)

    found = await client.voices.search(page_size=100)

    rachel = next(voice for voice in found.voices if voice.voice_id == "21m00Tcm4TlvDq8ikWAM")
    assert rachel.name == "Rachel" and rachel.category == "premade"
    assert rachel.labels and rachel.labels["gender"] == "female"
    assert found.has_more is False and found.total_count == len(found.voices) >= 4
    assert sims.requests(path="/v2/voices")[0]["query"]["page_size"] == "100"


async def test_elevenlabs_voices_page_and_search(sims):
    client = AsyncElevenLabs(api_key="sk_test", base_url=sims.elevenlabs_base_url)

    first = await client.voices.search(page_size=2)
    second = await client.voices.search(page_size=2, next_page_token=first.next_page_token)
    deep = await client.voices.search(search="DEEP")

    assert first.has_more and len(first.voices) == 2
    assert {v.voice_id for v in first.voices}.isdisjoint(v.voice_id for v in second.voices)
    assert {v.name for v in deep.voices} == {"Adam", "Josh"}


async def test_elevenlabs_voices_refuse_a_page_too_large_and_a_missing_key(sims):
    client = AsyncElevenLabs(api_key="sk_test", base_url=sims.elevenlabs_base_url)
    with pytest.raises(ApiError) as too_large:
        await client.voices.search(page_size=500)
    keyless = AsyncElevenLabs(api_key="", base_url=sims.elevenlabs_base_url)
    with pytest.raises(ApiError) as denied:
        await keyless.voices.search()

    assert too_large.value.status_code == 422
    assert denied.value.status_code == 401
