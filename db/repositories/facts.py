"""Operating facts → `billing.PeriodFacts`, set-based: one statement per fact table for any number of sites.

Each site asks for a window `[start, end]` (the service month, or earlier when an annual accumulation
needs prior months, domain.md §2.4/§2.10); the windows travel as arrays and are joined with `unnest`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

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
    (§3.5). Seven statements whatever the number of sites."""
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
    ledger: dict[uuid.UUID, list[LedgerBalance]] = defaultdict(list)
    for r in await session.execute(
        text(
            f"SELECT f.site_id, f.period, f.main_account, f.entity, f.balance FROM ledger_balance f {_WINDOW}"
            " WHERE f.period >= to_char(w.start, 'YYYYMM') AND f.period <= :period"
            " ORDER BY f.site_id, f.period, f.main_account, f.entity"
        ),
        {**params, "period": period},
    ):
        ledger[r[0]].append(LedgerBalance(r[1], r[2], r[3], r[4]))
    forecast: dict[uuid.UUID, Decimal] = dict(
        (
            await session.execute(
                text(
                    "SELECT site_id, amount FROM forecast_internal_revenue"
                    " WHERE site_id = ANY(CAST(:site_ids AS uuid[])) AND period = :period"
                ),
                {"site_ids": site_ids, "period": period},
            )
        ).all()
    )
    comments: dict[uuid.UUID, str] = dict(
        (
            await session.execute(
                text(
                    "SELECT site_id, comment FROM ready_for_invoice_comment"
                    " WHERE site_id = ANY(CAST(:site_ids AS uuid[])) AND period = :period"
                ),
                {"site_ids": site_ids, "period": period},
            )
        ).all()
    )
    # §2.10e: monthly profit of earlier service months, from the newest version of each earlier statement
    prior: dict[uuid.UUID, list[PriorProfitShare]] = defaultdict(list)
    for r in await session.execute(
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
        params,
    ):
        prior[r[0]].append(PriorProfitShare(r[1], r[2], r[3]))
    return {
        site_id: PeriodFacts(
            revenue=tuple(revenue.get(site_id, ())),
            occupied_rooms=tuple(rooms.get(site_id, ())),
            timesheets=tuple(timesheets.get(site_id, ())),
            ledger=tuple(ledger.get(site_id, ())),
            forecast_internal_revenue=forecast.get(site_id),
            ready_for_invoice_comment=comments.get(site_id),
            prior_profit_shares=tuple(prior.get(site_id, ())),
        )
        for site_id in site_ids
    }
