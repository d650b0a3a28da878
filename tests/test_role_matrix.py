"""Who sees and does what, role by role, on the real imported data (domain.md §3.9, §4.4; docs/security.md).

Each role reads the same documents: lists and their `totalCount`, a single lookup inside and outside its
scope, nested territories and their `siteCount`, billing previews, statements (with their site), the GL
download; and tries the statement mutations. Expected site sets are computed independently in SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from db.database import Database
from db.repositories.users import Grants, upsert_user
from resolvers import statements as service
from server.app import create_app
from server.settings import Settings
from tests.conftest import GraphQLClient, bearer, context_for

READ = """
query ($inside: String!, $outside: String!) {
  sites(first: 500) { totalCount edges { node { siteNumber vendorId contract { billingType } } } }
  inside: site(siteNumber: $inside) { siteNumber contract { billingType invoiceGroups { vendorId } } }
  outside: site(siteNumber: $outside) { siteNumber }
  orlando: territory(layer: "districts", code: "orlando") { name siteCount sites(first: 100) { totalCount } }
  billingPreviews(servicePeriod: "2025-04") { site { siteNumber } preview { total } }
  statements(first: 50) { totalCount edges { node { site { siteNumber } } } }
}
"""
GENERATE = """
mutation ($site: String!) {
  generateStatement(siteNumber: $site, servicePeriod: "2025-04") { __typename ... on Problem { code } }
}
"""


@dataclass(frozen=True)
class Role:
    subject: str
    grants: Grants
    sees_all_sites: bool = False
    sees_billing: bool = False  # contracts, previews, statements (of the sites it sees)
    billing_detail: bool = False  # vendor ids
    writes_statements: bool = False


ROLES = {
    "billingAdmin": Role("m-admin", Grants(roles=("billingAdmin",)), True, True, True, True),
    "billingManager": Role("m-manager", Grants(roles=("billingManager",)), True, True, True, True),
    "reportingReader": Role("m-reporting", Grants(roles=("reportingReader",)), True, True),
    "gisEditor": Role("m-gis", Grants(roles=("gisEditor",)), sees_all_sites=True),
    "districtManager": Role(
        "m-dm", Grants(roles=("districtManager",), territories=("districts:orlando",)), sees_billing=True
    ),
    "regionalVp": Role(
        "m-rvp", Grants(roles=("regionalVp",), territories=("regions:east",)), sees_billing=True
    ),
    "accountManager": Role(
        "m-am", Grants(roles=("accountManager",), site_numbers=("0349", "0918")), sees_billing=True
    ),
    # the audit trail only (tests/test_audit.py): no site, no billing data, no write
    "auditor": Role("m-auditor", Grants(roles=("auditor",))),
    "noRole": Role("m-none", Grants()),
}


async def _scoped_sites(db: Database, role: Role) -> set[str]:
    """The visible set of §4.4 computed here, independently of the policies."""
    async with db.read() as session:
        every = set((await session.execute(text("SELECT site_number FROM customer_site"))).scalars())
        if role.sees_all_sites:
            return every
        linked = set(role.grants.site_numbers)
        for name in role.grants.territories:
            layer, code = name.split(":")
            linked |= set(
                (
                    await session.execute(
                        text(
                            "SELECT s.site_number FROM site_territory_assignment a"
                            " JOIN territory t ON t.id = a.territory_id"
                            " JOIN territory_layer l ON l.id = t.layer_id"
                            " JOIN customer_site s ON s.id = a.site_id"
                            " WHERE l.code = :layer AND t.code = :code AND a.valid_to IS NULL"
                        ),
                        {"layer": layer, "code": code},
                    )
                ).scalars()
            )
        return linked


async def add_role_users(db: Database) -> None:
    """The users of `ROLES`, with their grants."""
    async with db.transaction() as session:
        for role in ROLES.values():
            await upsert_user(session, subject=role.subject, grants=role.grants, granted_by="tests")


@pytest.fixture
async def statements(db: Database, settings: Settings) -> dict[str, str]:
    await add_role_users(db)
    return await sent_statements(db, settings)


async def sent_statements(db: Database, settings: Settings) -> dict[str, str]:
    """Sent statements of 0349 (Orlando, East) and 0918 (not in Orlando), made by a billing manager;
    site number → statement id."""
    import billing

    ctx = await context_for(db, settings, "test-billing-manager")
    made: dict[str, str] = {}
    for number in ("0349", "0918"):
        done = await service.generate_statement(
            ctx, site_number=number, service_period=billing.ServicePeriod(2025, 4)
        )
        for _ in range(3):  # through review to Sent, whatever status generation gave
            async with ctx.db.read() as session:
                status = (
                    await session.execute(
                        text("SELECT status FROM statement_version WHERE id = :v"), {"v": done.version_id}
                    )
                ).scalar_one()
            if status == "SENT":
                break
            if status == "READY_TO_SEND":
                await service.mark_sent(ctx, statement_id=done.statement_id)
            else:
                await service.confirm_review(ctx, statement_id=done.statement_id)
        made[number] = str(done.statement_id)
    return made


def _site_numbers(value: Any) -> set[str]:
    if isinstance(value, dict):
        found = {value["siteNumber"]} if isinstance(value.get("siteNumber"), str) else set()
        for item in value.values():
            found |= _site_numbers(item)
        return found
    if isinstance(value, list):
        return set().union(*(_site_numbers(v) for v in value)) if value else set()
    return set()


@pytest.mark.parametrize("name", ROLES)
async def test_the_role_matrix(
    name: str, db: Database, settings: Settings, gql: GraphQLClient, statements: dict[str, str]
) -> None:
    role = ROLES[name]
    visible = await _scoped_sites(db, role)
    outside = (
        next(n for n in ("1078", "0170", "0212", "0487") if n not in visible)
        if not role.sees_all_sites
        else "9999"
    )
    inside = "0349"
    client = gql.as_(role.subject)
    result = await client.execute(READ, inside=inside, outside=outside)
    assert result.errors is None, [e.formatted for e in result.errors]
    data = result.data
    assert data is not None

    # every site number anywhere in the answer is one the role may see
    assert _site_numbers(data) <= visible
    nodes = [e["node"] for e in data["sites"]["edges"]]
    assert data["sites"]["totalCount"] == len(visible) and len(nodes) == min(500, len(visible))
    assert {n["siteNumber"] for n in nodes} <= visible
    # a site outside the scope is indistinguishable from one that does not exist
    assert data["outside"] is None
    assert (data["inside"] is not None) == (inside in visible)
    # territory polygons are company geography; their site counts are the caller's
    orlando = data["orlando"]
    assert orlando is not None and orlando["name"]
    orlando_all = await _scoped_sites(db, Role("x", Grants(territories=("districts:orlando",))))
    assert orlando["siteCount"] == orlando["sites"]["totalCount"] == len(orlando_all & visible)
    # contracts and billing
    with_contract = [n for n in nodes if n["contract"] is not None]
    # a preview needs the contract: a site the caller sees without its contract is listed with none
    previews = {p["site"]["siteNumber"] for p in data["billingPreviews"] if p["preview"] is not None}
    listed = {e["node"]["site"]["siteNumber"] for e in data["statements"]["edges"]}
    if role.sees_billing:
        assert len(with_contract) >= len(nodes) - 2  # a few real sites have no contract
        assert previews <= visible and len(previews) >= len(with_contract) - 5
        assert listed == {"0349", "0918"} & visible
        assert data["statements"]["totalCount"] == len(listed)
    else:
        assert with_contract == [] and previews == set() and listed == set()
    # billing details only for billing roles
    vendor_ids = {n["vendorId"] for n in nodes}
    if role.billing_detail:
        assert vendor_ids - {None}
    else:
        assert vendor_ids <= {None}
        if data["inside"] and data["inside"]["contract"]:
            assert all(g["vendorId"] is None for g in data["inside"]["contract"]["invoiceGroups"])

    # the GL download: a statement outside the scope does not exist
    app = create_app(settings, db=db)
    headers = bearer(settings, role.subject)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        gl = {
            n: await http.get(f"/statements/{sid}/gl-export.csv", headers=headers)
            for n, sid in statements.items()
        }
    for number, response in gl.items():
        expected = 200 if role.sees_billing and number in visible else 404
        assert response.status_code == expected, (number, response.text)

    # statement mutations: billing roles only (§3.9); FORBIDDEN for the rest, with nothing written
    async with db.read() as session:
        before = (await session.execute(text("SELECT count(*) FROM statement_version"))).scalar_one()
    moved = await client.execute(GENERATE, site="0349")
    async with db.read() as session:
        after = (await session.execute(text("SELECT count(*) FROM statement_version"))).scalar_one()
    if role.writes_statements:
        assert moved.errors is None and after == before + 1
    else:
        assert moved.errors and [e.extensions["code"] for e in moved.errors] == ["FORBIDDEN"]
        assert after == before
