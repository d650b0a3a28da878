"""Fact filters, GL codes and accumulation starts shared by several blocks (domain.md §1.7, §2.0 #3, §2.4).

Each filter states the legacy query it reproduces, so a figure can be traced to the rows it summed.
"""

from __future__ import annotations

import calendar
import datetime
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Protocol

from ..codes import AccumulationStart
from ..facts import LedgerBalance, PeriodFacts, RevenueRow, TimesheetRow
from ..money import ZERO
from ..period import ServicePeriod

__all__ = [
    "BELL_COLLECTION_TYPES",
    "CLAIMS_ACCOUNTS",
    "CODE_BELL",
    "CODE_MANAGEMENT",
    "CODE_TP_FEES",
    "INSURANCE_ACCOUNTS",
    "PTEB_ACCOUNTS",
    "fee_revenue",
    "last_anniversary",
    "ledger_sum",
    "month_revenue",
    "revenue_share_accumulation_start",
    "row_count",
    "service_year_accumulation_start",
    "timesheet_rows",
]

# GL main accounts of the engine's own lines (§2.0).
CODE_TP_FEES = "4790"
CODE_MANAGEMENT = "4791"
CODE_BELL = "4795"

PER_MAN_HOUR = "Per Man Hour"
OTHER_REVENUE = "Other Revenue"

PTEB_ACCOUNTS: tuple[str, ...] = ("6200", "6399", "6500")
INSURANCE_ACCOUNTS: tuple[str, ...] = ("7080", "7082", "7085")
CLAIMS_ACCOUNTS: tuple[str, ...] = ("7099", "7100", "7101", "7102")

# Literal list of the flow, misspelling ("Portorage") included: fixing it would drop real collections (§2.6).
BELL_COLLECTION_TYPES: frozenset[str] = frozenset(
    {
        "Bell Service Fee",
        "Bag Drops",
        "Bell Porterage",
        "Bell Revenue",
        "Billable Tips/Gratuities",
        "Portorage",
        "Bell Gratuities",
        "Gratuities",
        "Service Charge",
        "Porterage Service Fee",
        "Gratuities/Tips",
        "Porterage",
        "Room Drops",
    }
)


class _Counted(Protocol):
    @property
    def source_rows(self) -> int: ...


def row_count(rows: Iterable[_Counted]) -> int:
    """How many source rows ``rows`` stand for (Σ ``source_rows``): the count an explanation prints, the same
    whether the facts come one row per source row or already summed in SQL (``billing.facts``)."""
    return sum(row.source_rows for row in rows)


def flag(row: RevenueRow) -> str:
    """``DEPOSIT_FLAG`` without stray blanks or case: ``"Y"``, ``"N"`` or ``"V"``."""
    return row.deposit_flag.strip().upper()


def month_revenue(facts: PeriodFacts, period: ServicePeriod) -> Iterator[RevenueRow]:
    """Revenue rows dated in the calendar month of ``P_start`` (§2.0 #3), in facts order."""
    return (row for row in facts.revenue if row.date.year == period.year and row.date.month == period.month)


def fee_revenue(facts: PeriodFacts, period: ServicePeriod) -> tuple[Decimal, int]:
    """``Rev`` of §2.10a: Σ NETEXTERNALREVENUE of the month, DEPOSIT_FLAG ≠ 'V', category ≠ 'Per Man Hour',
    all revenue codes. Returns (USD, number of rows summed)."""
    rows = [row for row in month_revenue(facts, period) if flag(row) != "V" and row.category != PER_MAN_HOUR]
    return sum((row.net_external_revenue for row in rows), ZERO), row_count(rows)


def timesheet_rows(facts: PeriodFacts, period: ServicePeriod, job_code: str) -> tuple[TimesheetRow, ...]:
    """Timesheet rows of ``job_code`` (``WORK_ROLE``) dated ``P_start..P_end`` (§2.2, §2.15)."""
    return tuple(
        row for row in facts.timesheets if row.job_code == job_code and period.start <= row.date <= period.end
    )


def ledger_sum(
    facts: PeriodFacts,
    codes: Iterable[str],
    *,
    since: str,
    until: str,
    exclude_entity: str | None = None,
) -> tuple[Decimal, tuple[LedgerBalance, ...]]:
    """Σ BALANCE of ``ACCOUNT_SUMMARY`` rows with MAIN_ACCOUNT in ``codes`` and ``since ≤ PERIOD ≤ until``
    (``YYYYMM`` strings compare in date order), optionally skipping one ENTITY. Returns (USD, rows)."""
    wanted = frozenset(codes)
    rows = tuple(
        row
        for row in facts.ledger
        if row.main_account in wanted
        and since <= row.period <= until
        and (exclude_entity is None or row.entity != exclude_entity)
    )
    return sum((row.balance for row in rows), ZERO), rows


def _anniversary_in(start: datetime.date, year: int) -> datetime.date:
    # A 29 February start has its anniversary on 28 February in common years.
    day = min(start.day, calendar.monthrange(year, start.month)[1])
    return datetime.date(year, start.month, day)


def last_anniversary(start: datetime.date, on_or_before: datetime.date) -> datetime.date:
    """Most recent anniversary of ``start`` on or before ``on_or_before`` (29 Feb → 28 Feb in common years).

    ``start`` itself when it is later than ``on_or_before`` (the site had not started: nothing accumulates).
    """
    if start >= on_or_before:
        return start
    candidate = _anniversary_in(start, on_or_before.year)
    return candidate if candidate <= on_or_before else _anniversary_in(start, on_or_before.year - 1)


def service_year_accumulation_start(
    anniversary: bool, site_start_date: datetime.date | None, period: ServicePeriod
) -> tuple[datetime.date, str]:
    """Start of the accumulation year that contains ``period``: Jan 1 of the service year, or the last
    anniversary of the site start date on or before ``P_start`` (§2.4 intended rule, §7 #9, §7 #10).

    Returns (date, how it was chosen). An anniversary without a site start date falls back to Jan 1 of the
    service year, and the note says so.
    """
    january = datetime.date(period.year, 1, 1)
    if not anniversary:
        return january, f"Jan 1 of the service year = {january.isoformat()}"
    if site_start_date is None:
        return january, (
            f"FALLBACK {january.isoformat()} (Jan 1 of the service year): the contract has no site start "
            "date to take an anniversary from"
        )
    start = last_anniversary(site_start_date, period.start)
    return start, (
        f"last anniversary of the site start date {site_start_date.isoformat()} on or before "
        f"{period.start.isoformat()} = {start.isoformat()}"
    )


def revenue_share_accumulation_start(
    anniversary: bool,
    site_start_date: datetime.date | None,
    period: ServicePeriod,
    mode: AccumulationStart,
) -> tuple[datetime.date, str]:
    """Revenue-share accumulation start (§2.4, §7 #9), with a note naming the rule.

    ``INTENDED``: :func:`service_year_accumulation_start`. ``LEGACY`` (the flow): calendar = Jan 1 of the
    site start-date year, anniversary = the site start date itself; without a site start date it falls back
    to the intended rule, and the note says so.
    """
    if mode is AccumulationStart.INTENDED or site_start_date is None:
        start, note = service_year_accumulation_start(anniversary, site_start_date, period)
        if mode is AccumulationStart.LEGACY:
            note += " (legacy rule needs a site start date; intended rule used)"
        return start, f"§7 #9 {'intended' if mode is AccumulationStart.INTENDED else 'legacy'} rule: {note}"
    if anniversary:
        return site_start_date, (
            f"§7 #9 LEGACY rule: the site start date itself = {site_start_date.isoformat()}"
        )
    january = datetime.date(site_start_date.year, 1, 1)
    return january, f"§7 #9 LEGACY rule: Jan 1 of the site start-date year = {january.isoformat()}"


def gate_2_warning(
    subject: str,
    group: int | None,
    group_numbers: frozenset[int],
    *,
    unset_subject: str | None = None,
    unset_effect: str = "not billed",
    plural: bool = False,
) -> str | None:
    """Why a block's configured invoice group keeps it off the statement (§2.0 gate 2), or None.

    ``subject`` names what routes ("Bell Service"); ``unset_subject`` what lacks a group when that reads
    better ("Bell Service row"); blocks other than fixed fee, PLH and POR have no default group.
    """
    if group is None:
        has = "have" if plural else "has"
        return f"{unset_subject or subject} {has} no invoice group (no default, §2.0 gate 2): {unset_effect}"
    if group not in group_numbers:
        routes = "route" if plural else "routes"
        return f"{subject} {routes} to invoice group {group}, which the statement does not have: not billed"
    return None
