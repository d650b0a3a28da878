"""The reads of the streamed exports (`server/exports.py`, issue 11 §3): one SELECT per export, read with a
server-side cursor (`stream_rows`), so memory does not grow with the row count.

The filters are those of the GraphQL lists, built by the same code: `statements(filter:)` conditions
(`db.repositories.statements`, current version of each statement) and `sites(filter:)` conditions
(`db.repositories.sites.site_conditions`). Scopes are PostgreSQL's: every table read here has a row-level
security policy (migration 0008), and the session is the request's door with its caller bound, so nothing
is filtered in Python. Money columns are `numeric(14,2)` and arrive as `Decimal`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, literal, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from db.models import BillingStatement, CustomerSite, Invoice, InvoiceLine, StatementEvent, StatementVersion
from db.models.statement import LINE_FLAGS
from db.repositories.sites import SiteQuery, site_conditions
from db.repositories.statements import StatementQuery, is_current, statement_conditions

# rows fetched per round trip of the cursor: about 1 MB of Python objects for the widest export (invoice
# lines, 28 columns; tests/test_exports.py measures it); 500 rows doubled that for no measurable gain
BATCH = 200


@dataclass(frozen=True, slots=True)
class PeriodRange:
    """Service periods `first` … `last` (first days of months), both inclusive; None: open."""

    first: dt.date | None = None
    last: dt.date | None = None


def _current_statements(
    query: StatementQuery, periods: PeriodRange, today: dt.date
) -> tuple[Any, list[ColumnElement[bool]]]:
    """The current version alias and the WHERE conditions of `statements(filter:)` plus the period range."""
    current = aliased(StatementVersion)
    conditions = statement_conditions(query, today, current)
    if periods.first is not None:
        conditions.append(BillingStatement.service_period_start >= periods.first)
    if periods.last is not None:
        conditions.append(BillingStatement.service_period_start <= periods.last)
    return current, conditions


def _from_current(statement: Select[Any], current: Any, conditions: list[ColumnElement[bool]]) -> Select[Any]:
    """`statement` over the statements with their current version `current` and site, where `conditions`."""
    return (
        statement.select_from(BillingStatement)
        .join(current, and_(current.statement_id == BillingStatement.id, is_current(current)))
        .join(CustomerSite, CustomerSite.id == BillingStatement.site_id)
        .where(and_(True, *conditions))
    )


def statement_register(query: StatementQuery, periods: PeriodRange, today: dt.date) -> Select[Any]:
    """One row per statement with its current version (§3.3): service period start, site number and name,
    status, version, revision, amount (Σ invoice amounts of the version, USD), forecast data (JSON of §3.6),
    created by/at, the last status move's actor/instant, sent at. Oldest service period first, then site
    number."""
    current, conditions = _current_statements(query, periods, today)
    amount = (
        select(func.coalesce(func.sum(Invoice.amount), 0))
        .where(Invoice.statement_version_id == current.id)
        .scalar_subquery()
    )
    last_move = (
        select(StatementEvent.actor, StatementEvent.at)
        .where(StatementEvent.statement_version_id == current.id)
        .order_by(StatementEvent.id.desc())
        .limit(1)
        .lateral("last_move")
    )
    return (
        _from_current(
            select(
                BillingStatement.service_period_start,
                CustomerSite.site_number,
                CustomerSite.name,
                current.status,
                current.version,
                current.revision,
                amount.label("amount"),
                current.forecast_data,
                current.created_by,
                current.created_at,
                last_move.c.actor,
                last_move.c.at,
                current.sent_at,
                BillingStatement.id,
            ),
            current,
            conditions,
        )
        .outerjoin(last_move, true())
        .order_by(BillingStatement.service_period_start, CustomerSite.site_number)
    )


def invoice_lines(query: StatementQuery, periods: PeriodRange, today: dt.date) -> Select[Any]:
    """The lines of the invoices of current versions: service period start, site number, status, version,
    revision, invoice number and date, invoice group, position, code, title, building block, amount (USD),
    ad-hoc type, then the §1.6 flags in `LINE_FLAGS` order. By service period, site number, group, position."""
    current, conditions = _current_statements(query, periods, today)
    line = InvoiceLine
    return (
        _from_current(
            select(
                BillingStatement.service_period_start,
                CustomerSite.site_number,
                current.status,
                current.version,
                current.revision,
                Invoice.invoice_number,
                Invoice.invoice_date,
                Invoice.group_number,
                line.position,
                line.code,
                line.title,
                line.building_block,
                line.amount,
                line.adhoc_type,
                *(getattr(line, flag) for flag in LINE_FLAGS),
            ),
            current,
            conditions,
        )
        .join(Invoice, Invoice.statement_version_id == current.id)
        .join(line, line.invoice_id == Invoice.id)
        .order_by(
            BillingStatement.service_period_start,
            CustomerSite.site_number,
            Invoice.group_number,
            line.position,
        )
    )


def gl_lines(query: StatementQuery, today: dt.date) -> Select[Any]:
    """What the Great Plains journal (§3.8) of many statements reads: one row per invoice line (an invoice
    without lines once, its line columns null) of the current versions that `query` selects, with the
    site's GL string and number, the service period, the billing type, the invoice (id, number, date,
    amount, vendor id) and the line (code, amount, title). By site number, invoice group and line position:
    within a statement the order of `db.repositories.statements.gl_inputs`, so each statement's part is
    exactly its one-statement export."""
    current, conditions = _current_statements(query, PeriodRange(), today)
    return (
        _from_current(
            select(
                CustomerSite.site_number,
                CustomerSite.gl_string,
                BillingStatement.service_period_start,
                current.billing_type,
                Invoice.id,
                Invoice.invoice_number,
                Invoice.invoice_date,
                Invoice.amount,
                Invoice.vendor_id,
                InvoiceLine.code,
                InvoiceLine.amount,
                InvoiceLine.title,
            ),
            current,
            conditions,
        )
        .join(Invoice, Invoice.statement_version_id == current.id)
        .outerjoin(InvoiceLine, InvoiceLine.invoice_id == Invoice.id)
        .order_by(
            CustomerSite.site_number,
            BillingStatement.service_period_start,
            Invoice.group_number,
            InvoiceLine.position,
        )
    )


def site_directory(query: SiteQuery, *, with_vendor_id: bool) -> Select[Any]:
    """The sites of `sites(filter:)`: number, name, address, street, city, state, ZIP, legacy district, GL
    string, parking spaces, rooms, vendor id (a null literal unless `with_vendor_id`: the column is never
    read for a role without a billing need, §4.4), start and close dates, active, longitude and latitude
    (EPSG:4326 degrees), geocode method, updated at. By site number."""
    site = CustomerSite
    vendor: Any = site.vendor_id if with_vendor_id else literal(None).label("vendor_id")
    columns: list[Any] = [
        site.site_number,
        site.name,
        site.address,
        site.street,
        site.city,
        site.state,
        site.zip,
        site.source_district,
        site.gl_string,
        site.parking_spaces,
        site.rooms,
        vendor,
        site.start_date,
        site.close_date,
        site.is_active,
        func.ST_X(site.location),
        func.ST_Y(site.location),
        func.upper(site.geocode_method),  # as GraphQL names it: ZIP, ZIP3_PREFIX, MANUAL
        site.updated_at,
    ]
    return select(*columns).where(and_(True, *site_conditions(query))).order_by(site.site_number)


async def stream_rows(
    session: AsyncSession, statement: Select[Any], *, batch: int = BATCH
) -> AsyncIterator[Any]:
    """The rows of `statement` through a server-side cursor, `batch` rows per fetch (plain rows: no ORM
    identity map that would keep every row alive)."""
    result = await session.stream(statement.execution_options(yield_per=batch))
    async for row in result:
        yield row


__all__ = [
    "BATCH",
    "PeriodRange",
    "gl_lines",
    "invoice_lines",
    "site_directory",
    "statement_register",
    "stream_rows",
]
