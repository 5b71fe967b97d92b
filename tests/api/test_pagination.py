"""Cursor pagination on every list: stable pages, ?page_size= up to 200, newest first
(transcripts in sequence order)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.factories import ApiKeyFactory, AssistantFactory, MessageFactory, SessionFactory


def walk(client, url: str, **params) -> list[list[str]]:
    """Every page's ids, following `next` links."""
    pages, response = [], client.get(url, params)
    while True:
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"next", "previous", "results"}
        pages.append([item["id"] for item in body["results"]])
        if not body["next"]:
            return pages
        response = client.get(body["next"])


@pytest.mark.parametrize(
    ("url", "make"),
    [
        ("/api/v1/assistants/", lambda org: AssistantFactory(organization=org)),
        ("/api/v1/sessions/", lambda org: SessionFactory(assistant__organization=org)),
        ("/api/v1/api-keys/", lambda org: ApiKeyFactory.with_secret(organization=org)[0]),
    ],
)
def test_lists_page_through_everything_newest_first(api, org, url, make):
    made = [make(org) for _ in range(7)]
    expected = [str(obj.id) for obj in made]
    if url == "/api/v1/api-keys/":
        expected.insert(0, str(org.api_keys.exclude(pk__in=[o.pk for o in made]).get().pk))
    pages = walk(api, url, page_size=3)
    sizes = [3, 3, len(expected) - 6]  # 7 made, plus the client's own key on /api-keys/
    assert [len(page) for page in pages] == sizes
    assert [item for page in pages for item in page] == list(reversed(expected))


def test_transcript_pages_follow_the_sequence(api, session):
    for sequence in (5, 3, 1, 4, 2):
        MessageFactory(session=session, sequence=sequence)
    pages = walk(api, f"/api/v1/sessions/{session.id}/messages/", page_size=2)
    assert [len(page) for page in pages] == [2, 2, 1]
    sequences = [
        m["sequence"]
        for m in api.get(f"/api/v1/sessions/{session.id}/messages/", {"page_size": 5}).json()[
            "results"
        ]
    ]
    assert sequences == [1, 2, 3, 4, 5]


def test_previous_links_go_back(api, org):
    for _ in range(4):
        AssistantFactory(organization=org)
    first = api.get("/api/v1/assistants/", {"page_size": 2}).json()
    second = api.get(first["next"]).json()
    assert api.get(second["previous"]).json()["results"] == first["results"]


def test_filters_survive_in_the_next_link(api, assistant):
    for _ in range(3):
        SessionFactory(assistant=assistant, status="ended")
    SessionFactory(assistant=assistant, status="active")
    body = api.get("/api/v1/sessions/", {"status": "ended", "page_size": 2}).json()
    assert parse_qs(urlsplit(body["next"]).query)["status"] == ["ended"]
    assert len(api.get(body["next"]).json()["results"]) == 1


def test_page_size_is_capped_at_200(api, org):
    AssistantFactory.create_batch(201, organization=org)
    body = api.get("/api/v1/assistants/", {"page_size": 1000}).json()
    assert len(body["results"]) == 200
    assert body["next"]


def test_default_page_size_is_50(api, org):
    AssistantFactory.create_batch(51, organization=org)
    assert len(api.get("/api/v1/assistants/").json()["results"]) == 50
