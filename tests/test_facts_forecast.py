"""The synthetic forecast that `generate` computes from the rows it generates is the one that reads them back."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

import importer.forecast
from billing import ServicePeriod
from db.database import Database
from db.repositories.facts import load_facts
from importer.facts import SiteProfile, delete_synthetic, generate, generate_month, site_profiles
from importer.forecast import GeneratedForecast, forecast_rows

# Sites with a forecast in the test months, 0293 whose annual accumulation reads facts from January on, and
# every tenth site besides (the test database holds March–April 2025; regenerating all sites is slow).
SITES = ["0208", "0212", "0242", "0293", "0338", "0349", "0487", "0534", "1078", "2113"]


async def _profiles(session: AsyncSession) -> list[SiteProfile]:
    every_tenth = [p.site_number for p in await site_profiles(session)][::10]
    return await site_profiles(session, sorted({*SITES, *every_tenth}))


@pytest.mark.parametrize("span", [[(2025, 4)], [(2025, 3), (2025, 4)]], ids=["april", "march-april"])
async def test_generated_rows_give_the_facts_load_facts_reads(
    db: Database, span: list[tuple[int, int]]
) -> None:
    """Same rows, same order, same Decimal scale (repr), for every site and month, including a site whose
    window reaches before the first month (rows read from the database first, then the generated ones)."""
    first, last = (f"{y}-{m:02d}" for y, m in (span[0], span[-1]))
    async with db.transaction() as session:
        profiles = await _profiles(session)
        await generate(
            session, first, last, site_numbers=[p.site_number for p in profiles], with_forecast=False
        )
        async with session.begin_nested() as before_the_writes:  # where `generate` prepares the forecast
            assert not await delete_synthetic(session, [p.site_id for p in profiles], span)
            forecast = await GeneratedForecast.prepare(session, profiles, span)
            await before_the_writes.rollback()
        reaching_back = 0
        for year, month in span:
            period = ServicePeriod(year, month)
            generated = {p.site_id: generate_month(p, year, month) for p in profiles}
            from_memory = {site_id: facts for site_id, _, facts in forecast.facts_of(period, generated)}
            windows = forecast._months[period].windows
            from_database = await load_facts(session, windows=windows, end=period.end, period=period.yyyymm)
            assert from_memory.keys() == from_database.keys() and len(from_memory) > 50
            for site_id, facts in from_memory.items():
                assert repr(facts) == repr(from_database[site_id]), site_id
            reaching_back += sum(1 for w in windows.values() if w < ServicePeriod(*span[0]).start)
    assert reaching_back > 0


async def test_generate_writes_the_forecast_the_database_gives(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def not_called(*args: Any) -> None:
        raise AssertionError("generate read the facts back")

    async with db.transaction() as session:
        profiles = await _profiles(session)
        numbers = [p.site_number for p in profiles]
        with monkeypatch.context() as patch:
            patch.setattr(importer.forecast, "forecast_rows", not_called)
            summary = await generate(session, "2025-03", "2025-04", site_numbers=numbers)
        ids = [p.site_id for p in profiles]
        stored = {
            tuple(row)
            for row in await session.execute(
                text(
                    "SELECT site_id, period, amount, synthetic FROM forecast_internal_revenue"
                    " WHERE site_id = ANY(:ids)"
                ),
                {"ids": ids},
            )
        }
        # as the forecast was computed: the old synthetic forecast deleted, the new one not yet written
        await session.execute(
            text("DELETE FROM forecast_internal_revenue WHERE synthetic AND site_id = ANY(:ids)"),
            {"ids": ids},
        )
        expected = set(await forecast_rows(session, profiles, [(2025, 3), (2025, 4)]))
    assert stored == expected and summary.rows["forecast_internal_revenue"] == len(expected) >= 10


async def test_a_real_row_in_the_months_makes_the_forecast_read_the_facts_back(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[object] = []

    async def spy(*args: Any) -> list[tuple[Any, ...]]:
        calls.append(args)
        return await forecast_rows(*args)

    async with db.transaction() as session:
        await session.execute(
            text(
                "UPDATE timesheet_minutes SET synthetic = false WHERE id = (SELECT t.id FROM timesheet_minutes t"
                " JOIN customer_site s ON s.id = t.site_id WHERE s.site_number = '0349' LIMIT 1)"
            )
        )
        monkeypatch.setattr(importer.forecast, "forecast_rows", spy)
        await generate(session, "2025-03", "2025-04", site_numbers=["0349"])
    assert len(calls) == 1
