"""`billingSummary` (issue 11 §1): aggregates computed in one SQL statement, territory as it was, scopes.

The dataset: statements of the 16 real configurations for March and April 2025 (synthetic facts), half of
them Sent, two of those regenerated (a Sent v1 under an unsent v2), the rest waiting in their statuses.
The expectations are computed from the `statements` listing, not from the summary's SQL.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from billing import ServicePeriod
from db.database import Database, StatementCounter
from db.repositories.users import Grants, upsert_user
from tests.conftest import GraphQLClient
from tests.test_row_security import _orlando
from tests.test_statements import SNAPSHOT_SITES

PERIODS = ("2025-03", "2025-04")
SENT_SITES = SNAPSHOT_SITES[::2]  # every other site is Sent
REGENERATED = SENT_SITES[:2]  # … and two of those have an unsent v2

BULK = """
mutation ($sites: [String!], $period: String!, $key: String) {
  generateStatements(siteNumbers: $sites, servicePeriod: $period, idempotencyKey: $key) { generated failed }
}
"""
LISTING = """
{ statements(first: 40) { edges { node { id servicePeriod site { siteNumber }
    versions { version status superseded total invoices { lines { code amount } } } } } } }
"""
MEASURES = """invoicedAmount invoicedRevenue pendingAmount pendingByStatus { status amount }
    forecastInternalRevenue deviationAmount deviationPercentage siteCount statementCount"""
SUMMARY = f"""
query ($groupBy: [SummaryDimension!]!, $from: String!, $to: String!, $layer: String, $filter: BillingSummaryFilter) {{
  billingSummary(groupBy: $groupBy, fromPeriod: $from, toPeriod: $to, territoryLayer: $layer, filter: $filter) {{
    groups {{ key {{ territory {{ code name }} servicePeriod siteNumber siteName state billingType contractType
                   buildingBlock lineCode statementStatus }} {MEASURES} }}
    total {{ {MEASURES} }}
  }}
}}
"""
MONEY = ("invoicedAmount", "invoicedRevenue", "pendingAmount", "forecastInternalRevenue", "deviationAmount")


async def _dataset(gql: GraphQLClient, db: Database) -> list[dict[str, Any]]:
    for period in PERIODS:
        result = await gql.data(BULK, sites=SNAPSHOT_SITES, period=period, key=f"summary-{period}")
        assert result["generateStatements"]["generated"] >= 14, result
    async with db.transaction() as session:
        await session.execute(
            text(
                "UPDATE statement_version v SET status = 'SENT', sent_at = now() FROM billing_statement s, "
                "customer_site cs WHERE s.id = v.statement_id AND cs.id = s.site_id AND NOT v.superseded "
                "AND cs.site_number = ANY(:sites)"
            ),
            {"sites": SENT_SITES},
        )
    listing = (await gql.data(LISTING))["statements"]["edges"]
    for edge in listing:
        node = edge["node"]
        if node["site"]["siteNumber"] in REGENERATED:
            moved = await gql.data(
                "mutation ($id: ID!) { regenerateStatement(statementId: $id) { __typename } }", id=node["id"]
            )
            assert moved["regenerateStatement"]["__typename"] == "StatementPayload", moved
    return [e["node"] for e in (await gql.data(LISTING))["statements"]["edges"]]


def _revenue(code: str) -> bool:
    return code.isdigit() and 4000 <= int(code) <= 4999


def _expected(listing: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Decimal]]:
    """(site, period) → invoiced / invoicedRevenue / pending, from the versions of the listing."""
    out: dict[tuple[str, str], dict[str, Decimal]] = {}
    for node in listing:
        live = [v for v in node["versions"] if not v["superseded"]]
        sent = [v for v in live if v["status"] == "SENT"]
        unsent = [v for v in live if v["status"] != "SENT"]
        latest = max(sent, key=lambda v: v["version"]) if sent else None
        out[(node["site"]["siteNumber"], node["servicePeriod"])] = {
            "invoicedAmount": Decimal(latest["total"]) if latest else Decimal(0),
            "invoicedRevenue": sum(
                (
                    Decimal(line["amount"])
                    for i in latest["invoices"]
                    for line in i["lines"]
                    if _revenue(line["code"])
                ),
                Decimal(0),
            )
            if latest
            else Decimal(0),
            "pendingAmount": sum((Decimal(v["total"]) for v in unsent), Decimal(0)),
        }
    return out


async def _forecasts(db: Database) -> dict[tuple[str, str], Decimal]:
    async with db.transaction() as session:
        rows = await session.execute(
            text(
                "SELECT cs.site_number, substr(f.period, 1, 4) || '-' || substr(f.period, 5), f.amount "
                "FROM forecast_internal_revenue f JOIN customer_site cs ON cs.id = f.site_id "
                "WHERE f.period IN ('202503', '202504')"
            )
        )
        return {(site, period): amount for site, period, amount in rows}


async def _summary(gql: GraphQLClient, group_by: list[str], **arguments: Any) -> dict[str, Any]:
    variables = {"groupBy": group_by, "from": PERIODS[0], "to": PERIODS[-1], **arguments}
    return (await gql.data(SUMMARY, **variables))["billingSummary"]  # type: ignore[no-any-return]


async def test_site_months_equal_the_statements_and_the_stored_forecast(
    gql: GraphQLClient, db: Database
) -> None:
    listing = await _dataset(gql, db)
    expected = _expected(listing)
    forecasts = await _forecasts(db)
    summary = await _summary(gql, ["SITE", "SERVICE_PERIOD"])
    got = {(g["key"]["siteNumber"], g["key"]["servicePeriod"]): g for g in summary["groups"]}
    assert set(expected) <= set(got)
    for key, figures in expected.items():
        group = got[key]
        for measure, amount in figures.items():
            assert Decimal(group[measure]) == amount, (key, measure)
        forecast = forecasts.get(key, Decimal(0))
        assert Decimal(group["forecastInternalRevenue"]) == forecast, key
        assert Decimal(group["deviationAmount"]) == figures["invoicedRevenue"] - forecast
        assert group["statementCount"] == 1 and group["siteCount"] == 1
    # a site-month with a forecast and no statement is a group of its own
    for key in set(forecasts) - set(expected):
        assert Decimal(got[key]["forecastInternalRevenue"]) == forecasts[key]
        assert got[key]["statementCount"] == 0
    total = summary["total"]
    assert Decimal(total["invoicedAmount"]) == sum(
        (f["invoicedAmount"] for f in expected.values()), Decimal(0)
    )
    assert Decimal(total["invoicedAmount"]) != 0 and Decimal(total["pendingAmount"]) != 0
    assert total["statementCount"] == len(listing) == 32
    # the regenerated statements are invoiced (v1) and pending (v2) at once
    for site in REGENERATED:
        figures = got[(site, "2025-04")]
        assert figures["invoicedAmount"] == figures["pendingAmount"] != "0.00", site


async def test_statuses_split_invoiced_from_pending(gql: GraphQLClient, db: Database) -> None:
    listing = await _dataset(gql, db)
    summary = await _summary(gql, ["STATEMENT_STATUS"])
    by_status = {g["key"]["statementStatus"]: g for g in summary["groups"]}
    counts: dict[str, int] = defaultdict(int)
    for node in listing:
        for v in node["versions"]:
            if not v["superseded"] and (
                v["status"] != "SENT"
                or v["version"] == max(w["version"] for w in node["versions"] if w["status"] == "SENT")
            ):
                counts[v["status"]] += 1
    assert {s: g["statementCount"] for s, g in by_status.items() if s is not None} == dict(counts)
    assert Decimal(by_status["SENT"]["pendingAmount"]) == 0
    assert Decimal(by_status["SENT"]["invoicedAmount"]) == Decimal(summary["total"]["invoicedAmount"])
    pending = {p["status"]: Decimal(p["amount"]) for p in summary["total"]["pendingByStatus"]}
    for status, group in by_status.items():
        if status not in (None, "SENT"):
            assert Decimal(group["pendingAmount"]) == pending[status] != 0
    # the forecast has no status: it is the null group's, and a status filter leaves it out
    assert Decimal(by_status[None]["forecastInternalRevenue"]) == Decimal(
        summary["total"]["forecastInternalRevenue"]
    )
    filtered = await _summary(gql, [], filter={"statuses": ["SENT"]})
    assert Decimal(filtered["total"]["forecastInternalRevenue"]) == 0
    assert filtered["total"]["invoicedAmount"] == summary["total"]["invoicedAmount"]


DIMENSIONS = ["TERRITORY", "SERVICE_PERIOD", "SITE", "STATE", "BILLING_TYPE", "CONTRACT_TYPE", "BUILDING_BLOCK",
              "LINE_CODE", "STATEMENT_STATUS"]  # fmt: skip
FILTERS = st.fixed_dictionaries(
    {},
    optional={
        "states": st.lists(st.sampled_from(["FL", "CA", "NY", "TX", "GA", "IL"]), min_size=1, max_size=3),
        "buildingBlocks": st.lists(
            st.sampled_from(["FIXED_FEE", "PER_LABOR_HOUR", "REVENUE_SHARE", "MANAGEMENT_AGREEMENT"]),
            min_size=1,
        ),
        "statuses": st.lists(
            st.sampled_from(["SENT", "READY_TO_SEND", "APPROVAL_TEAM", "AR_REVIEW"]), min_size=1
        ),
        "billingTypes": st.lists(st.sampled_from(["ARREARS", "ADVANCED"]), min_size=1, max_size=1),
        "siteNumbers": st.lists(st.sampled_from(SNAPSHOT_SITES), min_size=1, max_size=4),
        "territories": st.lists(
            st.sampled_from(["orlando", "annapolis", "boston", "nashville", "kansas-city"]), min_size=1
        ),
    },
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
async def test_groups_add_up_to_the_total_to_the_cent(
    gql: GraphQLClient, db: Database, data: st.DataObject
) -> None:
    if not getattr(db, "_summary_dataset", False):  # one dataset for every example (rolled back at the end)
        await _dataset(gql, db)
        db._summary_dataset = True  # type: ignore[attr-defined]
    group_by = data.draw(st.lists(st.sampled_from(DIMENSIONS), unique=True, max_size=3))
    filter_ = data.draw(FILTERS)
    summary = await _summary(gql, group_by, layer="districts", filter=filter_)
    total = summary["total"]
    if not group_by:
        assert summary["groups"] == []  # the total only
        return
    for measure in MONEY:
        assert sum((Decimal(g[measure]) for g in summary["groups"]), Decimal(0)) == Decimal(total[measure]), (
            measure
        )
    for status in ("AR_REVIEW", "APPROVAL_TEAM", "READY_TO_SEND"):
        by_group = [next(p for p in g["pendingByStatus"] if p["status"] == status) for g in summary["groups"]]
        whole = next(p for p in total["pendingByStatus"] if p["status"] == status)
        assert sum((Decimal(p["amount"]) for p in by_group), Decimal(0)) == Decimal(whole["amount"])
    assert all(g["siteCount"] <= total["siteCount"] for g in summary["groups"])
    keys = [tuple(sorted(g["key"].items(), key=lambda kv: kv[0])) for g in summary["groups"]]
    assert len(keys) == len({repr(k) for k in keys}), "a key is listed twice"
    # grouping changes how the total is cut, never what it is
    ungrouped = (await _summary(gql, [], layer="districts", filter=filter_))["total"]
    assert {m: ungrouped[m] for m in MONEY} == {m: total[m] for m in MONEY}
    assert ungrouped["siteCount"] == total["siteCount"]


async def test_any_grouping_is_one_sql_statement(gql: GraphQLClient, db: Database) -> None:
    await _dataset(gql, db)
    for group_by in ([], ["TERRITORY"], ["TERRITORY", "SERVICE_PERIOD", "BUILDING_BLOCK"], DIMENSIONS):
        with StatementCounter(db.bind) as counter:
            await _summary(gql, group_by, layer="districts", filter={"states": ["FL", "CA"]})
        # the caller's identification (towne_begin_request) + the summary
        assert len(counter.queries) == 2, (group_by, counter.queries)


async def _assign(db: Database, site: str, code: str, at: str) -> None:
    """Move `site` to district `code` from `at` (the history as a reassignment writes it)."""
    async with db.transaction() as session:
        params = {"site": site, "code": code, "at": dt.datetime.fromisoformat(at)}
        site_layer = (
            "site_id = (SELECT id FROM customer_site WHERE site_number = :site) "
            "AND layer_id = (SELECT id FROM territory_layer WHERE code = 'districts')"
        )
        await session.execute(
            text(
                f"UPDATE site_territory_assignment SET valid_to = :at WHERE {site_layer} AND valid_to IS NULL"
            ),
            params,
        )
        await session.execute(
            text(
                "INSERT INTO site_territory_assignment (site_id, layer_id, territory_id, method, valid_from) "
                "SELECT s.id, l.id, t.id, 'manual', :at FROM customer_site s, territory_layer l "
                "JOIN territory t ON t.layer_id = l.id AND t.code = :code "
                "WHERE s.site_number = :site AND l.code = 'districts'"
            ),
            params,
        )
        await session.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))


@pytest.mark.parametrize(
    ("moved_at", "march", "april"),
    [
        # on the last day of March (its last second): March is already the new district's
        ("2025-03-31T23:59:59Z", "boston", "boston"),
        # on April 1st: March stays where it was, April moves
        ("2025-04-01T00:00:00Z", "original", "boston"),
        # mid-May, after both periods: neither moves
        ("2025-05-15T00:00:00Z", "original", "original"),
    ],
)
async def test_the_territory_is_the_one_on_the_last_day_of_the_service_period(
    gql: GraphQLClient, db: Database, moved_at: str, march: str, april: str
) -> None:
    await _dataset(gql, db)
    site = "0349"
    before = await _summary(
        gql, ["TERRITORY", "SERVICE_PERIOD"], layer="districts", filter={"siteNumbers": [site]}
    )
    original = {g["key"]["servicePeriod"]: g["key"]["territory"]["code"] for g in before["groups"]}
    assert original["2025-03"] == original["2025-04"] != "boston"
    await _assign(db, site, "boston", moved_at)
    after = await _summary(
        gql, ["TERRITORY", "SERVICE_PERIOD"], layer="districts", filter={"siteNumbers": [site]}
    )
    got = {g["key"]["servicePeriod"]: g["key"]["territory"]["code"] for g in after["groups"]}
    want = {p: original[p] if w == "original" else w for p, w in (("2025-03", march), ("2025-04", april))}
    assert got == want
    # the money went with the period, not with the site's current district
    figures = {g["key"]["servicePeriod"]: g["invoicedAmount"] for g in after["groups"]}
    assert figures == {g["key"]["servicePeriod"]: g["invoicedAmount"] for g in before["groups"]}
    # filtering by the old district keeps exactly the periods still assigned to it
    old = await _summary(
        gql,
        ["SERVICE_PERIOD"],
        layer="districts",
        filter={"siteNumbers": [site], "territories": [original["2025-03"]]},
    )
    assert {g["key"]["servicePeriod"] for g in old["groups"]} == {p for p, c in want.items() if c != "boston"}


async def test_scoped_callers_sum_only_their_sites(gql: GraphQLClient, db: Database) -> None:
    listing = await _dataset(gql, db)
    expected = _expected(listing)
    mine = ("0349", "0918")
    async with db.transaction() as session:
        await upsert_user(
            session,
            subject="summary-am",
            grants=Grants(roles=("accountManager",), site_numbers=mine),
            granted_by="t",
        )
        await upsert_user(
            session,
            subject="summary-dm",
            grants=Grants(roles=("districtManager",), territories=("districts:orlando",)),
            granted_by="t",
        )
    orlando = await _orlando(db)
    forecasts = await _forecasts(db)
    for subject, sites in (("summary-am", set(mine)), ("summary-dm", orlando)):
        summary = (
            await gql.as_(subject).data(SUMMARY, groupBy=["SITE"], **{"from": PERIODS[0], "to": PERIODS[-1]})
        )["billingSummary"]
        assert {g["key"]["siteNumber"] for g in summary["groups"]} <= sites
        want = sum((f["invoicedAmount"] for (s, _), f in expected.items() if s in sites), Decimal(0))
        assert Decimal(summary["total"]["invoicedAmount"]) == want
        want_forecast = sum((a for (s, _), a in forecasts.items() if s in sites), Decimal(0))
        assert Decimal(summary["total"]["forecastInternalRevenue"]) == want_forecast
    assert "0349" in orlando  # the district manager's scope includes a statement of the dataset


@pytest.mark.parametrize(
    ("arguments", "argument"),
    [
        ({"groupBy": [], "from": "2025-13", "to": "2025-04"}, "fromPeriod"),
        ({"groupBy": [], "from": "2025-04", "to": "2025-03"}, "toPeriod"),
        ({"groupBy": [], "from": "2020-01", "to": "2025-04"}, "toPeriod"),
        ({"groupBy": ["SITE", "SITE"], "from": "2025-03", "to": "2025-04"}, "groupBy"),
        ({"groupBy": ["TERRITORY"], "from": "2025-03", "to": "2025-04"}, "territoryLayer"),
        ({"groupBy": ["TERRITORY"], "from": "2025-03", "to": "2025-04", "layer": "nope"}, "territoryLayer"),
        (
            {"groupBy": [], "from": "2025-03", "to": "2025-04", "layer": "districts",
             "filter": {"territories": ["atlantis"]}},
            "filter.territories",
        ),
        ({"groupBy": [], "from": "2025-03", "to": "2025-04", "filter": {"siteNumbers": ["12345"]}},
         "filter.siteNumbers"),
    ],
)  # fmt: skip
async def test_bad_arguments_name_the_argument(
    gql: GraphQLClient, arguments: dict[str, Any], argument: str
) -> None:
    error = await gql.error(SUMMARY, **arguments)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"].get("argument") == argument, error


PREVIEW = """
query ($filter: BillingSummaryFilter) {
  billingSummary(groupBy: [SITE, BUILDING_BLOCK], fromPeriod: "2025-04", toPeriod: "2025-04", filter: $filter) {
    groups { key { siteNumber buildingBlock } previewedAmount }
    total { previewedAmount }
  }
  billingPreviews(servicePeriod: "2025-04", filter: {state: "FL"}) {
    site { siteNumber } preview { total invoices { lines { amount } } }
  }
}
"""


async def test_previews_are_computed_on_demand_and_grouped_alike(gql: GraphQLClient) -> None:
    florida = ["0349", "0338", "0429", "0212"]
    data = await gql.data(PREVIEW, filter={"states": ["FL"]})
    previews = {
        p["site"]["siteNumber"]: Decimal(p["preview"]["total"])
        for p in data["billingPreviews"]
        if p["preview"]
    }
    summary = data["billingSummary"]
    assert Decimal(summary["total"]["previewedAmount"]) == sum(previews.values(), Decimal(0))
    per_site: dict[str, Decimal] = defaultdict(Decimal)
    for group in summary["groups"]:
        per_site[group["key"]["siteNumber"]] += Decimal(group["previewedAmount"] or 0)
    assert {s: a for s, a in per_site.items() if a} == {s: a for s, a in previews.items() if a}
    assert any(previews.get(s) for s in florida)
    too_many = await gql.error(
        '{ billingSummary(groupBy: [], fromPeriod: "2025-01", toPeriod: "2025-12") { total { previewedAmount } } }'
    )
    assert too_many["extensions"]["code"] == "QUERY_TOO_COSTLY"


async def test_dimension_pairs_are_all_valid_sql(db: Database) -> None:
    """Every pair of dimensions builds a statement PostgreSQL runs (the statement text is fixed per grouping;
    no argument is in it), with and without a filter on each of its columns."""
    from db.repositories.reporting import summary_rows
    from resolvers import reporting

    every = reporting.SummaryFilter(
        territories=("orlando",), site_numbers=("0349",), states=("FL",), billing_types=("ARREARS",),
        contract_types=("Fixed Fee",), building_blocks=("FIXED_FEE",), line_codes=("4700",), statuses=("SENT",),
    )  # fmt: skip
    async with db.transaction() as session:
        for pair in itertools.combinations(reporting.Dimension, 2):
            for filter_ in (reporting.SummaryFilter(), every):
                request = reporting.SummaryRequest(
                    group_by=pair, first=ServicePeriod(2025, 1), last=ServicePeriod(2025, 2),
                    layer="districts", filter=filter_,
                )  # fmt: skip
                sql, params = reporting.summary_sql(request)
                assert "GROUPING SETS" in sql and ":layer" in sql and params["layer"] == "districts"
                columns, rows = await summary_rows(session, request)
                assert rows and "grand" in columns, pair  # at least the grand total


PORTFOLIO = """
query ($groupBy: [ContractDimension!]!, $layer: String) {
  contractPortfolio(groupBy: $groupBy, territoryLayer: $layer) {
    groups { key { contractType billingType buildingBlock status state territory { code } } contractCount siteCount }
    total { contractCount siteCount }
  }
}
"""


async def test_contract_portfolio_counts_contracts_by_type_and_block(
    gql: GraphQLClient, db: Database
) -> None:
    async with db.transaction() as session:
        by_type: dict[str, int] = dict(
            (await session.execute(text("SELECT billing_type, count(*) FROM contract GROUP BY 1"))).all()
        )
        revenue_share = (
            await session.execute(
                text("SELECT count(*) FROM contract WHERE 'REVENUE_SHARE' = ANY(building_blocks)")
            )
        ).scalar_one()
    data = (await gql.data(PORTFOLIO, groupBy=["BILLING_TYPE"]))["contractPortfolio"]
    assert {g["key"]["billingType"]: g["contractCount"] for g in data["groups"]} == by_type
    assert data["total"]["contractCount"] == sum(by_type.values())
    blocks = (await gql.data(PORTFOLIO, groupBy=["BUILDING_BLOCK"]))["contractPortfolio"]
    counts = {g["key"]["buildingBlock"]: g["contractCount"] for g in blocks["groups"]}
    assert counts["REVENUE_SHARE"] == revenue_share
    assert sum(counts.values()) > blocks["total"]["contractCount"]  # hybrids count in each block
    # a scoped caller counts its own contracts only
    async with db.transaction() as session:
        await upsert_user(
            session, subject="pf-am", grants=Grants(roles=("accountManager",), site_numbers=("0349", "0918")),
            granted_by="t",
        )  # fmt: skip
    mine = await gql.as_(subject="pf-am").data(PORTFOLIO, groupBy=["TERRITORY"], layer="districts")
    assert mine["contractPortfolio"]["total"] == {"contractCount": 2, "siteCount": 2}
    assert all(g["key"]["territory"] for g in mine["contractPortfolio"]["groups"])
    error = await gql.error(PORTFOLIO, groupBy=["TERRITORY"])
    assert error["extensions"]["argument"] == "territoryLayer"


AGING = """
query ($asOf: DateTime) {
  statementAging(asOf: $asOf) {
    asOf groups { status statementCount amount oldestDays averageDays bands { fromDays toDays statementCount } }
    total { statementCount siteCount amount bands { statementCount } }
  }
}
"""


async def test_statement_aging_measures_days_in_the_status(gql: GraphQLClient, db: Database) -> None:
    listing = await _dataset(gql, db)
    async with db.transaction() as session:
        # the waiting versions entered their statuses ten days before `asOf`
        await session.execute(text("UPDATE statement_event SET at = '2025-05-01T00:00:00Z'"))
        await session.execute(text("UPDATE statement_version SET created_at = '2025-05-01T00:00:00Z'"))
    data = (await gql.data(AGING, asOf="2025-05-11T12:00:00Z"))["statementAging"]
    waiting = [v for n in listing for v in n["versions"] if v["status"] != "SENT" and not v["superseded"]]
    assert data["total"]["statementCount"] == len(waiting) > 0
    assert Decimal(data["total"]["amount"]) == sum((Decimal(v["total"]) for v in waiting), Decimal(0))
    assert [b["statementCount"] for b in data["total"]["bands"]] == [0, 0, len(waiting), 0]
    for group in data["groups"]:
        assert (group["oldestDays"], group["averageDays"]) == (10, 10.5)
        assert group["status"] != "SENT"
    assert sum(g["statementCount"] for g in data["groups"]) == len(waiting)


async def test_territory_statistics_give_area_and_density(gql: GraphQLClient) -> None:
    data = await gql.data(
        '{ territoryStatistics(layer: "districts") { code areaKm2 siteCount sitesPer1000Km2 parkingSpaces } '
        '  territory(layer: "districts", code: "orlando") { areaKm2 siteCount } }'
    )
    stats = {t["code"]: t for t in data["territoryStatistics"]}
    orlando = stats["orlando"]
    assert orlando["siteCount"] == data["territory"]["siteCount"] == 45
    assert orlando["areaKm2"] == data["territory"]["areaKm2"]
    assert orlando["sitesPer1000Km2"] == round(45 / orlando["areaKm2"] * 1000, 3)
    assert len(stats) == 33
    error = await gql.error('{ territoryStatistics(layer: "nope") { code } }')
    assert (error["extensions"]["code"], error["extensions"]["argument"]) == ("BAD_USER_INPUT", "layer")


BOTH_PATHS: list[tuple[str, dict[str, Any]]] = [
    (SUMMARY, {"groupBy": ["TERRITORY", "SERVICE_PERIOD"], "from": "2025-03", "to": "2025-04", "layer": "districts"}),
    (SUMMARY, {"groupBy": ["STATEMENT_STATUS", "LINE_CODE"], "from": "2025-03", "to": "2025-04",
               "filter": {"states": ["FL", "NY"]}}),
    (
        """query ($skip: Boolean!) { __typename
          a: billingSummary(groupBy: [SITE], fromPeriod: "2025-04", toPeriod: "2025-04") {
            __typename groupBy ...G total { ...M } }
          b: billingSummary(groupBy: [], fromPeriod: "2025-03", toPeriod: "2025-04") {
            total { invoicedAmount @skip(if: $skip) siteCount @include(if: $skip) } groups { siteCount } }
          contractPortfolio(groupBy: [BILLING_TYPE, BUILDING_BLOCK]) { groups { key { billingType buildingBlock }
            contractCount } total { siteCount } }
          statementAging(asOf: "2025-05-11T00:00:00Z") { asOf total { statementCount bands { fromDays toDays } } }
          territoryStatistics(layer: "regions") { code areaKm2 sitesPer1000Km2 }
        }
        fragment G on BillingSummary { groups { key { siteNumber siteName } ...M } }
        fragment M on BillingSummaryGroup { invoicedAmount pendingByStatus { status amount } deviationPercentage }""",
        {"skip": True},
    ),
    (
        """query ($filter: BillingSummaryFilter) { billingSummary(groupBy: [BUILDING_BLOCK], fromPeriod: "2025-04",
             toPeriod: "2025-04", filter: $filter) { groups { key { buildingBlock } previewedAmount } } }""",
        {"filter": {"states": ["RI"]}},
    ),
    (SUMMARY, {"groupBy": ["TERRITORY"], "from": "2025-03", "to": "2025-04"}),  # an error: no layer
    ('{ territoryStatistics(layer: "nope") { code } }', {}),
]  # fmt: skip


async def test_the_plain_path_answers_as_execution_does(gql: GraphQLClient, db: Database) -> None:
    """The fast path (schema.plain) gives the data field-by-field execution gives, for fragments, aliases,
    directives, __typename, previews; a document it cannot answer without error is left to execution."""
    from schema.plain import PlainReads

    await _dataset(gql, db)
    for query, variables in BOTH_PATHS:
        answers = []
        for enabled in (True, False):
            PlainReads.enabled = enabled
            try:
                result = await gql.execute(query, **variables)
            finally:
                PlainReads.enabled = True
            answers.append((result.data, [e.formatted for e in result.errors or []]))
        assert answers[0] == answers[1], query
        assert answers[0][0] is not None or answers[0][1], query


async def test_the_plain_path_is_taken(
    gql: GraphQLClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A summary is answered by the plain path (not left to field-by-field execution), with one SQL statement."""
    from schema.plain import answer

    answered: list[bool] = []

    async def spy(*args: Any, **kwargs: Any) -> Any:
        data = await answer(*args, **kwargs)
        answered.append(data is not None)
        return data

    monkeypatch.setattr("schema.plain.answer", spy)
    with StatementCounter(db.bind) as counter:
        await _summary(gql, ["SITE"])
    assert answered == [True] and len(counter.queries) == 2


async def test_the_summary_exports_as_the_query_answers(gql: GraphQLClient, db: Database) -> None:
    """`/exports/billing-summary.csv|.xlsx` (issue 11 §3): the groups and the total of the same request, to the
    cent, in the caller's scope; bad parameters are 400 naming them."""
    import csv
    import io

    import httpx
    import openpyxl

    from server.app import create_app
    from tests.conftest import TEST_SETTINGS, bearer

    await _dataset(gql, db)
    summary = await _summary(
        gql, ["TERRITORY", "SERVICE_PERIOD"], layer="districts", filter={"states": ["FL"]}
    )
    params = {"groupBy": "TERRITORY,SERVICE_PERIOD", "from": PERIODS[0], "to": PERIODS[-1],
              "territoryLayer": "districts", "states": "FL"}  # fmt: skip
    app = create_app(TEST_SETTINGS, db=db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        response = await http.get(
            "/exports/billing-summary.csv", params=params, headers=bearer(TEST_SETTINGS)
        )
        assert response.status_code == 200, response.text
        assert "billing-summary-2025-03-to-2025-04.csv" in response.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(response.text)))
        workbook = await http.get(
            "/exports/billing-summary.xlsx", params=params, headers=bearer(TEST_SETTINGS)
        )
        sheet = openpyxl.load_workbook(io.BytesIO(workbook.content), read_only=True).worksheets[0]
        assert len(list(sheet.iter_rows(values_only=True))) == len(rows) + 1
        bad = await http.get(
            "/exports/billing-summary.csv", params={**params, "groupBy": "TERRITORY,PLANET"},
            headers=bearer(TEST_SETTINGS),
        )  # fmt: skip
        no_layer = await http.get(
            "/exports/billing-summary.csv",
            params={**params, "territoryLayer": "nope"},
            headers=bearer(TEST_SETTINGS),
        )
        anonymous = await http.get("/exports/billing-summary.csv", params=params)
    groups = [r for r in rows if r["row"] == "group"]
    assert [(r["territory_code"] or None, r["service_period"], r["invoiced_amount"], r["pending_amount"],
             r["forecast_internal_revenue"], int(r["site_count"])) for r in groups] == [
        ((g["key"]["territory"] or {}).get("code"), g["key"]["servicePeriod"], g["invoicedAmount"],
         g["pendingAmount"], g["forecastInternalRevenue"], g["siteCount"]) for g in summary["groups"]
    ]  # fmt: skip
    (total,) = [r for r in rows if r["row"] == "total"]
    assert total["invoiced_amount"] == summary["total"]["invoicedAmount"]
    assert (bad.status_code, bad.json()["code"], bad.json()["argument"]) == (400, "BAD_USER_INPUT", "groupBy")
    assert (no_layer.status_code, no_layer.json()["argument"]) == (400, "territoryLayer")
    assert anonymous.status_code == 401


async def test_the_computed_forecast_is_the_forecast_apis_grouped_by_territory(
    gql: GraphQLClient, db: Database
) -> None:
    """`computedForecast` (issue 11 §4) sums what `forecast(siteNumber, year)` computes, per territory and block."""
    from importer.forecast_inputs import generate_forecast_inputs

    sites = ("0349", "0338", "0212", "0918")
    async with db.transaction() as session:
        await generate_forecast_inputs(session, 2025, site_numbers=list(sites))
    expected: dict[str, Decimal] = defaultdict(Decimal)
    by_block: dict[str | None, Decimal] = defaultdict(Decimal)
    for site in sites:
        data = await gql.data(
            """query ($s: String!) { forecast(siteNumber: $s, year: 2025) { months { servicePeriod internalRevenue
                 internalIsForecast byBuildingBlock { buildingBlock amount } } }
               site(siteNumber: $s) { territory(layer: "districts") { territory { code } } } }""",
            s=site,
        )
        district = data["site"]["territory"]["territory"]["code"]
        for month in data["forecast"]["months"]:
            if month["servicePeriod"] in PERIODS:
                expected[district] += Decimal(month["internalRevenue"])
                for part in month["byBuildingBlock"] if month["internalIsForecast"] else []:
                    by_block[part["buildingBlock"]] += Decimal(part["amount"])
    summary = await gql.data(
        """query ($sites: [String!]) { byTerritory: billingSummary(groupBy: [TERRITORY], fromPeriod: "2025-03",
                 toPeriod: "2025-04", territoryLayer: "districts", filter: {siteNumbers: $sites}) {
                 groups { key { territory { code } } computedForecast } total { computedForecast } }
               byBlock: billingSummary(groupBy: [BUILDING_BLOCK], fromPeriod: "2025-03", toPeriod: "2025-04",
                 filter: {siteNumbers: $sites}) { groups { key { buildingBlock } computedForecast } } }""",
        sites=list(sites),
    )
    got = {
        g["key"]["territory"]["code"]: Decimal(g["computedForecast"])
        for g in summary["byTerritory"]["groups"]
    }
    # the API shows each month rounded to cents, the summary rounds each group's sum: a cent per month at most
    assert got.keys() == expected.keys()
    for district, amount in expected.items():
        assert abs(got[district] - amount) <= Decimal("0.01") * 2 * len(sites), (district, got, expected)
    assert sum(got.values()) == Decimal(summary["byTerritory"]["total"]["computedForecast"]) > 0
    blocks = {g["key"]["buildingBlock"]: Decimal(g["computedForecast"]) for g in summary["byBlock"]["groups"]}
    for block, amount in by_block.items():
        assert abs(blocks[block] - amount) <= Decimal("0.01") * 2 * len(sites), (block, blocks, by_block)
