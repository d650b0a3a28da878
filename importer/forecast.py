"""SYNTHETIC forecast internal revenue (domain.md §3.6) for the generated months.

The real forecast comes from Towne Park's P&L and is not public. To make the statement statuses of the demo
meaningful, a site's forecast for a month is what the invoice engine bills for it in revenue accounts
(4000–4999, from the generated facts) times a deterministic factor between 0.88 and 1.12: most statements
land within the 10 % / $2,500 thresholds, some go to the approval team.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from billing import ServicePeriod
from billing.statements import invoiced_revenue
from importer.facts import CENT, SiteProfile, _rng
from resolvers.billing import compute_previews, load_billables


async def forecast_rows(
    session: AsyncSession, profiles: Sequence[SiteProfile], span: Sequence[tuple[int, int]]
) -> list[tuple[Any, ...]]:
    """`forecast_internal_revenue` rows (site_id, period, amount, synthetic=True) for every site and month."""
    billables = await load_billables(session, site_ids=[p.site_id for p in profiles])
    numbers = {p.site_id: p.site_number for p in profiles}
    rows: list[tuple[Any, ...]] = []
    for year, month in span:
        period = ServicePeriod.of(dt.date(year, month, 1))
        previews = await compute_previews(session, billables, period)
        for site_id, result in previews.items():
            invoiced = invoiced_revenue(
                (line.code, line.amount) for invoice in result.invoices for line in invoice.lines
            )
            if invoiced <= 0:
                continue
            factor = Decimal(
                str(round(_rng("forecast", numbers[site_id], year, month).uniform(0.88, 1.12), 4))
            )
            rows.append(
                (site_id, period.yyyymm, (invoiced * factor).quantize(CENT, rounding=ROUND_HALF_UP), True)
            )
    return rows
