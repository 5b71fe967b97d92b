"""Create the benchmark's tenant in the bench database; prints its API key and assistant id.

Run by the benchmark as ``python -m bench.seed`` with the bench environment (never by hand:
DATABASE_URL then points at the throwaway bench database).
"""

from __future__ import annotations

import json

import django


def main() -> None:
    django.setup()
    from assistants import services

    organization = services.organization_create(name="Benchmark")
    organization.max_concurrent_sessions = 1_000
    organization.api_rate_limit_per_minute = 1_000_000
    organization.save(update_fields=["max_concurrent_sessions", "api_rate_limit_per_minute"])
    _, api_key = services.api_key_create(organization=organization, name="benchmark")
    assistant = services.assistant_create(
        organization=organization,
        name="Benchmark assistant",
        system_prompt="You are a helpful voice assistant. Answer in a few short sentences.",
        first_message="",  # text turns only: a greeting would be an extra turn per connection
        voice_output_format="pcm_16000",
        silence_timeout_seconds=3_600,  # sessions wait idle between phases of the run
        max_duration_seconds=43_200,
    )
    print(json.dumps({"api_key": api_key, "assistant_id": str(assistant.id)}))


if __name__ == "__main__":
    main()
