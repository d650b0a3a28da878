"""Territory queries: argument validation and the calls into the repositories."""

from __future__ import annotations

import datetime as dt

from db.repositories import territories as territory_repo
from db.repositories.territories import TerritoryView
from resolvers.context import Context
from resolvers.errors import BadUserInput


def require_time_zone(as_of: dt.datetime | None, *, argument: str = "asOf") -> None:
    """An instant without an offset names no instant: refuse it (`BadUserInput` naming the argument)."""
    if as_of is not None and as_of.tzinfo is None:
        raise BadUserInput(
            f"{argument} must carry a time zone offset, e.g. 2025-03-15T00:00:00Z", argument=argument
        )


async def territory_by_code(
    ctx: Context, *, layer: str, code: str, as_of: dt.datetime | None = None
) -> TerritoryView | None:
    """The territory `code` of layer `layer` now, or the version in force at `as_of`; None if none."""
    require_time_zone(as_of)
    async with ctx.db.read() as session:
        if as_of is None:
            return await territory_repo.territory_by_code(session, layer_code=layer, code=code)
        return await territory_repo.territory_by_code_as_of(session, layer_code=layer, code=code, as_of=as_of)
