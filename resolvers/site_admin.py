"""Site management (issue 10 §1; domain.md §1.2, §3.9, §4.3): add, change, close and reopen customer sites.

Each mutation is one unit of work as the application role with the caller bound (migration 0012: only a
billingAdmin caller may write the rows): validate every argument first (pure, `BAD_USER_INPUT` naming the
argument path, e.g. `input.glString`), lock what is changed (`SELECT … FOR UPDATE`), write, and run the
commit-time territory assignment now (`towne_flush_territory_changes`, migration 0009) so the result reports
the site's territories in every layer. Any refusal raises before commit: nothing is half written.

Location: a given point (lon/lat, EPSG:4326) is recorded as `geocode_method` 'manual'; otherwise the site
is geocoded offline by ZIP exactly as `towne import` does (`spatial.geocode.ZipGazetteer`: 'zip', else
'zip3_prefix'); a ZIP neither knows, without a point, is refused (`ZIP_NOT_GEOCODABLE`).

Refreshable vs manually maintained fields (domain.md §1.2): the nightly EDW master refresh
(`CustomerSiteMasterUpdate`) owns name, district, parking spaces and rooms; vendor id, billing contacts and
the address are maintained by hand. The API may change both kinds; the schema's field descriptions say which
kind each is, so a client knows a refreshable value it sets may be overwritten by the next refresh.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import DBAPIError

from db.models import CustomerSite
from db.repositories import site_admin as repo
from db.repositories.site_admin import NumberTaken, SiteValues
from db.repositories.territories import SiteChange
from resolvers import validation
from resolvers.context import Context
from resolvers.errors import (
    BadUserInput,
    Forbidden,
    NotFound,
    SiteChanged,
    SiteNumberInUse,
    TransitionNotAllowed,
    ZipNotGeocodable,
)
from spatial.geocode import ZipGazetteer

NAME_MAX = 200
STREET_MAX = 200
CITY_MAX = 100
VENDOR_ID_MAX = 64
RECIPIENT_MAX = 200
DISTRICT_MAX = 200
CONTRACT_TYPE_MAX = 100
COUNT_MAX = 1_000_000  # parking spaces or rooms: far above any operation, far below the integer column
EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(2099, 12, 31)
BILLING_TYPES = ("ARREARS", "ADVANCED")

_GL_STRING = re.compile(r"[0-9]{2}-[0-9]{2}-[0-9]{4}-")
_ZIP = re.compile(r"[0-9]{5}")
_STATE = re.compile(r"[A-Z]{2}")

# loaded on first use (about 1 s), then shared: the data set is read-only
_GAZETTEER = ZipGazetteer()


@dataclass(frozen=True, slots=True)
class Point:
    lon: float
    lat: float


@dataclass(frozen=True, slots=True)
class NewSite:
    """`addCustomerSite`'s input as plain values (not yet validated)."""

    site_number: str
    name: str
    street: str
    city: str
    state: str
    zip: str
    gl_string: str
    location: Point | None = None
    source_district: str | None = None
    parking_spaces: int | None = None
    rooms: int | None = None
    vendor_id: str | None = None
    start_date: dt.date | None = None
    billing_type: str = "ARREARS"
    contract_type: str | None = None


@dataclass(frozen=True, slots=True)
class SiteOutcome:
    """The site as written (re-read in the unit of work) and the assignments that changed with it."""

    site: CustomerSite
    site_changes: list[SiteChange]


# ------------------------------------------------------------------------------------------- validation


def _gl_string(value: str, argument: str) -> str:
    stripped = value.strip()
    if not _GL_STRING.fullmatch(stripped):
        raise BadUserInput(
            f"{argument} must be a GL string EE-RR-CCCC- (2, 2 and 4 digits, each followed by a hyphen), "
            f"e.g. 02-03-1009-, got {stripped[:40]!r}",
            argument=argument,
        )
    return stripped


def _zip(value: str, argument: str) -> str:
    stripped = value.strip()
    if not _ZIP.fullmatch(stripped):
        raise BadUserInput(f"{argument} must be a 5-digit ZIP code, got {stripped[:40]!r}", argument=argument)
    return stripped


def _state(value: str, argument: str) -> str:
    stripped = value.strip().upper()
    if not _STATE.fullmatch(stripped):
        raise BadUserInput(
            f"{argument} must be a 2-letter USPS state code, e.g. FL, got {value[:40]!r}", argument=argument
        )
    return stripped


def _count(value: int | None, argument: str) -> int | None:
    if value is not None and not 0 <= value <= COUNT_MAX:
        raise BadUserInput(f"{argument} must be between 0 and {COUNT_MAX:,}, got {value}", argument=argument)
    return value


def _date(value: dt.date | None, argument: str) -> dt.date | None:
    if value is not None and not EARLIEST_DATE <= value <= LATEST_DATE:
        raise BadUserInput(
            f"{argument} must be between {EARLIEST_DATE} and {LATEST_DATE}, got {value}", argument=argument
        )
    return value


def _optional_text(value: str | None, argument: str, max_length: int) -> str | None:
    if value is None:
        return None
    return validation.text(value, argument=argument, max_length=max_length, required=False) or None


def _point(value: Point | None, argument: str) -> Point | None:
    """Finite lon −180…180, lat −90…90 (EPSG:4326), naming the coordinate that is wrong."""
    if value is None:
        return None
    for name, number, limit in (("lon", value.lon, 180.0), ("lat", value.lat, 90.0)):
        if not math.isfinite(number) or not -limit <= number <= limit:
            raise BadUserInput(
                f"{argument}.{name} must be a finite number between {-limit:g} and {limit:g} "
                f"(EPSG:4326 degrees), got {number}",
                argument=f"{argument}.{name}",
            )
    return value


def _billing_type(value: str, argument: str) -> str:
    if value not in BILLING_TYPES:
        raise BadUserInput(f"{argument} must be ARREARS or ADVANCED, got {value[:40]!r}", argument=argument)
    return value


def compose_address(street: str, city: str | None, state: str, zip_code: str) -> str:
    """The legacy single field, `street, city, ST ZIP`, as the master refresh composes it (domain.md §1.2)."""
    return f"{street}, {city}, {state} {zip_code}" if city else f"{street}, {state} {zip_code}"


def locate(point: Point | None, zip_code: str, state: str, *, argument: str) -> tuple[float, float, str]:
    """(lon, lat, geocode method): the given point ('manual'), else the ZIP's point as the importer finds it."""
    if point is not None:
        return point.lon, point.lat, "manual"
    found = _GAZETTEER.geocode(zip_code, state)
    if found is None:
        raise ZipNotGeocodable(
            f"ZIP {zip_code} in {state} cannot be geocoded offline (neither the ZIP nor its 3-digit prefix "
            f"is known in that state): check {argument} and input.state, or give input.location (lon/lat)",
            zip_code=zip_code,
            state=state,
            argument=argument,
        )
    return found.lon, found.lat, found.method


def validate_new(raw: NewSite) -> tuple[SiteValues, str, str | None]:
    """The site's column values, the contract's billing type and contract-type label; raises
    `BadUserInput` naming `input.<field>`, or `ZipNotGeocodable`."""
    number = validation.site_number(raw.site_number, argument="input.siteNumber")
    name = validation.text(raw.name, argument="input.name", max_length=NAME_MAX)
    street = validation.text(raw.street, argument="input.street", max_length=STREET_MAX)
    city = validation.text(raw.city, argument="input.city", max_length=CITY_MAX)
    state = _state(raw.state, "input.state")
    zip_code = _zip(raw.zip, "input.zip")
    gl_string = _gl_string(raw.gl_string, "input.glString")
    point = _point(raw.location, "input.location")
    values = SiteValues(
        site_number=number,
        name=name,
        address=compose_address(street, city, state, zip_code),
        street=street,
        city=city,
        state=state,
        zip=zip_code,
        source_district=_optional_text(raw.source_district, "input.sourceDistrict", DISTRICT_MAX),
        gl_string=gl_string,
        parking_spaces=_count(raw.parking_spaces, "input.parkingSpaces"),
        rooms=_count(raw.rooms, "input.rooms"),
        vendor_id=_optional_text(raw.vendor_id, "input.vendorId", VENDOR_ID_MAX),
        start_date=_date(raw.start_date, "input.startDate"),
        lon=None,
        lat=None,
        geocode_method=None,
    )
    billing_type = _billing_type(raw.billing_type, "input.billingType")
    contract_type = _optional_text(raw.contract_type, "input.contractType", CONTRACT_TYPE_MAX)
    lon, lat, method = locate(point, zip_code, state, argument="input.zip")
    values = SiteValues(**{**_fields(values), "lon": lon, "lat": lat, "geocode_method": method})
    return values, billing_type, contract_type


def _fields(values: SiteValues) -> dict[str, Any]:
    return {name: getattr(values, name) for name in SiteValues.__slots__}


# The fields `updateCustomerSite` may change: GraphQL input name → (column, validator).
_Validator = Any
_PATCHABLE: dict[str, tuple[str, _Validator]] = {
    "name": ("name", lambda v, a: validation.text(v, argument=a, max_length=NAME_MAX)),
    "sourceDistrict": ("source_district", lambda v, a: _optional_text(v, a, DISTRICT_MAX)),
    "parkingSpaces": ("parking_spaces", _count),
    "rooms": ("rooms", _count),
    "street": ("street", lambda v, a: validation.text(v, argument=a, max_length=STREET_MAX)),
    "city": ("city", lambda v, a: validation.text(v, argument=a, max_length=CITY_MAX)),
    "state": ("state", _state),
    "zip": ("zip", _zip),
    "glString": ("gl_string", _gl_string),
    "vendorId": ("vendor_id", lambda v, a: _optional_text(v, a, VENDOR_ID_MAX)),
    "invoiceRecipient": ("invoice_recipient", lambda v, a: _optional_text(v, a, RECIPIENT_MAX)),
    "billingContactEmails": (
        "billing_contact_emails",
        lambda v, a: validation.email_addresses(v, argument=a),
    ),
    "startDate": ("start_date", _date),
}
# may not be null: a null for one of these is refused (the column is NOT NULL or the value is required)
_REQUIRED = frozenset({"name", "street", "city", "state", "zip", "glString"})
# arrays: null clears them to none (the column is NOT NULL DEFAULT '{}')
_EMPTY_WHEN_CLEARED = frozenset({"billingContactEmails"})
_ADDRESS = frozenset({"street", "city", "state", "zip"})


def validate_patch(patch: Mapping[str, Any]) -> tuple[dict[str, Any], Point | None]:
    """Column values of the fields given (null clears an optional field) and the new point, if any."""
    columns: dict[str, Any] = {}
    point: Point | None = None
    for field, value in patch.items():
        argument = f"input.{field}"
        if field == "location":
            if value is None:
                raise BadUserInput(
                    f"{argument} must be a point; to re-geocode by ZIP give input.zip without a location",
                    argument=argument,
                )
            point = _point(value, argument)
            continue
        if field not in _PATCHABLE:
            raise BadUserInput(f"input.{field} cannot be changed", argument=argument)
        if value is None and field in _REQUIRED:
            raise BadUserInput(f"{argument} must not be null (leave it out to keep it)", argument=argument)
        column, check = _PATCHABLE[field]
        if value is None and field in _EMPTY_WHEN_CLEARED:
            columns[column] = []
        else:
            columns[column] = None if value is None else check(value, argument)
    return columns, point


# ------------------------------------------------------------------------------------------- mutations


def _sqlstate(error: BaseException) -> str | None:
    cause: BaseException | None = error
    for _ in range(6):
        if cause is None:
            return None
        state = getattr(cause, "sqlstate", None)
        if isinstance(state, str):
            return state
        cause = getattr(cause, "orig", None) or cause.__cause__
    return None


@asynccontextmanager
async def _refusals() -> AsyncIterator[None]:
    """The database's own refusal of a write (row-level security, migration 0012) as FORBIDDEN."""
    try:
        yield
    except DBAPIError as error:
        if _sqlstate(error) == "42501":
            raise Forbidden("managing sites needs the role billingAdmin") from error
        raise


def _done(ctx: Context) -> None:
    ctx.loaders.forget_territories()
    ctx.loaders.site_by_id.clear_all()
    ctx.loaders.contract_by_site.clear_all()


async def add_site(ctx: Context, raw: NewSite) -> SiteOutcome:
    """Create a site, its contract (billing type ARREARS unless given, no building blocks,
    configuration_source 'api', domain.md §1.2) and its assignment in every territory layer, in one unit of
    work. Raises `BadUserInput` (argument path), `ZipNotGeocodable`, `SiteNumberInUse` (also when a
    concurrent request took the number first)."""
    values, billing_type, contract_type = validate_new(raw)

    def taken() -> SiteNumberInUse:
        return SiteNumberInUse(
            f"site number {values.site_number} is taken: site numbers are unique; choose another",
            site_number=values.site_number,
        )

    async with _refusals(), ctx.db.transaction() as session:
        if await repo.site_number_taken(session, site_number=values.site_number):
            raise taken()
        try:
            site_id = await repo.insert_site(session, values)
        except NumberTaken as error:
            raise taken() from error
        await repo.insert_contract(
            session, site_id=site_id, billing_type=billing_type, contract_type=contract_type
        )
        changes = await repo.flush_assignments(session)
        site = await repo.reload(session, site_id=site_id)
    _done(ctx)
    return SiteOutcome(site, changes)


async def _locked(ctx: Context, session: Any, number: str) -> CustomerSite:
    site = await repo.lock_site(session, site_number=number)
    if site is None:
        raise NotFound(f"no site with site number {number}", argument="siteNumber")
    return site


def _check_unchanged(site: CustomerSite, expected: dt.datetime | None) -> None:
    if expected is None:
        return
    if expected.tzinfo is None:
        raise BadUserInput(
            "expectedUpdatedAt must carry a time zone offset, as `updatedAt` is read",
            argument="expectedUpdatedAt",
        )
    if site.updated_at != expected:
        raise SiteChanged(
            f"site {site.site_number} was changed at {site.updated_at.isoformat()}, after the "
            f"{expected.isoformat()} you read: read it again and redo the change",
            current_updated_at=site.updated_at,
        )


async def update_site(
    ctx: Context, *, site_number: str, patch: Mapping[str, Any], expected_updated_at: dt.datetime | None
) -> SiteOutcome:
    """Change the given fields of a site (absent: kept; null: cleared, for optional fields). A new point
    moves the site ('manual'); a new ZIP or state without a point re-geocodes it by ZIP. A moved site is
    reassigned in every layer with history (the open rows closed, new ones opened, migration 0009). The
    address parts given are recomposed into the legacy `address`. Raises `BadUserInput`, `NotFound`,
    `SiteChanged` (`expectedUpdatedAt` differs), `ZipNotGeocodable`."""
    number = validation.site_number(site_number)
    columns, point = validate_patch(patch)
    async with _refusals(), ctx.db.transaction() as session:
        site = await _locked(ctx, session, number)
        _check_unchanged(site, expected_updated_at)
        if _ADDRESS & patch.keys():
            parts = {k: columns.get(k, getattr(site, k)) for k in ("street", "city", "state", "zip")}
            columns["address"] = compose_address(parts["street"], parts["city"], parts["state"], parts["zip"])
        if point is not None or {"zip", "state"} & patch.keys():
            zip_code = columns.get("zip", site.zip)
            state = columns.get("state", site.state)
            lon, lat, method = locate(point, zip_code, state, argument="input.zip")
            columns.update(lon=lon, lat=lat, geocode_method=method)
        await repo.update_site(session, site_id=site.id, changes=columns)
        changes = await repo.flush_assignments(session)
        site = await repo.reload(session, site_id=site.id)
    _done(ctx)
    return SiteOutcome(site, changes)


async def close_site(ctx: Context, *, site_number: str, close_date: dt.date) -> SiteOutcome:
    """Set the close date and make the site inactive. Service periods that start after the close date are
    not billed (`billing_gates.check_billable`); the period containing it still is. Raises `BadUserInput`
    (a date before the start date, or out of range), `NotFound`, `TransitionNotAllowed` (already closed)."""
    number = validation.site_number(site_number)
    _date(close_date, "closeDate")
    async with _refusals(), ctx.db.transaction() as session:
        site = await _locked(ctx, session, number)
        if site.close_date is not None:
            raise TransitionNotAllowed(
                f"site {number} is already closed (on {site.close_date.isoformat()}); reopen it first to "
                "change the close date"
            )
        if site.start_date is not None and close_date < site.start_date:
            raise BadUserInput(
                f"closeDate {close_date} is before the site's start date {site.start_date}",
                argument="closeDate",
            )
        await repo.update_site(
            session, site_id=site.id, changes={"close_date": close_date, "is_active": False}
        )
        site = await repo.reload(session, site_id=site.id)
    _done(ctx)
    return SiteOutcome(site, [])


async def reopen_site(ctx: Context, *, site_number: str) -> SiteOutcome:
    """Clear the close date and make the site active again. Raises `NotFound`, `TransitionNotAllowed`
    (not closed)."""
    number = validation.site_number(site_number)
    async with _refusals(), ctx.db.transaction() as session:
        site = await _locked(ctx, session, number)
        if site.close_date is None:
            raise TransitionNotAllowed(f"site {number} is not closed")
        await repo.update_site(session, site_id=site.id, changes={"close_date": None, "is_active": True})
        site = await repo.reload(session, site_id=site.id)
    _done(ctx)
    return SiteOutcome(site, [])


__all__ = [
    "NewSite",
    "Point",
    "SiteOutcome",
    "add_site",
    "close_site",
    "compose_address",
    "reopen_site",
    "update_site",
]
