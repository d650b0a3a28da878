"""Alembic environment: async (asyncpg), geoalchemy2-aware, reusable on an existing connection.

Tests and `server.cli` pass a live sync connection in `config.attributes["connection"]`; otherwise the
URL comes from `server.settings` (the embedded cluster when `DATABASE_URL` is unset).
"""

from __future__ import annotations

import asyncio

from alembic import context
from geoalchemy2 import alembic_helpers
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from db.models import Base

config = context.config
target_metadata = Base.metadata


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    # PostGIS' own tables (spatial_ref_sys, topology…) are not ours.
    if type_ == "table" and name in {"spatial_ref_sys"}:
        return False
    return bool(alembic_helpers.include_object(obj, name, type_, reflected, compare_to))  # type: ignore[no-untyped-call]


def configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=include_object,
        process_revision_directives=alembic_helpers.writer,
        render_item=alembic_helpers.render_item,
        compare_type=True,
    )


def run_with_connection(connection: Connection) -> None:
    configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_async() -> None:
    from server.cli import database_url
    from server.settings import get_settings

    # plain `alembic upgrade head` works too: DATABASE_URL, or the embedded development cluster
    url = config.get_main_option("sqlalchemy.url") or database_url(get_settings())
    engine = create_async_engine(url)
    async with engine.connect() as connection:
        await connection.run_sync(run_with_connection)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: run against a database")

existing = config.attributes.get("connection")
if existing is not None:
    run_with_connection(existing)
else:
    asyncio.run(run_async())
