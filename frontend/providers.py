"""What the assistant builder asks the providers: the models and voices an organization may
pick, and a short spoken sample of a voice.

Every call uses the organization's own credentials, else the platform's (``credentials_for``,
as a live session does), so a member only ever lists or spends what their organization may.
The lists are cached per organization and provider for a few minutes: the builder is opened
far more often than an account's models or voices change. A provider that cannot answer
gives a catalog with a ``problem`` (also cached, briefly, so a page does not wait for a dead
provider on every load); the builder then offers a free text input instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import openai
from asgiref.sync import async_to_sync
from django.core.cache import cache
from elevenlabs.core.api_error import ApiError
from elevenlabs.core.parse_error import ParsingError

from assistants.models import Organization
from integrations.credentials import credentials_for
from integrations.elevenlabs.client import elevenlabs_client, map_elevenlabs_error
from integrations.errors import ProviderError
from integrations.openai.client import map_openai_error, openai_client
from integrations.providers import ProviderCredentials, build_tts
from integrations.stt import pcm16_to_wav
from integrations.tts import audio_format_for

CATALOG_TTL_S = 300
FAILED_CATALOG_TTL_S = 30
CATALOG_TIMEOUT_S = 5.0
VOICE_PAGE_SIZE = 100  # the most voices.search returns at once
MAX_VOICE_PAGES = 5
PROVIDER_LABELS = {"openai": "OpenAI", "elevenlabs": "ElevenLabs"}
# Families of OpenAI models that cannot hold a conversation. An OpenAI-compatible server's
# models (llama3, qwen2.5, ...) match none of these and are all offered.
NOT_CHAT_MODELS = (
    "babbage",
    "dall-e",
    "davinci",
    "embedding",
    "image",
    "moderation",
    "realtime",
    "transcribe",
    "tts",
    "whisper",
)

PREVIEW_TEXT = "Hello! This is how I sound. How can I help you today?"
MAX_PREVIEW_CHARS = 300


@dataclass(frozen=True)
class Catalog:
    """Choices for a picker, or why there are none (``problem``, safe to show)."""

    choices: tuple[tuple[str, str], ...] = ()
    problem: str = ""

    @property
    def available(self) -> bool:
        return not self.problem


def model_catalog(organization: Organization) -> Catalog:
    """The chat models the organization's OpenAI account offers."""
    return _catalog(organization, "openai", _openai_models)


def voice_catalog(organization: Organization) -> Catalog:
    """The voices of the organization's ElevenLabs account (its own and the premade ones)."""
    return _catalog(organization, "elevenlabs", _elevenlabs_voices)


def forget_catalogs(organization: Organization) -> None:
    """List again on next use (e.g. after the organization's credentials changed)."""
    cache.delete_many([_cache_key(organization, provider) for provider in PROVIDER_LABELS])


def cached_voice_names(organization: Organization) -> dict[str, str]:
    """Voice id to label of a voice list already fetched; never asks the provider, so the
    assistants list stays fast (it shows ids until the builder has listed the voices)."""
    cached = cache.get(_cache_key(organization, "elevenlabs"))
    return dict(cached[0]) if cached else {}


Lister = Callable[[ProviderCredentials], Awaitable[list[tuple[str, str]]]]


def _cache_key(organization: Organization, provider: str) -> str:
    return f"dashboard:catalog:{organization.pk}:{provider}"


def _catalog(organization: Organization, provider: str, lister: Lister) -> Catalog:
    key = _cache_key(organization, provider)
    cached = cache.get(key)
    if cached is not None:
        return Catalog(*cached)
    catalog = _fetch(organization, provider, lister)
    ttl = CATALOG_TTL_S if catalog.available else FAILED_CATALOG_TTL_S
    cache.set(key, (catalog.choices, catalog.problem), ttl)
    return catalog


def _fetch(organization: Organization, provider: str, lister: Lister) -> Catalog:
    label = PROVIDER_LABELS[provider]
    credentials = credentials_for(organization.pk, provider)
    if credentials is None:
        return Catalog(problem=f"No {label} credentials are set up, so the list is unavailable.")
    try:
        choices = async_to_sync(lister)(credentials)
    except ProviderError as exc:
        return Catalog(problem=f"{label} did not answer with its list ({exc.code}: {exc.message}).")
    if not choices:
        return Catalog(problem=f"{label} listed nothing to choose from.")
    return Catalog(tuple(choices))


async def _openai_models(credentials: ProviderCredentials) -> list[tuple[str, str]]:
    client = openai_client(credentials.api_key, credentials.base_url, CATALOG_TIMEOUT_S)
    try:
        page = await client.models.list()
        ids = [model.id async for model in page]
    except openai.OpenAIError as exc:
        raise map_openai_error(exc, credentials.api_key) from exc
    finally:
        await client.close()
    return [(model_id, model_id) for model_id in sorted(set(ids)) if is_chat_model(model_id)]


def is_chat_model(model_id: str) -> bool:
    return not any(family in model_id.lower() for family in NOT_CHAT_MODELS)


async def _elevenlabs_voices(credentials: ProviderCredentials) -> list[tuple[str, str]]:
    http, client = elevenlabs_client(credentials.api_key, credentials.base_url, CATALOG_TIMEOUT_S)
    voices: list[Any] = []
    token: str | None = None
    try:
        for _ in range(MAX_VOICE_PAGES):
            page = await client.voices.search(page_size=VOICE_PAGE_SIZE, next_page_token=token)
            voices += page.voices
            if not page.has_more or not page.next_page_token:
                break
            token = page.next_page_token
    except (ApiError, httpx.HTTPError) as exc:
        raise map_elevenlabs_error(exc, credentials.api_key) from exc
    except ParsingError as exc:
        raise ProviderError(
            "elevenlabs", "unavailable", "unreadable voice list", retryable=True
        ) from exc
    finally:
        await http.aclose()
    voices.sort(key=lambda voice: ((voice.name or "").lower(), voice.voice_id))
    return [(voice.voice_id, voice_label(voice)) for voice in voices]


def voice_label(voice: Any) -> str:
    """ "Rachel (female, american, premade)": enough to tell voices apart in a list."""
    labels = voice.labels or {}
    details = [labels.get("gender"), labels.get("accent"), voice.category]
    described = ", ".join(str(detail) for detail in details if detail)
    name = voice.name or voice.voice_id
    return f"{name} ({described})" if described else name


# ---------------------------------------------------------------- voice preview


class PreviewUnavailable(Exception):
    """The sample cannot be made; the message says why and is safe to show."""


def voice_preview_wav(
    *,
    organization: Organization,
    voice_id: str,
    model_id: str,
    voice_settings: dict[str, Any],
    output_format: str,
    text: str = "",
) -> bytes:
    """A short sample of the voice as a WAV file, spoken through the runtime's TTS client."""
    credentials = credentials_for(organization.pk, "elevenlabs")
    if credentials is None:
        raise PreviewUnavailable("No ElevenLabs credentials are set up, so there is no voice.")
    audio_format = audio_format_for(output_format)
    if audio_format.encoding != "pcm_s16le":
        raise PreviewUnavailable(f"Previews need a PCM output format, not {output_format}.")
    speak = async_to_sync(_speak)
    try:
        pcm = speak(
            credentials,
            text=(text.strip() or PREVIEW_TEXT)[:MAX_PREVIEW_CHARS],
            voice_id=voice_id,
            model_id=model_id,
            voice_settings=voice_settings,
            output_format=audio_format,
        )
    except ProviderError as exc:
        raise PreviewUnavailable(
            f"ElevenLabs could not speak ({exc.code}: {exc.message})."
        ) from exc
    return pcm16_to_wav(pcm, audio_format.sample_rate)


async def _speak(credentials: ProviderCredentials, **request: Any) -> bytes:
    tts = build_tts("elevenlabs", credentials)  # the live runtime's client, for this loop
    return b"".join([chunk async for chunk in tts.stream_speech(**request)])
