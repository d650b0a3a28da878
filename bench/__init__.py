"""Benchmarks (`make bench`): scripts that print timings beside a reference measured in the same run."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from db.database import Database

REPO = Path(__file__).resolve().parent.parent


async def migrate_and_import(url: str) -> Database:
    """A bench database at migration head with the real Towne Park data (imported when it has no site);
    returns a `Database` on it, for the bench's own additions, which the caller disposes of."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import func, select

    from db.database import Database
    from db.models import CustomerSite
    from importer.run import import_all

    config = Config(str(REPO / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", url)
    await asyncio.to_thread(command.upgrade, config, "head")
    database = Database.from_url(url)
    async with database.read() as session:
        sites = (await session.execute(select(func.count()).select_from(CustomerSite))).scalar_one()
    if not sites:
        print("importing the real data …", file=sys.stderr)
        async with database.transaction() as session:
            await import_all(session, REPO / "data")
    return database
