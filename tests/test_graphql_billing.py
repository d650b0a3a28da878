"""`Site.billingPreview` on the real contracts (golden example F-1 of domain.md §5)."""

from __future__ import annotations

from tests.conftest import GraphQLClient

PREVIEW = """
query ($n: String!, $p: String) {
  site(siteNumber: $n) {
    billingPreview(servicePeriod: $p) {
      siteNumber servicePeriod billingType version rateSelectionDate total notComputed warnings
      invoices { groupNumber invoiceNumber invoiceDate amount paymentTerms
                 lines { buildingBlock title code amount explanation } }
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


async def test_hybrid_fixed_fee_and_per_labor_hour_from_synthetic_timesheets(gql: GraphQLClient) -> None:
    preview = (await gql.data(PREVIEW, n="0338", p="2025-04"))["site"]["billingPreview"]
    assert preview["notComputed"] == []
    lines = [line for inv in preview["invoices"] for line in inv["lines"]]
    assert {line["buildingBlock"] for line in lines} == {"FIXED_FEE", "PER_LABOR_HOUR"}
    assert all("§2.2" in line["explanation"] for line in lines if line["buildingBlock"] == "PER_LABOR_HOUR")


async def test_what_if_preview_restricted_to_some_building_blocks(gql: GraphQLClient) -> None:
    query = """query ($b: [BuildingBlock!]) { site(siteNumber: "0338") {
        billingPreview(servicePeriod: "2025-04", buildingBlocks: $b) { total invoices { lines { buildingBlock amount } } } } }"""
    both = (await gql.data(query, b=None))["site"]["billingPreview"]
    fixed = (await gql.data(query, b=["FIXED_FEE"]))["site"]["billingPreview"]
    lines = [line for inv in fixed["invoices"] for line in inv["lines"]]
    assert {line["buildingBlock"] for line in lines} == {"FIXED_FEE"}
    assert 0 < float(fixed["total"]) < float(both["total"])


async def test_every_site_previews_without_error(gql: GraphQLClient) -> None:
    data = await gql.data(
        '{ sites(first: 500) { edges { node { siteNumber billingPreview(servicePeriod: "2025-04") { total } } } } }'
    )
    assert len(data["sites"]["edges"]) == 500


async def test_revenue_share_line_details_show_the_distribution(gql: GraphQLClient) -> None:
    query = """{ site(siteNumber: "0293") { billingPreview(servicePeriod: "2025-04") {
        invoices { lines { title amount details } } } } }"""
    lines = (await gql.data(query))["site"]["billingPreview"]["invoices"][0]["lines"]
    [share] = [line for line in lines if line["title"] == "Towne Park Fees for Services"]
    items = share["details"]["revenue_share_items"]
    # contract 0293: one AnnualCalendar structure with tiers [{750000, 32.5 %}, {0, 25 %}] (domain.md §2.4)
    assert [(i["share_percentage"], i["tier_limit"]) for i in items][:1] == [("32.5", "750000.0")]
    due = sum(float(i["amount_due"]) for i in items)
    assert abs(due - float(share["amount"])) < 0.005
