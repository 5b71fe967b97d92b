"""PostgreSQL: a server process borrows its connections from a pool of DB_POOL_MAX_SIZE.

Under ASGI each HTTP request runs its sync code on a thread of its own; with persistent
connections each of those threads kept a server connection, and creating 200 sessions at once
ran PostgreSQL out of connections (500s). With the pool the count stays bounded.
"""

import asyncio

import httpx
import pytest
from channels.db import database_sync_to_async
from django.db import connection

from tests.config.test_settings import PRODUCTION, manage

REQUESTS = 80
IN_FLIGHT = 16
POOL_SIZE = 3


@database_sync_to_async
def connections_of_others() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


@database_sync_to_async
def allow_many_requests(org) -> None:
    org.api_rate_limit_per_minute = 10_000
    org.save()


async def test_concurrent_requests_share_the_pool(postgres, org, private_key, asgi_server):
    await allow_many_requests(org)
    ours = await connections_of_others()  # this test process's other connections
    server = asgi_server(DB_POOL_MAX_SIZE=str(POOL_SIZE))
    gate, seen = asyncio.Semaphore(IN_FLIGHT), []
    headers = {"Authorization": f"Bearer {private_key[1]}"}
    async with httpx.AsyncClient(base_url=server.http, headers=headers, timeout=30) as http:

        async def one() -> int:
            async with gate:
                response = await http.post("/api/v1/assistants/", json={"name": "Pooled"})
                seen.append(await connections_of_others())
                return response.status_code

        statuses = await asyncio.gather(*(one() for _ in range(REQUESTS)))

    assert statuses == [201] * REQUESTS
    assert max(seen) - ours <= POOL_SIZE


def test_persistent_connections_are_refused_with_postgresql():
    env = {**PRODUCTION, "DATABASE_URL": "postgres://u@127.0.0.1:5432/db", "CONN_MAX_AGE": "60"}
    result = manage("check", **env)
    assert result.returncode != 0
    assert "CONN_MAX_AGE must be 0 with PostgreSQL" in result.stderr


@pytest.mark.parametrize("size", ["0", "-1"])
def test_pool_size_must_be_positive(size):
    env = {**PRODUCTION, "DATABASE_URL": "postgres://u@127.0.0.1:5432/db", "DB_POOL_MAX_SIZE": size}
    result = manage("check", **env)
    assert result.returncode != 0
    assert "DB_POOL_MAX_SIZE must be a positive integer" in result.stderr
