"""The P&L forecast through the API (issue 11 §4; domain.md §2.12, §2.13, §3.6): `forecast(siteNumber, year)`
and `resolvers.forecast.forecast_internal_revenue`, on the real contracts with forecast facts written here."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import text

from billing import BuildingBlock, ServicePeriod
from billing import forecast as fc
from db.database import Database, StatementCounter
from db.models.forecast import FORECAST_FACT_TABLES
from db.repositories.users import Grants, upsert_user
from importer.forecast_inputs import generate_forecast_inputs
from resolvers.forecast import (
    ForecastFigures,
    forecast_internal_revenue,
    load_forecast_sites,
    site_forecast,
)
from schema.scalars import serialize_money
from server.settings import Settings
from tests.conftest import GraphQLClient, context_for

D = Decimal
YEAR_START = dt.date(2025, 1, 1)

QUERY = """
query ($site: String!, $year: Int!) {
  forecast(siteNumber: $site, year: $year) {
    year site { siteNumber }
    months {
      servicePeriod internalRevenue internalIsForecast
      byBuildingBlock { buildingBlock amount }
      billableAccounts { additionalPayroll pteb supportServices expenseAccounts total }
      externalRevenue externalIsForecast
      pnlLines { line amount }
      warnings
      storedForecast invoicedRevenue deviationAmount deviationPercentage
    }
    totals { internalRevenue externalRevenue storedForecast invoicedRevenue deviationAmount deviationPercentage }
  }
}
"""


async def _site_id(db: Database, number: str) -> uuid.UUID:
    async with db.read() as session:
        found = await session.execute(
            text("SELECT id FROM customer_site WHERE site_number = :n"), {"n": number}
        )
        return found.scalar_one()  # type: ignore[no-any-return]


async def _write(db: Database, statements: list[tuple[str, dict[str, Any]]]) -> None:
    async with db.transaction() as session:
        for sql, params in statements:
            await session.execute(text(sql), params)


async def _hand_written_facts(db: Database) -> dict[str, fc.ForecastFacts]:
    """Forecast facts of 0349, 0338 and 1078 written to the database, and the same facts built by hand."""
    s0338, s1078 = await _site_id(db, "0338"), await _site_id(db, "1078")
    rows: list[tuple[str, dict[str, Any]]] = []
    for job, hours in (("GSA", "160.50"), ("GSC", "80.25")):
        rows.append(
            (
                "INSERT INTO forecast_payroll_hours (site_id, period, job_code, regular_hours) "
                "VALUES (:s, '202503', :j, :h)",
                {"s": s0338, "j": job, "h": D(hours)},
            )
        )
    rows.append(
        (
            "INSERT INTO budget_value (site_id, period, budget_row, value) VALUES (:s, '202503', 'PER_LABOR_HOUR', 8)",
            {"s": s0338},
        )
    )
    # 1078: March Forecast days (and an Actual day §7 #12 ignores), April Actual only, May budget rooms
    for day, kind, rooms, valet in (
        (1, "FORECAST", "100", "40"),
        (2, "FORECAST", "120.50", None),
        (3, "ACTUAL", "999", "999"),
    ):
        rows.append(
            (
                "INSERT INTO site_statistic_day (site_id, date, statistic_type, occupied_rooms, valet_daily) "
                "VALUES (:s, :d, :t, :r, :v)",
                {"s": s1078, "d": dt.date(2025, 3, day), "t": kind, "r": D(rooms), "v": valet and D(valet)},
            )
        )
    rows.append(
        (
            "INSERT INTO site_statistic_day (site_id, date, statistic_type, occupied_rooms) "
            "VALUES (:s, '2025-04-01', 'ACTUAL', 80)",
            {"s": s1078},
        )
    )
    rows.append(
        (
            "INSERT INTO parking_rate (site_id, year, month, category, rate) VALUES (:s, 2025, 3, 'VALET_DAILY', 12.5)",
            {"s": s1078},
        )
    )
    rows.append(
        (
            "INSERT INTO budget_value (site_id, period, budget_row, value) VALUES (:s, '202505', 'OCCUPIED_ROOMS', 500)",
            {"s": s1078},
        )
    )
    await _write(db, rows)
    march, may = ServicePeriod(2025, 3), ServicePeriod(2025, 5)
    return {
        "0349": fc.ForecastFacts(),
        "0338": fc.ForecastFacts(
            payroll=(
                fc.PayrollDetail(march, "GSA", D("160.50")),
                fc.PayrollDetail(march, "GSC", D("80.25")),
            ),
            budget=(fc.BudgetEntry(fc.BudgetRow.PER_LABOR_HOUR, march, D("8")),),
        ),
        "1078": fc.ForecastFacts(
            statistics=(
                fc.SiteStatisticDetail(
                    dt.date(2025, 3, 1),
                    fc.StatisticType.FORECAST,
                    occupied_rooms=D("100"),
                    valet_daily=D("40"),
                ),
                fc.SiteStatisticDetail(
                    dt.date(2025, 3, 2), fc.StatisticType.FORECAST, occupied_rooms=D("120.50")
                ),
                fc.SiteStatisticDetail(
                    dt.date(2025, 3, 3),
                    fc.StatisticType.ACTUAL,
                    occupied_rooms=D("999"),
                    valet_daily=D("999"),
                ),
                fc.SiteStatisticDetail(dt.date(2025, 4, 1), fc.StatisticType.ACTUAL, occupied_rooms=D("80")),
            ),
            parking_rates=(
                fc.ParkingRate(2025, (fc.ParkingRateDetail(3, fc.RateCategory.VALET_DAILY, D("12.5")),)),
            ),
            budget=(fc.BudgetEntry(fc.BudgetRow.OCCUPIED_ROOMS, may, D("500")),),
        ),
    }


# The contract terms as the PROD snapshots give them (data/towne-park/contracts/NNNN.json), by hand.
CONTRACTS = {
    "0349": fc.ForecastContract(
        site_number="0349",
        building_blocks=frozenset({BuildingBlock.FIXED_FEE}),
        increment_month=1,
        increment_amount=D("0"),
        occupied_room_rate=D("0"),
        fixed_fees=(
            fc.FixedFeeRow(D("30800"), dt.date(2025, 1, 22), name="Fixed Billable Expenses"),
            fc.FixedFeeRow(D("2500"), dt.date(2025, 1, 22), name="Management Fee"),
        ),
    ),
    "0338": fc.ForecastContract(
        site_number="0338",
        building_blocks=frozenset({BuildingBlock.FIXED_FEE, BuildingBlock.PER_LABOR_HOUR}),
        increment_month=7,
        increment_amount=D("3"),
        occupied_room_rate=D("0"),
        fixed_fees=(fc.FixedFeeRow(D("7096.27"), dt.date(2025, 1, 27), name="Account Manager Fee"),),
        # the PROD jobs have no start date: read as starting on January 1 of the forecast year
        labor_jobs=(
            fc.LaborHourJobRow("GARAGE", D("25.03"), YEAR_START, name="Garage"),
            fc.LaborHourJobRow("GSA", D("25.03"), YEAR_START, name="GSA"),
            fc.LaborHourJobRow("GSC", D("25.03"), YEAR_START, name="GSC"),
        ),
    ),
    "1078": fc.ForecastContract(
        site_number="1078",
        building_blocks=frozenset({BuildingBlock.BELL_SERVICE, BuildingBlock.PER_OCCUPIED_ROOM}),
        increment_month=1,
        increment_amount=D("3"),
        occupied_room_rate=D("1.17"),
    ),
}


async def test_the_months_are_the_engines_on_the_same_inputs(db: Database, settings: Settings) -> None:
    facts = await _hand_written_facts(db)
    ctx = await context_for(db, settings)
    for number in ("0349", "0338", "1078"):
        result = await site_forecast(ctx, number, 2025)
        assert result is not None and len(result.months) == 12
        contract = CONTRACTS[number]
        assert result.months[0].result.site_number == number
        by_hand = fc.forecast_year([fc.SiteForecastInput(contract, facts[number])], 2025)
        for month, expected in zip(result.months, by_hand.months, strict=True):
            [engine] = expected.sites
            assert month.result.internal_revenue_value == engine.internal_revenue_value, (
                number,
                month.period,
            )
            assert month.result.steps == engine.steps
            assert month.result.external_revenue_value == engine.external_revenue_value
            assert (month.result.internal_is_forecast, month.result.external_is_forecast) == (
                engine.internal_is_forecast,
                engine.external_is_forecast,
            )
            assert month.result.warnings == engine.warnings
    # the figures themselves (C-1-style escalation, §7 #12 statistics, §7 #24 fallback)
    r0338 = await site_forecast(ctx, "0338", 2025)
    assert r0338 is not None
    march, april, july = r0338.months[2].result, r0338.months[3].result, r0338.months[6].result
    # March: FF 7,096.27 + (160.50 + 80.25 h) × 25.03 + GARAGE without payroll ⇒ budget 8 h × 25.03 (defect)
    assert march.per_labor_hour is not None and march.per_labor_hour.total == D("6226.2125")
    assert march.internal_revenue_value == D("7096.27") + D("6226.2125")
    assert march.per_labor_hour.budget_fallback_job_codes == ("GARAGE",)
    assert april.internal_revenue_value == D("7096.27")  # no payroll, no budget hours: PLH 0
    assert july.internal_revenue_value == D("7096.27") * D("1.03")  # the current-year escalator (7/2025)
    r1078 = await site_forecast(ctx, "1078", 2025)
    assert r1078 is not None
    assert [m.result.internal_revenue_value for m in r1078.months[2:5]] == [
        D("1.17") * D("220.50"),  # Forecast rows only (the Actual day is ignored, §7 #12)
        D("1.17") * D("80"),  # no Forecast row in April: the Actual one
        D("1.17") * D("500"),  # no statistics: the budget rooms
    ]
    assert r1078.months[2].result.external_revenue_value == D("500.0")  # 40 × 12.50
    assert r1078.months[4].result.external_is_forecast is False


async def test_the_api_serialises_the_months(gql: GraphQLClient, db: Database) -> None:
    await _hand_written_facts(db)
    data = (await gql.data(QUERY, site="0338", year=2025))["forecast"]
    assert (data["year"], data["site"]["siteNumber"], len(data["months"])) == (2025, "0338", 12)
    march = data["months"][2]
    assert march["servicePeriod"] == "2025-03"
    assert march["internalRevenue"] == serialize_money(D("7096.27") + D("6226.2125")) == "13322.48"
    assert march["byBuildingBlock"] == [
        {"buildingBlock": "FIXED_FEE", "amount": "7096.27"},
        {"buildingBlock": "PER_LABOR_HOUR", "amount": "6226.21"},
    ]
    assert march["pnlLines"] == [
        {"line": "FixedFee", "amount": "7096.27"},
        {"line": "PerOccupiedRoom", "amount": None},
        {"line": "PerLaborHour", "amount": "6226.21"},
        {"line": "RevenueShare", "amount": None},
        {"line": "AdditionalPayroll", "amount": None},
        {"line": "BillablePteb", "amount": None},
        {"line": "SupportServices", "amount": None},
        {"line": "ExpenseAccount", "amount": None},
    ]
    assert march["billableAccounts"] is None and march["internalIsForecast"] is True
    assert march["externalRevenue"] == "0.00" and march["externalIsForecast"] is False
    assert len(march["warnings"]) == 1 and "GARAGE" in march["warnings"][0]
    # the synthetic stored forecast of March (importer.forecast) is there, nothing was sent
    assert march["storedForecast"] is not None and march["invoicedRevenue"] is None
    assert march["deviationAmount"] is None and data["totals"]["invoicedRevenue"] is None
    july = data["months"][6]
    assert july["internalRevenue"] == "7309.16"  # 7,096.27 × 1.03 = 7,309.1581, half-up for display
    expected_total = (
        D("7096.27") * 6 + D("6226.2125") + D("7096.27") * D("1.03") * 6 - D("7096.27")  # Jan: inactive
    )
    assert data["totals"]["internalRevenue"] == serialize_money(expected_total)
    assert data["months"][0]["internalRevenue"] == "0.00"  # the fee starts 2025-01-27: not active on Jan 1


async def test_a_contract_without_forecastable_blocks_falls_back_to_its_budget(
    gql: GraphQLClient, db: Database
) -> None:
    site = await _site_id(db, "0223")  # a contract without building blocks
    await _write(
        db,
        [
            (
                "INSERT INTO budget_value (site_id, period, budget_row, value) VALUES "
                "(:s, '202505', 'INTERNAL_REVENUE', 1234.56), (:s, '202505', 'EXTERNAL_REVENUE', 9000)",
                {"s": site},
            )
        ],
    )
    data = (await gql.data(QUERY, site="223", year=2025))["forecast"]
    may, june = data["months"][4], data["months"][5]
    assert (may["internalRevenue"], may["internalIsForecast"], may["byBuildingBlock"]) == (
        "1234.56",
        False,
        [],
    )
    assert (may["externalRevenue"], may["externalIsForecast"]) == ("9000.00", False)
    assert (june["internalRevenue"], june["internalIsForecast"]) == ("0.00", False)
    assert [line["amount"] for line in may["pnlLines"]] == [None] * 8


GENERATE = """
mutation { generateStatement(siteNumber: "0349", servicePeriod: "2025-04") {
  __typename ... on StatementPayload { statement { id status invoices { id amount } } } ... on Problem { code } } }
"""
ADD = """
mutation ($invoice: ID!) { addAdhocLine(invoiceId: $invoice, line: {type: MISCELLANEOUS_ITEM, title: "Signage",
  code: "4790", amount: "120.50"}) { __typename } }
"""
SEND = """mutation ($id: ID!) { markStatementSent(statementId: $id) { __typename
  ... on StatementPayload { statement { status } } } }"""


async def test_the_deviation_against_a_sent_statement(gql: GraphQLClient, db: Database) -> None:
    site = await _site_id(db, "0349")
    # no stored forecast: the statement is Ready To Send (§3.6); then a stored one of 36,000.00 for April
    await _write(db, [("DELETE FROM forecast_internal_revenue WHERE site_id = :s", {"s": site})])
    statement = (await gql.data(GENERATE))["generateStatement"]["statement"]
    assert statement["status"] == "READY_TO_SEND"
    assert (await gql.data(ADD, invoice=statement["invoices"][0]["id"]))["addAdhocLine"]["__typename"] == (
        "InvoicePayload"
    )
    before = (await gql.data(QUERY, site="0349", year=2025))["forecast"]["months"][3]
    assert before["invoicedRevenue"] is None  # generated, not Sent
    sent = (await gql.data(SEND, id=statement["id"]))["markStatementSent"]
    assert sent["statement"]["status"] == "SENT"
    await _write(
        db,
        [
            (
                "INSERT INTO forecast_internal_revenue (site_id, period, amount) VALUES (:s, '202504', 36000)",
                {"s": site},
            )
        ],
    )
    data = (await gql.data(QUERY, site="0349", year=2025))["forecast"]
    april = data["months"][3]
    # computed 33,300.00 (the two fees) against invoiced 33,300.00 + the 120.50 line coded 4790
    assert (april["internalRevenue"], april["storedForecast"], april["invoicedRevenue"]) == (
        "33300.00",
        "36000.00",
        "33420.50",
    )
    assert (april["deviationAmount"], april["deviationPercentage"]) == ("120.50", "0.3619")  # 120.5/33300
    assert data["months"][2]["invoicedRevenue"] is None
    assert data["totals"] == {
        "internalRevenue": serialize_money(D("33300") * 11),
        "externalRevenue": "0.00",
        "storedForecast": "36000.00",
        "invoicedRevenue": "33420.50",
        "deviationAmount": "120.50",
        "deviationPercentage": "0.3619",
    }


async def _user(db: Database, subject: str, **grants: tuple[str, ...]) -> None:
    async with db.transaction() as session:
        await upsert_user(session, subject=subject, grants=Grants(**grants), granted_by="tests")


async def test_who_sees_a_forecast(gql: GraphQLClient, db: Database) -> None:
    await _user(db, "am-0212", roles=("accountManager",), site_numbers=("0212",))
    await _user(db, "am-0349", roles=("accountManager",), site_numbers=("0349",))
    await _user(db, "dm-orlando", roles=("districtManager",), territories=("districts:orlando",))
    seen = {}
    for subject in ("am-0212", "am-0349", "dm-orlando", "test-reporting", "test-billing-manager", "test-gis"):
        result = (await gql.as_(subject).data(QUERY, site="0349", year=2025))["forecast"]
        seen[subject] = None if result is None else result["months"][3]["internalRevenue"]
    assert seen == {
        "am-0212": None,  # another site
        "am-0349": "33300.00",
        "dm-orlando": "33300.00",  # 0349 is in the Orlando district
        "test-reporting": "33300.00",
        "test-billing-manager": "33300.00",
        "test-gis": None,  # sees sites, not contracts
    }
    assert (await gql.data(QUERY, site="9999", year=2025))["forecast"] is None  # unknown site


async def test_bad_arguments_name_themselves(gql: GraphQLClient) -> None:
    for site, year, argument in (
        ("12x", 2025, "siteNumber"),
        ("", 2025, "siteNumber"),
        ("0349", 1999, "year"),
    ):
        error = await gql.error(QUERY, site=site, year=year)
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": argument}, (site, year)
    error = await gql.error(QUERY, site="0349", year=2100)
    assert "2000 and 2099" in error["message"]


async def _statements(gql: GraphQLClient, db: Database, site: str) -> int:
    with StatementCounter(db.bind) as counter:
        data = await gql.data(QUERY, site=site, year=2025)
    assert data["forecast"] is not None
    return len(counter.queries)


async def test_a_year_takes_a_fixed_number_of_statements(gql: GraphQLClient, db: Database) -> None:
    await _hand_written_facts(db)
    await _write_generated(db, ("0212", "0242"))
    counts = {site: await _statements(gql, db, site) for site in ("0349", "0338", "1078", "0212", "0242")}
    # site + contract + 6 configuration tables + 6 forecast fact tables + stored forecast + invoiced revenue,
    # + the caller's identification: not one per month
    assert set(counts.values()) == {17}, counts


async def _write_generated(db: Database, sites: tuple[str, ...]) -> None:
    async with db.transaction() as session:
        await generate_forecast_inputs(session, 2025, site_numbers=list(sites))


SITES = ("0349", "0338", "0212", "0242", "0293", "0918", "0223")


async def test_forecast_internal_revenue_of_many_sites(db: Database, settings: Settings) -> None:
    await _write_generated(db, SITES)
    ids = {number: await _site_id(db, number) for number in SITES}
    first, last = ServicePeriod(2025, 2), ServicePeriod(2025, 11)
    async with db.read() as session:
        figures = await forecast_internal_revenue(session, list(ids.values()), first, last)
        daily = await load_forecast_sites(session, site_ids=list(ids.values()), first=first, last=last)
    assert len(figures) == len(SITES) * 10
    # statistics summed per month in SQL give the figures of the daily rows
    for (site_id, period), figure in figures.items():
        assert figure == ForecastFigures.of(daily[site_id].forecast(period)), period
    april = {number: figures[(ids[number], ServicePeriod(2025, 4))] for number in SITES}
    assert april["0349"].internal_revenue == april["0349"].fixed_fee == D("33300.0000")
    assert april["0349"].per_labor_hour is None and april["0349"].internal_is_forecast
    assert april["0212"].revenue_share is not None and april["0212"].revenue_share > 0
    assert april["0212"].external_is_forecast  # Revenue Share sites get statistics
    accounts = april["0242"]
    assert accounts.billable_accounts == sum(
        (
            p
            for p in (
                accounts.additional_payroll,
                accounts.pteb,
                accounts.support_services,
                accounts.expense_accounts,
            )
            if p is not None
        ),
        D(0),
    )
    assert accounts.pteb is not None and accounts.pteb > 0
    assert not april["0223"].internal_is_forecast  # no forecastable block: the budget
    # scoped: an account manager of 0349 gets 0349 only
    await _user(db, "am-0349", roles=("accountManager",), site_numbers=("0349",))
    ctx = await context_for(db, settings, "am-0349")
    async with ctx.db.read() as session:
        scoped = await forecast_internal_revenue(session, list(ids.values()), first, first)
    assert set(scoped) == {(ids["0349"], first)}


def _row_key(row: Any) -> tuple[str, ...]:
    """A total order of a table's rows (every column), so two reads compare whatever the scan order."""
    return tuple(map(str, row))


async def test_the_forecast_facts_are_scoped_and_generated_deterministically(
    db: Database, settings: Settings
) -> None:
    await _write_generated(db, ("0349", "0212", "0242", "0338"))
    async with db.read() as session:
        before = {
            table: sorted((await session.execute(text(f"SELECT * FROM {table}"))).all(), key=_row_key)
            for table in FORECAST_FACT_TABLES
        }
    await _write_generated(db, ("0349", "0212", "0242", "0338"))  # replaces its own rows, same values
    async with db.read() as session:
        after = {
            table: sorted((await session.execute(text(f"SELECT * FROM {table}"))).all(), key=_row_key)
            for table in FORECAST_FACT_TABLES
        }
    assert after == before and all(before.values())
    assert all(row.synthetic for rows in before.values() for row in rows)
    await _user(db, "am-0212", roles=("accountManager",), site_numbers=("0212",))
    site = await _site_id(db, "0212")
    for subject, expected in (("am-0212", {site}), ("test-gis", set()), ("test-nobody", set())):
        ctx = await context_for(db, settings, subject)
        async with ctx.db.read() as session:
            for table in FORECAST_FACT_TABLES:
                seen = set((await session.execute(text(f"SELECT DISTINCT site_id FROM {table}"))).scalars())
                if table in ("billable_expense_budget", "other_expense_forecast", "forecast_payroll_hours"):
                    assert seen <= expected, (subject, table)  # 0212 has no such rows
                else:
                    assert seen == expected, (subject, table)
    ctx = await context_for(db, settings, "test-reporting")
    async with ctx.db.read() as session:
        seen = set((await session.execute(text("SELECT DISTINCT site_id FROM budget_value"))).scalars())
    assert len(seen) == 4


async def test_the_readme_forecast_example_is_true(gql: GraphQLClient) -> None:
    from tests.test_readme import _blocks

    forecast = (await gql.data(_blocks()[0]))["forecast"]
    months = forecast["months"]
    assert [m["internalRevenue"] for m in months[:3]] == ["0.00", "33300.00", "33300.00"]
    assert months[3]["byBuildingBlock"] == [{"buildingBlock": "FIXED_FEE", "amount": "33300.00"}]
    assert months[3]["invoicedRevenue"] is None and months[3]["deviationPercentage"] is None
    assert forecast["totals"]["internalRevenue"] == "366300.00"  # 11 × 33,300.00
