import pytest

from tests.factories import AssistantFactory, SessionFactory


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
