"""`Site.billingPreview` on the real contracts (golden example F-1 of domain.md §5) and, pinned to the cent,
on contracts 0293 (two-tier AnnualCalendar revenue share) and 0338 (hybrid fixed fee + per labor hour) over
the SYNTHETIC facts of March–April 2025 that conftest generates (importer/facts.py, deterministic per site
and month).

Money fields are compared as the GraphQL strings (2 decimals); the `details` JSON, whose decimal strings
keep the engine's scale, is compared through `Decimal`.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import text

from db.database import Database
from tests.conftest import REPO_ROOT, GraphQLClient

D = Decimal
CONTRACTS = REPO_ROOT / "data" / "towne-park" / "contracts"


def r2(value: Decimal) -> Decimal:
    """Half away from zero to cents, written out here rather than taken from billing.money (§0.1)."""
    return value.quantize(D("0.01"), rounding=ROUND_HALF_UP)


def snapshot(site: str) -> dict[str, Any]:
    """The contract DTO of a real snapshot; NaN tokens read as null (§6.3)."""
    text_ = (CONTRACTS / f"{site}.json").read_text(encoding="utf-8").replace("NaN", "null")
    contract: dict[str, Any] = json.loads(text_)["contract"]
    return contract


def decimals(items: list[dict[str, Any]], *keys: str) -> list[tuple[Decimal | int, ...]]:
    """The chosen keys of `details` items, decimal strings as `Decimal` (their scale may differ)."""
    return [tuple(v if isinstance(v := item[k], int) else D(v) for k in keys) for item in items]


PREVIEW = """
query ($n: String!, $p: String) {
  site(siteNumber: $n) {
    billingPreview(servicePeriod: $p) {
      siteNumber servicePeriod billingType version rateSelectionDate total notComputed warnings
      invoices { groupNumber invoiceNumber invoiceDate amount paymentTerms
                 lines { buildingBlock title code amount description explanation details } }
    }
  }
}
"""


async def test_f1_fixed_fee_invoice_of_contract_0349(gql: GraphQLClient) -> None:
    preview = (await gql.data(PREVIEW, n="0349", p="2025-04"))["site"]["billingPreview"]
    assert preview["servicePeriod"] == "2025-04" and preview["billingType"] == "ARREARS"
    assert preview["rateSelectionDate"] == "2025-05-01"  # Arrears: P_end + 1 day (§2.15)
    [invoice] = preview["invoices"]
    assert invoice["invoiceNumber"] == "0349-202504-01-01"
    assert invoice["invoiceDate"] == "2025-04-30"
    assert invoice["amount"] == "33300.00"
    assert sorted((line["title"], line["code"], line["amount"]) for line in invoice["lines"]) == [
        ("Fixed Billable Expenses", "4700", "30800.00"),
        ("Management Fee", "4700", "2500.00"),
    ]
    assert all(line["explanation"] for line in invoice["lines"])
    assert invoice["paymentTerms"] == "Due by 15th of the Month"
    assert preview["total"] == "33300.00" and preview["notComputed"] == []


async def test_default_period_is_the_previous_month_for_arrears(gql: GraphQLClient) -> None:
    # conftest fixes "today" at 2025-05-20, like the F-1 task created in May 2025
    preview = (await gql.data(PREVIEW, n="0349"))["site"]["billingPreview"]
    assert preview["servicePeriod"] == "2025-04"
    assert preview["invoices"][0]["invoiceNumber"] == "0349-202504-01-01"


async def test_fixed_fee_not_yet_active_bills_nothing_and_says_so(gql: GraphQLClient) -> None:
    # The 0349 services start 2025-01-22: a December 2024 statement (selected on 2025-01-01) has no line.
    preview = (await gql.data(PREVIEW, n="0349", p="2024-12"))["site"]["billingPreview"]
    assert preview["invoices"] == [] and preview["total"] == "0.00"
    assert preview["warnings"]


def lines_of(preview: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    return [
        (line["buildingBlock"], line["title"], line["code"], line["amount"], line["description"])
        for invoice in preview["invoices"]
        for line in invoice["lines"]
    ]


async def test_hybrid_0338_april_2025_pinned_and_the_gsa_lines_recomputed_by_hand(
    gql: GraphQLClient, db: Database
) -> None:
    """Contract 0338 (Arrears, fixed fee + PLH, no invoice groups ⇒ group 1), April 2025.

    From 0338.json: fixed fee "Account Manager Fee" code 4715, 7,096.27, active since 2025-01-27; jobs GSA,
    GSC and "Additional GSA" (WORK_ROLE GARAGE), each 25.03 / overtime 37.55 and no GL code (the lines print
    an empty code and a warning says so). Rate ≠ overtime rate ⇒ a regular and an overtime line per job
    (§2.2).

    Cross-check of the GSA lines by hand from the synthetic timesheets (30 rows, 2025-04-01..30): per row
    reg_h = r2((regular + regular next day)/60), ot_h = r2((overtime + holiday + double time, each with its
    next-day twin)/60); RH = Σ reg_h = 1,507.47, OH = Σ ot_h = 23.51. Regular line r2(25.03 × 1,507.47) =
    r2(37,731.9741) = 37,731.97; overtime line r2(37.55 × 23.51) = r2(882.8005) = 882.80. The test sums the
    rows itself (SQL + Decimal, not the engine) and checks both the hours and the amounts.
    Invoice 7,096.27 + 12,004.14 + 497.16 + 37,731.97 + 882.80 + 18,069.91 + 718.71 = 77,000.96.
    """
    preview = (await gql.data(PREVIEW, n="0338", p="2025-04"))["site"]["billingPreview"]
    assert preview["notComputed"] == [] and preview["total"] == "77000.96"
    [invoice] = preview["invoices"]
    assert (invoice["invoiceNumber"], invoice["invoiceDate"], invoice["amount"], invoice["paymentTerms"]) == (
        "0338-202504-01-01", "2025-04-30", "77000.96", "Due in 45 Days",
    )  # fmt: skip
    assert lines_of(preview) == [
        ("FIXED_FEE", "Account Manager Fee", "4715", "7096.27", ""),
        ("PER_LABOR_HOUR", "Additional GSA", "", "12004.14", "Regular Hours Worked: 479.59"),
        ("PER_LABOR_HOUR", "Additional GSA", "", "497.16", "Overtime Hours Worked: 13.24"),
        ("PER_LABOR_HOUR", "GSA", "", "37731.97", "Regular Hours Worked: 1507.47"),
        ("PER_LABOR_HOUR", "GSA", "", "882.80", "Overtime Hours Worked: 23.51"),
        ("PER_LABOR_HOUR", "GSC", "", "18069.91", "Regular Hours Worked: 721.93"),
        ("PER_LABOR_HOUR", "GSC", "", "718.71", "Overtime Hours Worked: 19.14"),
    ]
    assert sum((D(amount) for *_, amount, _ in lines_of(preview)), D(0)) == D(invoice["amount"])
    assert sorted(w for w in preview["warnings"] if "has no GL code" in w) == [
        f"Per Labor Hour job {name!r} ({code}) has no GL code: its lines print an empty code (the GP export "
        "books it to 4790, §3.8)"
        for name, code in (("Additional GSA", "GARAGE"), ("GSA", "GSA"), ("GSC", "GSC"))
    ]

    # by hand: the configuration from the snapshot, the hours from the synthetic timesheet rows
    config = snapshot("0338")
    [fee] = config["fixedFee"]["serviceRates"]
    assert (fee["displayName"], fee["code"], r2(D(str(fee["fee"])))) == (
        "Account Manager Fee",
        "4715",
        D("7096.27"),
    )
    [gsa] = [job for job in config["perLaborHour"]["jobRates"] if job["jobCode"] == "GSA"]
    rate, overtime_rate = D(str(gsa["rate"])), D(str(gsa["overtimeRate"]))
    assert (rate, overtime_rate) == (D("25.03"), D("37.55"))
    async with db.read() as session:
        minutes = (
            await session.execute(
                text(
                    "SELECT t.regular + t.regular_next_day, t.overtime + t.overtime_next_day + t.holiday"
                    " + t.holiday_next_day + t.double_overtime + t.double_overtime_next_day"
                    " + t.holiday_overtime + t.holiday_overtime_next_day + t.holiday_double_overtime"
                    " + t.holiday_double_overtime_next_day"
                    " FROM timesheet_minutes t JOIN customer_site s ON s.id = t.site_id"
                    " WHERE s.site_number = '0338' AND t.job_code = 'GSA'"
                    " AND t.date BETWEEN DATE '2025-04-01' AND DATE '2025-04-30'"
                )
            )
        ).all()
    assert len(minutes) == 30
    regular_hours = sum((r2(D(regular) / 60) for regular, _ in minutes), D(0))
    overtime_hours = sum((r2(D(overtime) / 60) for _, overtime in minutes), D(0))
    assert (regular_hours, overtime_hours) == (D("1507.47"), D("23.51"))
    assert (str(r2(rate * regular_hours)), str(r2(overtime_rate * overtime_hours))) == ("37731.97", "882.80")


async def test_what_if_preview_restricted_to_some_building_blocks(gql: GraphQLClient) -> None:
    query = """query ($b: [BuildingBlock!]) { site(siteNumber: "0338") {
        billingPreview(servicePeriod: "2025-04", buildingBlocks: $b) { total invoices { lines { buildingBlock amount } } } } }"""
    both = (await gql.data(query, b=None))["site"]["billingPreview"]
    fixed = (await gql.data(query, b=["FIXED_FEE"]))["site"]["billingPreview"]
    lines = [line for inv in fixed["invoices"] for line in inv["lines"]]
    assert [(line["buildingBlock"], line["amount"]) for line in lines] == [("FIXED_FEE", "7096.27")]
    assert (fixed["total"], both["total"]) == ("7096.27", "77000.96")


async def test_every_site_previews_without_error(gql: GraphQLClient) -> None:
    data = await gql.data(
        '{ sites(first: 500) { edges { node { siteNumber billingPreview(servicePeriod: "2025-04") { total } } } } }'
    )
    assert len(data["sites"]["edges"]) == 500


RS_CODES = (
    "ADJ", "OR1", "OR2", "SD1", "SD2", "SD3", "SM1", "SM2", "SM3", "SO1", "SO2", "SO3",
    "VD1", "VD2", "VD3", "VM1", "VM2", "VM3", "VO1", "VO2", "VO3",
)  # fmt: skip
# Σ NETEXTERNALREVENUE of 0293's shareable rows (§2.4 step 1; no Bell Service, so OR1/OR2 stay in) and
# Σ BILLABLE_NET_VALIDATION of its 'V' rows (§2.5), between two dates, both inclusive.
SHAREABLE = text(
    "SELECT coalesce(sum(r.net_external_revenue) FILTER (WHERE r.deposit_flag <> 'V'"
    " AND r.category <> 'Per Man Hour' AND r.revenue_code = ANY(:codes)), 0),"
    " coalesce(sum(r.billable_net_validation) FILTER (WHERE r.deposit_flag = 'V'), 0)"
    " FROM revenue_daily r JOIN customer_site s ON s.id = r.site_id"
    " WHERE s.site_number = '0293' AND r.date BETWEEN :first AND :last"
)


def share_lines(preview: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    [invoice] = preview["invoices"]
    [share] = [line for line in invoice["lines"] if line["title"] == "Towne Park Fees for Services"]
    [validated] = [
        line for line in invoice["lines"] if line["title"] == "Towne Park Fees for Validated Parking"
    ]
    return share, validated


ITEM_KEYS = (
    "threshold_structure",
    "tier_index",
    "revenue_amount",
    "share_percentage",
    "amount_due",
    "tier_limit",
)


async def test_two_tier_annual_0293_april_2025_pinned_and_recomputed_by_hand(
    gql: GraphQLClient, db: Database
) -> None:
    """Contract 0293 (Arrears), April 2025. From 0293.json: fixed fee "Shuttle Services" 4705, 1,000.00
    (from 2025-02-18); one AnnualCalendar structure of 21 codes, tiers [{750,000, 32.5 %}, {0, 25 %}],
    validation threshold RevenuePercentage 5; billable expense accounts 7060, 7070, 7075, 7082, 7178, 7230
    enabled ("Total Other Expenses", 4791), no payroll account.

    Cross-check by hand from the synthetic facts (the test re-sums them in SQL):
    Rm = Σ April shareable net revenue = 144,169.81; Prior = Σ 2025-01-01..2025-03-31 = 158,908.39 (March
    only: no facts before March), T = 303,078.20 ≤ 750,000 ⇒ tier 1 gets T − Prior = 144,169.81 × 32.5 % =
    46,855.18825 → 46,855.19; tier 2 gets T − 750,000 < 0 ⇒ an item of 0. Validations (§2.5): V = 8,061.75,
    limit = 144,169.81 × 5 % = 7,208.4905, over = 853.2595, all weight in tier 1 ⇒ 32.5 % × 853.2595 =
    277.3093375 → 277.31. Expense accounts: ledger 202504, entity ≠ 06: 1,296.49 + 761.52 + 1,885.84 +
    3,105.70 + 1,663.89 + 731.01 = 9,444.45. Invoice 1,000.00 + 9,444.45 + 46,855.19 + 277.31 = 57,576.95.
    """
    preview = (await gql.data(PREVIEW, n="0293", p="2025-04"))["site"]["billingPreview"]
    assert (preview["total"], preview["notComputed"], preview["warnings"]) == ("57576.95", [], [])
    [invoice] = preview["invoices"]
    assert (invoice["invoiceNumber"], invoice["invoiceDate"], invoice["amount"], invoice["paymentTerms"]) == (
        "0293-202504-01-01", "2025-04-30", "57576.95", "Due in 30 Days",
    )  # fmt: skip
    assert lines_of(preview) == [
        ("FIXED_FEE", "Shuttle Services", "4705", "1000.00", ""),
        ("BILLABLE_ACCOUNTS", "Total Other Expenses", "4791", "9444.45", ""),
        ("REVENUE_SHARE", "Towne Park Fees for Services", "4790", "46855.19",
         "Total Base for Fee Calculation: $144,169.81"),
        ("REVENUE_SHARE", "Towne Park Fees for Validated Parking", "4790", "277.31", ""),
    ]  # fmt: skip
    share, validated = share_lines(preview)
    assert decimals(share["details"]["revenue_share_items"], *ITEM_KEYS) == [
        (1, 0, D("144169.81"), D("32.5"), D("46855.18825"), D(750000)),
        (1, 1, D(0), D(25), D(0), D(0)),
    ]
    assert decimals(validated["details"]["validation_items"], "tier_index", "weight", "amount_due") == [
        (0, D(1), D("277.3093375")),
        (1, D(0), D(0)),
    ]

    # by hand: tiers and threshold from the snapshot, revenue and validations from the synthetic rows
    config = snapshot("0293")
    [structure] = config["revenueShare"]["thresholdStructures"]
    assert tuple(structure["revenueCodes"]) == RS_CODES and structure["accumulationType"] == "AnnualCalendar"
    [(p1, cap), (p2, unlimited)] = [
        (D(str(t["sharePercentage"])), D(str(t["amount"]))) for t in structure["tiers"]
    ]
    assert (p1, cap, p2, unlimited) == (D("32.5"), D(750000), D(25), D(0))
    threshold = D(str(structure["validationThresholdAmount"]))
    async with db.read() as session:
        month, validations = (
            await session.execute(
                SHAREABLE,
                {"codes": list(RS_CODES), "first": dt.date(2025, 4, 1), "last": dt.date(2025, 4, 30)},
            )
        ).one()
        prior, _ = (
            await session.execute(
                SHAREABLE,
                {"codes": list(RS_CODES), "first": dt.date(2025, 1, 1), "last": dt.date(2025, 3, 31)},
            )
        ).one()
    assert (month, prior, validations) == (D("144169.81"), D("158908.39"), D("8061.75"))
    assert month + prior <= cap  # the year so far stays in tier 1
    assert str(r2(month * p1 / 100)) == share["amount"] == "46855.19"
    over = validations - month * threshold / 100
    assert over == D("853.2595") and str(r2(p1 * over / 100)) == validated["amount"] == "277.31"
    async with db.read() as session:
        expenses = (
            await session.execute(
                text(
                    "SELECT sum(l.balance) FROM ledger_balance l JOIN customer_site s ON s.id = l.site_id"
                    " WHERE s.site_number = '0293' AND l.period = '202504' AND l.entity <> '06'"
                    " AND l.main_account = ANY(:accounts)"
                ),
                {"accounts": ["7060", "7070", "7075", "7082", "7178", "7230"]},
            )
        ).scalar_one()
    assert str(expenses) == "9444.45"


async def test_two_tier_annual_0293_crosses_the_cap_with_earlier_revenue_of_the_year(
    gql: GraphQLClient, db: Database
) -> None:
    """The same April with 500,000.00 of VD1 revenue added on 2025-02-15 (rolled back after the test):
    Prior = 158,908.39 + 500,000.00 = 658,908.39, T = 658,908.39 + 144,169.81 = 803,078.20.
    Tier 1 (cap 750,000): prev 658,908.39 ≤ cap, T > cap ⇒ 750,000 − 658,908.39 = 91,091.61 × 32.5 % =
    29,604.77325. Tier 2 (unlimited): 803,078.20 − 750,000 = 53,078.20 × 25 % = 13,269.55. Σ = 42,874.32325
    → 42,874.32. Validations: over is still 853.2595 (the limit reads the month's distributed revenue,
    144,169.81), now weighted by the tiers: 853.2595 × (32.5 % × 91,091.61 + 25 % × 53,078.20) / 144,169.81 =
    253.7488… → 253.75. Invoice 1,000.00 + 9,444.45 + 42,874.32 + 253.75 = 53,572.52.
    The description still prints the month's base only (§2.4)."""
    async with db.transaction() as session:
        await session.execute(
            text(
                "INSERT INTO revenue_daily (site_id, date, revenue_code, category, collection_type, deposit_flag,"
                " external_revenue, net_external_revenue, billable_net_validation, synthetic)"
                " SELECT id, DATE '2025-02-15', 'VD1', 'Valet Parking', 'Credit Card', 'Y', 500000.00, 500000.00,"
                " 0, true FROM customer_site WHERE site_number = '0293'"
            )
        )
    preview = (await gql.data(PREVIEW, n="0293", p="2025-04"))["site"]["billingPreview"]
    assert preview["total"] == "53572.52"
    assert lines_of(preview) == [
        ("FIXED_FEE", "Shuttle Services", "4705", "1000.00", ""),
        ("BILLABLE_ACCOUNTS", "Total Other Expenses", "4791", "9444.45", ""),
        ("REVENUE_SHARE", "Towne Park Fees for Services", "4790", "42874.32",
         "Total Base for Fee Calculation: $144,169.81"),
        ("REVENUE_SHARE", "Towne Park Fees for Validated Parking", "4790", "253.75", ""),
    ]  # fmt: skip
    share, validated = share_lines(preview)
    assert decimals(share["details"]["revenue_share_items"], *ITEM_KEYS) == [
        (1, 0, D("91091.61"), D("32.5"), D("29604.77325"), D(750000)),
        (1, 1, D("53078.20"), D(25), D("13269.55"), D(0)),
    ]
    hand = D("853.2595") * (D("0.325") * D("91091.61") + D("0.25") * D("53078.20")) / D("144169.81")
    assert str(r2(hand)) == validated["amount"] == "253.75"
