"""Operating facts → `billing.PeriodFacts`, set-based: one statement per fact table for any number of sites.

Each site asks for a window `[start, end]` (the service month, or earlier when an annual accumulation
needs prior months, domain.md §2.4/§2.10); the windows travel as arrays and are joined with `unnest`.

Two readers: `load_facts` returns one row per source row (the forecast import compares them with the rows it
generates); `load_reduced_facts`, for invoices, returns the rows already summed in SQL down to what the
engine's blocks can tell apart (see its docstring), as plain tuples, about a tenth of the rows.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from billing import FactNeeds, ServicePeriod
from billing.facts import (
    MINUTE_CATEGORIES,
    LedgerBalance,
    OccupiedRoomsDay,
    PeriodFacts,
    PriorProfitShare,
    RevenueRow,
    TimesheetRow,
)

_WINDOW = "JOIN unnest(CAST(:site_ids AS uuid[]), CAST(:starts AS date[])) AS w(site_id, start) ON f.site_id = w.site_id"


async def load_facts(
    session: AsyncSession, *, windows: Mapping[uuid.UUID, dt.date], end: dt.date, period: str
) -> dict[uuid.UUID, PeriodFacts]:
    """Facts of each site in `windows` (site id → first day needed) up to `end` (last day of the service
    month). `period` (`YYYYMM`) selects the forecast; the ready-for-invoice comment is the previous month's
    (§3.5). Six statements whatever the number of sites."""
    site_ids = list(windows)
    params: dict[str, Any] = {"site_ids": site_ids, "starts": [windows[s] for s in site_ids], "end": end}
    revenue: dict[uuid.UUID, list[RevenueRow]] = defaultdict(list)
    rows = await session.execute(
        text(
            "SELECT f.site_id, f.date, f.revenue_code, f.category, f.collection_type, f.deposit_flag,"
            " f.external_revenue, f.net_external_revenue, f.billable_net_validation, f.tax_rate"
            f" FROM revenue_daily f {_WINDOW} WHERE f.date >= w.start AND f.date <= :end"
            " ORDER BY f.site_id, f.date, f.id"
        ),
        params,
    )
    for r in rows:
        revenue[r[0]].append(RevenueRow(*r[1:]))
    rooms: dict[uuid.UUID, list[OccupiedRoomsDay]] = defaultdict(list)
    for r in await session.execute(
        text(
            f"SELECT f.site_id, f.date, f.rooms FROM occupied_rooms_daily f {_WINDOW}"
            " WHERE f.date >= w.start AND f.date <= :end ORDER BY f.site_id, f.date"
        ),
        params,
    ):
        rooms[r[0]].append(OccupiedRoomsDay(r[1], r[2]))
    timesheets: dict[uuid.UUID, list[TimesheetRow]] = defaultdict(list)
    for r in await session.execute(
        text(
            f"SELECT f.site_id, f.date, f.job_code, {', '.join('f.' + m for m in MINUTE_CATEGORIES)}"
            f" FROM timesheet_minutes f {_WINDOW} WHERE f.date >= w.start AND f.date <= :end"
            " ORDER BY f.site_id, f.date, f.job_code"
        ),
        params,
    ):
        timesheets[r[0]].append(TimesheetRow(r[1], r[2], *r[3:]))
    others = await _other_facts(session, params, period)
    return _period_facts(site_ids, revenue, rooms, timesheets, others)


async def _execute(session: AsyncSession, statement: Any, params: dict[str, Any]) -> Iterable[Any]:
    """The rows of `statement`, or none without sending it when it has no site to read (`site_ids` empty)."""
    if not params["site_ids"]:
        return ()
    return await session.execute(statement, params)


@dataclass(frozen=True, slots=True)
class _Others:
    ledger: dict[uuid.UUID, list[LedgerBalance]]
    forecast: dict[uuid.UUID, Decimal]
    comments: dict[uuid.UUID, str]
    prior: dict[uuid.UUID, list[PriorProfitShare]]


async def _other_facts(
    session: AsyncSession,
    params: Mapping[str, Any],
    period: str,
    *,
    ledger_sites: list[uuid.UUID] | None = None,
    prior_sites: list[uuid.UUID] | None = None,
) -> _Others:
    """Ledger balances from each window's first month to `period`, the forecast and the comment of `period`,
    and the prior profit shares: three statements, both readers share them. `ledger_sites` and `prior_sites`,
    when given, narrow the ledger and the prior profit shares to those sites, and a statement with no site
    to read is not sent."""
    starts = dict(zip(params["site_ids"], params["starts"], strict=True))

    def of(sites: list[uuid.UUID] | None) -> dict[str, Any]:
        chosen = params["site_ids"] if sites is None else sites
        return {**params, "site_ids": chosen, "starts": [starts[s] for s in chosen]}

    ledger_params, prior_params = of(ledger_sites), of(prior_sites)
    ledger: dict[uuid.UUID, list[LedgerBalance]] = defaultdict(list)
    for r in await _execute(
        session,
        text(
            f"SELECT f.site_id, f.period, f.main_account, f.entity, f.balance FROM ledger_balance f {_WINDOW}"
            " WHERE f.period >= to_char(w.start, 'YYYYMM') AND f.period <= :period"
            " ORDER BY f.site_id, f.period, f.main_account, f.entity"
        ),
        {**ledger_params, "period": period},
    ):
        ledger[r[0]].append(LedgerBalance(r[1], r[2], r[3], r[4]))
    # forecast and comment of the period, one statement (each is keyed by site and period)
    forecast: dict[uuid.UUID, Decimal] = {}
    comments: dict[uuid.UUID, str] = {}
    for site_id, amount, comment in await session.execute(
        text(
            "SELECT w.site_id, f.amount, c.comment FROM unnest(CAST(:site_ids AS uuid[])) AS w(site_id)"
            " LEFT JOIN forecast_internal_revenue f ON f.site_id = w.site_id AND f.period = :period"
            " LEFT JOIN ready_for_invoice_comment c ON c.site_id = w.site_id AND c.period = :period"
            " WHERE f.site_id IS NOT NULL OR c.site_id IS NOT NULL"
        ),
        {"site_ids": params["site_ids"], "period": period},
    ):
        if amount is not None:
            forecast[site_id] = amount
        if comment is not None:
            comments[site_id] = comment
    # §2.10e: monthly profit of earlier service months, from the newest version of each earlier statement
    prior: dict[uuid.UUID, list[PriorProfitShare]] = defaultdict(list)
    for r in await _execute(
        session,
        text(
            "SELECT DISTINCT ON (s.site_id, s.service_period_start) s.site_id, i.invoice_date, i.monthly_profit,"
            " s.service_period_start"
            f" FROM billing_statement s {_WINDOW.replace('f.site_id', 's.site_id')}"
            " JOIN statement_version v ON v.statement_id = s.id AND NOT v.superseded"
            " JOIN invoice i ON i.statement_version_id = v.id AND i.monthly_profit IS NOT NULL"
            " WHERE s.service_period_start >= date_trunc('month', w.start)::date"
            " AND s.service_period_start < date_trunc('month', CAST(:end AS date))::date"
            " ORDER BY s.site_id, s.service_period_start, v.version DESC"
        ),
        prior_params,
    ):
        prior[r[0]].append(PriorProfitShare(r[1], r[2], r[3]))
    return _Others(ledger, forecast, comments, prior)


# §2.2: hours are rounded to cents per timesheet row; minutes / 60 has at most two decimals exactly when the
# minutes are a multiple of 3, and then round2 changes nothing, so such rows of a job code may be summed.
def _period_facts(
    site_ids: list[uuid.UUID],
    revenue: Mapping[uuid.UUID, Sequence[RevenueRow]],
    rooms: Mapping[uuid.UUID, Sequence[OccupiedRoomsDay]],
    timesheets: Mapping[uuid.UUID, Sequence[TimesheetRow]],
    others: _Others,
) -> dict[uuid.UUID, PeriodFacts]:
    """Each site's `PeriodFacts` from the rows read per table (a site without rows gets empty ones)."""
    return {
        site_id: PeriodFacts(
            revenue=tuple(revenue.get(site_id, ())),
            occupied_rooms=tuple(rooms.get(site_id, ())),
            timesheets=tuple(timesheets.get(site_id, ())),
            ledger=tuple(others.ledger.get(site_id, ())),
            forecast_internal_revenue=others.forecast.get(site_id),
            ready_for_invoice_comment=others.comments.get(site_id),
            prior_profit_shares=tuple(others.prior.get(site_id, ())),
        )
        for site_id in site_ids
    }


_REGULAR = "f.regular + f.regular_next_day"
_OVERTIME = " + ".join(f"f.{m}" for m in MINUTE_CATEGORIES if not m.startswith("regular"))
_EXACT_HOURS = f"(({_REGULAR}) % 3 = 0 AND ({_OVERTIME}) % 3 = 0)"


async def load_reduced_facts(
    session: AsyncSession, *, needs: Mapping[uuid.UUID, FactNeeds], period: ServicePeriod
) -> dict[uuid.UUID, PeriodFacts]:
    """The facts `billing.preview` reads for `period` of each site in `needs` (`billing.fact_needs`), summed in
    SQL to what the blocks tell apart (domain.md §2.0 #3, §2.2–§2.10), so that the invoices, explanations
    included, are those of `load_facts`' rows. At most six statements whatever the number of sites (a table
    no site's blocks read is not queried: a fixed-fee site needs only the forecast and comment), in the
    caller's session (row-level security applies as to any read).

    * revenue (§2.4–§2.10): rows of the service month summed per revenue code, category, collection type,
      deposit flag and tax rate (every key a block filters on), dated at the earliest row and ordered by
      each group's first row in `load_facts` order (date, id), so that §2.8's "first client-collected row"
      and its tax rate are the same; rows before the month (annual accumulations, §2.4, whose start may fall
      on any day) summed the same way per day.
    * occupied rooms (§2.3): one row per site, Σ rooms of the month.
    * timesheets (§2.2, §2.10a): the service month, only the job codes of `FactNeeds.job_codes`; rows whose
      hours need no rounding (minutes multiples of 3) summed per job code, the others one by one, since the
      hours are rounded per row.
    * ledger balances (§2.9, §2.10b/c) and prior profit shares (§2.10e) as `load_facts` reads them, of the
      sites whose blocks read them; forecast and comment of every site.

    Each summed row counts its source rows (`source_rows`), which the explanations print.
    """
    site_ids = list(needs)
    params: dict[str, Any] = {
        "site_ids": site_ids,
        "starts": [needs[s].start for s in site_ids],
        "month": period.start,
        "end": period.end,
    }
    readers = [s for s in site_ids if needs[s].revenue]
    revenue: dict[uuid.UUID, list[RevenueRow]] = defaultdict(list)
    for r in await _execute(
        session,
        text(
            "SELECT f.site_id, min(f.date), f.revenue_code, f.category, f.collection_type, f.deposit_flag,"
            " sum(f.external_revenue), sum(f.net_external_revenue), sum(f.billable_net_validation), f.tax_rate,"
            " count(*)"
            f" FROM revenue_daily f {_WINDOW} WHERE f.date >= w.start AND f.date <= :end"
            " GROUP BY f.site_id, least(f.date, CAST(:month AS date)), f.revenue_code, f.category,"
            " f.collection_type, f.deposit_flag, f.tax_rate"
            " ORDER BY f.site_id, min(ARRAY[f.date - DATE '2000-01-01', f.id])"
        ),
        {**params, "site_ids": readers, "starts": [needs[s].start for s in readers]},
    ):
        revenue[r[0]].append(RevenueRow(*r[1:]))
    rooms: dict[uuid.UUID, tuple[OccupiedRoomsDay, ...]] = {
        r[0]: (OccupiedRoomsDay(r[1], r[2], r[3]),)
        for r in await _execute(
            session,
            text(
                "SELECT f.site_id, min(f.date), sum(f.rooms), count(*) FROM occupied_rooms_daily f"
                " WHERE f.site_id = ANY(CAST(:site_ids AS uuid[])) AND f.date >= :month AND f.date <= :end"
                " GROUP BY f.site_id"
            ),
            {**params, "site_ids": [s for s in site_ids if needs[s].occupied_rooms]},
        )
    }
    jobs = [(site_id, code) for site_id in site_ids for code in sorted(needs[site_id].job_codes)]
    timesheets: dict[uuid.UUID, list[TimesheetRow]] = defaultdict(list)
    for r in await _execute(
        session,
        text(
            f"SELECT f.site_id, min(f.date), f.job_code, {', '.join(f'sum(f.{m})' for m in MINUTE_CATEGORIES)},"
            " count(*) FROM timesheet_minutes f"
            " JOIN unnest(CAST(:site_ids AS uuid[]), CAST(:job_codes AS text[])) AS j(site_id, job_code)"
            " ON f.site_id = j.site_id AND f.job_code = j.job_code"
            " WHERE f.date >= :month AND f.date <= :end"
            f" GROUP BY f.site_id, f.job_code, CASE WHEN {_EXACT_HOURS} THEN NULL ELSE f.id END"
            " ORDER BY f.site_id, min(f.date), f.job_code"
        ),
        {**params, "site_ids": [s for s, _ in jobs], "job_codes": [c for _, c in jobs]},
    ):
        timesheets[r[0]].append(TimesheetRow(*r[1:]))
    others = await _other_facts(
        session,
        params,
        period.yyyymm,
        ledger_sites=[s for s in site_ids if needs[s].ledger],
        prior_sites=[s for s in site_ids if needs[s].prior_profit_shares],
    )
    return _period_facts(site_ids, revenue, rooms, timesheets, others)
