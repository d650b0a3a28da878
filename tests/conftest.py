"""Test harness on real PostgreSQL + PostGIS (design.md §12).

Once per run: the test database (`towne_test` on the embedded cluster, or on the server of
`DATABASE_URL`, or `TEST_DATABASE_URL` as given) is emptied, built by `alembic upgrade head`, and loaded
with the real Towne Park data. Each test then runs inside a transaction that is rolled back at teardown;
the application's sessions join it through savepoints.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # our `schema`/`migrations` must win over PyPI namesakes
    sys.path.insert(0, str(REPO_ROOT))

from hypothesis import settings as hypothesis_settings  # noqa: E402

# Property tests assert behaviour, not speed: no per-example deadline (a loaded 2-core CI machine would make
# them flaky), and on CI a fixed example sequence so a red run can be reproduced.
hypothesis_settings.register_profile("towne", deadline=None, derandomize=bool(os.environ.get("CI")))
hypothesis_settings.load_profile("towne")

from db.database import Database, RequestDatabase, empty_database  # noqa: E402
from db.repositories.users import Grants, upsert_user  # noqa: E402
from importer.run import ImportSummary, import_all  # noqa: E402
from resolvers.context import ANONYMOUS, Context, bind_caller  # noqa: E402
from schema import build_schema  # noqa: E402
from server.settings import Settings, normalise_url  # noqa: E402

TEST_DB = "towne_test"
# A fixed "today" so default service periods are deterministic (May 2025, like the F-1 example).
TODAY = dt.date(2025, 5, 20)


def _test_database_url() -> str:
    if os.environ.get("TEST_DATABASE_URL"):
        return normalise_url(os.environ["TEST_DATABASE_URL"])
    if os.environ.get("DATABASE_URL"):
        return (
            make_url(normalise_url(os.environ["DATABASE_URL"]))
            .set(database=TEST_DB)
            .render_as_string(hide_password=False)
        )
    from server import devdb

    return devdb.ensure_database(TEST_DB)


async def _create_database_if_missing(url: str) -> None:
    parsed = make_url(url)
    admin = create_async_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            exists = (
                await conn.execute(
                    text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}
                )
            ).scalar()
            if not exists:
                await conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    finally:
        await admin.dispose()


def run_migrations(connection: Connection, revision: str = "head") -> None:
    from alembic import command
    from alembic.config import Config

    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


@pytest.fixture(scope="session")
def database_url() -> str:
    return _test_database_url()


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    await _create_database_if_missing(database_url)
    engine = create_async_engine(database_url)
    async with engine.begin() as conn:
        await empty_database(conn)
        await conn.run_sync(run_migrations)
    yield engine
    await engine.dispose()


FACTS_FROM, FACTS_TO = "2025-03", "2025-04"


@pytest.fixture(scope="session")
async def imported(engine: AsyncEngine) -> ImportSummary:
    """The real data plus SYNTHETIC facts for March–April 2025, imported once and committed (tests roll back
    on top of it)."""
    from importer.facts import generate

    database = Database(engine)
    async with database.transaction() as session:
        summary = await import_all(session, REPO_ROOT / "data")
    async with database.transaction() as session:
        await generate(session, FACTS_FROM, FACTS_TO)
    async with database.transaction() as session:
        for subject, roles in TEST_USERS.items():
            await upsert_user(session, subject=subject, grants=Grants(roles=roles), granted_by="tests")
    return summary


# Users every test can act as (committed with the imported data). Scoped users are made per test.
ADMIN = "test-admin"
TEST_USERS: dict[str, tuple[str, ...]] = {
    ADMIN: ("billingAdmin",),
    "test-billing-manager": ("billingManager",),
    "test-reporting": ("reportingReader",),
    "test-gis": ("gisEditor",),
    "test-nobody": (),
}
APP_ROLE = Settings(DATABASE_URL="postgresql+asyncpg://unused/unused").app_role


_OPEN_DOORS: list[RequestDatabase] = []


@pytest.fixture(autouse=True)
async def _close_request_doors() -> AsyncIterator[None]:
    """A request's door holds its read connection until the request ends; a test's requests end with it."""
    yield
    while _OPEN_DOORS:
        await _OPEN_DOORS.pop().close()


async def context_for(
    db: Database, settings: Settings, subject: str | None = ADMIN, **kwargs: Any
) -> Context:
    """A request's context as `get_context` builds it: the request door of `db` with `subject` bound
    (anonymous for None). Fails the test when the subject is no active user."""
    door = db.request()
    _OPEN_DOORS.append(door)
    caller = ANONYMOUS if subject is None else await bind_caller(door, subject)
    assert caller is not None, f"no active user {subject!r}"
    return Context(db=door, settings=settings, caller=caller, today=kwargs.pop("today", TODAY), **kwargs)


@pytest.fixture
async def db(engine: AsyncEngine, imported: ImportSummary) -> AsyncIterator[Database]:
    async with engine.connect() as connection:
        transaction = await connection.begin()
        try:
            # requests switch to the application role, so row-level security applies as in production
            yield Database(connection, assume_role=APP_ROLE)
        finally:
            await transaction.rollback()


async def at_commit(session: Any) -> None:
    """Run what COMMIT runs, now: the deferred constraint triggers (territory changes reassign their sites
    at commit, migration 0009) and deferred constraints, for tests inside the rolled-back `db` fixture."""
    await session.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))
    await session.execute(text("SET CONSTRAINTS ALL DEFERRED"))


# What a committing test may leave behind: every statement row and request (the baseline has none).
COMMITTED_STATEMENT_TABLES = ("statement_generation", "generation_batch", "billing_statement")


@pytest.fixture
async def committing_db(engine: AsyncEngine, imported: ImportSummary) -> AsyncIterator[Database]:
    """A `Database` whose units of work really commit, each on a connection of its own (pool of the engine),
    for tests that race transactions or kill them. Teardown deletes every statement and generation request,
    so later tests start from the imported baseline; a test that changes other rows restores them itself."""
    database = Database(engine, assume_role=APP_ROLE)
    try:
        yield database
    finally:
        async with engine.begin() as conn:
            for table in COMMITTED_STATEMENT_TABLES:
                await conn.execute(text(f"DELETE FROM {table}"))


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings(DATABASE_URL="postgresql+asyncpg://unused/unused", TOWNE_JWT_SECRET=TEST_JWT_SECRET)


TEST_JWT_SECRET = "test-secret-" + "x" * 40
TEST_SETTINGS = Settings(DATABASE_URL="postgresql+asyncpg://unused/unused", TOWNE_JWT_SECRET=TEST_JWT_SECRET)


def bearer(settings: Settings, subject: str = ADMIN, **claims: Any) -> dict[str, str]:
    """The Authorization header of a valid 1-hour token for `subject`."""
    from server.tokens import issue

    return {"authorization": "Bearer " + issue(settings, subject, ttl=dt.timedelta(hours=1), **claims)}


@pytest.fixture(scope="session")
def schema() -> Any:
    return build_schema()


@pytest.fixture
async def context(db: Database, settings: Settings) -> Context:
    """The context of a request by the billing administrator (sees every site)."""
    return await context_for(db, settings)


class GraphQLClient:
    """Runs operations as `subject` (the billing administrator unless `as_(…)` says otherwise)."""

    def __init__(self, schema: Any, context: Context, subject: str | None = ADMIN) -> None:
        self.schema = schema
        self.context = context
        self.subject = subject

    def as_(self, subject: str | None) -> GraphQLClient:
        """The same client acting as another user (None: anonymous)."""
        return GraphQLClient(self.schema, self.context, subject)

    async def execute(self, query: str, **variables: Any) -> Any:
        """Run one operation with a fresh context (as each HTTP request gets); returns data and errors."""
        parent = self.context.db
        db = parent.parent if isinstance(parent, RequestDatabase) else parent
        assert isinstance(db, Database)
        self.context = await context_for(db, self.context.settings, self.subject, today=self.context.today)
        return await self.schema.execute(query, variable_values=variables or None, context_value=self.context)

    async def data(self, query: str, **variables: Any) -> dict[str, Any]:
        """Run a query that must succeed; fails the test with the errors otherwise."""
        result = await self.execute(query, **variables)
        assert result.errors is None, [e.formatted for e in result.errors]
        assert result.data is not None
        return dict(result.data)

    async def error(self, query: str, **variables: Any) -> dict[str, Any]:
        """Run a query that must fail with exactly one error; returns its formatted dict."""
        result = await self.execute(query, **variables)
        assert result.errors, f"expected an error, got data {result.data}"
        assert len(result.errors) == 1, [e.formatted for e in result.errors]
        return dict(result.errors[0].formatted)


@pytest.fixture
def gql(schema: Any, context: Context) -> GraphQLClient:
    return GraphQLClient(schema, context)
