"""The README's GraphQL examples run as written (placeholders filled in) and answer what it says."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from tests.conftest import REPO_ROOT, GraphQLClient


def _blocks() -> list[str]:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```graphql\n(.*?)```", text, re.S)


def _operations(block: str) -> list[str]:
    """The operations of a block, one per line that starts at column 0 with `mutation` or `{`."""
    operations: list[str] = []
    for line in block.splitlines():
        if line.startswith(("mutation", "{")):
            operations.append(line)
        elif operations:
            operations[-1] += "\n" + line
    return operations


async def test_the_readme_query_answers_orlando_for_last_march(gql: GraphQLClient) -> None:
    data = await gql.data(_blocks()[0])
    site = data["site"]
    assert site["lastMarch"] == {"territory": {"name": "Orlando"}}
    assert site["billingPreview"]["total"] == "33300.00"
    sites = data["sites"]
    assert sites["totalCount"] == 31 and len(sites["edges"]) == 20 and sites["pageInfo"]["hasNextPage"]
    assert data["territory"]["siteCount"] > 0


async def test_the_readme_statement_flow_runs_in_order(gql: GraphQLClient) -> None:
    ids: dict[str, str] = {}
    results: list[dict[str, Any]] = []
    for operation in _operations(_blocks()[1]):
        for placeholder, value in ids.items():
            operation = operation.replace(placeholder, value)
        assert "<" not in operation, operation
        result = await gql.data(operation)
        results.append(result)
        if "generateStatement" in result and "statement" in result["generateStatement"]:
            statement = result["generateStatement"]["statement"]
            ids = {"<statement id>": statement["id"], "<invoice id>": statement["invoices"][0]["id"]}
    assert results[1]["addAdhocLine"]["__typename"] == "InvoicePayload"
    assert results[3]["markStatementSent"]["__typename"] == "StatementPayload"
    assert results[4]["regenerateStatement"]["__typename"] == "StatementPayload"
    statement = results[5]["statement"]
    assert statement["version"] == 2
    first = statement["versions"][0]
    assert (first["version"], first["status"]) == (1, "SENT")
    assert results[6]["generateStatements"]["generated"] > 0


async def test_the_readme_district_manager_sees_the_45_sites_now_in_orlando(
    gql: GraphQLClient, db: Any
) -> None:
    from db.repositories.users import Grants, upsert_user

    async with db.transaction() as session:
        await upsert_user(
            session,
            subject="readme-dm",
            grants=Grants(roles=("districtManager",), territories=("districts:orlando",)),
            granted_by="tests",
        )
    data = await gql.as_("readme-dm").data(
        "{ sites(first: 3) { totalCount edges { node { siteNumber name } } } }"
    )
    assert data["sites"]["totalCount"] == 45 and len(data["sites"]["edges"]) == 3
    assert "45 sites now in Orlando" in (REPO_ROOT / "README.md").read_text(encoding="utf-8")


async def test_the_readme_territory_dry_run_changes_nothing(gql: GraphQLClient) -> None:
    (block,) = [b for b in _blocks() if "updateTerritory" in b]
    result = (await gql.as_("test-gis").data(block))["updateTerritory"]
    assert result["dryRun"] is True and result["sitesChanged"] == 0
    assert result["territory"]["version"] == 1 and len(result["territory"]["history"]) == 1
    again = await gql.as_("test-gis").data('{ territory(layer: "districts", code: "orlando") { name } }')
    assert again["territory"]["name"] == "Orlando"


async def test_the_readme_amendment_brings_0239_to_a_first_invoice(gql: GraphQLClient, db: Any) -> None:
    from db.repositories.users import Grants, upsert_user

    async with db.transaction() as session:
        await upsert_user(
            session, subject="readme-admin-2", grants=Grants(roles=("billingAdmin",)), granted_by="t"
        )
    (block,) = [b for b in _blocks() if "setContractConfiguration" in b]
    propose, approve, read = _operations(block)
    proposed = (await gql.data(propose))["setContractConfiguration"]["amendment"]
    assert proposed["status"] == "PROPOSED"
    approved = await gql.as_("readme-admin-2").data(approve.replace("<amendment id>", proposed["id"]))
    assert approved["approveAmendment"]["amendment"] == {"status": "APPROVED", "decidedBy": "readme-admin-2"}
    site = (await gql.data(read))["site"]
    assert site["billingPreview"]["total"] != "0.00"
    assert site["contract"]["february"]["revenueShareThresholds"] == []
    assert site["contract"]["amendments"][0]["firstServicePeriod"] == "2025-03"


async def test_the_readme_reporting_query_adds_up(gql: GraphQLClient) -> None:
    (block,) = [b for b in _blocks() if "billingSummary" in b]
    data = await gql.data(block)
    summary = data["billingSummary"]
    # the test data has no statements: the stored forecast alone, by region as of each period
    assert {g["key"]["servicePeriod"] for g in summary["groups"]} <= {"2025-03", "2025-04"}
    assert sum(Decimal(g["invoicedAmount"]) for g in summary["groups"]) == Decimal(
        summary["total"]["invoicedAmount"]
    )
    assert summary["total"]["siteCount"] > 0 and data["statementAging"]["groups"] == []
