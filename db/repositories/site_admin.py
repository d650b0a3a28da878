"""Writes of customer sites and the contract created with one (issue 10 §1; domain.md §1.2).

Everything runs in the caller's unit of work as the application role: migration 0012's policies let only a
billingAdmin caller insert or update `customer_site` and insert `contract`. Inserting a site or changing its
`location` queues it for assignment (migration 0009's `customer_site_after_locate`); `flush_assignments`
runs the commit-time assignment now, so the caller can report the territories. Points are EPSG:4326.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Contract, CustomerSite
from db.repositories import territories as territory_repo
from db.repositories.territories import SiteChange


class NumberTaken(Exception):
    """The unique site number was taken by a concurrent insert (SQLSTATE 23505 on `uq_customer_site_site_number`)."""


@dataclass(frozen=True, slots=True)
class SiteValues:
    """Validated column values of a site; `lon`/`lat` None: no point (then `geocode_method` is None too)."""

    site_number: str
    name: str
    address: str
    street: str
    city: str
    state: str
    zip: str
    source_district: str | None
    gl_string: str
    parking_spaces: int | None
    rooms: int | None
    vendor_id: str | None
    start_date: dt.date | None
    lon: float | None
    lat: float | None
    geocode_method: str | None


def _point(lon: float | None, lat: float | None) -> Any:
    if lon is None or lat is None:
        return None
    return func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)


async def site_number_taken(session: AsyncSession, *, site_number: str) -> bool:
    """Whether a site has this number (billingAdmin sees every site, so this sees them all)."""
    found = await session.execute(select(CustomerSite.id).where(CustomerSite.site_number == site_number))
    return found.first() is not None


async def insert_site(session: AsyncSession, values: SiteValues) -> uuid.UUID:
    """Insert the site; raises `NumberTaken` when a concurrent transaction committed the same number (the
    insert waits for it on the unique index, then fails), inside a savepoint so the unit of work survives."""
    columns = {
        "site_number": values.site_number,
        "name": values.name,
        "address": values.address,
        "street": values.street,
        "city": values.city,
        "state": values.state,
        "zip": values.zip,
        "source_district": values.source_district,
        "gl_string": values.gl_string,
        "parking_spaces": values.parking_spaces,
        "rooms": values.rooms,
        "vendor_id": values.vendor_id,
        "start_date": values.start_date,
        "location": _point(values.lon, values.lat),
        "geocode_method": values.geocode_method,
    }
    try:
        async with session.begin_nested():
            site_id = (
                await session.execute(insert(CustomerSite).values(**columns).returning(CustomerSite.id))
            ).scalar_one()
    except IntegrityError as error:
        if "uq_customer_site_site_number" in str(error.orig):
            raise NumberTaken(values.site_number) from error
        raise
    return uuid.UUID(str(site_id))


async def insert_contract(
    session: AsyncSession, *, site_id: uuid.UUID, billing_type: str, contract_type: str | None
) -> uuid.UUID:
    """The site's contract: `billing_type`, no building blocks, `configuration_source` 'api', a draft until an
    approved `activateContract` amendment gives it its term (issue 10 §4)."""
    contract_id = uuid.uuid4()
    await session.execute(
        insert(Contract).values(
            id=contract_id,
            site_id=site_id,
            billing_type=billing_type,
            contract_type=contract_type,
            building_blocks=[],
            configuration_source="api",
            status="draft",
        )
    )
    return contract_id


async def lock_site(session: AsyncSession, *, site_number: str) -> CustomerSite | None:
    """The site row, locked (`FOR UPDATE`) until the unit of work ends; None when there is none (or the
    caller may not see it). A concurrent change of the same site waits here and then reads ours."""
    found = await session.execute(
        select(CustomerSite)
        .where(CustomerSite.site_number == site_number)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return found.scalar_one_or_none()


async def update_site(session: AsyncSession, *, site_id: uuid.UUID, changes: dict[str, Any]) -> None:
    """Set the given columns (`lon`/`lat` together: the new point) and `updated_at`."""
    values = dict(changes)
    if "lon" in values or "lat" in values:
        values["location"] = _point(values.pop("lon", None), values.pop("lat", None))
    values["updated_at"] = func.clock_timestamp()
    await session.execute(
        update(CustomerSite)
        .where(CustomerSite.id == site_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


async def reload(session: AsyncSession, *, site_id: uuid.UUID) -> CustomerSite:
    found = await session.execute(
        select(CustomerSite).where(CustomerSite.id == site_id).execution_options(populate_existing=True)
    )
    return found.scalar_one()


async def flush_assignments(session: AsyncSession) -> list[SiteChange]:
    """Assign the sites queued in this transaction in every territory layer now (migration 0009's
    `towne_flush_territory_changes`, which COMMIT would otherwise run); the changed assignments."""
    return await territory_repo.flush_changes(session)


async def open_territories(session: AsyncSession, *, site_id: uuid.UUID) -> list[tuple[str, str | None]]:
    """(layer code, territory code or None) of the site's open assignment in every layer, by layer code."""
    rows = await session.execute(
        text(
            "SELECT l.code, t.code FROM site_territory_assignment a"
            " JOIN territory_layer l ON l.id = a.layer_id LEFT JOIN territory t ON t.id = a.territory_id"
            " WHERE a.site_id = :site AND a.valid_to IS NULL ORDER BY l.code"
        ),
        {"site": site_id},
    )
    return [(row[0], row[1]) for row in rows.all()]
