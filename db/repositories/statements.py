"""Statement reads for the API (writes live in `resolvers.statements`, one unit of work each)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    BillingStatement,
    CustomerSite,
    Invoice,
    InvoiceLine,
    SiteTerritoryAssignment,
    StatementEvent,
    Territory,
    TerritoryLayer,
)


@dataclass(frozen=True, slots=True)
class StatementQuery:
    site_number: str | None = None
    service_period_start: dt.date | None = None
    statuses: tuple[str, ...] = ()
    territory: tuple[str, str] | None = None
    current_only: bool = False  # §3.5 "current statements": not Sent, or created this calendar month


def _conditions(q: StatementQuery, today: dt.date) -> list[ColumnElement[bool]]:
    s = BillingStatement
    conditions: list[ColumnElement[bool]] = []
    if q.site_number is not None:
        conditions.append(
            s.site_id
            == select(CustomerSite.id).where(CustomerSite.site_number == q.site_number).scalar_subquery()
        )
    if q.service_period_start is not None:
        conditions.append(s.service_period_start == q.service_period_start)
    if q.statuses:
        conditions.append(s.status.in_(q.statuses))
    if q.territory is not None:
        layer, code = q.territory
        conditions.append(
            exists()
            .where(SiteTerritoryAssignment.site_id == s.site_id, SiteTerritoryAssignment.valid_to.is_(None))
            .where(Territory.id == SiteTerritoryAssignment.territory_id, Territory.code == code)
            .where(TerritoryLayer.id == Territory.layer_id, TerritoryLayer.code == layer)
        )
    if q.current_only:
        month_start = dt.datetime(today.year, today.month, 1, tzinfo=dt.UTC)
        conditions.append((s.status != "SENT") | (s.created_at >= month_start))
    return conditions


async def find_statements(
    session: AsyncSession, *, query: StatementQuery, today: dt.date, offset: int, limit: int
) -> list[BillingStatement]:
    """Newest service period first, then site number, then version (newest first)."""
    statement = (
        select(BillingStatement)
        .join(CustomerSite, CustomerSite.id == BillingStatement.site_id)
        .where(and_(True, *_conditions(query, today)))
        .order_by(
            BillingStatement.service_period_start.desc(),
            CustomerSite.site_number,
            BillingStatement.version.desc(),
        )
        .offset(offset)
        .limit(limit)
    )
    return list((await session.execute(statement)).scalars())


async def count_statements(session: AsyncSession, *, query: StatementQuery, today: dt.date) -> int:
    statement = (
        select(func.count()).select_from(BillingStatement).where(and_(True, *_conditions(query, today)))
    )
    return int((await session.execute(statement)).scalar_one())


async def statements_by_id(
    session: AsyncSession, *, statement_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, BillingStatement]:
    rows = await session.execute(select(BillingStatement).where(BillingStatement.id.in_(statement_ids)))
    return {row.id: row for row in rows.scalars()}


async def _children(
    session: AsyncSession, model: Any, parent: Any, parent_ids: Sequence[uuid.UUID], order: Any
) -> dict[uuid.UUID, list[Any]]:
    """Rows of `model` whose `parent` column is in `parent_ids`, grouped by parent, in `order`: one statement."""
    out: dict[uuid.UUID, list[Any]] = defaultdict(list)
    rows = await session.execute(select(model).where(parent.in_(parent_ids)).order_by(order))
    for row in rows.scalars():
        out[getattr(row, parent.key)].append(row)
    return out


async def invoices_of(
    session: AsyncSession, *, statement_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Invoice]]:
    return await _children(session, Invoice, Invoice.statement_id, statement_ids, Invoice.group_number)


async def invoices_by_id(
    session: AsyncSession, *, invoice_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Invoice]:
    rows = await session.execute(select(Invoice).where(Invoice.id.in_(invoice_ids)))
    return {row.id: row for row in rows.scalars()}


async def lines_of(
    session: AsyncSession, *, invoice_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[InvoiceLine]]:
    return await _children(session, InvoiceLine, InvoiceLine.invoice_id, invoice_ids, InvoiceLine.position)


async def events_of(
    session: AsyncSession, *, statement_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[StatementEvent]]:
    return await _children(
        session, StatementEvent, StatementEvent.statement_id, statement_ids, StatementEvent.id
    )
