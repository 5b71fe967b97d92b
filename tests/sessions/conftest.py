import pytest

from integrations.providers import clear_client_cache
from tests.factories import AssistantFactory, SessionFactory


@pytest.fixture
def providers(settings, sims):
    """Point the platform's provider settings at the local simulators."""
    settings.OPENAI_API_KEY = "sk-sim-openai-secret"
    settings.OPENAI_BASE_URL = sims.openai_base_url
    settings.ELEVENLABS_API_KEY = "xi-sim-elevenlabs-secret"
    settings.ELEVENLABS_BASE_URL = sims.elevenlabs_base_url
    clear_client_cache()  # clients belong to the event loop that made them
    yield sims
    clear_client_cache()


@pytest.fixture
def assistant(transactional_db, org):
    return AssistantFactory(
        organization=org,
        first_message="",
        voice_output_format="pcm_16000",
        tools=[{"name": "current_time"}, {"name": "end_session"}],
    )


@pytest.fixture
def session(assistant):
    return SessionFactory(assistant=assistant)
