"""Closed accounting periods (issue 12 §3; domain.md §3.2, §3.8, §3.9; migration 0019).

The accounting period of a statement is the month of its service period start, P_start: the `yyyyMM` of its
GL batch id `{yyyyMM(P_start)}POWERBILL…` (§3.8), whatever the billing type (an Advanced statement of
2025-06 generated in May belongs to 202506).

A billing admin closes a period that has ended (`close_period`); from then on no statement of it is
generated, regenerated, edited (ad hoc), confirmed, marked sent or sent: `require_open` refuses with
`PERIOD_CLOSED` where each write starts, and the database's triggers refuse any write that gets past it
(psql, QGIS), SQLSTATE TP001, answered as PERIOD_CLOSED too. Reopening takes two billing admins: one
requests it (`request_reopen`), another approves (`approve_reopen`); the requester is refused
`OWN_REOPEN_REQUEST` here and by a CHECK in the database.

Close against writes: every write of a period's statements holds the period's advisory lock shared from
its first statement to its end (`require_open`, and the triggers on every row they write); `close_period`
takes it exclusive, so it waits for the writes in flight, then hashes the GL journal they left
(`journalSha256`: SHA-256 of `/exports/gl-journal.csv?servicePeriod=…` as a caller who sees every site), and
every write that starts after it sees the period closed. A generation therefore either commits before the
close (and is in the hash) or is refused.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

import billing
from db.models import AccountingPeriod, AccountingPeriodEvent
from db.repositories import periods as repo
from resolvers import validation
from resolvers.context import Context
from resolvers.errors import (
    BadUserInput,
    NoReopenRequest,
    OwnReopenRequest,
    PeriodAlreadyClosed,
    PeriodClosed,
    PeriodNotClosed,
    PeriodNotEnded,
    ReopenAlreadyRequested,
    Unauthenticated,
)

_PERIOD = re.compile(r"(\d{4})-?(\d{2})")
MAX_PERIODS = 240  # one list: twenty years of months


async def require_open(session: AsyncSession, *, service_period_start: dt.date) -> None:
    """Refuse a write of a statement of the service period starting `service_period_start` (P_start, the
    accounting period of §3.8) when the period is closed: `PeriodClosed` naming it and who closed it when.

    Holds the period's lock shared until `session`'s transaction ends: call it inside the write's transaction,
    before its first write, so a concurrent `close_period` either waits for this write or is seen by it.
    """
    closure = await repo.closed_period(session, service_period_start=service_period_start)
    if closure is not None:
        raise PeriodClosed.of(period=closure.period, closed_by=closure.closed_by, closed_at=closure.closed_at)


def parse_period(value: str, *, argument: str = "period") -> billing.ServicePeriod:
    """`YYYYMM` (or `YYYY-MM`), 2000-01 … 2099-12; anything else is `BAD_USER_INPUT` naming `argument`."""
    match = _PERIOD.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None or not 1 <= int(match[2]) <= 12:
        raise BadUserInput(f"{argument} must be YYYYMM (e.g. 202504), got {value[:20]!r}", argument=argument)
    period = billing.ServicePeriod(int(match[1]), int(match[2]))
    if not validation.FIRST_PERIOD <= period <= validation.LAST_PERIOD:
        raise BadUserInput(
            f"{argument} must be between {validation.FIRST_PERIOD.yyyymm} and "
            f"{validation.LAST_PERIOD.yyyymm}, got {value[:20]!r}",
            argument=argument,
        )
    return period


def _reason(value: str | None) -> str | None:
    if value is None:
        return None
    return (
        validation.text(value, argument="reason", max_length=validation.DESCRIPTION_MAX, required=False)
        or None
    )


def _actor(ctx: Context) -> str:
    if ctx.caller.subject is None:
        raise Unauthenticated("sign in to close or reopen accounting periods")
    return ctx.caller.subject


def _day(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).date().isoformat()


async def close_period(ctx: Context, *, period: billing.ServicePeriod, reason: str | None) -> str:
    """Close an accounting period that has ended (billing admin); returns its YYYYMM.

    One transaction: the period's lock exclusive (waits for every write of its statements in flight), its
    row `FOR UPDATE`, the SHA-256 of its GL journal CSV as the data stands, the row and a `closed` event.
    Raises `PeriodNotEnded` (the current month or later: its statements are still being made),
    `PeriodAlreadyClosed`.
    """
    from server.exports import gl_journal_sha256  # the export's own bytes; server.exports imports resolvers

    actor = _actor(ctx)
    reason = _reason(reason)
    key = period.yyyymm
    if period.end >= ctx.today:
        raise PeriodNotEnded(
            f"period {key} ends on {period.end.isoformat()}: a period is closed once it has ended "
            f"(today is {ctx.today.isoformat()})",
            argument="period",
            period=key,
        )
    async with ctx.db.transaction() as session:
        await repo.lock_period_exclusive(session, period=key)
        row = await repo.period_for_update(session, period=key)
        if row is not None and row.state == "closed":
            raise PeriodAlreadyClosed(
                f"period {key} is closed already (closed by {row.closed_by} on {_day(row.closed_at)})",
                argument="period",
                period=key,
            )
        digest = await gl_journal_sha256(session, service_period_start=period.start)
        now = dt.datetime.now(dt.UTC)
        if row is None:
            row = AccountingPeriod(period=key, state="closed", closed_at=now, closed_by=actor)
            session.add(row)
        row.state, row.closed_at, row.closed_by, row.journal_sha256 = "closed", now, actor, digest
        row.reopen_requested_by = row.reopen_requested_at = row.reopen_reason = None
        row.reopened_by = row.reopened_at = None
        await session.flush()
        repo.add_event(session, period=key, kind="closed", actor=actor, reason=reason, journal_sha256=digest)
        await session.flush()
    return key


async def request_reopen(ctx: Context, *, period: billing.ServicePeriod, reason: str | None) -> str:
    """Ask to reopen a closed period (billing admin); another billing admin approves it. Returns YYYYMM.
    Raises `PeriodNotClosed`, `ReopenAlreadyRequested`."""
    actor = _actor(ctx)
    reason = _reason(reason)
    key = period.yyyymm
    async with ctx.db.transaction() as session:
        row = await repo.period_for_update(session, period=key)
        if row is None or row.state != "closed":
            raise PeriodNotClosed(
                f"period {key} is open: there is nothing to reopen", argument="period", period=key
            )
        if row.reopen_requested_by is not None:
            assert row.reopen_requested_at is not None
            raise ReopenAlreadyRequested(
                f"reopening period {key} was requested by {row.reopen_requested_by} on "
                f"{_day(row.reopen_requested_at)}: another billing admin approves it (approvePeriodReopen)",
                argument="period",
                period=key,
            )
        row.reopen_requested_by = actor
        row.reopen_requested_at = dt.datetime.now(dt.UTC)
        row.reopen_reason = reason
        repo.add_event(session, period=key, kind="reopen_requested", actor=actor, reason=reason)
        await session.flush()
    return key


async def approve_reopen(ctx: Context, *, period: billing.ServicePeriod) -> str:
    """Reopen a closed period on another billing admin's request (four eyes, §3.9); returns YYYYMM. Its
    statements may be written again. Raises `PeriodNotClosed`, `NoReopenRequest`, `OwnReopenRequest`."""
    actor = _actor(ctx)
    key = period.yyyymm
    async with ctx.db.transaction() as session:
        row = await repo.period_for_update(session, period=key)
        if row is None or row.state != "closed":
            raise PeriodNotClosed(
                f"period {key} is open: there is nothing to reopen", argument="period", period=key
            )
        if row.reopen_requested_by is None:
            raise NoReopenRequest(
                f"nobody requested reopening period {key}: requestPeriodReopen first (another billing admin "
                "then approves it)",
                argument="period",
                period=key,
            )
        if row.reopen_requested_by == actor:
            raise OwnReopenRequest(
                f"you requested reopening period {key}: another billing admin must approve it",
                argument="period",
                period=key,
            )
        requester = row.reopen_requested_by
        row.state, row.journal_sha256 = "open", None
        row.reopened_by, row.reopened_at = actor, dt.datetime.now(dt.UTC)
        await session.flush()
        repo.add_event(session, period=key, kind="reopened", actor=actor, requested_by=requester)
        await session.flush()
    return key


@dataclass(frozen=True, slots=True)
class PeriodView:
    """An accounting period as read: its month, its row (None: never closed, open) and its history."""

    period: billing.ServicePeriod
    row: AccountingPeriod | None
    events: list[AccountingPeriodEvent]

    @property
    def closed(self) -> bool:
        return self.row is not None and self.row.state == "closed"


async def periods(
    ctx: Context, *, first: billing.ServicePeriod, last: billing.ServicePeriod
) -> list[PeriodView]:
    """Every month `first`..`last` (inclusive, at most `MAX_PERIODS`), oldest first, with state and
    history; a month never closed is open."""
    if first > last:
        raise BadUserInput(f"from ({first.yyyymm}) must not be after to ({last.yyyymm})", argument="from")
    months = first.through(last)
    if len(months) > MAX_PERIODS:
        raise BadUserInput(
            f"from..to spans {len(months)} months; at most {MAX_PERIODS} per request", argument="to"
        )
    async with ctx.db.read() as session:
        rows = await repo.periods(session, first=first.yyyymm, last=last.yyyymm)
        events = await repo.events_of(session, periods=[m.yyyymm for m in months])
    return [PeriodView(m, rows.get(m.yyyymm), events[m.yyyymm]) for m in months]


async def closed_starts(ctx: Context, starts: list[dt.date]) -> set[dt.date]:
    """Which service period starts are in closed periods (`Statement.periodClosed`)."""
    async with ctx.db.read() as session:
        return await repo.closed_among(session, starts=starts)
