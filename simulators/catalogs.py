"""What the simulated accounts hold: OpenAI's model list and ElevenLabs' voices.

Real ids, so an assistant configured against the simulators works against the real services.
"""

from __future__ import annotations

from typing import Any

MODEL_CREATED = 1_715_367_049  # a fixed time: the list is the same on every run

OPENAI_MODELS = (
    ("gpt-4.1", "system"),
    ("gpt-4.1-mini", "system"),
    ("gpt-4.1-nano", "system"),
    ("gpt-4o", "system"),
    ("gpt-4o-mini", "system"),
    ("gpt-4o-mini-transcribe", "system"),
    ("gpt-4o-transcribe", "system"),
    ("o4-mini", "system"),
    ("text-embedding-3-small", "system"),
    ("tts-1", "openai-internal"),
    ("whisper-1", "openai-internal"),
)


def openai_model_list() -> dict[str, Any]:
    """``GET /v1/models``: every model of the account, in the order the API happens to send."""
    data = [
        {"id": model_id, "object": "model", "created": MODEL_CREATED, "owned_by": owner}
        for model_id, owner in OPENAI_MODELS
    ]
    return {"object": "list", "data": data}


def _voice(voice_id: str, name: str, **labels: str) -> dict[str, Any]:
    return {
        "voice_id": voice_id,
        "name": name,
        "category": "premade",
        "labels": labels,
        "description": labels.get("descriptive", ""),
        "preview_url": None,
        "settings": None,
        "is_owner": False,
        "is_legacy": False,
    }


ELEVENLABS_VOICES = (
    _voice(
        "21m00Tcm4TlvDq8ikWAM",
        "Rachel",
        accent="american",
        gender="female",
        age="young",
        descriptive="calm",
        use_case="narration",
    ),
    _voice(
        "pNInz6obpgDQGcFmaJgB",
        "Adam",
        accent="american",
        gender="male",
        age="middle_aged",
        descriptive="deep",
        use_case="narration",
    ),
    _voice(
        "EXAVITQu4vr4xnSDxMaL",
        "Sarah",
        accent="american",
        gender="female",
        age="young",
        descriptive="soft",
        use_case="news",
    ),
    _voice(
        "ErXwobaYiN019PkySvjV",
        "Antoni",
        accent="american",
        gender="male",
        age="young",
        descriptive="well-rounded",
        use_case="narration",
    ),
    _voice(
        "TxGEqnHWrfWFTfGW9XjX",
        "Josh",
        accent="american",
        gender="male",
        age="young",
        descriptive="deep",
        use_case="narration",
    ),
    _voice(
        "XB0fDUnXU5powFXDhCwa",
        "Charlotte",
        accent="swedish",
        gender="female",
        age="young",
        descriptive="seductive",
        use_case="characters",
    ),
)


def elevenlabs_voice_page(*, search: str, page_size: int, offset: int) -> dict[str, Any]:
    """``GET /v2/voices``: voices whose name, description, labels or category match
    ``search``, one page from ``offset``; the next page's token is its offset."""
    needle = search.strip().lower()
    matching = [
        voice
        for voice in ELEVENLABS_VOICES
        if not needle
        or needle
        in " ".join(
            [voice["name"], voice["description"], voice["category"], *voice["labels"].values()]
        ).lower()
    ]
    page = matching[offset : offset + page_size]
    has_more = offset + page_size < len(matching)
    return {
        "voices": page,
        "has_more": has_more,
        "total_count": len(matching),
        "next_page_token": str(offset + page_size) if has_more else None,
    }
