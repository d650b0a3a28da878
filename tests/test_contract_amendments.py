"""Contract amendments with approval, effective by service period, and the lifecycle (issue 10 §2–§4) on the
real imported contracts and the SYNTHETIC March–April 2025 facts.

Expected figures are computed here from the facts with the rules of domain.md §2.2 and §2.4, independently of
the engine: a billing admin brings an unconfigured revenue-share contract and an unconfigured per-labor-hour
contract to a correct first invoice through the API alone, a second admin approving.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from db.database import Database
from db.repositories.users import Grants, upsert_user
from resolvers.escalations import run_escalations
from tests.conftest import ADMIN, GraphQLClient

SECOND = "test-admin-2"
CENTS = Decimal("0.01")

AMENDMENT = """
  __typename
  ... on AmendmentPayload { amendment { id number kind status firstServicePeriod summary proposedBy decidedBy
                                        source changes } }
  ... on Problem { code message }
  ... on ContractInputProblem { problems { path rule message } }
  ... on AmendmentProblem { otherAmendment }
"""
CONFIGURE = f"""
mutation ($site: String!, $period: String!, $c: ContractConfigurationInput!) {{
  setContractConfiguration(siteNumber: $site, firstServicePeriod: $period, configuration: $c) {{ {AMENDMENT} }}
}}"""
UPDATE = f"""
mutation ($site: String!, $period: String!, $h: ContractHeaderInput!) {{
  updateContract(siteNumber: $site, firstServicePeriod: $period, header: $h) {{ {AMENDMENT} }}
}}"""
APPROVE = f"mutation ($id: ID!) {{ approveAmendment(id: $id) {{ {AMENDMENT} }} }}"
REJECT = f'mutation ($id: ID!) {{ rejectAmendment(id: $id, note: "no") {{ {AMENDMENT} }} }}'
WITHDRAW = f"mutation ($id: ID!) {{ withdrawAmendment(id: $id) {{ {AMENDMENT} }} }}"
APPROVE_MANY = f"""
mutation ($ids: [ID!]!) {{ approveAmendments(ids: $ids) {{ id result {{ {AMENDMENT} }} }} }}"""
TERMINATE = f"""
mutation ($site: String!, $d: Date!) {{ terminateContract(siteNumber: $site, effectiveDate: $d) {{ {AMENDMENT} }} }}"""
ARCHIVE = (
    f'mutation ($site: String!) {{ archiveContract(siteNumber: $site, reason: "closed") {{ {AMENDMENT} }} }}'
)
RENEW = f"""
mutation ($site: String!, $t: ContractTermInput!) {{ renewContract(siteNumber: $site, term: $t) {{ {AMENDMENT} }} }}"""
PREVIEW = """
query ($site: String!, $p: String!) {
  site(siteNumber: $site) { billingPreview(servicePeriod: $p) {
    total invoices { paymentTerms lines { title code amount } } } }
}"""
GENERATE = """
mutation ($site: String!, $p: String!) {
  generateStatement(siteNumber: $site, servicePeriod: $p) {
    __typename ... on StatementPayload { statement { total } } ... on Problem { code message }
  }
}"""


def r2(value: Decimal) -> Decimal:
    return value.quantize(CENTS, rounding=ROUND_HALF_UP)


@pytest.fixture
async def second_admin(db: Database) -> str:
    """A second billing admin (in the test's transaction): approvals need one who did not propose."""
    async with db.transaction() as session:
        await upsert_user(session, subject=SECOND, grants=Grants(roles=("billingAdmin",)), granted_by="tests")
    return SECOND


async def _propose(gql: GraphQLClient, document: str, **variables: Any) -> dict[str, Any]:
    result = next(iter((await gql.data(document, **variables)).values()))
    assert result["__typename"] == "AmendmentPayload", result
    amendment: dict[str, Any] = result["amendment"]
    assert amendment["status"] == "PROPOSED" and amendment["proposedBy"] == ADMIN
    return amendment


async def _approve(gql: GraphQLClient, amendment_id: str) -> dict[str, Any]:
    result = (await gql.as_(SECOND).data(APPROVE, id=amendment_id))["approveAmendment"]
    assert result["__typename"] == "AmendmentPayload", result
    return dict(result["amendment"])


async def _preview(gql: GraphQLClient, site: str, period: str) -> dict[str, Any]:
    return dict((await gql.data(PREVIEW, site=site, p=period))["site"]["billingPreview"])


async def _scalar(db: Database, sql: str, **params: Any) -> Any:
    async with db.read() as session:
        return (await session.execute(text(sql), params)).scalar()


async def test_unconfigured_revenue_share_contract_to_a_first_invoice(
    gql: GraphQLClient, db: Database, second_admin: str
) -> None:
    site, period = "0239", "2025-03"
    codes = ["ADJ", "SD1", "SM1", "VD1", "VO1"]
    assert await _scalar(db, "SELECT configuration_source FROM contract c JOIN customer_site s ON s.id = c.site_id "
                         "WHERE s.site_number = '0239'") == "export"  # fmt: skip
    assert (await _preview(gql, site, period))["invoices"] == []
    configuration = {
        "revenueShare": {
            "thresholds": [
                {
                    "revenueCodes": codes,
                    "accumulationType": "MONTHLY",
                    "tiers": [{"percentage": "24", "amount": "0"}],
                    "invoiceGroup": 1,
                }
            ]
        }
    }
    amendment = await _propose(gql, CONFIGURE, site=site, period=period, c=configuration)
    assert amendment["kind"] == "CONFIGURATION" and amendment["firstServicePeriod"] == period
    # proposed: no figure changes; the proposer cannot approve it
    assert (await _preview(gql, site, period))["invoices"] == []
    own = (await gql.data(APPROVE, id=amendment["id"]))["approveAmendment"]
    assert own["code"] == "OWN_AMENDMENT"
    approved = await _approve(gql, amendment["id"])
    assert (approved["status"], approved["decidedBy"]) == ("APPROVED", SECOND)

    # §2.4: 24 % of the month's net external revenue of the codes, validations (V) and PMH excluded
    base = await _scalar(
        db,
        "SELECT sum(net_external_revenue) FROM revenue_daily r JOIN customer_site s ON s.id = r.site_id "
        "WHERE s.site_number = :site AND r.date >= '2025-03-01' AND r.date < '2025-04-01' "
        "AND r.deposit_flag <> 'V' AND r.category <> 'Per Man Hour' AND r.revenue_code = ANY(:codes)",
        site=site,
        codes=codes,
    )
    assert base and base > 0
    lines = (await _preview(gql, site, period))["invoices"][0]["lines"]
    fee = next(line for line in lines if line["title"] == "Towne Park Fees for Services")
    assert (fee["code"], Decimal(fee["amount"])) == ("4790", r2(base * Decimal("0.24")))
    # the period before the amendment's first period keeps the old (empty) configuration
    assert (await _preview(gql, site, "2025-02"))["invoices"] == []
    generated = (await gql.data(GENERATE, site=site, p=period))["generateStatement"]
    assert generated["__typename"] == "StatementPayload", generated


async def test_unconfigured_per_labor_hour_contract_to_a_first_invoice(
    gql: GraphQLClient, db: Database, second_admin: str
) -> None:
    site, period = "0469", "2025-04"
    jobs = {"GSA": (Decimal("25.03"), Decimal("37.55")), "VAL": (Decimal("21.50"), Decimal("32.25"))}
    configuration = {
        "perLaborHour": {
            "jobs": [
                {
                    "displayName": f"{code} hours",
                    "jobCode": code,
                    "code": "4730",
                    "rate": str(rate),
                    "overtimeRate": str(overtime),
                    "isSalaried": False,
                }
                for code, (rate, overtime) in jobs.items()
            ]
        }
    }
    amendment = await _propose(gql, CONFIGURE, site=site, period=period, c=configuration)
    outcome = (await gql.as_(SECOND).data(APPROVE_MANY, ids=[amendment["id"]]))["approveAmendments"]
    assert [o["result"]["amendment"]["status"] for o in outcome] == ["APPROVED"]

    # §2.2: hours rounded to cents per timesheet row, holiday/double time at the overtime rate
    async with db.read() as session:
        rows = (
            (
                await session.execute(
                    text(
                        "SELECT t.* FROM timesheet_minutes t JOIN customer_site s ON s.id = t.site_id "
                        "WHERE s.site_number = :site AND t.date >= '2025-04-01' AND t.date < '2025-05-01'"
                    ),
                    {"site": site},
                )
            )
            .mappings()
            .all()
        )
    expected: list[Decimal] = []
    for code, (rate, overtime) in jobs.items():
        regular = sum(
            (r2(Decimal(r["regular"] + r["regular_next_day"]) / 60) for r in rows if r["job_code"] == code),
            Decimal(0),
        )
        extra = sum(
            (
                r2(
                    Decimal(sum(v for k, v in r.items() if k.startswith(("overtime", "holiday", "double"))))
                    / 60
                )
                for r in rows
                if r["job_code"] == code
            ),
            Decimal(0),
        )
        expected += [r2(rate * regular)] + ([r2(overtime * extra)] if extra else [])
    assert sum(expected) > 0
    lines = (await _preview(gql, site, period))["invoices"][0]["lines"]
    assert sorted(Decimal(line["amount"]) for line in lines) == sorted(e for e in expected if e)
    assert {line["code"] for line in lines} == {"4730"}


async def test_an_amendment_applies_from_its_first_service_period_only(
    gql: GraphQLClient, db: Database, second_admin: str
) -> None:
    site = "0349"  # fixed fee, Arrears (F-1)
    before = {p: await _preview(gql, site, p) for p in ("2025-03", "2025-04")}
    old_fees = sorted(Decimal(x["amount"]) for x in before["2025-03"]["invoices"][0]["lines"])
    configuration = {
        "fixedFee": {
            "services": [
                {"displayName": "Parking management", "code": "4700", "fee": "9999.99", "name": "Service"}
            ]
        }
    }
    fee = await _propose(gql, CONFIGURE, site=site, period="2025-04", c=configuration)
    header = await _propose(gql, UPDATE, site=site, period="2025-04", h={"paymentTerms": "Net 45"})
    for amendment in (fee, header):
        await _approve(gql, amendment["id"])
    march, april = await _preview(gql, site, "2025-03"), await _preview(gql, site, "2025-04")
    assert sorted(Decimal(x["amount"]) for x in march["invoices"][0]["lines"]) == old_fees
    assert march["invoices"][0]["paymentTerms"] == before["2025-03"]["invoices"][0]["paymentTerms"]
    assert [Decimal(x["amount"]) for x in april["invoices"][0]["lines"]] == [Decimal("9999.99")]
    assert april["invoices"][0]["paymentTerms"] == "Net 45"
    # what was in force, by service period and by day; the contract as amended
    data = await gql.data(
        """query {
          site(siteNumber: "0349") { contract { paymentTerms fixedFeeServices { fee }
            march: configuration(servicePeriod: "2025-03") { servicePeriod paymentTerms fixedFeeServices { fee } }
            amendments { number kind status } } }
          early: contract(siteNumber: "349", asOf: "2025-03-15") { paymentTerms fixedFeeServices { fee } }
        }"""
    )
    contract = data["site"]["contract"]
    assert contract["paymentTerms"] == "Net 45" and [f["fee"] for f in contract["fixedFeeServices"]] == [
        "9999.99"
    ]
    assert contract["march"]["servicePeriod"] == "2025-03"
    assert sorted(Decimal(f["fee"]) for f in contract["march"]["fixedFeeServices"]) == old_fees
    assert data["early"]["paymentTerms"] == contract["march"]["paymentTerms"] != "Net 45"
    assert [(a["number"], a["status"]) for a in contract["amendments"]] == [(2, "APPROVED"), (1, "APPROVED")]
    # a statement of March generated after the amendment bills March's configuration
    march_statement = (await gql.data(GENERATE, site=site, p="2025-03"))["generateStatement"]
    assert Decimal(march_statement["statement"]["total"]) == Decimal(march["total"])


async def test_decisions_conflicts_and_order(gql: GraphQLClient, db: Database, second_admin: str) -> None:
    site = "0349"
    services = {"fixedFee": {"services": [{"displayName": "A", "code": "4700", "fee": "100.00"}]}}
    first = await _propose(gql, CONFIGURE, site=site, period="2025-05", c=services)
    second = await _propose(gql, CONFIGURE, site=site, period="2025-05", c=services)
    await _approve(gql, first["id"])
    conflict = (await gql.as_(SECOND).data(APPROVE, id=second["id"]))["approveAmendment"]
    assert (conflict["code"], conflict["otherAmendment"]) == ("AMENDMENT_CONFLICT", first["number"])
    # an earlier-dated change of the same part after a later one is approved: out of order
    earlier = await _propose(gql, CONFIGURE, site=site, period="2025-03", c=services)
    refused = (await gql.as_(SECOND).data(APPROVE, id=earlier["id"]))["approveAmendment"]
    assert refused["code"] == "AMENDMENT_OUT_OF_ORDER"
    # another part of the same contract is neither
    header = await _propose(gql, UPDATE, site=site, period="2025-03", h={"purchaseOrder": "PO-7"})
    assert (await _approve(gql, header["id"]))["status"] == "APPROVED"
    # reject, then nothing more; withdraw only by the proposer
    assert (await gql.as_(SECOND).data(REJECT, id=second["id"]))["rejectAmendment"]["amendment"][
        "status"
    ] == ("REJECTED")
    again = (await gql.as_(SECOND).data(APPROVE, id=second["id"]))["approveAmendment"]
    assert again["code"] == "AMENDMENT_DECIDED"
    assert (await gql.as_(SECOND).data(WITHDRAW, id=earlier["id"]))["withdrawAmendment"]["code"] == (
        "TRANSITION_NOT_ALLOWED"
    )
    withdrawn = (await gql.data(WITHDRAW, id=earlier["id"]))["withdrawAmendment"]["amendment"]
    assert (withdrawn["status"], withdrawn["decidedBy"]) == ("WITHDRAWN", ADMIN)
    queue = await gql.data("{ amendments { totalCount edges { node { number siteNumber } } } }")
    assert queue["amendments"]["totalCount"] == 0


async def test_roles_and_the_database_backs_four_eyes(
    gql: GraphQLClient, db: Database, second_admin: str
) -> None:
    services = {"fixedFee": {"services": [{"displayName": "A", "code": "4700", "fee": "100.00"}]}}
    for subject in ("test-billing-manager", "test-reporting", "test-gis", "test-nobody"):
        error = await gql.as_(subject).error(CONFIGURE, site="0349", period="2025-05", c=services)
        assert error["extensions"]["code"] == "FORBIDDEN"
    amendment = await _propose(gql, CONFIGURE, site="0349", period="2025-05", c=services)
    error = await gql.as_("test-billing-manager").error(APPROVE, id=amendment["id"])
    assert error["extensions"]["code"] == "FORBIDDEN"
    # a scoped reader does not see amendments of contracts outside its scope
    async with db.transaction() as session:
        await upsert_user(session, subject="am-1", grants=Grants(roles=("accountManager",), site_numbers=("0918",)),
                          granted_by="tests")  # fmt: skip
    seen = await gql.as_("am-1").data('{ site(siteNumber: "0349") { siteNumber } }')
    assert seen["site"] is None
    async with db.transaction() as session:
        with pytest.raises(IntegrityError, match="four_eyes"):
            async with session.begin_nested():
                await session.execute(
                    text(
                        "UPDATE contract_amendment SET status = 'approved', decided_by = proposed_by, "
                        "decided_at = now(), approved_edition = 1 WHERE id = :id"
                    ),
                    {"id": amendment["id"]},
                )


async def test_field_path_refusal_writes_nothing(gql: GraphQLClient, db: Database) -> None:
    configuration = {
        "revenueShare": {
            "thresholds": [
                {
                    "revenueCodes": ["VD1"],
                    "accumulationType": "MONTHLY",
                    "tiers": [{"percentage": "24", "amount": "1000"}, {"percentage": "130", "amount": "0"}],
                    "invoiceGroup": 1,
                }
            ]
        }
    }
    result = (await gql.data(CONFIGURE, site="0239", period="2025-03", c=configuration))[
        "setContractConfiguration"
    ]
    assert result["code"] == "INVALID_CONTRACT_INPUT"
    paths = [p["path"] for p in result["problems"]]
    assert "configuration.revenueShare.thresholds[0].tiers[1].percentage" in paths, result
    assert await _scalar(db, "SELECT count(*) FROM contract_amendment") == 0


async def test_lifecycle_termination_archive_and_moves(
    gql: GraphQLClient, db: Database, second_admin: str
) -> None:
    site = "0349"
    # an active contract cannot be archived or activated
    refused = (await gql.data(ARCHIVE, site=site))["archiveContract"]
    assert refused["code"] == "TRANSITION_NOT_ALLOWED"
    terminate = await _propose(gql, TERMINATE, site=site, d="2025-03-31")
    await _approve(gql, terminate["id"])
    april = (await gql.data(GENERATE, site=site, p="2025-04"))["generateStatement"]
    assert april["code"] == "CONTRACT_ENDED" and "2025-03-31" in april["message"]
    march = (await gql.data(GENERATE, site=site, p="2025-03"))["generateStatement"]
    assert march["__typename"] == "StatementPayload"
    archive = await _propose(gql, ARCHIVE, site=site)
    await _approve(gql, archive["id"])
    status = await gql.data('{ site(siteNumber: "0349") { contract { status term { terminatedOn } } } }')
    assert status["site"]["contract"] == {"status": "ARCHIVED", "term": {"terminatedOn": "2025-03-31"}}
    read_only = (await gql.data(UPDATE, site=site, period="2025-05", h={"purchaseOrder": "x"}))[
        "updateContract"
    ]
    assert read_only["code"] == "CONTRACT_ARCHIVED"
    assert (await gql.data(GENERATE, site=site, p="2025-03"))["generateStatement"][
        "code"
    ] == "CONTRACT_NOT_ACTIVE"


async def test_terms_due_renewal_and_the_daily_job(
    gql: GraphQLClient, db: Database, second_admin: str
) -> None:
    # conftest's "today" is 2025-05-20; 0918's term ends in 40 days with 60 days' notice, 0349's in 200 days
    renew = await _propose(
        gql, RENEW, site="0918", t={"start": "2024-07-01", "end": "2025-06-29", "noticeDays": 60}
    )
    await _approve(gql, renew["id"])
    renew = await _propose(
        gql, RENEW, site="0349", t={"end": "2025-12-06", "autoRenewMonths": 12, "noticeDays": 30}
    )
    await _approve(gql, renew["id"])
    due = await gql.data(
        "{ contractsDueForRenewal(withinDays: 30) { siteNumber noticeDeadline }"
        "  contractsExpiring(withinDays: 60) { siteNumber termEnd } }"
    )
    assert due["contractsDueForRenewal"] == [{"siteNumber": "0918", "noticeDeadline": "2025-04-30"}]
    assert due["contractsExpiring"] == [{"siteNumber": "0918", "termEnd": "2025-06-29"}]
    from resolvers.amendments import run_term_job

    async with db.transaction() as session:
        assert await run_term_job(session, on=dt.date(2025, 6, 29)) == []
        expired = await run_term_job(session, on=dt.date(2025, 6, 30))
        renewed = await run_term_job(session, on=dt.date(2025, 12, 7))
        assert await run_term_job(session, on=dt.date(2025, 12, 7)) == []
    assert expired == ["0918: expired: its term ended on 2025-06-29 without renewal"]
    assert renewed == ["0349: renewed itself by 12 months to 2026-12-06"]
    data = await gql.data(
        '{ a: site(siteNumber: "0918") { contract { status amendments { kind source decidedBy } } }'
        '  b: site(siteNumber: "0349") { contract { status term { end } } } }'
    )
    assert data["a"]["contract"]["status"] == "EXPIRED"
    assert data["a"]["contract"]["amendments"][0] == {
        "kind": "EXPIRE",
        "source": "job",
        "decidedBy": "towne escalate",
    }
    assert data["b"]["contract"] == {"status": "ACTIVE", "term": {"end": "2026-12-06"}}
    # an expired contract bills nothing after its term
    assert (await gql.data(GENERATE, site="0918", p="2025-07"))["generateStatement"][
        "code"
    ] == "CONTRACT_ENDED"


async def test_escalations_are_amendments_approved_by_the_job(db: Database, gql: GraphQLClient) -> None:
    async with db.transaction() as session:
        report = await run_escalations(session, on=dt.date(2025, 7, 31), site_numbers=["0338"])
    assert len(report.changes) == 4
    data = await gql.data(
        '{ site(siteNumber: "0338") { contract { amendments { kind status source proposedBy decidedBy '
        "firstServicePeriod changes } } } }"
    )
    [amendment] = data["site"]["contract"]["amendments"]
    assert amendment | {"changes": None} == {
        "kind": "ESCALATION", "status": "APPROVED", "source": "job", "proposedBy": "towne escalate",
        "decidedBy": "towne escalate", "firstServicePeriod": "2025-07", "changes": None,
    }  # fmt: skip
    assert set(amendment["changes"]["rows"]) == {"fixed_fee_services", "labor_hour_jobs"}
    tagged = await _scalar(
        db,
        "SELECT count(*) FROM fixed_fee_service f JOIN contract_amendment a ON a.id = f.amendment_id "
        "WHERE a.kind = 'escalation'",
    )
    assert tagged == 1


async def test_two_admins_racing_to_decide_one_amendment(committing_db: Database, settings: Any) -> None:
    """Two billing admins decide the same amendment at once: one wins, the other is told it is decided."""
    from resolvers import amendments as service
    from tests.conftest import context_for

    async with committing_db.transaction() as session:
        for subject in (SECOND, "test-admin-3"):
            await upsert_user(
                session, subject=subject, grants=Grants(roles=("billingAdmin",)), granted_by="tests"
            )
    proposer = await context_for(committing_db, settings)
    amendment_id = await service.propose(
        proposer,
        site_number="0349",
        kind="header",
        changes={"header": {"purchase_order": "PO-RACE"}},
        summary="header: purchase_order",
        first_service_period=__import__("billing").ServicePeriod(2025, 5),
    )
    try:
        contexts = [await context_for(committing_db, settings, s) for s in (SECOND, "test-admin-3")]
        outcomes = await asyncio.gather(
            service.decide(contexts[0], amendment_id=amendment_id, decision="approve"),
            service.decide(contexts[1], amendment_id=amendment_id, decision="reject"),
            return_exceptions=True,
        )
        codes = sorted(getattr(o, "code", "ok") for o in outcomes)
        assert codes == ["AMENDMENT_DECIDED", "ok"], outcomes
    finally:
        async with committing_db.transaction() as session:
            await session.execute(
                text(
                    "UPDATE contract c SET purchase_order = (h.header->>'purchase_order'), edition = 0, "
                    "header_from_period = NULL FROM contract_header_history h WHERE h.contract_id = c.id"
                )
            )
            await session.execute(text("DELETE FROM contract_header_history"))
            await session.execute(text("DELETE FROM contract_amendment"))
            await session.execute(
                text("DELETE FROM app_user WHERE subject IN ('test-admin-2', 'test-admin-3')")
            )


async def test_amendments_are_scoped_by_the_database(gql: GraphQLClient, db: Database, settings: Any) -> None:
    """Row-level security of contract_amendment: a scoped caller reads the amendments of its sites only and
    writes none; what InvoiceGroup hides from it is hidden inside the changes too."""
    from tests.conftest import context_for

    groups = {"invoiceGrouping": {"groups": [{"groupNumber": 1, "title": "Parking", "vendorId": "V-SECRET"}]}}
    for site in ("0918", "0349"):
        await _propose(gql, CONFIGURE, site=site, period="2025-05", c=groups)
    async with db.transaction() as session:
        await upsert_user(
            session,
            subject="am-2",
            grants=Grants(roles=("accountManager",), site_numbers=("0918",)),
            granted_by="t",
        )
    ctx = await context_for(db, settings, "am-2")
    async with ctx.db.read() as session:
        seen = (
            (
                await session.execute(
                    text(
                        "SELECT s.site_number FROM contract_amendment a JOIN contract c ON c.id = a.contract_id "
                        "JOIN customer_site s ON s.id = c.site_id"
                    )
                )
            )
            .scalars()
            .all()
        )
    assert seen == ["0918"]
    async with ctx.db.read() as session:
        with pytest.raises(DBAPIError, match=r"row-level security|permission denied"):
            await session.execute(
                text(
                    "INSERT INTO contract_amendment (contract_id, number, kind, changes, summary, base_edition, "
                    "proposed_by) SELECT id, 99, 'header', '{}', 'x', 0, 'am-2' FROM contract LIMIT 1"
                )
            )
    data = await gql.as_("am-2").data('{ site(siteNumber: "918") { contract { amendments { changes } } } }')
    [amendment] = data["site"]["contract"]["amendments"]
    assert amendment["changes"]["invoice_groups"][0]["vendor_id"] is None


async def test_synthetic_demo_terms_are_deterministic_and_labelled(db: Database, gql: GraphQLClient) -> None:
    from importer.terms import generate_terms

    async with db.transaction() as session:
        given = await generate_terms(session, anchor=dt.date(2025, 5, 20))
        assert await generate_terms(session, anchor=dt.date(2025, 5, 20)) == 0  # only evergreen ones
    rows = await _scalar(
        db,
        "SELECT count(*) FROM contract WHERE term_synthetic AND term_end BETWEEN '2025-05-20' AND '2026-11-11'",
    )
    assert 40 <= given == rows <= 120, given
    due = (await gql.data("{ contractsDueForRenewal(withinDays: 120) { siteNumber synthetic } }"))[
        "contractsDueForRenewal"
    ]
    assert due and all(d["synthetic"] for d in due)


async def test_a_new_site_is_onboarded_to_a_first_statement(gql: GraphQLClient, second_admin: str) -> None:
    """addCustomerSite → a draft contract that bills nothing → configuration and activation amendments,
    approved by a second admin → a fixed-fee statement (issue 10 §1–§4)."""
    from tests.test_site_admin import ADD, new_site

    added = (await gql.data(ADD, input=new_site("9950")))["addCustomerSite"]
    assert added["__typename"] == "CustomerSitePayload", added
    status = await gql.data('{ site(siteNumber: "9950") { contract { status billingType } } }')
    assert status["site"]["contract"] == {"status": "DRAFT", "billingType": "ARREARS"}
    refused = await gql.error(PREVIEW, site="9950", p="2025-04")
    assert refused["extensions"]["code"] == "CONTRACT_NOT_ACTIVE"
    configuration = {
        "buildingBlocks": ["FIXED_FEE"],
        "fixedFee": {"services": [{"displayName": "Valet management", "code": "4700", "fee": "4250.00"}]},
    }
    fee = await _propose(gql, CONFIGURE, site="9950", period="2025-04", c=configuration)
    activate = (
        await gql.data(
            'mutation { activateContract(siteNumber: "9950", term: {start: "2025-04-01", end: "2028-03-31", '
            f"autoRenewMonths: 12, noticeDays: 90}}) {{ {AMENDMENT} }} }}"
        )
    )["activateContract"]
    outcome = await gql.as_(SECOND).data(APPROVE_MANY, ids=[fee["id"], activate["amendment"]["id"]])
    assert [o["result"]["amendment"]["status"] for o in outcome["approveAmendments"]] == ["APPROVED"] * 2
    lines = (await _preview(gql, "9950", "2025-04"))["invoices"][0]["lines"]
    assert lines == [{"title": "Valet management", "code": "4700", "amount": "4250.00"}]
    generated = (await gql.data(GENERATE, site="9950", p="2025-04"))["generateStatement"]
    assert generated["statement"]["total"] == "4250.00"


async def test_amendments_and_their_effects_are_in_the_audit_trail(
    gql: GraphQLClient, second_admin: str
) -> None:
    services = {"fixedFee": {"services": [{"displayName": "A", "code": "4700", "fee": "100.00"}]}}
    amendment = await _propose(gql, CONFIGURE, site="0349", period="2025-05", c=services)
    await _approve(gql, amendment["id"])
    data = await gql.data(
        '{ site(siteNumber: "0349") { contract { auditLog(first: 100) { edges { node {'
        " entityType operation actor action changes { column after } } } } } } }"
    )
    entries = [e["node"] for e in data["site"]["contract"]["auditLog"]["edges"]]
    seen = {(e["entityType"], e["operation"], e["actor"], e["action"]) for e in entries}
    assert ("CONTRACT_AMENDMENT", "setContractConfiguration", ADMIN, "INSERT") in seen
    assert ("CONTRACT_AMENDMENT", "approveAmendment", SECOND, "UPDATE") in seen
    assert ("FIXED_FEE_SERVICE", "approveAmendment", SECOND, "INSERT") in seen
    # the replaced rows were closed at the month before, attributed to the approver
    closed = [e for e in entries if e["entityType"] == "FIXED_FEE_SERVICE" and e["action"] == "UPDATE"]
    assert closed and all({"column": "to_period", "after": "2025-04-01"} in e["changes"] for e in closed)
