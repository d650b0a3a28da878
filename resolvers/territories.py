"""Territory layers, territories and site assignments as the schema asks for them (domain.md §4.3).

A layer or territory code given by a client must exist: an unknown one is `BAD_USER_INPUT` naming the
code and the codes that exist, never a silent empty result.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import shapely
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import TerritoryLayer
from db.repositories import territories as territory_repo
from db.repositories.sites import AssignmentView
from db.repositories.territories import LayerEditRow, LockedTerritory, Overlap, SiteChange, TerritoryView
from resolvers import validation
from resolvers.context import Context
from resolvers.errors import (
    BadUserInput,
    CodeInUse,
    CoordinateOutOfRange,
    Forbidden,
    GeometryError,
    GeometryNotParseable,
    GeometryWrongType,
    ImportRefused,
    NotFound,
    RingNotClosed,
    SelfIntersection,
    SplitFailed,
    TerritoryHasHistory,
    TerritoryOverlap,
    TerritoryRetired,
    TooFewPoints,
    Unauthenticated,
    UnsupportedCrs,
    VersionConflict,
)
from spatial.editing import Side, as_multipolygon, split_by_line, union
from spatial.validation import Checked, GeometryRefused, Repair, check_crs, polygonal
from spatial.validation import line as validated_line
from spatial.validation import load as load_geojson

T = TypeVar("T")


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


# ============================================================================ editing (issue 9 §1, 0009)
#
# Each mutation is one unit of work: validate the input (pure, before any SQL), lock the rows it edits
# (`SELECT … FOR UPDATE`, so a concurrent editor of the same territory waits and then sees our version),
# compare the version the caller edited, check overlaps in partition layers, write, and run the database's
# commit-time processing now (`towne_flush_territory_changes`) to report the sites whose territory
# changed. A dry run does the same inside a savepoint and rolls it back: the report is what the write
# would do, and nothing is kept. Any refusal raises before commit, so nothing is half written.

NEW_CODE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
NAME_MAX = 200
DESCRIPTION_MAX = 2000
MAX_REPORTED_PROBLEMS = 1000  # an import's refusal lists at most this many features (and counts the rest)

_GEOMETRY_ERRORS: dict[str, type[GeometryError]] = {
    cls.code: cls
    for cls in (
        GeometryError,
        GeometryNotParseable,
        GeometryWrongType,
        CoordinateOutOfRange,
        TooFewPoints,
        RingNotClosed,
        SelfIntersection,
        UnsupportedCrs,
    )
}
_OVERLAP_MESSAGE = re.compile(
    r'territory "(?P<code>[^"]*)" overlaps "(?P<other>[^"]*)" \((?P<name>.*?)\) by (?P<m2>[0-9.]+) m² '
    r'in partition layer "[^"]*" \(tolerance (?P<tolerance>[0-9.e+]+) m²\)'
)


@dataclass(frozen=True, slots=True)
class Edited:
    """What a territory mutation did (or, in a dry run, would do)."""

    territory_id: int | None  # edited, created or kept; None: deleted, or a created one in a dry run
    site_changes: list[SiteChange]
    dry_run: bool
    created_id: int | None = None  # split: the new territory (None in a dry run)
    retired_ids: tuple[int, ...] = ()
    deleted: bool = False
    repairs: tuple[Repair, ...] = ()


def geometry_error(refused: GeometryRefused, *, argument: str | None = None) -> GeometryError:
    """A `spatial.validation` refusal as the error of its code."""
    cls = _GEOMETRY_ERRORS.get(refused.code, GeometryError)
    part, ring, position = refused.position if refused.position else (None, None, None)
    return cls(
        str(refused),
        argument=argument or refused.field,
        location=refused.location,
        part=part,
        ring=ring,
        position=position,
    )


def checked_geometry(value: Any, *, argument: str, repair: bool) -> Checked:
    try:
        return polygonal(value, field=argument, repair=repair)
    except GeometryRefused as refused:
        raise geometry_error(refused) from refused


def new_code(value: str, *, argument: str) -> str:
    """A code for a new layer or territory: lower-case letters, digits and `-`, at most 64."""
    if not NEW_CODE.fullmatch(value):
        raise BadUserInput(
            f"{argument} must be 1–64 lower-case letters, digits or '-', starting with a letter or digit, "
            f"e.g. orlando-north; got {value[:64]!r}",
            argument=argument,
        )
    return value


# `/tiles/sites/…` and `/tiles/states/…` are the GIS routes' own layers (server/gis.py); so is the OGC
# collection `sites`. A territory layer of that code could not be served (migration 0009 refuses it too).
RESERVED_LAYER_CODES = frozenset({"sites", "states"})


def new_layer_code(value: str, *, argument: str) -> str:
    """A code for a new layer: as `new_code`, and not one of `RESERVED_LAYER_CODES`."""
    code = new_code(value, argument=argument)
    if code in RESERVED_LAYER_CODES:
        raise BadUserInput(
            f"{argument}: {code!r} is reserved for the sites and US states tile layers; choose another code",
            argument=argument,
        )
    return code


def _name(value: str, *, argument: str) -> str:
    return validation.text(value, argument=argument, max_length=NAME_MAX)


def _locked(
    found: dict[str, LockedTerritory], layer: LayerEditRow, code: str, argument: str
) -> LockedTerritory:
    territory = found.get(code)
    if territory is None:
        raise NotFound(f"{argument}: layer {layer.code!r} has no territory {code[:64]!r}", argument=argument)
    return territory


def _check_version(territory: LockedTerritory, expected: int, *, argument: str = "expectedVersion") -> None:
    if territory.version != expected:
        who = territory.updated_by or "unknown"
        raise VersionConflict(
            f"territory {territory.code!r} is at version {territory.version} (changed by {who} at "
            f"{territory.updated_at.isoformat()}), not {expected}: read it again and redo the edit on "
            f"version {territory.version}",
            current_version=territory.version,
            changed_by=territory.updated_by,
            changed_at=territory.updated_at,
            argument=argument,
        )


def _check_current(territory: LockedTerritory) -> None:
    if territory.retired_at is not None:
        raise TerritoryRetired(
            f"territory {territory.code!r} was retired at {territory.retired_at.isoformat()}; "
            "revertTerritory to one of its versions restores it"
        )


def _overlap_error(
    layer: LayerEditRow, code: str, found: Overlap, *, argument: str | None
) -> TerritoryOverlap:
    return TerritoryOverlap(
        f"{argument or 'geometry'}: territory {code!r} would overlap {found.code!r} ({found.name}) by "
        f"{found.overlap_m2:,.0f} m² in partition layer {layer.code!r}, above its tolerance of "
        f"{layer.overlap_tolerance_m2:,.0f} m²: move the shared border so they do not overlap",
        argument=argument,
        neighbour_code=found.code,
        neighbour_name=found.name,
        overlap_m2=round(found.overlap_m2, 1),
        tolerance_m2=layer.overlap_tolerance_m2,
    )


async def _check_overlap(
    session: AsyncSession,
    layer: LayerEditRow,
    code: str,
    wkb: bytes,
    *,
    except_ids: Sequence[int] = (),
    argument: str | None = "geometry",
) -> None:
    """OVERLAP when, in a partition layer, the geometry overlaps a current neighbour above the tolerance."""
    if layer.kind != "partition":
        return
    for found in await territory_repo.overlaps(session, layer_id=layer.id, wkb=wkb, except_ids=except_ids):
        if found.overlap_m2 > layer.overlap_tolerance_m2:
            raise _overlap_error(layer, code, found, argument=argument)


def _sqlstate(error: BaseException) -> tuple[str | None, str]:
    cause: BaseException | None = error
    for _ in range(6):
        if cause is None:
            break
        state = getattr(cause, "sqlstate", None)
        if isinstance(state, str):
            return state, str(getattr(cause, "message", None) or cause.args[0] if cause.args else cause)
        cause = getattr(cause, "orig", None) or cause.__cause__
    return None, ""


@contextlib.asynccontextmanager
async def _refusals(argument: str | None = None) -> AsyncIterator[None]:
    """The database's own refusals of an edit (its triggers check everything again) as errors."""
    try:
        yield
    except DBAPIError as error:
        state, message = _sqlstate(error)
        if state == "23P01":  # the commit-time overlap check (a neighbour changed meanwhile, an import)
            found = _OVERLAP_MESSAGE.search(message)
            raise TerritoryOverlap(
                message.split(", around")[0],
                argument=argument,
                neighbour_code=found["other"] if found else "",
                neighbour_name=found["name"] if found else "",
                overlap_m2=float(found["m2"]) if found else 0.0,
                tolerance_m2=float(found["tolerance"]) if found else 0.0,
            ) from error
        if state == "23514":  # a geometry the trigger refuses (its message names fault and location)
            raise GeometryError(message, argument=argument or "geometry") from error
        if state == "23505":
            raise CodeInUse(
                f"{argument or 'code'}: that code is taken in the layer", argument=argument
            ) from error
        if state == "42501":
            raise Forbidden(message or "your roles do not allow this edit") from error
        raise


async def _apply(
    session: AsyncSession, dry_run: bool, write: Callable[[], Awaitable[T]]
) -> tuple[T, list[SiteChange]]:
    """Run `write`, then the commit-time processing; a dry run inside a savepoint rolled back after."""
    if not dry_run:
        result = await write()
        return result, await territory_repo.flush_changes(session)
    savepoint = await session.begin_nested()
    try:
        result = await write()
        changes = await territory_repo.flush_changes(session)
    finally:
        await savepoint.rollback()
    return result, changes


def _actor(ctx: Context) -> None:
    if ctx.caller.subject is None:
        raise Unauthenticated("sign in to edit territories")


async def _edit_layer(session: AsyncSession, code: str, *, lock: bool = False) -> LayerEditRow:
    layer = await territory_repo.layer_for_edit(session, code=code, lock=lock)
    if layer is None:
        raise BadUserInput(f"layer: no territory layer has the code {code[:64]!r}", argument="layer")
    return layer


def _done(ctx: Context) -> None:
    ctx.loaders.forget_territories()


async def create_layer(
    ctx: Context,
    *,
    code: str,
    name: str,
    kind: str,
    description: str | None,
    overlap_tolerance_m2: float | None,
) -> int:
    """A new territory layer (`partition` or `overlay`); CODE_IN_USE when the code is taken."""
    _actor(ctx)
    code = new_layer_code(code, argument="code")
    name = _name(name, argument="name")
    if description is not None:
        description = validation.text(description, argument="description", max_length=DESCRIPTION_MAX)
    if overlap_tolerance_m2 is not None and not (0 <= overlap_tolerance_m2 <= 1e12):
        raise BadUserInput("overlapToleranceM2 must be between 0 and 1e12 m²", argument="overlapToleranceM2")
    async with _refusals("code"), ctx.db.transaction() as session:
        layer_id = await territory_repo.create_layer(
            session,
            code=code,
            name=name,
            kind=kind,
            description=description,
            overlap_tolerance_m2=overlap_tolerance_m2,
        )
    if layer_id is None:
        raise CodeInUse(f"code: a territory layer with the code {code!r} exists", argument="code")
    _done(ctx)
    return layer_id


async def create_territory(
    ctx: Context,
    *,
    layer_code: str,
    code: str,
    name: str,
    geometry: Any,
    repair: bool = False,
    dry_run: bool = False,
) -> Edited:
    """A new territory of a layer; its priority (the tie rule) is frozen now: its area in km²."""
    _actor(ctx)
    code = new_code(code, argument="code")
    name = _name(name, argument="name")
    checked = checked_geometry(geometry, argument="geometry", repair=repair)
    wkb = checked.geometry.wkb
    async with _refusals("geometry"), ctx.db.transaction() as session:
        layer = await _edit_layer(session, layer_code)
        await _check_overlap(session, layer, code, wkb)

        async def write() -> int | None:
            return await territory_repo.insert_territory(
                session, layer_id=layer.id, code=code, name=name, wkb=wkb
            )

        created, changes = await _apply(session, dry_run, write)
        if created is None:
            raise CodeInUse(
                f"code: layer {layer.code!r} has a territory {code!r} (perhaps retired: revertTerritory "
                "restores it); choose another code",
                argument="code",
            )
    _done(ctx)
    repairs = (checked.repair,) if checked.repair else ()
    return Edited(None if dry_run else created, changes, dry_run, repairs=repairs)


async def update_territory(
    ctx: Context,
    *,
    layer_code: str,
    code: str,
    expected_version: int,
    geometry: Any | None = None,
    name: str | None = None,
    repair: bool = False,
    dry_run: bool = False,
) -> Edited:
    """Change a territory's geometry and/or name, on the version the caller read."""
    _actor(ctx)
    if geometry is None and name is None:
        raise BadUserInput("give geometry and/or name: there is nothing to change", argument="geometry")
    checked = checked_geometry(geometry, argument="geometry", repair=repair) if geometry is not None else None
    new_name = _name(name, argument="name") if name is not None else None
    wkb = checked.geometry.wkb if checked else None
    async with _refusals("geometry"), ctx.db.transaction() as session:
        layer = await _edit_layer(session, layer_code)
        territory = _locked(
            await territory_repo.lock_territories(session, layer_id=layer.id, codes=[code]),
            layer,
            code,
            "code",
        )
        _check_version(territory, expected_version)
        _check_current(territory)
        if wkb is not None:
            await _check_overlap(session, layer, code, wkb, except_ids=[territory.id])

        async def write() -> None:
            await territory_repo.update_territory(session, territory_id=territory.id, wkb=wkb, name=new_name)

        _, changes = await _apply(session, dry_run, write)
    _done(ctx)
    repairs = (checked.repair,) if checked and checked.repair else ()
    return Edited(territory.id, changes, dry_run, repairs=repairs)


async def revert_territory(
    ctx: Context,
    *,
    layer_code: str,
    code: str,
    to_version: int,
    expected_version: int,
    dry_run: bool = False,
) -> Edited:
    """A new version with the code, name and geometry of an earlier one; a retired territory is
    restored by it."""
    _actor(ctx)
    async with _refusals("toVersion"), ctx.db.transaction() as session:
        layer = await _edit_layer(session, layer_code)
        territory = _locked(
            await territory_repo.lock_territories(session, layer_id=layer.id, codes=[code]),
            layer,
            code,
            "code",
        )
        _check_version(territory, expected_version)
        earlier = await territory_repo.version_wkb(session, territory_id=territory.id, version=to_version)
        if earlier is None:
            raise NotFound(
                f"toVersion: territory {code!r} has no version {to_version} (its versions: "
                f"1–{territory.version})",
                argument="toVersion",
            )
        old_code, old_name, wkb = earlier
        if territory.retired_at is None and to_version == territory.version:
            raise BadUserInput(
                f"toVersion: territory {code!r} is at version {to_version}", argument="toVersion"
            )
        if old_code != territory.code:
            taken = await territory_repo.lock_territories(session, layer_id=layer.id, codes=[old_code])
            if old_code in taken:
                raise CodeInUse(
                    f"toVersion: version {to_version} had the code {old_code!r}, which territory "
                    f"{old_code!r} now has",
                    argument="toVersion",
                )
        await _check_overlap(session, layer, old_code, wkb, except_ids=[territory.id], argument="toVersion")

        async def write() -> None:
            await territory_repo.update_territory(
                session,
                territory_id=territory.id,
                wkb=wkb,
                name=old_name,
                code=old_code,
                restore=territory.retired_at is not None,
            )

        _, changes = await _apply(session, dry_run, write)
    _done(ctx)
    return Edited(territory.id, changes, dry_run)


async def retire_territory(
    ctx: Context,
    *,
    layer_code: str,
    code: str,
    expected_version: int,
    delete: bool = False,
    dry_run: bool = False,
) -> Edited:
    """End a territory (its sites leave it, its history stays); `delete` removes a territory that never
    had a site assigned (TERRITORY_HAS_HISTORY otherwise), its versions with it."""
    _actor(ctx)
    async with _refusals("code"), ctx.db.transaction() as session:
        layer = await _edit_layer(session, layer_code)
        territory = _locked(
            await territory_repo.lock_territories(session, layer_id=layer.id, codes=[code]),
            layer,
            code,
            "code",
        )
        _check_version(territory, expected_version)
        if delete:
            if await territory_repo.ever_assigned(session, territory_id=territory.id):
                raise TerritoryHasHistory(
                    f"territory {code!r} has had sites assigned: it is retired (delete: false), never "
                    "deleted, so its history stays readable"
                )
        else:
            _check_current(territory)

        async def write() -> None:
            if delete:
                await territory_repo.delete_territory(session, territory_id=territory.id)
            else:
                await territory_repo.retire_territories(session, territory_ids=[territory.id])

        _, changes = await _apply(session, dry_run, write)
    _done(ctx)
    if delete:
        return Edited(None if not dry_run else territory.id, changes, dry_run, deleted=not dry_run)
    return Edited(territory.id, changes, dry_run, retired_ids=(territory.id,))


async def merge_territories(
    ctx: Context,
    *,
    layer_code: str,
    versions: Sequence[tuple[str, int]],
    into: str,
    name: str | None = None,
    dry_run: bool = False,
) -> Edited:
    """The union of two or more territories becomes `into` (a new version); the others are retired."""
    _actor(ctx)
    codes = [code for code, _ in versions]
    if len(codes) < 2 or len(set(codes)) != len(codes):
        raise BadUserInput("territories: name two or more different territories", argument="territories")
    if into not in codes:
        raise BadUserInput(f"into: {into[:64]!r} must be one of the merged territories", argument="into")
    new_name = _name(name, argument="name") if name is not None else None
    async with _refusals("territories"), ctx.db.transaction() as session:
        layer = await _edit_layer(session, layer_code)
        found = await territory_repo.lock_territories(session, layer_id=layer.id, codes=codes)
        locked = [_locked(found, layer, code, "territories") for code in codes]
        for territory, (_, expected) in zip(locked, versions, strict=True):
            _check_version(territory, expected, argument="territories")
            _check_current(territory)
        merged = union([shapely.from_wkb(t.geom_wkb) for t in locked])
        wkb = merged.wkb
        kept = found[into]
        others = [t.id for t in locked if t.id != kept.id]
        await _check_overlap(
            session, layer, into, wkb, except_ids=[t.id for t in locked], argument="territories"
        )

        async def write() -> None:
            await territory_repo.retire_territories(session, territory_ids=others)
            await territory_repo.update_territory(session, territory_id=kept.id, wkb=wkb, name=new_name)

        _, changes = await _apply(session, dry_run, write)
    _done(ctx)
    return Edited(kept.id, changes, dry_run, retired_ids=tuple(others))


async def split_territory(
    ctx: Context,
    *,
    layer_code: str,
    code: str,
    expected_version: int,
    line: Any,
    new_code_value: str,
    new_name: str,
    new_side: Side = "right",
    dry_run: bool = False,
) -> Edited:
    """Cut a territory by a line: the pieces on `new_side` of the line (walked from its first position)
    become a new territory `new_code_value` (with the original's priority, so ties on its outer borders
    go as before), the original keeps the others (a new version)."""
    _actor(ctx)
    try:
        cut = validated_line(line, field="line")
    except GeometryRefused as refused:
        raise geometry_error(refused) from refused
    created_code = new_code(new_code_value, argument="newCode")
    created_name = _name(new_name, argument="newName")
    async with _refusals("line"), ctx.db.transaction() as session:
        layer = await _edit_layer(session, layer_code)
        territory = _locked(
            await territory_repo.lock_territories(session, layer_id=layer.id, codes=[code]),
            layer,
            code,
            "code",
        )
        _check_version(territory, expected_version)
        _check_current(territory)
        sides = split_by_line(as_multipolygon(shapely.from_wkb(territory.geom_wkb)), cut)
        if sides is None:
            raise SplitFailed(
                f"line: the line does not cut territory {code!r} into pieces on both of its sides; draw it "
                "across the territory from border to border"
            )
        left, right = sides
        new_part, kept_part = (left, right) if new_side == "left" else (right, left)

        async def write() -> int | None:
            await territory_repo.update_territory(session, territory_id=territory.id, wkb=kept_part.wkb)
            return await territory_repo.insert_territory(
                session,
                layer_id=layer.id,
                code=created_code,
                name=created_name,
                wkb=new_part.wkb,
                priority=territory.priority,
            )

        created, changes = await _apply(session, dry_run, write)
        if created is None:
            raise CodeInUse(
                f"newCode: layer {layer.code!r} has a territory {created_code!r}", argument="newCode"
            )
    _done(ctx)
    return Edited(territory.id, changes, dry_run, created_id=None if dry_run else created)


@dataclass(frozen=True, slots=True)
class ManualOutcome:
    site_id: uuid.UUID
    layer_id: int
    previous_code: str | None
    territory_id: int | None


async def _site_and_layer(
    ctx: Context, session: AsyncSession, site_number: str, layer_code: str
) -> tuple[uuid.UUID, LayerEditRow]:
    layer = await _edit_layer(session, layer_code)
    site_id = await territory_repo.site_id_by_number(session, site_number=site_number)
    if site_id is None:
        raise NotFound(f"no site with site number {site_number}", argument="siteNumber")
    return site_id, layer


async def set_manual_assignment(
    ctx: Context, *, site_number: str, layer_code: str, territory_code: str | None
) -> ManualOutcome:
    """Put a site in a territory by hand (null: in none), winning over geometry until cleared."""
    _actor(ctx)
    number = validation.site_number(site_number)
    async with _refusals("territory"), ctx.db.transaction() as session:
        site_id, layer = await _site_and_layer(ctx, session, number, layer_code)
        territory_id: int | None = None
        if territory_code is not None:
            found = await territory_repo.lock_territories(
                session, layer_id=layer.id, codes=[territory_code], lock=False
            )
            territory = _locked(found, layer, territory_code, "territory")
            _check_current(territory)
            territory_id = territory.id
        previous, _ = await territory_repo.open_assignment(session, site_id=site_id, layer_id=layer.id)
        await territory_repo.set_manual_assignment(
            session, site_id=site_id, layer_id=layer.id, territory_id=territory_id
        )
    _done(ctx)
    return ManualOutcome(site_id, layer.id, previous, territory_id)


async def clear_manual_assignment(ctx: Context, *, site_number: str, layer_code: str) -> ManualOutcome:
    """End a site's manual assignment in a layer: it is assigned by geometry again."""
    _actor(ctx)
    number = validation.site_number(site_number)
    try:
        async with _refusals("siteNumber"), ctx.db.transaction() as session:
            site_id, layer = await _site_and_layer(ctx, session, number, layer_code)
            previous, _ = await territory_repo.open_assignment(session, site_id=site_id, layer_id=layer.id)
            territory_id = await territory_repo.clear_manual_assignment(
                session, site_id=site_id, layer_id=layer.id
            )
    except DBAPIError as error:
        if _sqlstate(error)[0] == "P0002":
            raise NotFound(
                f"site {number} has no manual assignment in layer {layer_code[:64]!r}", argument="siteNumber"
            ) from error
        raise
    _done(ctx)
    return ManualOutcome(site_id, layer.id, previous, territory_id)


async def territory_history(ctx: Context, territory_id: int) -> list[territory_repo.VersionRow]:
    return await ctx.loaders.territory_history.load(territory_id)


# ---------------------------------------------------------------------------------------- layer import


@dataclass(frozen=True, slots=True)
class FeatureProblem:
    """Why one feature of an import was refused (`index` 0-based in `features`; None: the collection)."""

    index: int | None
    code: str | None  # the feature's territory code, when it has a usable one
    problem: str  # a stable code: NOT_PARSEABLE, …, OVERLAP, VERSION_CONFLICT, CODE_IN_USE, BAD_USER_INPUT
    message: str
    location: tuple[float, float] | None = None


@dataclass(frozen=True, slots=True)
class FeatureResult:
    index: int
    code: str
    action: str  # created, updated, unchanged, restored
    version: int | None  # after the import (None in a dry run of a creation)


@dataclass(frozen=True, slots=True)
class Imported:
    """What an import did: one result per feature, the territories it retired, the moved sites."""

    layer_id: int | None  # None: a layer created by a dry run
    layer_created: bool
    features: list[FeatureResult]
    retired: list[str]
    site_changes: list[SiteChange]
    dry_run: bool
    repairs: list[tuple[int, Repair]]


@dataclass(frozen=True, slots=True)
class _Planned:
    index: int
    code: str
    name: str
    geometry: Checked
    expected_version: int | None


class ImportRefusedError(Exception):
    """Internal: carries the per-feature problems out of the transaction (which then rolls back)."""

    def __init__(self, problems: list[FeatureProblem]) -> None:
        super().__init__(f"{len(problems)} feature(s) refused")
        self.problems = problems


def plan_import(collection: Any, *, repair: bool) -> tuple[list[_Planned], list[FeatureProblem]]:
    """Check every feature of a GeoJSON FeatureCollection without the database: properties `code` (a
    new-code string, unique in the file), `name` (default: the code), optional `version` (the version
    the file was exported at: checked against the current one), and the geometry (`spatial.validation`).
    A fault of the collection itself (not JSON, not a FeatureCollection, a crs) is a `GeometryError`."""
    try:
        data = load_geojson(collection, field="featureCollection")
        check_crs(data, field="featureCollection")
    except GeometryRefused as refused:
        raise geometry_error(refused) from refused
    if data.get("type") != "FeatureCollection":
        raise GeometryWrongType(
            f"featureCollection: expected a GeoJSON FeatureCollection, got {str(data.get('type'))[:40]!r}",
            argument="featureCollection",
        )
    features = data.get("features")
    if not isinstance(features, list) or not features:
        raise BadUserInput(
            "featureCollection: `features` must be a non-empty array of Features",
            argument="featureCollection",
        )
    planned: list[_Planned] = []
    problems: list[FeatureProblem] = []
    seen: dict[str, int] = {}
    for index, feature in enumerate(features):
        field = f"features[{index}]"
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            problems.append(FeatureProblem(index, None, "WRONG_TYPE", f"{field}: expected a GeoJSON Feature"))
            continue
        properties = feature.get("properties") or {}
        raw_code = properties.get("code") if isinstance(properties, dict) else None
        if not isinstance(raw_code, str) or not NEW_CODE.fullmatch(raw_code):
            problems.append(
                FeatureProblem(
                    index,
                    None,
                    BadUserInput.code,
                    f"{field}.properties.code must be 1–64 lower-case letters, digits or '-', got "
                    f"{str(raw_code)[:64]!r}",
                )
            )
            continue
        code = raw_code
        if code in seen:
            problems.append(
                FeatureProblem(
                    index, code, CodeInUse.code, f"{field}: code {code!r} is also feature {seen[code]}'s"
                )
            )
            continue
        seen[code] = index
        raw_name = properties.get("name", code)
        if not isinstance(raw_name, str) or not raw_name.strip() or len(raw_name.strip()) > NAME_MAX:
            problems.append(
                FeatureProblem(
                    index, code, BadUserInput.code, f"{field}.properties.name must be 1–{NAME_MAX} characters"
                )
            )
            continue
        if "\x00" in raw_name:
            problems.append(
                FeatureProblem(index, code, BadUserInput.code, f"{field}.properties.name has a NUL")
            )
            continue
        version = properties.get("version")
        if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
            problems.append(
                FeatureProblem(
                    index, code, BadUserInput.code, f"{field}.properties.version must be an integer"
                )
            )
            continue
        try:
            checked = polygonal(feature.get("geometry"), field=f"{field}.geometry", repair=repair)
        except GeometryRefused as refused:
            problems.append(FeatureProblem(index, code, refused.code, str(refused), refused.location))
            continue
        planned.append(_Planned(index, code, raw_name.strip(), checked, version))
    return planned, problems


async def import_layer(
    ctx: Context,
    *,
    layer_code: str,
    collection: Any,
    replace: bool = False,
    layer_name: str | None = None,
    kind: str | None = None,
    repair: bool = False,
    dry_run: bool = False,
) -> Imported:
    """Import a GeoJSON FeatureCollection into a layer, all features or none (`ImportRefused` lists every
    refused feature; nothing is written).

    A feature's `code` names its territory: a current one gets the feature's geometry and name (a new
    version when they differ), a retired one is restored with them, a new code is created. With `replace`
    the layer's current territories missing from the file are retired; without, they are left alone. A
    layer that does not exist is created (`kind` required, `layer_name` default its code)."""
    _actor(ctx)
    code = new_layer_code(layer_code, argument="layer")
    planned, problems = plan_import(collection, repair=repair)
    if problems:
        raise _refused(problems)
    try:
        async with _refusals("featureCollection"), ctx.db.transaction() as session:
            savepoint = await session.begin_nested() if dry_run else None
            try:
                outcome = await _import_into(
                    session, code, planned, replace=replace, layer_name=layer_name, kind=kind, dry_run=dry_run
                )
            finally:
                if savepoint is not None:
                    await savepoint.rollback()
    except ImportRefusedError as refused:
        raise _refused(refused.problems) from None
    _done(ctx)
    return outcome


def _refused(problems: list[FeatureProblem]) -> ImportRefused:
    shown = problems[:MAX_REPORTED_PROBLEMS]
    more = f" (the first {len(shown)} listed)" if len(problems) > len(shown) else ""
    first = problems[0]
    return ImportRefused(
        f"{len(problems)} feature(s) refused{more}, nothing imported; the first: {first.message}",
        features=shown,
    )


async def _import_into(
    session: AsyncSession,
    code: str,
    planned: list[_Planned],
    *,
    replace: bool,
    layer_name: str | None,
    kind: str | None,
    dry_run: bool,
) -> Imported:
    layer = await territory_repo.layer_for_edit(session, code=code, lock=True)
    created_layer = False
    if layer is None:
        if kind is None:
            raise BadUserInput(
                f"layer: no territory layer has the code {code!r}; give kind (and name) to create it",
                argument="kind",
            )
        name = _name(layer_name or code, argument="name")
        await territory_repo.create_layer(
            session, code=code, name=name, kind=kind, description=None, overlap_tolerance_m2=None
        )
        layer = await territory_repo.layer_for_edit(session, code=code, lock=True)
        assert layer is not None
        created_layer = True
    existing = await territory_repo.lock_territories(
        session,
        layer_id=layer.id,
        codes=list(await territory_repo.codes_of_layer(session, layer_id=layer.id)),
    )
    problems: list[FeatureProblem] = []
    for plan in planned:
        found = existing.get(plan.code)
        if plan.expected_version is not None and found is not None and found.version != plan.expected_version:
            problems.append(
                FeatureProblem(
                    plan.index,
                    plan.code,
                    VersionConflict.code,
                    f"features[{plan.index}]: territory {plan.code!r} is at version {found.version} (changed "
                    f"by {found.updated_by or 'unknown'} at {found.updated_at.isoformat()}), not "
                    f"{plan.expected_version}",
                )
            )
    if problems:
        raise ImportRefusedError(problems)
    before = {t.id: t.version for t in existing.values()}
    new_rows = [
        (plan.code, plan.name, plan.geometry.geometry.wkb) for plan in planned if plan.code not in existing
    ]
    updates = [
        (
            existing[plan.code].id,
            plan.name,
            plan.geometry.geometry.wkb,
            existing[plan.code].retired_at is not None,
        )
        for plan in planned
        if plan.code in existing
    ]
    await territory_repo.insert_territories(session, layer_id=layer.id, rows=new_rows)
    await territory_repo.update_territories(session, rows=updates)
    in_file = {plan.code for plan in planned}
    retired = sorted(c for c, t in existing.items() if replace and c not in in_file and t.retired_at is None)
    if retired:
        await territory_repo.retire_territories(session, territory_ids=[existing[c].id for c in retired])
    now = await territory_repo.lock_territories(
        session, layer_id=layer.id, codes=sorted(in_file), geometry=False
    )
    by_id = {t.id: t.code for t in now.values()}
    index_of = {plan.code: plan.index for plan in planned}
    if layer.kind == "partition":
        clashes = await territory_repo.layer_overlaps(
            session, layer_id=layer.id, territory_ids=list(by_id), tolerance_m2=layer.overlap_tolerance_m2
        )
        reported: set[frozenset[int]] = set()
        for territory_id, other in clashes:
            pair = frozenset((territory_id, other.territory_id))
            if pair in reported:
                continue
            reported.add(pair)
            mine = by_id[territory_id]
            problems.append(
                FeatureProblem(
                    index_of[mine],
                    mine,
                    TerritoryOverlap.code,
                    f"features[{index_of[mine]}]: territory {mine!r} overlaps {other.code!r} ({other.name}) by "
                    f"{other.overlap_m2:,.0f} m², above the layer's tolerance of "
                    f"{layer.overlap_tolerance_m2:,.0f} m²",
                )
            )
        if problems:
            raise ImportRefusedError(sorted(problems, key=lambda p: p.index or 0))
    changes = await territory_repo.flush_changes(session)
    results: list[FeatureResult] = []
    for plan in planned:
        after = now[plan.code]
        old = existing.get(plan.code)
        if old is None:
            action = "created"
        elif old.retired_at is not None:
            action = "restored"
        else:
            action = "updated" if after.version != before[old.id] else "unchanged"
        results.append(
            FeatureResult(plan.index, plan.code, action, None if dry_run and old is None else after.version)
        )
    return Imported(
        layer_id=None if dry_run and created_layer else layer.id,
        layer_created=created_layer,
        features=results,
        retired=retired,
        site_changes=changes,
        dry_run=dry_run,
        repairs=[(plan.index, plan.geometry.repair) for plan in planned if plan.geometry.repair],
    )
