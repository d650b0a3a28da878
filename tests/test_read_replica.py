"""`DATABASE_READ_URL` (issue 8): read-only requests read from the replica, requests with a mutation and a
caller's reads just after its own write from the primary.

The replica is stood in for by a second database on the same cluster, migrated and loaded with the real
data, where site 0349 has another name: whichever name a response shows says which database answered.
Both engines connect as the application role, so row scopes apply on the replica as on the primary.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from db.database import Database, empty_database
from db.repositories.users import Grants, upsert_user
from importer.run import ImportSummary, import_all
from server.app import PRIMARY_UNTIL, create_app
from server.settings import Settings
from tests.conftest import (
    ADMIN,
    REPO_ROOT,
    TEST_JWT_SECRET,
    TEST_SETTINGS,
    _create_database_if_missing,
    bearer,
    run_migrations,
)

PRIMARY_NAME = "Hilton Walt Disney World Resort"
REPLICA_NAME = "Hilton Walt Disney World Resort (replica)"
SCOPED = "replica-account-manager"  # a user of the replica only
NAME = '{ site(siteNumber: "0349") { name } }'
GENERATE = """mutation { generateStatement(siteNumber: "0349", servicePeriod: "2025-04") {
  __typename ... on StatementPayload { statement { id site { name } } } } }"""


@pytest.fixture(scope="session")
async def replica_url(database_url: str) -> str:
    """A database standing in for a streaming replica of the test database (built once per run)."""
    url = make_url(database_url).set(database=f"{make_url(database_url).database}_replica")
    rendered = url.render_as_string(hide_password=False)
    await _create_database_if_missing(rendered)
    engine = create_async_engine(rendered)
    try:
        async with engine.begin() as conn:
            await empty_database(conn)
            await conn.run_sync(run_migrations)
        database = Database(engine)
        async with database.transaction() as session:
            await import_all(session, REPO_ROOT / "data")
            await upsert_user(
                session, subject=ADMIN, grants=Grants(roles=("billingAdmin",)), granted_by="tests"
            )
            await upsert_user(
                session,
                subject=SCOPED,
                grants=Grants(roles=("accountManager",), site_numbers=("0349",)),
                granted_by="tests",
            )
            await session.execute(
                text("UPDATE customer_site SET name = :name WHERE site_number = '0349'"),
                {"name": REPLICA_NAME},
            )
    finally:
        await engine.dispose()
    return rendered


@pytest.fixture
async def client(
    database_url: str, replica_url: str, imported: ImportSummary, committing_db: Database
) -> AsyncIterator[httpx.AsyncClient]:
    """The app over both databases, as `create_app` builds it from the settings (the generated statement
    is deleted by `committing_db`'s teardown)."""
    settings = Settings(
        DATABASE_URL=database_url,
        DATABASE_READ_URL=replica_url,
        TOWNE_JWT_SECRET=TEST_JWT_SECRET,
        TOWNE_READ_YOUR_WRITES_S=30,
    )
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http,
    ):
        yield http


async def post(client: httpx.AsyncClient, query: str, **headers: str) -> httpx.Response:
    response = await client.post(
        "/graphql", json={"query": query}, headers={**bearer(TEST_SETTINGS), **headers}
    )
    assert response.status_code == 200, response.text
    return response


def data(response: httpx.Response) -> Any:
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


async def test_a_query_reads_from_the_replica(client: httpx.AsyncClient) -> None:
    response = await post(client, NAME)
    assert data(response) == {"site": {"name": REPLICA_NAME}}
    assert PRIMARY_UNTIL not in response.headers  # nothing was written


async def test_the_caller_is_identified_and_row_scopes_apply_on_the_replica(
    client: httpx.AsyncClient,
) -> None:
    scoped = await post(
        client,
        '{ sites(first: 5) { totalCount edges { node { name } } } other: site(siteNumber: "0170") { name } }',
        **bearer(TEST_SETTINGS, subject=SCOPED),
    )
    assert data(scoped) == {
        "sites": {"totalCount": 1, "edges": [{"node": {"name": REPLICA_NAME}}]},
        "other": None,
    }


async def test_a_mutation_and_the_callers_reads_after_it_go_to_the_primary(client: httpx.AsyncClient) -> None:
    written = await post(client, GENERATE)
    payload = data(written)["generateStatement"]
    assert payload["__typename"] == "StatementPayload", payload
    assert payload["statement"]["site"]["name"] == PRIMARY_NAME  # the mutation's own reads: the primary
    until = written.headers[PRIMARY_UNTIL]
    assert written.cookies[PRIMARY_UNTIL] == until
    statement = f'{{ statement(id: "{payload["statement"]["id"]}") {{ id }} }}'

    # the same client (its cookie jar) reads its write from the primary
    after = await post(client, statement[:-1] + NAME[1:].replace("site", "s: site", 1))
    assert data(after)["statement"] == {"id": payload["statement"]["id"]}
    assert data(after)["s"] == {"name": PRIMARY_NAME}

    # another client (no mark) reads the replica, which has not seen the write; a client without cookies
    # that sends the header back reads the primary
    client.cookies.clear()
    assert data(await post(client, statement)) == {"statement": None}
    assert data(await post(client, NAME, **{PRIMARY_UNTIL: until})) == {"site": {"name": PRIMARY_NAME}}


async def test_an_expired_or_far_future_mark_reads_from_the_replica(client: httpx.AsyncClient) -> None:
    now_ms = int(time.time() * 1000)
    for mark in (now_ms - 1, now_ms + 3_600_000, "soon"):
        response = await post(client, NAME, **{PRIMARY_UNTIL: str(mark)})
        assert data(response) == {"site": {"name": REPLICA_NAME}}, mark


def test_a_request_writes_when_its_document_has_a_mutation() -> None:
    from strawberry.http import GraphQLRequestData

    from server.app import writes

    def request(query: str) -> GraphQLRequestData:
        return GraphQLRequestData(query=query, variables=None, operation_name=None, extensions=None)

    assert writes(request(GENERATE), TEST_SETTINGS)
    assert writes(request("query A { sites { totalCount } }\nmutation B { x }"), TEST_SETTINGS)
    assert not writes(request(NAME), TEST_SETTINGS)
    assert not writes(request('{ site(siteNumber: "mutation") { name } }'), TEST_SETTINGS)
    assert not writes(request("mutation {"), TEST_SETTINGS)  # refused before it runs
