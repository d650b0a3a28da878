"""Site queries: argument validation, paging and the calls into the repositories."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from db.models import CustomerSite
from db.repositories import sites as site_repo
from db.repositories.sites import Near, SiteOrder, SiteQuery
from resolvers import validation
from resolvers.context import Context
from resolvers.errors import BadUserInput
from resolvers.territories import require_layer, require_territory
from spatial.geometry import GeometryInputError, check_bbox, check_lon_lat

MAX_PAGE = 500
MAX_RADIUS_M = 20_037_509.0  # half the equator: every point of the Earth is within it
_CURSOR_PREFIX = "offset:"


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{offset}".encode()).decode()


def decode_cursor(cursor: str, *, argument: str = "after") -> int:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise BadUserInput(
            f"{argument}: {cursor[:64]!r} is not a cursor returned by this API", argument=argument
        ) from exc
    digits = text[len(_CURSOR_PREFIX) :]
    if (
        not text.startswith(_CURSOR_PREFIX)
        or not digits.isascii()
        or not digits.isdigit()
        or len(digits) > 12
    ):
        raise BadUserInput(
            f"{argument}: {cursor[:64]!r} is not a cursor returned by this API", argument=argument
        )
    return validation.offset(int(digits), argument=argument)


def point_or_error(lon: float, lat: float, *, argument: str) -> tuple[float, float]:
    try:
        check_lon_lat(lon, lat, field=argument)
    except GeometryInputError as exc:
        raise BadUserInput(str(exc), argument=argument) from exc
    return lon, lat


@dataclass(frozen=True, slots=True)
class FilterInput:
    """Plain values of the GraphQL `SiteFilter` input."""

    territory: tuple[str, str] | None = None
    source_district: str | None = None
    state: str | None = None
    building_block: str | None = None
    search: str | None = None
    bbox: list[float] | None = None
    near: tuple[float, float, float | None] | None = None  # lon, lat, radius metres
    source_district_mismatch: str | None = None


async def build_query(
    ctx: Context, raw: FilterInput | None, *, distance_from: tuple[float, float] | None = None
) -> SiteQuery:
    """Validate a filter; raises `BadUserInput` naming the argument (`filter.bbox`, `filter.near`, …), also
    for a layer or territory code that does not exist."""
    raw = raw or FilterInput()
    if raw.territory is not None:
        await require_territory(
            ctx, *raw.territory, layer_argument="filter.territory.layer", argument="filter.territory.code"
        )
    if raw.source_district_mismatch is not None:
        await require_layer(ctx, raw.source_district_mismatch, argument="filter.sourceDistrictMismatch")
    return parse_query(raw, distance_from=distance_from)


def parse_query(raw: FilterInput, *, distance_from: tuple[float, float] | None = None) -> SiteQuery:
    """The checks of `build_query` that need no database (every one but the existence of the codes)."""
    bbox = None
    if raw.bbox is not None:
        try:
            bbox = check_bbox(raw.bbox, field="filter.bbox")
        except GeometryInputError as exc:
            raise BadUserInput(str(exc), argument="filter.bbox") from exc
    near = None
    if raw.near is not None:
        lon, lat, radius = raw.near
        point_or_error(lon, lat, argument="filter.near")
        if radius is not None and not 0 < radius <= MAX_RADIUS_M:
            raise BadUserInput(
                f"filter.near.radiusMeters must be a positive number of metres up to {MAX_RADIUS_M:,.0f} "
                f"(half the Earth's circumference), got {radius}",
                argument="filter.near.radiusMeters",
            )
        near = Near(lon, lat, radius)
    if distance_from is not None:
        lon, lat = point_or_error(*distance_from, argument="distanceFrom")
        if near is not None and (lon, lat) != (near.lon, near.lat):
            raise BadUserInput(
                "distanceFrom must equal filter.near's point when both are given", argument="distanceFrom"
            )
        near = near or Near(lon, lat, None)
    state = None
    if raw.state is not None:
        state = raw.state.strip().upper()
        if not re.fullmatch(r"[A-Z]{2}", state):
            raise BadUserInput(
                f"filter.state must be a 2-letter USPS code, got {raw.state!r}", argument="filter.state"
            )
    return SiteQuery(
        territory=raw.territory,
        source_district=raw.source_district,
        state=state,
        building_block=raw.building_block,
        search=validation.text(
            raw.search or "", argument="filter.search", max_length=validation.SEARCH_MAX, required=False
        )
        or None,
        bbox=bbox,
        near=near,
        source_district_mismatch_layer=raw.source_district_mismatch,
    )


@dataclass(frozen=True, slots=True)
class SitePage:
    rows: list[tuple[CustomerSite, float | None]]
    offset: int
    has_next: bool
    query: SiteQuery


async def site_page(
    ctx: Context, *, query: SiteQuery, order: SiteOrder, first: int, after: str | None
) -> SitePage:
    """One page (`first` rows after the `after` cursor) of the filtered, ordered sites."""
    offset = page_offset(query=query, order=order, first=first, after=after)
    async with ctx.db.read() as session:
        rows = await site_repo.find_sites(session, query=query, order=order, offset=offset, limit=first + 1)
    return SitePage(rows[:first], offset, len(rows) > first, query)


def page_offset(*, query: SiteQuery, order: SiteOrder, first: int, after: str | None) -> int:
    """The offset of the page after `after`, once `first` and the order are checked (`BadUserInput`,
    `PageTooLarge`)."""
    validation.page_size(first, maximum=MAX_PAGE)
    if order is SiteOrder.DISTANCE and query.near is None:
        raise BadUserInput(
            "orderBy DISTANCE needs a point: give distanceFrom { lon lat } or filter.near", argument="orderBy"
        )
    return decode_cursor(after) + 1 if after else 0


async def count(ctx: Context, query: SiteQuery) -> int:
    async with ctx.db.read() as session:
        return await site_repo.count_sites(session, query=query)


def normal_site_number(site_number: str) -> str | None:
    """`"349"` → `"0349"`; None for what cannot be a site number (not 1–4 ASCII digits)."""
    number = site_number.strip()
    if not (number.isascii() and number.isdigit()) or len(number) > 4:
        return None
    return number.zfill(4)


async def site_by_number(ctx: Context, site_number: str) -> CustomerSite | None:
    """The site with this number (leading zeros optional), or None: an unknown number is not an error."""
    number = normal_site_number(site_number)
    if number is None:
        return None
    async with ctx.db.read() as session:
        found = await site_repo.sites_by_number(session, site_numbers=[number])
    return found.get(number)


async def territory_site_page(
    ctx: Context, *, territory_id: int, order: SiteOrder, first: int, after: str | None
) -> SitePage:
    """One page of the sites currently assigned to a territory."""
    return await site_page(
        ctx, query=SiteQuery(territory_id=territory_id), order=order, first=first, after=after
    )
