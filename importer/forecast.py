"""SYNTHETIC forecast internal revenue (domain.md §3.6) for the generated months.

The real forecast comes from Towne Park's P&L and is not public. To make the statement statuses of the demo
meaningful, a site's forecast for a month is what the invoice engine bills for it in revenue accounts
(4000–4999, from the generated facts) times a deterministic factor between 0.88 and 1.12: most statements
land within the 10 % / $2,500 thresholds, some go to the approval team.

`forecast_rows` reads the facts back from the database (`compute_previews`). `generate` normally uses
`GeneratedForecast`, which computes the same rows from the rows it generates: reading some 150,000 rows a
month back took most of the time of a first `make run`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from billing import (
    BillingPreview,
    ContractConfig,
    LedgerBalance,
    OccupiedRoomsDay,
    PeriodFacts,
    RevenueRow,
    ServicePeriod,
    TimesheetRow,
    preview,
)
from billing.statements import invoiced_revenue
from db.repositories.facts import load_facts
from importer.facts import CENT, PTEB_ACCOUNTS, GeneratedMonth, SiteProfile, _rng
from resolvers.billing import compute_previews, facts_start, load_billables


def _rows_of(
    previews: Mapping[uuid.UUID, BillingPreview], numbers: Mapping[uuid.UUID, str], period: ServicePeriod
) -> list[tuple[Any, ...]]:
    """`forecast_internal_revenue` rows of the sites whose previews invoice revenue."""
    rows: list[tuple[Any, ...]] = []
    for site_id, result in previews.items():
        invoiced = invoiced_revenue(
            (line.code, line.amount) for invoice in result.invoices for line in invoice.lines
        )
        if invoiced <= 0:
            continue
        factor = Decimal(
            str(round(_rng("forecast", numbers[site_id], period.year, period.month).uniform(0.88, 1.12), 4))
        )
        rows.append(
            (site_id, period.yyyymm, (invoiced * factor).quantize(CENT, rounding=ROUND_HALF_UP), True)
        )
    return rows


async def forecast_rows(
    session: AsyncSession, profiles: Sequence[SiteProfile], span: Sequence[tuple[int, int]]
) -> list[tuple[Any, ...]]:
    """`forecast_internal_revenue` rows (site_id, period, amount, synthetic=True) for every site and month,
    from the facts in the database."""
    billables = await load_billables(session, site_ids=[p.site_id for p in profiles])
    numbers = {p.site_id: p.site_number for p in profiles}
    rows: list[tuple[Any, ...]] = []
    for year, month in span:
        period = ServicePeriod(year, month)
        rows += _rows_of(await compute_previews(session, billables, period), numbers, period)
    return rows


@dataclass(frozen=True, slots=True)
class _Month:
    configs: dict[uuid.UUID, ContractConfig]  # the engine's configuration of each billable site
    windows: dict[uuid.UUID, dt.date]  # first day of facts each site needs (`facts_start`)
    stored: dict[uuid.UUID, PeriodFacts]  # what `load_facts` read before the generated rows were written


class GeneratedForecast:
    """`forecast_rows` computed from the generated rows, month by month, without reading them back.

    `generate` uses it only when, once it has deleted the synthetic rows of the months, no row of these
    sites is left in the months (and drops it when a generated row is not written). Then what `load_facts`
    returns for a month after the writes is what it returned before them (read in `prepare`: rows before
    the first month, the forecast, the comment and the prior profit shares) with the generated rows of the
    window appended: they come later in `load_facts` order (revenue by date then id, i.e. as written;
    timesheets by date and job code; ledger by period, account and entity, text ordered as the database
    orders it) and are at the scale the database returns (`importer.facts.generate_month`). The comment of
    a month is its generated one if any. Nothing else changes until the forecast itself, written last.
    """

    def __init__(
        self,
        numbers: Mapping[uuid.UUID, str],
        months: Mapping[ServicePeriod, _Month],
        ranks: Mapping[str, int],
    ) -> None:
        self.rows: list[tuple[Any, ...]] = []
        self._numbers, self._months, self._ranks = numbers, months, ranks
        # sites whose window reaches back past the month keep the earlier months' rows; others only the last
        self._accumulating = {
            site_id for period, m in months.items() for site_id, w in m.windows.items() if w < period.start
        }
        self._history: dict[uuid.UUID, list[GeneratedMonth]] = {}

    @classmethod
    async def prepare(
        cls, session: AsyncSession, profiles: Sequence[SiteProfile], span: Sequence[tuple[int, int]]
    ) -> GeneratedForecast:
        """Everything the months need from the database: call it after the delete, before any write."""
        billables = await load_billables(session, site_ids=[p.site_id for p in profiles])
        months: dict[ServicePeriod, _Month] = {}
        for year, month in span:
            period = ServicePeriod(year, month)
            configs = {site_id: billable.config_for(period) for site_id, billable in billables.items()}
            windows = {site_id: facts_start(configs[site_id], period) for site_id in configs}
            stored = await load_facts(session, windows=windows, end=period.end, period=period.yyyymm)
            months[period] = _Month(configs, windows, stored)
        # every job code, account and entity `generate_month` writes, ranked as ORDER BY ranks them
        codes = {"06", "7010", *PTEB_ACCOUNTS}
        for p in profiles:
            codes |= {p.entity, *p.job_codes, *p.payroll_accounts, *p.expense_accounts}
        ordered = await session.execute(
            text("SELECT c FROM unnest(CAST(:codes AS text[])) AS t(c) ORDER BY c"), {"codes": sorted(codes)}
        )
        ranks = {code: rank for rank, code in enumerate(ordered.scalars())}
        return cls({p.site_id: p.site_number for p in profiles}, months, ranks)

    async def add_month(self, year: int, month: int, generated: Mapping[uuid.UUID, GeneratedMonth]) -> None:
        """The forecast rows of a month from its generated rows (months in order; no database access).
        Yields to the event loop every few sites, so that a `COPY` in progress keeps streaming."""
        period = ServicePeriod(year, month)
        previews: dict[uuid.UUID, BillingPreview] = {}
        for index, (site_id, config, facts) in enumerate(self.facts_of(period, generated)):
            if index % 50 == 0:
                await asyncio.sleep(0)
            previews[site_id] = preview(config, period, facts)
        self.rows += _rows_of(previews, self._numbers, period)

    def facts_of(
        self, period: ServicePeriod, generated: Mapping[uuid.UUID, GeneratedMonth]
    ) -> Iterator[tuple[uuid.UUID, ContractConfig, PeriodFacts]]:
        """Each billable site with its configuration and the facts `load_facts` reads for the month, once
        the month's rows (`generated`, every site) are written. Months must come in order."""
        m = self._months[period]
        for site_id, rows in generated.items():
            if site_id in self._accumulating:
                self._history.setdefault(site_id, []).append(rows)
            else:
                self._history[site_id] = [rows]
        for site_id, config in m.configs.items():
            yield site_id, config, self._facts(site_id, m.windows[site_id], m.stored[site_id])

    def _facts(self, site_id: uuid.UUID, start: dt.date, stored: PeriodFacts) -> PeriodFacts:
        """`stored` followed by the generated rows from `start` on."""
        ranks, first_period = self._ranks, f"{start.year:04d}{start.month:02d}"
        months = self._history[site_id]
        timesheets = sorted(
            (r for g in months for r in g.timesheets if r[1] >= start), key=lambda r: (r[1], ranks[r[2]])
        )
        ledger = sorted(
            (r for g in months for r in g.ledger if r[1] >= first_period),
            key=lambda r: (r[1], ranks[r[2]], ranks[r[3]]),
        )
        comments = months[-1].comments
        return replace(
            stored,
            revenue=stored.revenue
            + tuple(RevenueRow(*r[1:10]) for g in months for r in g.revenue if r[1] >= start),
            occupied_rooms=stored.occupied_rooms
            + tuple(OccupiedRoomsDay(r[1], r[2]) for g in months for r in g.rooms if r[1] >= start),
            timesheets=stored.timesheets + tuple(TimesheetRow(*r[1:-1]) for r in timesheets),
            ledger=stored.ledger + tuple(LedgerBalance(*r[1:5]) for r in ledger),
            ready_for_invoice_comment=comments[0][2] if comments else stored.ready_for_invoice_comment,
        )
