"""No N+1: nested lists resolve through per-request DataLoaders (design.md §2, §5)."""

from __future__ import annotations

from db.database import Database, StatementCounter
from tests.conftest import GraphQLClient

QUERY = """
query ($first: Int!) {
  sites(first: $first) {
    totalCount
    edges { node {
      siteNumber location
      contract { billingType buildingBlocks invoiceGroups { groupNumber } fixedFeeServices { fee } }
      territories { layer { code } territory { code name siteCount } }
      billingPreview(servicePeriod: "2025-04") { total }
    } }
  }
}
"""


async def _count(gql: GraphQLClient, db: Database, first: int) -> int:
    with StatementCounter(db.bind) as counter:
        data = await gql.data(QUERY, first=first)
    assert len(data["sites"]["edges"]) == first
    return len(counter.queries)


async def test_100_sites_issue_as_many_statements_as_5(gql: GraphQLClient, db: Database) -> None:
    few = await _count(gql, db, 5)
    many = await _count(gql, db, 100)
    # page + count + contracts + 6 configuration tables (5 + closed header editions) + assignments + layers + territories + site counts
    # + at most 6 fact queries for the billing previews (revenue, occupied rooms, timesheets, ledger, forecast
    # with comment, prior profit shares; a table no site's blocks read is not queried, so 5 sites may need
    # fewer than 100) + the caller's identification (towne_begin_request)
    assert few <= many == 19, (few, many)


PORTFOLIO = """
query ($filter: SiteFilter) {
  billingPreviews(servicePeriod: "2025-04", filter: $filter) {
    site { siteNumber } preview { total invoices { invoiceNumber lines { code amount } } }
  }
}
"""


async def test_portfolio_previews_fetch_facts_set_based(gql: GraphQLClient, db: Database) -> None:
    counts = {}
    for label, filter_ in (("one state", {"state": "RI"}), ("all sites", None)):
        with StatementCounter(db.bind) as counter:
            data = await gql.data(PORTFOLIO, filter=filter_)
        counts[label] = (len(data["billingPreviews"]), len(counter.queries))
    (few_sites, few_queries), (all_sites, all_queries) = counts["one state"], counts["all sites"]
    assert few_sites < 10 and all_sites == 649
    # sites + contracts + 6 configuration tables (5 + closed header editions) + at most 6 fact queries (fewer when no site's blocks read a
    # table) + the caller's identification, whatever the number of sites
    assert few_queries <= all_queries == 15, counts
