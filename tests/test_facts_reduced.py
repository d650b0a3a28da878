"""Facts summed in SQL (`load_reduced_facts`) give the invoices of the facts one row per source row (`load_facts`).

The engine is the judge: for every billable site and month, `billing.preview` on both shapes must be equal,
explanations and row counts included (domain.md §2.0–§2.10). The edge cases the SQL must get right are
written in on purpose: §2.8's "first client-collected row" decided by id between groups of the same day,
§2.2's per-row rounding of hours, and rows before the month for annual accumulations (§2.4).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import replace
from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from billing import (
    BuildingBlock,
    ContractConfig,
    DepositedRevenue,
    PeriodFacts,
    ServicePeriod,
    fact_needs,
    preview,
)
from db.database import Database
from db.models import CustomerSite
from db.repositories.facts import load_facts, load_reduced_facts
from resolvers.billing import facts_start, load_billables


async def _configs(session: AsyncSession, period: ServicePeriod) -> dict[uuid.UUID, ContractConfig]:
    site_ids = list((await session.execute(select(CustomerSite.id))).scalars())
    billables = await load_billables(session, site_ids=site_ids)
    return {site_id: b.config_for(period) for site_id, b in billables.items()}


async def _both(
    session: AsyncSession, configs: dict[uuid.UUID, ContractConfig], period: ServicePeriod
) -> tuple[dict[uuid.UUID, PeriodFacts], dict[uuid.UUID, PeriodFacts]]:
    full = await load_facts(
        session,
        windows={s: facts_start(c, period) for s, c in configs.items()},
        end=period.end,
        period=period.yyyymm,
    )
    reduced = await load_reduced_facts(
        session, needs={s: fact_needs(c, period) for s, c in configs.items()}, period=period
    )
    return full, reduced


def _rows(facts: dict[uuid.UUID, PeriodFacts]) -> int:
    return sum(
        len(f.revenue) + len(f.timesheets) + len(f.occupied_rooms) + len(f.ledger) for f in facts.values()
    )


@pytest.mark.parametrize("month", ["2025-03", "2025-04", "2025-05"])
async def test_reduced_facts_give_the_same_invoices_for_every_site(db: Database, month: str) -> None:
    period = ServicePeriod.parse(month)
    async with db.read() as session:
        configs = await _configs(session, period)
        full, reduced = await _both(session, configs, period)
    assert len(configs) > 600
    for site_id, config in configs.items():
        assert preview(config, period, reduced[site_id]) == preview(config, period, full[site_id]), site_id
    if month != "2025-05":  # no facts in May: nothing to reduce
        assert _rows(reduced) * 5 < _rows(full), (_rows(reduced), _rows(full))


def _pick(configs: dict[uuid.UUID, ContractConfig], wanted: object) -> tuple[uuid.UUID, ContractConfig]:
    for site_id, config in sorted(configs.items(), key=lambda item: item[1].site_number):
        if callable(wanted) and wanted(config):
            return site_id, config
    raise AssertionError("no site of that kind in the imported contracts")


def _deposits(config: ContractConfig) -> bool:
    return BuildingBlock.DEPOSITED_REVENUE in config.building_blocks and config.deposited_revenue is not None


def _taxed(config: ContractConfig) -> ContractConfig:
    """`config` billing the client-collected parking tax and the deposits on group 1 (§2.8)."""
    settings = DepositedRevenue(
        towne_park_responsible_for_parking_tax=True, deposited_revenue_enabled=True, invoice_group=1
    )
    return replace(config, deposited_revenue=settings, invoice_groups=())


def _labor(config: ContractConfig) -> bool:
    return BuildingBlock.PER_LABOR_HOUR in config.building_blocks and bool(config.labor_hour_jobs)


async def test_the_first_client_collected_row_and_per_row_rounding_survive_the_sums(db: Database) -> None:
    """§2.8: the tax rate is that of the earliest 'N' row, ties by id. Group (X, 10 %) holds the lowest id
    (dated the 2nd) and a row of the 1st; group (Y, 20 %) only a row of the 1st with a lower id than that
    one: the rate is 20 %, which ordering groups by (earliest date, lowest id) would get wrong.
    §2.2: minutes that are no multiple of 3 are rounded per row, so those rows must not be summed."""
    period = ServicePeriod.parse("2025-04")
    async with db.transaction() as session:
        configs = await _configs(session, period)
        taxed, taxed_config = _pick(configs, _deposits)
        configs[taxed] = _taxed(taxed_config)
        labor, labor_config = _pick(configs, _labor)
        job = labor_config.labor_hour_jobs[0].job_code
        await session.execute(
            text("DELETE FROM revenue_daily WHERE site_id = :s AND date >= :m"),
            {"s": taxed, "m": period.start},
        )
        for day, code, rate, net in ((2, "X", "0.10000", "100.00"), (1, "Y", "0.20000", "50.00"),
                                     (1, "X", "0.10000", "25.00"), (3, "Y", "0.20000", "10.00")):  # fmt: skip
            await session.execute(
                text(
                    "INSERT INTO revenue_daily (site_id, date, revenue_code, category, collection_type,"
                    " deposit_flag, external_revenue, net_external_revenue, billable_net_validation, tax_rate)"
                    " VALUES (:s, :d, :c, 'Parking', NULL, 'N', :n, :n, 0, :r)"
                ),
                {"s": taxed, "d": dt.date(2025, 4, day), "c": code, "n": Decimal(net), "r": Decimal(rate)},
            )
        await session.execute(
            text("DELETE FROM timesheet_minutes WHERE site_id = :s AND job_code = :j AND date >= :m"),
            {"s": labor, "j": job, "m": period.start},
        )
        for day in range(1, 21):  # half the rows need rounding (481 % 3 = 1), half do not (480)
            await session.execute(
                text(
                    "INSERT INTO timesheet_minutes (site_id, date, job_code, regular, overtime, holiday)"
                    " VALUES (:s, :d, :j, :r, :o, :h)"
                ),
                {"s": labor, "d": dt.date(2025, 4, day), "j": job, "r": 480 + day % 2, "o": 7 * day, "h": 3},
            )
        full, reduced = await _both(session, {s: configs[s] for s in (taxed, labor)}, period)
    for site_id in (taxed, labor):
        assert preview(configs[site_id], period, reduced[site_id]) == preview(
            configs[site_id], period, full[site_id]
        )
    tax_line = next(
        line
        for invoice in preview(configs[taxed], period, reduced[taxed]).invoices
        for line in invoice.lines
        if line.is_paid_parking_tax
    )
    assert "TAXRATE 0.20000" in tax_line.explanation and "2025-04-01" in tax_line.explanation
    assert len(reduced[taxed].revenue) == 2 and sum(r.source_rows for r in reduced[taxed].revenue) == 4
    rows = [row for row in reduced[labor].timesheets if row.job_code == job]
    assert sum(row.source_rows for row in rows) == 20 and 1 < len(rows) < 20
