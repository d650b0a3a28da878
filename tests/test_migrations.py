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
