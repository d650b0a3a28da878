"""Accounting periods: reads, the close and reopen writes, and the period lock (issue 12 §3; migration 0019).

The accounting period of a statement is the month of its service period start, P_start (domain.md §3.8:
`{yyyyMM(P_start)}POWERBILL…`). Functions never commit. Locks: every write of a period's statements holds the
transaction-scoped advisory lock (`PERIOD_LOCK_SPACE`, YYYYMM) shared (`closed_period`, also taken by the
database's triggers); a close holds it exclusive (`lock_period_exclusive`), so it waits for the writes in
flight and the writes after it see it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, literal, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AccountingPeriod, AccountingPeriodEvent, BillingStatement, StatementVersion

PERIOD_LOCK_SPACE = 29808  # 0x7470 "tp": migration 0019's towne_closed_period


@dataclass(frozen=True, slots=True)
class Closure:
    """A closed period as the database reports it to a writer: YYYYMM, who closed it, when."""

    period: str
    closed_by: str
    closed_at: dt.datetime


def yyyymm(start: dt.date) -> str:
    return f"{start.year:04d}{start.month:02d}"


async def closed_period(session: AsyncSession, *, service_period_start: dt.date) -> Closure | None:
    """Take the period's lock shared for this transaction and say whether it is closed (None: open).

    Through the database's `towne_closed_period` (SECURITY DEFINER), so the answer never depends on the
    caller's row scope, nor on whether a caller is bound at all (a worker).
    """
    row = (
        await session.execute(
            text("SELECT period, closed_by, closed_at FROM towne_closed_period(:start)"),
            {"start": service_period_start},
        )
    ).one_or_none()
    return Closure(row[0], row[1], row[2]) if row else None


async def lock_period_exclusive(session: AsyncSession, *, period: str) -> None:
    """Wait for every transaction writing the period's statements, and hold them off until this one ends."""
    await session.execute(
        select(func.pg_advisory_xact_lock(literal(PERIOD_LOCK_SPACE), literal(int(period))))
    )


async def period_for_update(session: AsyncSession, *, period: str) -> AccountingPeriod | None:
    return (
        await session.execute(
            select(AccountingPeriod)
            .where(AccountingPeriod.period == period)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()


async def periods(session: AsyncSession, *, first: str, last: str) -> dict[str, AccountingPeriod]:
    """The rows of periods `first`..`last` (YYYYMM, inclusive), by period."""
    rows = await session.execute(select(AccountingPeriod).where(AccountingPeriod.period.between(first, last)))
    return {row.period: row for row in rows.scalars()}


async def events_of(
    session: AsyncSession, *, periods: Sequence[str]
) -> dict[str, list[AccountingPeriodEvent]]:
    """The history of each period, oldest first."""
    out: dict[str, list[AccountingPeriodEvent]] = {p: [] for p in periods}
    rows = await session.execute(
        select(AccountingPeriodEvent)
        .where(AccountingPeriodEvent.period.in_(periods))
        .order_by(AccountingPeriodEvent.id)
    )
    for row in rows.scalars():
        out[row.period].append(row)
    return out


async def closed_among(session: AsyncSession, *, starts: Sequence[dt.date]) -> set[dt.date]:
    """Which of the service period starts are in closed periods (a plain read: no lock)."""
    keys = {yyyymm(s): s for s in starts}
    rows = await session.execute(
        select(AccountingPeriod.period).where(
            AccountingPeriod.period.in_(keys), AccountingPeriod.state == "closed"
        )
    )
    return {keys[p] for p in rows.scalars()}


def add_event(
    session: AsyncSession,
    *,
    period: str,
    kind: str,
    actor: str,
    reason: str | None = None,
    requested_by: str | None = None,
    journal_sha256: str | None = None,
) -> None:
    session.add(
        AccountingPeriodEvent(
            period=period,
            kind=kind,
            actor=actor,
            reason=reason,
            requested_by=requested_by,
            journal_sha256=journal_sha256,
        )
    )


async def service_period_of_version(session: AsyncSession, *, version_id: object) -> dt.date:
    """P_start of the statement a version belongs to."""
    return (
        await session.execute(
            select(BillingStatement.service_period_start)
            .join(StatementVersion, StatementVersion.statement_id == BillingStatement.id)
            .where(StatementVersion.id == version_id)
        )
    ).scalar_one()
