"""The escalation job on stored configuration (domain.md §2.14, example C-2) and rate selection (§2.15)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text

from db.database import Database
from db.models import Contract, ContractComponent, CustomerSite, FixedFeeService, LaborHourJob
from resolvers.escalations import run_escalations
from tests.conftest import GraphQLClient

FEES = 'query ($p: String!) { site(siteNumber: "0338") { billingPreview(servicePeriod: $p) { invoices { lines { title amount } } } } }'


async def _rows(db: Database, model: type, site: str = "0338") -> list[Any]:
    async with db.read() as session:
        rows: Any = (
            await session.execute(
                select(model)
                .join(Contract, Contract.id == model.contract_id)  # type: ignore[attr-defined]
                .join(CustomerSite, CustomerSite.id == Contract.site_id)
                .where(CustomerSite.site_number == site)
                .order_by(model.start_date.nulls_first())  # type: ignore[attr-defined]
            )
        ).scalars()
        return list(rows)


async def test_c2_arrears_increment_on_the_last_business_day_of_july(
    db: Database, gql: GraphQLClient
) -> None:
    async with db.transaction() as session:
        assert (await run_escalations(session, on=dt.date(2025, 7, 30), site_numbers=["0338"])).changes == []
        report = await run_escalations(session, on=dt.date(2025, 7, 31), site_numbers=["0338"])
    # one fixed-fee service and three labor-hour jobs (GSA, GSC, GARAGE), all open-ended
    assert len(report.changes) == 4 and "fee 7096.2700 → 7309.16" in report.changes[0]
    fees = await _rows(db, FixedFeeService)
    assert [(r.fee, r.start_date, r.end_date) for r in fees] == [
        (Decimal("7096.2700"), dt.date(2025, 1, 27), dt.date(2025, 7, 31)),
        (Decimal("7309.1600"), dt.date(2025, 8, 1), None),
    ]
    [old_job, new_job] = [j for j in await _rows(db, LaborHourJob) if j.job_code == "GSA"]
    assert (new_job.rate, new_job.overtime_rate, new_job.start_date) == (
        Decimal("25.7800"), Decimal("38.6800"), dt.date(2025, 8, 1),
    )  # fmt: skip
    assert old_job.end_date == dt.date(2025, 7, 31)
    # §2.15: the July statement (selected on 2025-08-01) bills the new fee, June the old one
    july = (await gql.data(FEES, p="2025-07"))["site"]["billingPreview"]["invoices"][0]["lines"]
    june = (await gql.data(FEES, p="2025-06"))["site"]["billingPreview"]["invoices"][0]["lines"]
    assert {"title": "Account Manager Fee", "amount": "7309.16"} in july
    assert {"title": "Account Manager Fee", "amount": "7096.27"} in june
    # the same day again changes nothing
    async with db.transaction() as session:
        assert (await run_escalations(session, on=dt.date(2025, 7, 31), site_numbers=["0338"])).changes == []


async def test_management_fee_and_pteb_escalators_become_dated_versions(db: Database) -> None:
    async with db.transaction() as session:
        await session.execute(
            text(
                "UPDATE contract_component SET settings = settings || CAST(:s AS jsonb) "
                "WHERE building_block = 'MANAGEMENT_AGREEMENT' AND contract_id = "
                "(SELECT c.id FROM contract c JOIN customer_site s ON s.id = c.site_id WHERE s.site_number = '0242')"
            ),
            {"s": '{"management_fee_escalator_enabled": true, "management_fee_escalator_month": 3,'
             ' "management_fee_escalator_type": "PERCENTAGE", "management_fee_escalator_value": "5"}'},
        )  # fmt: skip
        await session.execute(
            text(
                "UPDATE contract_component SET settings = settings || CAST(:s AS jsonb) "
                "WHERE building_block = 'BILLABLE_ACCOUNTS' AND contract_id = "
                "(SELECT c.id FROM contract c JOIN customer_site s ON s.id = c.site_id WHERE s.site_number = '0242')"
            ),
            {"s": '{"payroll_taxes_escalator_enabled": true, "payroll_taxes_escalator_month": 3,'
             ' "payroll_taxes_escalator_type": "FIXED_AMOUNT", "payroll_taxes_escalator_value": "2"}'},
        )  # fmt: skip
        assert (await run_escalations(session, on=dt.date(2025, 2, 27), site_numbers=["0242"])).changes == []
        report = await run_escalations(session, on=dt.date(2025, 2, 28), site_numbers=["0242"])  # C-2 (b)
        again = await run_escalations(session, on=dt.date(2025, 2, 28), site_numbers=["0242"])
        versions = (
            await session.execute(
                select(ContractComponent.building_block, ContractComponent.valid_from, ContractComponent.valid_to,
                       ContractComponent.settings)
                .join(Contract, Contract.id == ContractComponent.contract_id)
                .join(CustomerSite, CustomerSite.id == Contract.site_id)
                .where(CustomerSite.site_number == "0242")
                .order_by(ContractComponent.building_block, ContractComponent.valid_from.nulls_first())
            )
        ).all()  # fmt: skip
    assert again.changes == []
    assert any("management fee 1000.0 → 1050.00" in c for c in report.changes)
    assert any("PTEB 29.5 % → 31.50 %" in c for c in report.changes)
    summary = [(block, start, end) for block, start, end, _ in versions]
    assert summary == [
        ("BILLABLE_ACCOUNTS", None, dt.date(2025, 2, 27)), ("BILLABLE_ACCOUNTS", dt.date(2025, 2, 28), None),
        ("MANAGEMENT_AGREEMENT", None, dt.date(2025, 2, 27)), ("MANAGEMENT_AGREEMENT", dt.date(2025, 2, 28), None),
    ]  # fmt: skip
    assert versions[3][3]["fixed_fee_amount"] == "1050.00"
