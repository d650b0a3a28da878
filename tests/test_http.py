"""The ASGI app end to end: /graphql over HTTP (GraphiQL in the browser), /healthz and /readyz."""

from __future__ import annotations

import httpx

from db.database import Database
from server.app import create_app
from server.settings import Settings
from tests.conftest import bearer, context_for


def _client(db: Database, settings: Settings) -> httpx.AsyncClient:
    app = create_app(settings, db=db)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers=bearer(settings)
    )


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


async def test_masked_internal_errors_keep_user_errors(db: Database, settings: Settings) -> None:
    async with _client(db, settings) as client:
        response = await client.post("/graphql", json={"query": "{ sites(first: -1) { totalCount } }"})
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and "first" in error["message"]


async def test_graphiql_and_health(db: Database, settings: Settings) -> None:
    from server.app import migrations_head

    async with _client(db, settings) as client:
        page = await client.get("/graphql", headers={"accept": "text/html"})
        live = await client.get("/healthz")
        ready = await client.get("/readyz")
        alias = await client.get("/health")
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    assert live.status_code == 200 and live.json() == {"status": "ok"}
    assert ready.status_code == 200 and ready.json() == {"status": "ok", "migration": migrations_head()}
    assert alias.json() == ready.json()


async def test_gl_export_download(db: Database, settings: Settings) -> None:
    from sqlalchemy import text

    from resolvers import statements as service

    async with db.transaction() as session:
        await session.execute(
            text(
                "DELETE FROM forecast_internal_revenue WHERE site_id = "
                "(SELECT id FROM customer_site WHERE site_number = '0349')"
            )
        )
    import billing

    ctx = await context_for(db, settings)
    done = await service.generate_statement(
        ctx, site_number="0349", service_period=billing.ServicePeriod.parse("2025-04")
    )
    async with _client(db, settings) as client:
        unsent = await client.get(f"/statements/{done.statement_id}/gl-export.csv")
        await service.mark_sent(ctx, statement_id=done.statement_id)
        sent = await client.get(f"/statements/{done.statement_id}/gl-export.csv")
        missing = await client.get("/statements/00000000-0000-0000-0000-000000000000/gl-export.csv")
        bad = await client.get("/statements/nope/gl-export.csv")
    assert unsent.status_code == 409 and unsent.json()["code"] == "TRANSITION_NOT_ALLOWED"
    assert sent.status_code == 200 and sent.headers["content-type"].startswith("text/csv")
    assert "attachment" in sent.headers["content-disposition"]
    assert "02-03-1009-4700-0349" in sent.text
    assert (missing.status_code, bad.status_code) == (404, 400)


async def test_gl_export_of_a_replaced_version_names_the_current_one(
    db: Database, settings: Settings
) -> None:
    import billing
    from resolvers import statements as service

    ctx = await context_for(db, settings)
    first = await service.generate_statement(
        ctx, site_number="0349", service_period=billing.ServicePeriod(2025, 4)
    )
    second = await service.generate_statement(
        ctx, site_number="0349", service_period=billing.ServicePeriod(2025, 4)
    )
    async with _client(db, settings) as client:
        replaced = await client.get(f"/statements/{first.version_id}/gl-export.csv")
    assert replaced.status_code == 409
    body = replaced.json()
    assert body["code"] == "STATEMENT_REPLACED" and body["currentVersionId"] == str(second.version_id)


async def test_readyz_says_unavailable_in_the_error_language(settings: Settings) -> None:
    unreachable = Database.from_url("postgresql+asyncpg://towne@127.0.0.1:9/none")
    try:
        async with _client(unreachable, settings) as client:
            ready = await client.get("/readyz")
            live = await client.get("/healthz")
            query = await client.post("/graphql", json={"query": '{ site(siteNumber: "0170") { name } }'})
    finally:
        await unreachable.dispose()
    assert ready.status_code == 503 and ready.json()["code"] == "SERVICE_UNAVAILABLE"
    assert live.status_code == 200
    assert query.status_code == 503
    [error] = query.json()["errors"]
    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE" and "Connect call" not in error["message"]


async def test_readyz_is_not_ready_behind_the_migrations_head(db: Database, settings: Settings) -> None:
    from sqlalchemy import text

    async with db.transaction() as session:
        await session.execute(text("UPDATE alembic_version SET version_num = '0006'"))
    async with _client(db, settings) as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["code"] == "NOT_READY"


async def test_readyz_is_not_ready_before_any_migration(db: Database, settings: Settings) -> None:
    from sqlalchemy import text

    async with db.transaction() as session:
        await session.execute(text("DROP TABLE alembic_version"))
    async with _client(db, settings) as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["code"] == "NOT_READY"
