"""Operating facts: deterministic synthetic generation and all-or-nothing CSV import (domain.md §1.7)."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

import importer.facts
from db.database import Database
from db.models import CustomerSite, LedgerBalance, RevenueDaily, TimesheetMinutes
from importer.facts import FactsFileError, generate, generate_month, import_csv, months, site_profiles


async def test_generated_facts_cover_every_site_and_are_labelled_synthetic(db: Database) -> None:
    async with db.read() as session:
        sites = (await session.execute(select(func.count(func.distinct(RevenueDaily.site_id))))).scalar_one()
        real = (
            await session.execute(select(func.count()).where(RevenueDaily.synthetic.is_(False)))
        ).scalar_one()
        flags = set((await session.execute(select(RevenueDaily.deposit_flag).distinct())).scalars())
        entity_06 = (
            await session.execute(select(func.count()).where(LedgerBalance.entity == "06"))
        ).scalar_one()
    assert sites == 649 and real == 0
    assert flags == {"Y", "N", "V"}
    assert entity_06 > 0  # intercompany rows billing must ignore


async def test_generation_is_deterministic_per_site_and_month(db: Database) -> None:
    async with db.read() as session:
        [profile] = await site_profiles(session, ["0349"])
    assert generate_month(profile, 2025, 4) == generate_month(profile, 2025, 4)
    assert generate_month(profile, 2025, 4).revenue != generate_month(profile, 2025, 3).revenue


async def test_generation_follows_the_contract(db: Database) -> None:
    async with db.read() as session:
        profiles = {p.site_number: p for p in await site_profiles(session, ["0429", "1078", "0349"])}
        jobs = set(
            (
                await session.execute(
                    select(TimesheetMinutes.job_code)
                    .join(CustomerSite, CustomerSite.id == TimesheetMinutes.site_id)
                    .where(CustomerSite.site_number == "0429")
                )
            ).scalars()
        )
    assert jobs == {"BELL", "ROOMSTEW"}  # the PLH jobs of contract 0429
    assert profiles["0429"].deposits and not profiles["0349"].deposits
    bell = [r for r in generate_month(profiles["1078"], 2025, 4).revenue if r[3] == "Other Revenue"]
    assert bell and all(r[4] in {"Bell Service Fee", "Porterage", "Bag Drops", "Gratuities"} for r in bell)


async def test_regenerating_replaces_synthetic_rows_only(db: Database) -> None:
    async with db.transaction() as session:
        before = (await session.execute(select(func.count()).select_from(RevenueDaily))).scalar_one()
        summary = await generate(session, "2025-04", "2025-04", site_numbers=["0349"])
        after = (await session.execute(select(func.count()).select_from(RevenueDaily))).scalar_one()
    assert before == after and summary.rows["revenue_daily"] > 0


async def test_generation_keeps_a_real_row_that_has_a_generated_key(db: Database) -> None:
    """A real row whose key the generator also produces makes the straight COPY fail: the rows then go in
    with ON CONFLICT DO NOTHING, the real row keeps its values and the others are still written."""
    key = "SELECT r.id FROM revenue_daily r JOIN customer_site s ON s.id = r.site_id"
    key += " WHERE s.site_number = '0349' AND r.date = '2025-04-10' AND r.deposit_flag = 'V'"
    async with db.transaction() as session:
        [profile] = await site_profiles(session, ["0349"])
        generated = len(generate_month(profile, 2025, 4).revenue)
        await session.execute(
            text(
                f"UPDATE revenue_daily SET synthetic = false, billable_net_validation = 1234.56 WHERE id = ({key})"
            )
        )
        summary = await generate(session, "2025-04", "2025-04", site_numbers=["0349"], with_forecast=False)
        kept = (
            await session.execute(
                text(f"SELECT billable_net_validation, synthetic FROM revenue_daily WHERE id = ({key})")
            )
        ).one()
        count = (
            await session.execute(
                select(func.count())
                .select_from(RevenueDaily)
                .join(CustomerSite, CustomerSite.id == RevenueDaily.site_id)
                .where(
                    CustomerSite.site_number == "0349",
                    RevenueDaily.date.between(dt.date(2025, 4, 1), dt.date(2025, 4, 30)),
                )
            )
        ).scalar_one()
    assert tuple(kept) == (Decimal("1234.56"), False)
    assert summary.rows["revenue_daily"] == generated - 1 and count == generated


@pytest.mark.parametrize("failing", ["copy_rows", "generate_month"])
async def test_a_failure_in_any_month_leaves_the_facts_as_they_were(
    db: Database, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    """A month is written while the next one is generated: a failure on either side (here in April: April's
    write, or April's generation with March's write just started) ends the generation with that error and
    the transaction undoes all."""
    original = getattr(importer.facts, failing)
    calls = 0

    def fail_in_april(name: str) -> None:
        nonlocal calls
        calls += 1
        if calls > (5 if name == "copy_rows" else 1):  # one site or five tables per month
            raise RuntimeError(f"{name} failed")

    async def copy_rows(*args: Any) -> int:
        fail_in_april("copy_rows")
        return int(await original(*args))

    def generate_month(*args: Any) -> Any:
        fail_in_april("generate_month")
        return original(*args)

    monkeypatch.setattr(importer.facts, failing, copy_rows if failing == "copy_rows" else generate_month)
    count = select(func.count()).select_from(RevenueDaily)
    async with db.read() as session:
        before = (await session.execute(count)).scalar_one()
    with pytest.raises(RuntimeError, match=f"{failing} failed"):
        async with db.transaction() as session:
            await generate(session, "2025-03", "2025-04", site_numbers=["0349"])
    async with db.read() as session:
        assert (await session.execute(count)).scalar_one() == before


async def test_a_generation_failure_cancels_the_write_in_progress(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """April's generation fails while March is being written: that write is cancelled mid-statement, the
    error comes out, the rollback undoes all and the connections stay usable."""
    original_copy, original_generate = importer.facts.copy_rows, importer.facts.generate_month
    in_progress: list[str] = []
    cancelled: list[str] = []

    async def copy_rows(*args: Any) -> int:
        in_progress.append(args[1])
        try:
            return int(await original_copy(*args))
        except asyncio.CancelledError:
            cancelled.append(args[1])
            raise
        finally:
            in_progress.remove(args[1])

    def generate_month(profile: Any, year: int, month: int) -> Any:
        if month == 4 and in_progress:
            raise RuntimeError("generation failed")
        return original_generate(profile, year, month)

    monkeypatch.setattr(importer.facts, "copy_rows", copy_rows)
    monkeypatch.setattr(importer.facts, "generate_month", generate_month)
    count = select(func.count()).select_from(RevenueDaily)
    async with db.read() as session:
        before = (await session.execute(count)).scalar_one()
        sites = [p.site_number for p in await site_profiles(session)][:40]
    with pytest.raises(RuntimeError, match="generation failed"):
        async with db.transaction() as session:
            await generate(session, "2025-03", "2025-04", site_numbers=sites, with_forecast=False)
    assert cancelled == ["revenue_daily"] and not in_progress
    for _ in range(3):  # more than the connections the write could have left in a bad state
        async with db.read() as session:
            assert (await session.execute(count)).scalar_one() == before


def test_month_range_errors_name_the_argument() -> None:
    assert months("2024-11", "2025-02") == [(2024, 11), (2024, 12), (2025, 1), (2025, 2)]
    with pytest.raises(ValueError, match="--from must be YYYY-MM"):
        months("2025-4", "2025-05")
    with pytest.raises(ValueError, match="after --to"):
        months("2025-05", "2025-04")


async def test_csv_import_is_all_or_nothing_with_line_numbers(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "ledger_balance.csv"
    path.write_text(
        "site_number,period,main_account,entity,balance\n"
        "0349,202504,4790,02,-100.00\n"
        "0349,2025-04,4790,02,-100.00\n"
        "9999,202504,4790,02,1\n"
        "349,202504,6000,02,12.5x\n"
    )
    async with db.transaction() as session:
        before = (await session.execute(select(func.count()).select_from(LedgerBalance))).scalar_one()
        with pytest.raises(FactsFileError) as failure:
            await import_csv(session, path)
        after = (await session.execute(select(func.count()).select_from(LedgerBalance))).scalar_one()
    assert before == after
    assert [(i.line, i.message) for i in failure.value.issues] == [
        (3, "period '2025-04' is not a YYYYMM period"),
        (4, "unknown site_number '9999'"),
        (5, "balance '12.5x' is not a number"),
    ]


async def test_csv_import_upserts_real_rows(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "revenue_daily.csv"
    path.write_text(
        "site_number,date,revenue_code,category,collection_type,deposit_flag,external_revenue,"
        "net_external_revenue,billable_net_validation,tax_rate\n"
        "0349,2025-04-01,VD1,Valet Parking,Cash,N,110.00,100.00,0,0.10\n"
    )
    async with db.transaction() as session:
        assert await import_csv(session, path) == 1
        assert await import_csv(session, path) == 1  # the same key again: replaced, not doubled
        rows = (
            await session.execute(
                text(
                    "SELECT net_external_revenue, synthetic FROM revenue_daily WHERE collection_type = 'Cash'"
                )
            )
        ).all()
    assert [tuple(r) for r in rows] == [(100, False)]


async def test_csv_file_name_must_name_a_table(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "revenue.csv"
    path.write_text("site_number\n")
    async with db.transaction() as session:
        with pytest.raises(ValueError, match=r"must be one of revenue_daily\.csv"):
            await import_csv(session, path)
