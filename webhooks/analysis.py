"""The end-of-call report's summary and structured data, made by the assistant's own model.

An assistant asks for them in its ``metadata["analysis"]``::

    {"summary_prompt": "Summarize the call in two sentences.",
     "structured_data_schema": {"type": "object", "properties": {...}}}

Either key may be left out. The worker (``analyze_event``) calls the model through the
project's LLM client with the organization's credentials (else the platform's), before the
report is delivered. The structured data is the model's JSON answer, checked against the schema.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from uuid import UUID

import jsonschema
from jsonschema.exceptions import SchemaError

from assistants.models import Assistant
from integrations.credentials import credentials_for
from integrations.errors import ProviderError
from integrations.llm import TextDelta
from integrations.providers import ProviderCredentials, aclose_clients, build_llm

SUMMARY_SYSTEM = "You write the summary of a finished phone call from its transcript."
EXTRACT_SYSTEM = (
    "You extract data from the transcript of a finished phone call. Answer with one JSON value"
    " that matches this JSON schema, and nothing else:\n{schema}"
)
MAX_ANALYSIS_TOKENS = 1024


def analysis_settings(metadata: Any) -> dict[str, Any]:
    """The assistant's analysis settings ({} if none); raises ValueError if malformed."""
    settings = metadata.get("analysis") if isinstance(metadata, dict) else None
    if settings is None:
        return {}
    if not isinstance(settings, dict):
        raise ValueError("metadata.analysis must be an object")
    prompt = settings.get("summary_prompt")
    if prompt is not None and not isinstance(prompt, str):
        raise ValueError("metadata.analysis.summary_prompt must be a string")
    schema = settings.get("structured_data_schema")
    if schema is not None:
        if not isinstance(schema, dict):
            raise ValueError("metadata.analysis.structured_data_schema must be an object")
        try:
            jsonschema.validators.validator_for(schema).check_schema(schema)
        except SchemaError as exc:
            raise ValueError(f"structured_data_schema is not a JSON schema: {exc.message}") from exc
    return {"summary_prompt": prompt or "", "structured_data_schema": schema}


def wants_analysis(assistant: Assistant) -> bool:
    try:
        chosen = analysis_settings(assistant.metadata)
    except ValueError:
        return True  # the report says what is wrong with the settings
    return bool(chosen.get("summary_prompt") or chosen.get("structured_data_schema"))


def analyze_report(assistant_id: str, report: dict[str, Any]) -> dict[str, Any]:
    """``{"summary", "structured_data", "analysis_errors"}`` for the report (sync: the worker)."""
    assistant = Assistant.objects.unscoped().get(pk=UUID(assistant_id))
    try:
        chosen = analysis_settings(assistant.metadata)
    except ValueError as exc:
        return {"summary": None, "structured_data": None, "analysis_errors": [str(exc)]}
    creds = credentials_for(assistant.organization_id, assistant.model_provider)
    if creds is None:
        error = f"no credentials for {assistant.model_provider}"
        return {"summary": None, "structured_data": None, "analysis_errors": [error]}
    return asyncio.run(_analyze(assistant, creds, chosen, report["transcript"]))


async def _analyze(
    assistant: Assistant,
    creds: ProviderCredentials,
    chosen: dict[str, Any],
    transcript: list[dict[str, Any]],
) -> dict[str, Any]:
    result: dict[str, Any] = {"summary": None, "structured_data": None, "analysis_errors": []}
    conversation = "\n".join(f"{line['role']}: {line['content']}" for line in transcript)
    try:
        if chosen.get("summary_prompt"):
            prompt = f"{chosen['summary_prompt']}\n\nTranscript:\n{conversation}"
            result["summary"] = await _ask(assistant, creds, SUMMARY_SYSTEM, prompt)
        if chosen.get("structured_data_schema"):
            schema = chosen["structured_data_schema"]
            system = EXTRACT_SYSTEM.format(schema=json.dumps(schema))
            answer = await _ask(assistant, creds, system, f"Transcript:\n{conversation}")
            result["structured_data"] = _checked(answer, schema, result["analysis_errors"])
    except ProviderError as exc:
        result["analysis_errors"].append(f"{exc.provider}: {exc.code}")
    finally:
        await aclose_clients()
    return result


async def _ask(assistant: Assistant, creds: ProviderCredentials, system: str, user: str) -> str:
    llm = build_llm(assistant.model_provider, creds)
    parts = []
    async for event in llm.stream_chat(
        model=assistant.model_name,
        messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
        tools=None,
        temperature=0,
        max_tokens=MAX_ANALYSIS_TOKENS,
    ):
        if isinstance(event, TextDelta):
            parts.append(event.text)
    return "".join(parts).strip()


def _checked(answer: str, schema: dict[str, Any], errors: list[str]) -> Any:
    text = answer.removeprefix("```json").removeprefix("```").removesuffix("```").strip()
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        errors.append("structured data: the model's answer is not JSON")
        return None
    problem = jsonschema.exceptions.best_match(
        jsonschema.validators.validator_for(schema)(schema).iter_errors(data)
    )
    if problem is not None:
        errors.append(f"structured data does not match the schema: {problem.message}")
        return None
    return data
