"""Models and migrations do not drift; our top-level packages are the repository's, not PyPI namesakes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from db.models import Base
from tests.conftest import REPO_ROOT


def _compare(connection: Connection) -> list[Any]:
    from geoalchemy2 import alembic_helpers

    def include_object(
        obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
    ) -> bool:
        if type_ == "table" and name in {"spatial_ref_sys", "alembic_version"}:
            return False
        return bool(alembic_helpers.include_object(obj, name, type_, reflected, compare_to))  # type: ignore[no-untyped-call]

    context = MigrationContext.configure(
        connection,
        opts={"include_object": include_object, "compare_type": True, "compare_server_default": False},
    )
    return list(compare_metadata(context, Base.metadata))


async def test_models_match_migrations(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        differences = await connection.run_sync(_compare)
    assert differences == []


def test_packages_resolve_inside_the_repository() -> None:
    import billing
    import migrations
    import schema
    import spatial

    for module in (schema, migrations, spatial, billing):
        assert module.__file__ is not None
        assert Path(module.__file__).resolve().is_relative_to(REPO_ROOT), module.__file__


def _definitions(connection: Connection, schema: str) -> set[tuple[str, str, str]]:
    """(table, kind, definition) of every CHECK constraint and index of the model tables in `schema`, with
    the schema name taken out of the definitions."""
    from sqlalchemy import text

    tables = sorted(Base.metadata.tables)
    checks = connection.execute(
        text(
            "SELECT c.relname, pg_get_constraintdef(k.oid) FROM pg_constraint k"
            " JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = :schema AND k.contype = 'c' AND c.relname = ANY(:tables)"
        ),
        {"schema": schema, "tables": tables},
    ).all()
    indexes = connection.execute(
        text(
            "SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = :schema AND tablename = ANY(:tables)"
        ),
        {"schema": schema, "tables": tables},
    ).all()
    strip = f"{schema}."
    return {(t, "check", d.replace(strip, "")) for t, d in checks} | {
        (t, "index", d.replace(strip, "")) for t, d in indexes
    }


def _check_drift(connection: Connection) -> tuple[set[tuple[str, str, str]], set[tuple[str, str, str]]]:
    from sqlalchemy import text

    migrated = _definitions(connection, "public")
    connection.execute(text("CREATE SCHEMA drift_check"))
    try:
        connection.execute(text("SET LOCAL search_path = drift_check, public"))
        Base.metadata.create_all(connection, checkfirst=False)
        modelled = _definitions(connection, "drift_check")
    finally:
        connection.execute(text("SET LOCAL search_path = public"))
    return migrated - modelled, modelled - migrated


async def test_check_constraints_and_index_definitions_do_not_drift(engine: AsyncEngine) -> None:
    """`compare_metadata` ignores CHECKs and partial-index predicates: compare what the migrations built with
    what the models would build, definition by definition (rolled back)."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        try:
            only_migrated, only_modelled = await connection.run_sync(_check_drift)
        finally:
            await transaction.rollback()
    # the GiST/GIN expression indexes and the trigram index are declared in both; nothing may differ
    assert only_migrated == set() and only_modelled == set()
