"""Benchmarks (`make bench`): scripts that print timings beside a reference measured in the same run."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from db.database import Database
    from resolvers.context import Context
    from server.settings import Settings

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


async def request_context(db: Database, settings: Settings, subject: str) -> Context:
    """A request's context as the server builds it: its own door of `db` with `subject` bound."""
    from resolvers.context import Context, bind_caller

    door = db.request()
    caller = await bind_caller(door, subject)
    assert caller is not None, f"no active user {subject!r}"
    return Context(db=door, settings=settings, caller=caller)


async def end_request(context: Context) -> None:
    """The request ends: its read transaction and connection go back (as the server does)."""
    from db.database import RequestDatabase

    assert isinstance(context.db, RequestDatabase)
    await context.db.close()
