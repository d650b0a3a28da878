"""Migration 0007 on a database that already holds statements of the old shape, up and down again.

Runs on a scratch database of its own (`<test database>_migration`), built to revision 0006 with rows as
the previous code left them: two versions of one site and period (the first Sent), a replaced statement's
COMPLETED request whose statement was deleted (statement_id NULL), and an IN_PROGRESS request of a dead
generation.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.conftest import REPO_ROOT

SITE, CONTRACT = uuid.uuid4(), uuid.uuid4()
SENT, UNSENT = uuid.uuid4(), uuid.uuid4()


def _alembic(connection: Connection, action: str, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.attributes["connection"] = connection
    getattr(command, action)(config, revision)


@pytest.fixture(scope="module")
def scratch_url(database_url: str) -> Iterator[str]:
    url = make_url(database_url)
    yield url.set(database=f"{url.database}_migration").render_as_string(hide_password=False)


@pytest.fixture
async def scratch(scratch_url: str) -> AsyncIterator[AsyncEngine]:
    url = make_url(scratch_url)
    admin = create_async_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}"'))
        await conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    engine = create_async_engine(scratch_url)
    try:
        yield engine
    finally:
        await engine.dispose()
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}"'))
        await admin.dispose()


OLD_ROWS = [
    "INSERT INTO customer_site (id, site_number, name, address, street, state, zip, gl_string)"
    f" VALUES ('{SITE}', '0349', 'Hotel', '1 Main St', '1 Main St', 'FL', '32830', '02-03-1009-')",
    f"INSERT INTO contract (id, site_id, billing_type) VALUES ('{CONTRACT}', '{SITE}', 'ARREARS')",
    # version 1 Sent, version 2 unsent: the old shape had one row per version
    "INSERT INTO billing_statement (id, site_id, contract_id, service_period_start, service_period_end, version,"
    " status, billing_type, rate_selection_date, sent_at) VALUES"
    f" ('{SENT}', '{SITE}', '{CONTRACT}', '2025-04-01', '2025-04-30', 1, 'SENT', 'ARREARS', '2025-05-01', now()),"
    f" ('{UNSENT}', '{SITE}', '{CONTRACT}', '2025-04-01', '2025-04-30', 2, 'READY_TO_SEND', 'ARREARS',"
    " '2025-05-01', NULL)",
    "INSERT INTO invoice (id, statement_id, group_number, invoice_number, invoice_date, amount, site_number) VALUES"
    f" (gen_random_uuid(), '{SENT}', 1, '0349-202504-01-01', '2025-04-30', 100, '0349'),"
    f" (gen_random_uuid(), '{UNSENT}', 1, '0349-202504-01-02', '2025-04-30', 110, '0349')",
    "INSERT INTO statement_generation (id, contract_id, site_id, service_period_start, status, statement_id,"
    " idempotency_key) VALUES"
    f" (gen_random_uuid(), '{CONTRACT}', '{SITE}', '2025-04-01', 'COMPLETED', '{SENT}', 'first'),"
    # made a statement the old code deleted when it was replaced: its FK set it NULL
    f" (gen_random_uuid(), '{CONTRACT}', '{SITE}', '2025-04-01', 'COMPLETED', NULL, 'replaced')",
    "INSERT INTO statement_generation (id, contract_id, site_id, service_period_start, status) VALUES"
    f" (gen_random_uuid(), '{CONTRACT}', '{SITE}', '2025-04-01', 'IN_PROGRESS')",
]


async def _rows(engine: AsyncEngine, sql: str) -> list[tuple[object, ...]]:
    async with engine.connect() as conn:
        return [tuple(row) for row in (await conn.execute(text(sql))).all()]


async def test_0007_keeps_every_statement_id_and_request(scratch: AsyncEngine) -> None:
    async with scratch.begin() as conn:
        await conn.run_sync(_alembic, "upgrade", "0006")
        for statement in OLD_ROWS:
            await conn.execute(text(statement))
    async with scratch.begin() as conn:
        await conn.run_sync(_alembic, "upgrade", "head")

    [(statement_id,)] = await _rows(scratch, "SELECT id FROM billing_statement")
    versions = await _rows(
        scratch,
        "SELECT id, statement_id, version, revision, superseded FROM statement_version ORDER BY version",
    )
    # the old ids are the versions' ids, beneath one stable statement
    assert versions == [(SENT, statement_id, 1, 1, False), (UNSENT, statement_id, 2, 1, False)]
    requests = await _rows(
        scratch,
        "SELECT idempotency_key, status, statement_id, version_id FROM statement_generation ORDER BY 1",
    )
    assert requests == [
        ("first", "COMPLETED", statement_id, SENT),
        ("replaced", "COMPLETED", statement_id, None),  # names the statement of its site and period
        (None, "FAILED", None, None),  # a dead generation is no longer in flight
    ]
    invoices = await _rows(scratch, "SELECT invoice_number, superseded FROM invoice ORDER BY 1")
    assert invoices == [("0349-202504-01-01", False), ("0349-202504-01-02", False)]

    # and back: one row per version again, the old constraint names restored
    async with scratch.begin() as conn:
        await conn.execute(
            text(
                f"UPDATE statement_version SET superseded = true, superseded_at = now() WHERE id = '{UNSENT}'"
            )
        )
        await conn.execute(
            text(
                "INSERT INTO statement_version (id, statement_id, version, revision, status, billing_type,"
                " rate_selection_date) SELECT gen_random_uuid(), statement_id, 2, 2, 'READY_TO_SEND', 'ARREARS',"
                f" '2025-05-01' FROM statement_version WHERE id = '{UNSENT}'"
            )
        )
    async with scratch.begin() as conn:
        await conn.run_sync(_alembic, "downgrade", "0006")
    old = await _rows(scratch, "SELECT version, status FROM billing_statement ORDER BY version")
    assert old == [
        (1, "SENT"),
        (2, "READY_TO_SEND"),
    ]  # the superseded revision is gone, as the old model had it
