"""The ASGI app end to end: /graphql over HTTP (GraphiQL in the browser), /health."""

from __future__ import annotations

import httpx

from db.database import Database
from server.app import create_app
from server.settings import Settings


def _client(db: Database, settings: Settings) -> httpx.AsyncClient:
    app = create_app(settings, db=db)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_graphql_over_http(db: Database, settings: Settings) -> None:
    async with _client(db, settings) as client:
        response = await client.post("/graphql", json={"query": '{ site(siteNumber: "0170") { name } }'})
    assert response.status_code == 200
    assert response.json() == {"data": {"site": {"name": "Gaylord Opryland Hotel"}}}


async def test_bad_input_over_http_is_a_graphql_error_not_a_500(db: Database, settings: Settings) -> None:
    query = "{ sites(filter: {bbox: [0, 0, 1]}) { totalCount } }"
    async with _client(db, settings) as client:
        response = await client.post("/graphql", json={"query": query})
    assert response.status_code == 200
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_masked_internal_errors_keep_user_errors(db: Database) -> None:
    settings = Settings(DATABASE_URL="postgresql+asyncpg://unused/unused", TOWNE_MASK_ERRORS=True)
    async with _client(db, settings) as client:
        response = await client.post("/graphql", json={"query": "{ sites(first: -1) { totalCount } }"})
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and "first" in error["message"]


async def test_graphiql_and_health(db: Database, settings: Settings) -> None:
    async with _client(db, settings) as client:
        page = await client.get("/graphql", headers={"accept": "text/html"})
        health = await client.get("/health")
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    assert health.json() == {"status": "ok"}
