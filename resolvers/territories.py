"""Territory layers, territories and site assignments as the schema asks for them (domain.md §4.3).

A layer or territory code given by a client must exist: an unknown one is `BAD_USER_INPUT` naming the
code and the codes that exist, never a silent empty result.
"""

from __future__ import annotations

import datetime as dt
import uuid

from db.models import TerritoryLayer
from db.repositories import territories as territory_repo
from db.repositories.sites import AssignmentView
from db.repositories.territories import TerritoryView
from resolvers import validation
from resolvers.context import Context
from resolvers.errors import BadUserInput


async def layers(ctx: Context) -> list[TerritoryLayer]:
    async with ctx.db.read() as session:
        return await territory_repo.layers(session)


async def require_layer(ctx: Context, code: str, *, argument: str) -> TerritoryLayer:
    """The layer with this code (cached per request); unknown → `BAD_USER_INPUT` listing the known codes."""
    layer = await ctx.loaders.layer_by_code.load(code)
    if layer is None:
        known = ", ".join(sorted(row.code for row in await layers(ctx)))
        raise BadUserInput(
            f"{argument}: no territory layer has the code {code[:64]!r} (layers: {known})", argument=argument
        )
    return layer


async def require_territory(
    ctx: Context, layer_code: str, code: str, *, layer_argument: str, argument: str
) -> TerritoryView:
    """The territory `code` of layer `layer_code`; an unknown layer or code is `BAD_USER_INPUT`."""
    layer = await require_layer(ctx, layer_code, argument=layer_argument)
    async with ctx.db.read() as session:
        view = await territory_repo.territory_by_code(session, layer_code=layer.code, code=code)
    if view is None:
        raise BadUserInput(
            f"{argument}: layer {layer.code!r} has no territory with the code {code[:64]!r}",
            argument=argument,
        )
    return view


async def layer(ctx: Context, code: str) -> TerritoryLayer:
    return await require_layer(ctx, code, argument="code")


async def territory(
    ctx: Context, layer_code: str, code: str, as_of: dt.datetime | None = None
) -> TerritoryView | None:
    """The territory `code` of a layer now, or the version in force at `as_of` (its code, name, version
    then). None when a territory had the code but not at that instant (renamed since, or created later); a
    code no version of the layer ever had is `BAD_USER_INPUT`."""
    validation.as_of(as_of)
    await require_layer(ctx, layer_code, argument="layer")
    async with ctx.db.read() as session:
        if as_of is None:
            found = await territory_repo.territory_by_code(session, layer_code=layer_code, code=code)
        else:
            found = await territory_repo.territory_by_code_as_of(
                session, layer_code=layer_code, code=code, as_of=as_of
            )
        if found is not None or await territory_repo.code_ever_used(
            session, layer_code=layer_code, code=code
        ):
            return found
    raise BadUserInput(
        f"code: layer {layer_code!r} has no territory with the code {code[:64]!r}", argument="code"
    )


async def assignment_as_of(
    ctx: Context, site_id: uuid.UUID, layer_code: str, as_of: dt.datetime | None
) -> AssignmentView | None:
    """A site's assignment in a layer now (as_of None) or at an instant; None: no row covers it."""
    validation.as_of(as_of)
    await require_layer(ctx, layer_code, argument="layer")
    return await ctx.loaders.assignment_as_of.load((site_id, layer_code, as_of))


async def assignment_history(ctx: Context, site_id: uuid.UUID, layer_code: str) -> list[AssignmentView]:
    await require_layer(ctx, layer_code, argument="layer")
    return await ctx.loaders.assignment_history.load((site_id, layer_code))
