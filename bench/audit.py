"""Benchmark: what the audit trail's triggers (migration 0013) cost the bulk writers (issue 10 §5).

    .venv/bin/python bench/audit.py [--repeat 3] [--database towne_bench_audit]

On a scratch database at migration head with no data, in the same run, alternating:

* `towne import` (`importer.run.import_all`: 649 sites, their contracts and configuration, three territory
  layers, every site assigned), each run in a transaction that is rolled back, with the audit triggers
  enabled and disabled (`ALTER TABLE … DISABLE TRIGGER audit_*` inside that transaction);
* then, on the data imported and committed once, with SYNTHETIC facts for April 2025: bulk statement
  generation (`resolvers.statements.generate_statements`, one unit of work per site, as a billing manager
  through the application role) of the 16 fully configured contracts, with the triggers enabled and
  disabled, the statements deleted between runs.

Prints best-of-N seconds for each and the audit rows written. Figures are recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine  # noqa: E402

from bench.billing import SNAPSHOT_SITES, database_url, ensure_data  # noqa: E402
from db.database import Database, empty_database  # noqa: E402

BENCH_USER = "bench-audit-manager"


def _audited() -> tuple[str, ...]:
    path = REPO / "migrations" / "versions" / "0013_audit_trail.py"
    spec = importlib.util.spec_from_file_location("towne_migration_0013", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return tuple(table for table, *_ in module.AUDITED)


async def _switch(session: AsyncSession, enabled: bool) -> None:
    verb = "ENABLE" if enabled else "DISABLE"
    for table in _audited():
        for trigger in ("audit_insert", "audit_update", "audit_delete"):
            await session.execute(text(f"ALTER TABLE {table} {verb} TRIGGER {trigger}"))


async def _audit_rows(session: AsyncSession) -> int:
    return int((await session.execute(text("SELECT count(*) FROM audit_log"))).scalar_one())


async def bench_import(url: str, repeat: int) -> dict[bool, tuple[float, int]]:
    from importer.run import import_all

    engine = create_async_engine(url)
    best: dict[bool, tuple[float, int]] = {}
    try:
        for _ in range(repeat):
            for enabled in (True, False):
                async with engine.connect() as connection:
                    transaction = await connection.begin()
                    session = AsyncSession(bind=connection, join_transaction_mode="create_savepoint")
                    await _switch(session, enabled)
                    before = await _audit_rows(session)
                    start = time.perf_counter()
                    await import_all(session, REPO / "data")
                    elapsed = time.perf_counter() - start
                    written = await _audit_rows(session) - before
                    await session.close()
                    await transaction.rollback()
                if enabled not in best or elapsed < best[enabled][0]:
                    best[enabled] = (elapsed, written)
    finally:
        await engine.dispose()
    return best


async def bench_generation(url: str, repeat: int) -> dict[bool, tuple[float, int]]:
    import billing
    from db.repositories.users import Grants, upsert_user
    from resolvers import statements as service
    from resolvers.context import Context, bind_caller
    from server.settings import Settings

    await ensure_data(url, "2025-04")
    database = Database.from_url(url)
    try:
        async with database.transaction() as session:
            await upsert_user(
                session, subject=BENCH_USER, grants=Grants(roles=("billingManager",)), granted_by="bench"
            )
    finally:
        await database.dispose()

    settings = Settings(DATABASE_URL=url)
    owner = create_async_engine(url)
    app = Database(create_async_engine(url), assume_role=settings.app_role)
    request = service.BulkRequest(
        site_numbers=SNAPSHOT_SITES,
        territory=None,
        service_period=billing.ServicePeriod(2025, 4),
        idempotency_key=None,
    )
    best: dict[bool, tuple[float, int]] = {}
    try:
        for _ in range(repeat):
            for enabled in (True, False):
                async with owner.begin() as conn:
                    for table in ("statement_generation", "generation_batch", "billing_statement"):
                        await conn.execute(text(f"DELETE FROM {table}"))
                    await _switch(AsyncSession(bind=conn), enabled)
                    before = int((await conn.execute(text("SELECT count(*) FROM audit_log"))).scalar_one())
                door = app.request()
                caller = await bind_caller(door, BENCH_USER)
                assert caller is not None
                ctx = Context(db=door, settings=settings, caller=caller)
                start = time.perf_counter()
                outcomes: list[Any] = await service.generate_statements(ctx, request)
                elapsed = time.perf_counter() - start
                await door.close()
                failed = [n for n, o in outcomes if isinstance(o, Exception)]
                assert not failed, failed
                async with owner.begin() as conn:
                    written = (
                        int((await conn.execute(text("SELECT count(*) FROM audit_log"))).scalar_one())
                        - before
                    )
                if enabled not in best or elapsed < best[enabled][0]:
                    best[enabled] = (elapsed, written)
        async with owner.begin() as conn:
            await _switch(AsyncSession(bind=conn), True)
            for table in ("statement_generation", "generation_batch", "billing_statement"):
                await conn.execute(text(f"DELETE FROM {table}"))
    finally:
        await owner.dispose()
        await app.dispose()
    return best


def _report(name: str, best: dict[bool, tuple[float, int]]) -> None:
    on, off = best[True], best[False]
    print(
        f"{name}: audited {on[0]:.3f} s ({on[1]} audit rows), not audited {off[0]:.3f} s;"
        f" +{(on[0] - off[0]) * 1000:.0f} ms ({(on[0] / off[0] - 1) * 100:+.1f} %)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database", default="towne_bench_audit")
    args = parser.parse_args()
    url = database_url(args.database)
    # an empty database at head for the import runs (the generation runs import and commit afterwards)
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await empty_database(conn)
    await engine.dispose()
    from alembic import command
    from alembic.config import Config

    config = Config(str(REPO / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", url)
    await asyncio.to_thread(command.upgrade, config, "head")
    _report("towne import", await bench_import(url, args.repeat))
    _report(f"generateStatements ({len(SNAPSHOT_SITES)} sites)", await bench_generation(url, args.repeat))


if __name__ == "__main__":
    asyncio.run(main())
