"""Turn an assistant's configuration into live provider clients for one session."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from django.conf import settings

from assistants.models import Assistant
from integrations.providers import (
    BATCH_FALLBACK_MODELS,
    ProviderCredentials,
    build_llm,
    build_streaming_stt,
    build_stt,
    build_tts,
    streams_speech,
)
from integrations.stt import StreamingSTTClient, STTClient
from integrations.tts import audio_format_for
from sessions.runtime import store
from sessions.runtime.speech import Voice
from sessions.runtime.store import SessionContext
from sessions.runtime.tools import EnabledTools
from sessions.runtime.turn import TurnConfig

Credentials = dict[str, ProviderCredentials | None]


@dataclass
class SessionProviders:
    turn: TurnConfig
    stt: Callable[[], STTClient] | None  # looked up at each use, as TurnConfig.llm
    transcriber_model: str
    language: str
    transcriber_provider: str = "openai"
    # Realtime transcription, when the assistant streams speech (else None).
    streaming_stt: Callable[[], StreamingSTTClient] | None = None
    batch_model: str = ""  # the batch model: the transcriber's, or the stream's fallback


async def session_providers(context: SessionContext, *, with_voice: bool) -> SessionProviders:
    assistant = context.assistant
    creds = await store.provider_credentials(assistant)
    llm_creds = creds.get(assistant.model_provider)
    return SessionProviders(
        turn=TurnConfig(
            session_id=context.session_id,
            organization_id=context.organization_id,
            assistant_id=assistant.id,
            llm=partial(build_llm, assistant.model_provider, llm_creds) if llm_creds else None,
            model=assistant.model_name,
            temperature=assistant.temperature,
            max_tokens=assistant.max_tokens,
            voice=_voice(assistant, creds) if with_voice else None,
            tools=EnabledTools.for_session(context),
            end_call_phrases=list(assistant.end_call_phrases),
            llm_provider=assistant.model_provider,
            first_token_timeout=settings.LLM_FIRST_TOKEN_TIMEOUT_SECONDS,
        ),
        stt=_stt(assistant, creds),
        transcriber_model=assistant.transcriber_model,
        language=assistant.language,
        transcriber_provider=assistant.transcriber_provider,
        streaming_stt=_streaming_stt(assistant, creds),
        batch_model=_batch_model(assistant),
    )


def _streams(assistant: Assistant) -> bool:
    streaming = assistant.transcriber_mode == Assistant.TranscriberMode.STREAMING
    return streaming and streams_speech(assistant.transcriber_provider)


def _streaming_stt(
    assistant: Assistant, creds: Credentials
) -> Callable[[], StreamingSTTClient] | None:
    stt_creds = creds.get(assistant.transcriber_provider)
    if not _streams(assistant) or stt_creds is None:
        return None
    client = build_streaming_stt(assistant.transcriber_provider, stt_creds)
    return lambda: client


def _batch_model(assistant: Assistant) -> str:
    if _streams(assistant):
        return BATCH_FALLBACK_MODELS[assistant.transcriber_provider]
    return assistant.transcriber_model


def _voice(assistant: Assistant, creds: Credentials) -> Voice | None:
    tts_creds = creds.get(assistant.voice_provider)
    if assistant.voice_provider == Assistant.VoiceProvider.NONE or tts_creds is None:
        return None
    return Voice(
        tts=partial(build_tts, assistant.voice_provider, tts_creds),
        voice_id=assistant.voice_id,
        model_id=assistant.voice_model,
        settings=dict(assistant.voice_settings),
        output_format=audio_format_for(assistant.voice_output_format),
    )


def _stt(assistant: Assistant, creds: Credentials) -> Callable[[], STTClient] | None:
    stt_creds = creds.get(assistant.transcriber_provider)
    return partial(build_stt, assistant.transcriber_provider, stt_creds) if stt_creds else None
