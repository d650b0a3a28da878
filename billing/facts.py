"""Operating facts of one site around a service period, the engine's second input (domain.md §1.7, §2.0 #3).

The shapes mirror the legacy data-warehouse views the flows read, one row per source row, so a figure can be
traced back. A row may also stand for ``source_rows`` source rows that the engine cannot tell apart (same keys
in the same date bucket, amounts summed; timesheet rows whose per-row rounding is exact, §2.2): that is how
`db.repositories.facts.load_reduced_facts` fetches them already summed in SQL. The engine sums amounts and
counts ``source_rows`` (not Python rows) where an explanation says how many rows it read, so both shapes give
the same invoices, explanations included. Money is ``Decimal`` USD; minutes are whole numbers. Rows may extend *before* the service month
(from the earliest accumulation start the contract needs, at most 12 months back): blocks filter by date or
period themselves (§2.0 #3 — revenue inputs are the calendar month of ``P_start``; annual accumulations read
``[acc_start, P_start)``).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, fields
from decimal import Decimal

__all__ = [
    "MINUTE_CATEGORIES",
    "LedgerBalance",
    "OccupiedRoomsDay",
    "PeriodFacts",
    "PriorProfitShare",
    "RevenueRow",
    "TimesheetRow",
]


@dataclass(frozen=True, slots=True)
class RevenueRow:
    """One row of ``vwREVENUE_DAILY_DETAIL_INVOICE`` (§1.7) for the site.

    ``deposit_flag``: ``"Y"`` deposited by Towne Park, ``"N"`` collected by the client, ``"V"`` validation.
    ``tax_rate`` is a fraction (0.10 = 10 %, §5 F-9). ``source_rows``: how many source rows of the same keys
    and date bucket this row sums (``date`` is then the earliest of them).
    """

    date: datetime.date
    revenue_code: str
    category: str
    collection_type: str | None
    deposit_flag: str
    external_revenue: Decimal
    net_external_revenue: Decimal
    billable_net_validation: Decimal
    tax_rate: Decimal | None = None
    source_rows: int = 1


@dataclass(frozen=True, slots=True)
class OccupiedRoomsDay:
    """``REVENUE_DATAMART_DAILY_INVOICE`` row of category 'Occupied Rooms' (§2.3); ``source_rows`` days of the
    same month summed (``date`` the earliest)."""

    date: datetime.date
    rooms: Decimal
    source_rows: int = 1


@dataclass(frozen=True, slots=True)
class TimesheetRow:
    """One timesheet row (``TIMESHEET_ENTITY``, §1.7, §2.2): minutes per category, each with its next-day twin.

    ``source_rows`` > 1: the minutes of that many rows of the job code summed, which is exact only for rows
    whose hours need no rounding (regular and overtime minutes multiples of 3, so minutes / 60 has at most two
    decimals and §2.2's per-row round2 changes nothing): ``date`` is then the earliest of them.
    """

    date: datetime.date
    job_code: str
    regular: int = 0
    regular_next_day: int = 0
    overtime: int = 0
    overtime_next_day: int = 0
    holiday: int = 0
    holiday_next_day: int = 0
    double_overtime: int = 0
    double_overtime_next_day: int = 0
    holiday_overtime: int = 0
    holiday_overtime_next_day: int = 0
    holiday_double_overtime: int = 0
    holiday_double_overtime_next_day: int = 0
    source_rows: int = 1


#: The timesheet minute categories in column order: the fields of `TimesheetRow` after date and job code
#: (and before ``source_rows``).
#: The one list: the database model's check (`db.models.TimesheetMinutes`, whose typed columns a test holds
#: to it), the fact loader, the CSV import and the generator derive theirs from it. A new category is a
#: field here, its column on the model and a migration.
MINUTE_CATEGORIES: tuple[str, ...] = tuple(
    f.name for f in fields(TimesheetRow) if f.name not in ("date", "job_code", "source_rows")
)


@dataclass(frozen=True, slots=True)
class LedgerBalance:
    """``ACCOUNT_SUMMARY`` row (§1.7): ``period`` ``YYYYMM``, ``main_account`` e.g. ``"6000"``, ``entity``
    e.g. ``"02"``; ``balance`` USD as posted (revenue accounts are credit-signed, i.e. negative)."""

    period: str
    main_account: str
    entity: str
    balance: Decimal


@dataclass(frozen=True, slots=True)
class PriorProfitShare:
    """``metaData.monthlyProfit`` of a profit-share line on an earlier invoice of the site (§2.10e).

    ``service_period_start`` (``P_start`` of that statement), when known, places the profit in its service
    month; without it the legacy invoice-date window is used (see ``billing.blocks.profit_share``).
    """

    invoice_date: datetime.date
    monthly_profit: Decimal
    service_period_start: datetime.date | None = None


@dataclass(frozen=True, slots=True)
class PeriodFacts:
    """Everything the invoice engine reads about one site for one statement.

    ``revenue``, ``occupied_rooms``, ``timesheets`` and ``ledger`` hold rows of the service month and,
    where annual accumulation needs them, of earlier months. ``forecast_internal_revenue`` is
    ``−Σ FD_BALANCE`` of ``vwFORECAST_CONSOLIDATED`` for the site and period (positive USD, §3.6);
    ``ready_for_invoice_comment`` the site's ready-for-invoice comment of the previous month (§3.5),
    ``None`` when there is none. ``PeriodFacts()`` means "no facts known".
    """

    revenue: tuple[RevenueRow, ...] = ()
    occupied_rooms: tuple[OccupiedRoomsDay, ...] = ()
    timesheets: tuple[TimesheetRow, ...] = ()
    ledger: tuple[LedgerBalance, ...] = ()
    prior_profit_shares: tuple[PriorProfitShare, ...] = ()
    forecast_internal_revenue: Decimal | None = None
    ready_for_invoice_comment: str | None = None
