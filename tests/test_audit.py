"""The audit trail (issue 10 §5, migration 0013): who, when, which operation, before and after, in the writer's
transaction, for API writes and direct SQL alike; read in the caller's scope; append-only; the CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from db.database import Database
from db.repositories.users import Grants, upsert_user
from schema.audit import AuditEntityType
from server.app import create_app
from server.settings import Settings
from tests.conftest import ADMIN, GraphQLClient, bearer, context_for

AUDITOR = "audit-auditor"
AM = "audit-am"
OWN_SITE, OTHER_SITE = "0349", "0918"

LOG = """
query ($type: AuditEntityType, $id: String, $from: DateTime, $to: DateTime, $first: Int! = 100) {
  auditLog(entityType: $type, entityId: $id, from: $from, to: $to, first: $first) {
    pageInfo { hasNextPage endCursor }
    edges { node { at actor operation entityType entityId siteId action transactionId
                   changes { column before after } } }
  }
}
"""
SAVE_USER = """
mutation ($input: UserInput!) { saveUser(input: $input) { __typename ... on Problem { code } } }
"""
GENERATE = """
mutation ($site: String!) {
  generateStatement(siteNumber: $site, servicePeriod: "2025-04") { __typename ... on Problem { code message } }
}
"""
SITE_LOG = """
query ($n: String!) {
  site(siteNumber: $n) {
    auditLog(first: 500) { edges { node { entityType operation action siteId } } }
    contract { auditLog(first: 500) { edges { node { entityType operation changes { column after } } } } }
  }
}
"""


@pytest.fixture
async def users(db: Database) -> None:
    """An auditor, and an account manager linked to one site."""
    async with db.transaction() as session:
        await upsert_user(session, subject=AUDITOR, grants=Grants(roles=("auditor",)), granted_by="tests")
        await upsert_user(
            session,
            subject=AM,
            grants=Grants(roles=("accountManager",), site_numbers=(OWN_SITE,)),
            granted_by="tests",
        )


async def _site_ids(db: Database) -> dict[str, str]:
    async with db.read() as session:
        rows = await session.execute(
            text("SELECT site_number, id::text FROM customer_site WHERE site_number IN (:a, :b)"),
            {"a": OWN_SITE, "b": OTHER_SITE},
        )
        return dict(rows.all())


async def _contract_id(db: Database, site_number: str) -> str:
    async with db.read() as session:
        return str(
            (
                await session.execute(
                    text(
                        "SELECT c.id::text FROM contract c JOIN customer_site s ON s.id = c.site_id"
                        " WHERE s.site_number = :n"
                    ),
                    {"n": site_number},
                )
            ).scalar_one()
        )


async def _entries(gql: GraphQLClient, subject: str, **variables: Any) -> list[dict[str, Any]]:
    data = await gql.as_(subject).data(LOG, **variables)
    return [edge["node"] for edge in data["auditLog"]["edges"]]


def _changes(entry: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {c["column"]: (c["before"], c["after"]) for c in entry["changes"]}


async def _now(db: Database) -> dt.datetime:
    async with db.read() as session:
        value: dt.datetime = (await session.execute(text("SELECT clock_timestamp()"))).scalar_one()
        return value


async def test_an_api_write_records_who_when_which_operation_before_and_after(
    db: Database, gql: GraphQLClient, users: None
) -> None:
    start = await _now(db)
    created = await gql.data(SAVE_USER, input={"subject": "audit-new", "roles": ["REPORTING_READER"]})
    assert created["saveUser"]["__typename"] == "UserPayload"
    changed = await gql.data(
        SAVE_USER, input={"subject": "audit-new", "roles": ["REPORTING_READER"], "email": "new@example.com"}
    )
    assert changed["saveUser"]["__typename"] == "UserPayload"
    end = await _now(db)

    entries = await _entries(gql, AUDITOR, type="APP_USER", **{"from": start.isoformat()})
    mine = [e for e in entries if e["entityId"] == entries[0]["entityId"]]
    update, insert = mine[0], mine[1]  # newest first
    assert insert["action"] == "INSERT" and update["action"] == "UPDATE"
    for entry in (insert, update):
        assert entry["actor"] == ADMIN and entry["operation"] == "saveUser"
        assert start <= dt.datetime.fromisoformat(entry["at"]) <= end
    assert _changes(insert)["subject"] == (None, "audit-new")
    assert "created_at" not in _changes(insert) and "updated_at" not in _changes(insert)  # bookkeeping
    # an UPDATE records only what changed (not updated_at, not the unchanged subject)
    assert _changes(update) == {"email": (None, "new@example.com")}

    grants = await _entries(gql, AUDITOR, type="APP_USER_ROLE", id=f"{insert['entityId']}/reportingReader")
    assert [(g["action"], g["operation"], g["actor"]) for g in grants] == [("INSERT", "saveUser", ADMIN)]


async def test_statement_generation_is_audited_with_its_site(
    db: Database, gql: GraphQLClient, users: None
) -> None:
    sites = await _site_ids(db)
    start = await _now(db)
    done = await gql.as_("test-billing-manager").data(GENERATE, site=OWN_SITE)
    assert done["generateStatement"]["__typename"] != "Problem", done
    entries = await _entries(gql, AUDITOR, **{"from": start.isoformat()}, first=500)
    written = {(e["entityType"], e["action"]) for e in entries}
    assert {
        ("BILLING_STATEMENT", "INSERT"),
        ("STATEMENT_VERSION", "INSERT"),
        ("INVOICE", "INSERT"),
    } <= written
    assert ("INVOICE_LINE", "INSERT") in written
    for entry in entries:
        assert entry["actor"] == "test-billing-manager"
        assert entry["operation"] == "generateStatement"
        assert entry["siteId"] == sites[OWN_SITE]

    # Site.auditLog has the statements; Contract.auditLog only the contract's own rows
    site = (await gql.as_(AUDITOR).data(SITE_LOG, n=OWN_SITE))["site"]
    # an auditor reads the trail, not the sites: Site is not visible to it
    assert site is None
    site = (await gql.data(SITE_LOG, n=OWN_SITE))["site"]
    types = {
        e["node"]["entityType"]
        for e in site["auditLog"]["edges"]
        if e["node"]["operation"] == "generateStatement"
    }
    assert "BILLING_STATEMENT" in types and "INVOICE_LINE" in types
    assert all(e["node"]["siteId"] == sites[OWN_SITE] for e in site["auditLog"]["edges"])
    contract_types = {e["node"]["entityType"] for e in site["contract"]["auditLog"]["edges"]}
    assert contract_types <= {"CONTRACT", "CONTRACT_COMPONENT", "FIXED_FEE_SERVICE", "LABOR_HOUR_JOB",
                              "REVENUE_SHARE_THRESHOLD", "INVOICE_GROUP"}  # fmt: skip
    assert "CONTRACT" in contract_types  # the import's INSERT


TERRITORY = """
query { territory(layer: "districts", code: "orlando") { id version } }
"""
RENAME = """
mutation ($v: Int!) {
  updateTerritory(layer: "districts", code: "orlando", expectedVersion: $v, name: "Orlando (renamed)") {
    __typename ... on Problem { code message }
  }
}
"""


async def test_a_territory_edit_through_the_api_is_company_geography(
    db: Database, gql: GraphQLClient, users: None
) -> None:
    territory = (await gql.data(TERRITORY))["territory"]
    done = await gql.as_("test-gis").data(RENAME, v=territory["version"])
    assert done["updateTerritory"]["__typename"] == "TerritoryEditPayload", done
    # company geography: any signed-in caller reads it, the account manager too
    entries = await _entries(gql, AM, type="TERRITORY", id=str(territory["id"]))
    update = entries[0]
    assert (update["action"], update["actor"], update["operation"]) == (
        "UPDATE",
        "test-gis",
        "updateTerritory",
    )
    changes = _changes(update)
    assert changes["name"] == ("Orlando", "Orlando (renamed)")
    assert changes["version"] == (territory["version"], territory["version"] + 1)
    assert "geom" not in changes and "changed_xact" not in changes and update["siteId"] is None


async def test_direct_sql_is_attributed_to_the_database_login(
    db: Database, gql: GraphQLClient, users: None
) -> None:
    contract_id = await _contract_id(db, OWN_SITE)
    async with db.transaction() as session:
        login = (await session.execute(text("SELECT session_user::text"))).scalar_one()
        await session.execute(
            text("UPDATE contract SET payment_terms = 'Net 45' WHERE id = :id"), {"id": contract_id}
        )
        # not changes: the same value again, and bookkeeping alone
        await session.execute(
            text("UPDATE contract SET payment_terms = 'Net 45' WHERE id = :id"), {"id": contract_id}
        )
        await session.execute(
            text("UPDATE contract SET updated_at = now() WHERE id = :id"), {"id": contract_id}
        )
    entries = await _entries(gql, AUDITOR, type="CONTRACT", id=contract_id)
    updates = [e for e in entries if e["action"] == "UPDATE"]
    assert len(updates) == 1
    assert (updates[0]["actor"], updates[0]["operation"]) == (login, "sql:UPDATE")
    assert list(_changes(updates[0])) == ["payment_terms"]
    assert _changes(updates[0])["payment_terms"][1] == "Net 45"


async def test_a_gis_editor_login_is_recorded_as_itself_and_cannot_borrow_a_caller(
    db: Database, gql: GraphQLClient, users: None
) -> None:
    """A QGIS edit (the `towne_gis_editor` login) names that login and `sql:UPDATE`, even when the session sets
    `towne.user_id` and `towne.operation` to an administrator's (only application and owner sessions are
    heard). The geometry is summarised, not copied."""
    async with db.read() as session:
        superuser = (
            await session.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"))
        ).scalar()
        if not superuser:
            pytest.skip("SET SESSION AUTHORIZATION needs a superuser test login")
        admin_id = (
            await session.execute(text("SELECT id FROM app_user WHERE subject = :s"), {"s": ADMIN})
        ).scalar()
        territory_id = (
            await session.execute(
                text(
                    "SELECT t.id FROM territory t JOIN territory_layer l ON l.id = t.layer_id"
                    " WHERE l.code = 'districts' AND t.code = 'orlando'"
                )
            )
        ).scalar_one()
    async with db.transaction() as session:
        await session.execute(text("SET LOCAL SESSION AUTHORIZATION towne_gis_editor"))
        await session.execute(
            text(
                "SELECT set_config('towne.user_id', :u, true), set_config('towne.operation', 'saveUser', true)"
            ),
            {"u": str(admin_id)},
        )
        await session.execute(
            text("UPDATE territory SET geom = ST_Multi(ST_Buffer(geom, 0.001)) WHERE id = :id"),
            {"id": territory_id},
        )
        await session.execute(text("RESET SESSION AUTHORIZATION"))
        await session.execute(text("SELECT set_config('towne.operation', '', true)"))
    entries = await _entries(gql, AUDITOR, type="TERRITORY", id=str(territory_id))
    update = entries[0]
    assert (update["actor"], update["operation"]) == ("towne_gis_editor", "sql:UPDATE")
    changes = _changes(update)
    before, after = changes["geom"]
    assert before == {"type": "MULTIPOLYGON", "md5": before["md5"]} and before["md5"] != after["md5"]
    assert float(changes["area_km2"][1]) > float(changes["area_km2"][0])


async def test_scopes_account_manager_sees_its_sites_auditor_everything(
    db: Database, gql: GraphQLClient, users: None
) -> None:
    start = await _now(db)
    own, other = await _contract_id(db, OWN_SITE), await _contract_id(db, OTHER_SITE)
    async with db.transaction() as session:
        await session.execute(
            text("UPDATE contract SET purchase_order = 'PO-AUDIT' WHERE id IN (:a, :b)"),
            {"a": own, "b": other},
        )
    await gql.data(SAVE_USER, input={"subject": "audit-scoped", "roles": []})
    since = {"from": start.isoformat()}

    seen = {(e["entityType"], e["entityId"]) for e in await _entries(gql, AM, **since)}
    assert ("CONTRACT", own) in seen and ("CONTRACT", other) not in seen
    assert not any(kind.startswith("APP_USER") for kind, _ in seen)  # user administration: not its business
    assert await _entries(gql, AM, type="CONTRACT", id=other) == []

    everything = {(e["entityType"], e["entityId"]) for e in await _entries(gql, AUDITOR, **since)}
    assert {("CONTRACT", own), ("CONTRACT", other)} <= everything
    assert any(kind == "APP_USER" for kind, _ in everything)
    admin = {(e["entityType"], e["entityId"]) for e in await _entries(gql, ADMIN, **since)}
    assert everything <= admin

    # a caller with no role reads company geography only; none of this
    assert await _entries(gql, "test-nobody", **since) == []
    # the reporting reader sees every contract, no user administration
    reporting = {e["entityType"] for e in await _entries(gql, "test-reporting", **since)}
    assert reporting == {"CONTRACT"}


async def test_the_auditor_reads_and_writes_nothing(
    db: Database, settings: Settings, gql: GraphQLClient, users: None
) -> None:
    refused = await gql.as_(AUDITOR).error(GENERATE, site=OWN_SITE)
    assert refused["extensions"]["code"] == "FORBIDDEN"
    refused = await gql.as_(AUDITOR).error(SAVE_USER, input={"subject": "audit-x", "roles": ["AUDITOR"]})
    assert refused["extensions"]["code"] == "FORBIDDEN"
    ctx = await context_for(db, settings, AUDITOR)
    with pytest.raises(Exception, match="permission denied"):
        async with ctx.db.transaction() as session:
            await session.execute(
                text(
                    "INSERT INTO audit_log (at, actor, operation, entity_type, entity_id, scope, action, changed,"
                    " txid) VALUES (now(), 'forged', 'x', 'contract', 'x', 'users', 'INSERT', '{}', 0)"
                )
            )


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET actor = 'forged'", "DELETE FROM audit_log"])
async def test_audit_rows_cannot_be_changed(
    db: Database, settings: Settings, users: None, statement: str
) -> None:
    ctx = await context_for(db, settings, ADMIN)
    with pytest.raises(Exception, match="permission denied"):
        async with ctx.db.transaction() as session:
            await session.execute(text(statement))
    # and should a role ever be granted more, the append-only trigger still refuses it
    async with db.read() as session:
        if not (
            await session.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"))
        ).scalar():
            return
    with pytest.raises(Exception, match="append-only"):
        async with db.transaction() as session:
            await session.execute(text("GRANT UPDATE, DELETE ON audit_log TO towne_gis_editor"))
            await session.execute(text("SET LOCAL ROLE towne_gis_editor"))
            await session.execute(text(statement))


async def test_audited_tables_are_the_graphql_entity_types(db: Database) -> None:
    """A table attached later (`towne_audit_attach`) must join `AuditEntityType` (and resolvers.audit)."""
    async with db.read() as session:
        tables = set(
            (
                await session.execute(
                    text(
                        "SELECT tgrelid::regclass::text FROM pg_trigger WHERE tgname = 'audit_insert' AND NOT tgisinternal"
                    )
                )
            ).scalars()
        )
    assert tables == {e.value for e in AuditEntityType}


async def test_the_import_is_recorded_as_such(db: Database) -> None:
    async with db.read() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT DISTINCT operation FROM audit_log WHERE entity_type = 'customer_site' AND action = 'INSERT'"
                )
            )
        ).scalars()
        assert "towne import" in set(rows)


async def test_bad_arguments_name_the_argument(gql: GraphQLClient, users: None) -> None:
    error = await gql.as_(AUDITOR).error(LOG, id="x")
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and "entityType" in error["message"]
    error = await gql.as_(AUDITOR).error(
        LOG, **{"from": "2025-05-01T00:00:00Z", "to": "2025-04-01T00:00:00Z"}
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and "from" in error["message"]
    error = await gql.as_(AUDITOR).error(LOG, first=501)
    assert error["extensions"]["code"] == "PAGE_TOO_LARGE"


async def test_csv_export_is_scoped_with_one_line_per_change(
    db: Database, settings: Settings, users: None
) -> None:
    own, other = await _contract_id(db, OWN_SITE), await _contract_id(db, OTHER_SITE)
    async with db.transaction() as session:
        await session.execute(
            text(
                "UPDATE contract SET purchase_order = 'PO-CSV', payment_terms = 'Net 60' WHERE id IN (:a, :b)"
            ),
            {"a": own, "b": other},
        )
    app = create_app(settings, db=db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:

        async def export(subject: str, **params: str) -> httpx.Response:
            return await http.get("/audit-log.csv", params=params, headers=bearer(settings, subject))

        response = await export(AUDITOR, entityType="contract", entityId=other)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(response.text)))
        assert rows[0] == ["at", "actor", "operation", "entity_type", "entity_id", "site_id", "action", "column",
                           "before", "after", "txid"]  # fmt: skip
        updates = [r for r in rows[1:] if r[6] == "UPDATE"]
        assert sorted((r[7], r[9]) for r in updates) == [
            ("payment_terms", "Net 60"),
            ("purchase_order", "PO-CSV"),
        ]
        assert all(r[4] == other and r[2] == "sql:UPDATE" for r in updates)
        assert all(r[10].isdigit() for r in updates)

        # the account manager's scope: its own contract, not the other one
        mine = list(csv.reader(io.StringIO((await export(AM, entityType="CONTRACT", entityId=own)).text)))
        assert {r[7] for r in mine[1:] if r[6] == "UPDATE"} == {"payment_terms", "purchase_order"}
        theirs = list(csv.reader(io.StringIO((await export(AM, entityType="contract", entityId=other)).text)))
        assert len(theirs) == 1  # the header only

        bad = await export(AUDITOR, entityType="contract", **{"from": "yesterday"})
        assert (
            bad.status_code == 400
            and bad.json()["code"] == "BAD_USER_INPUT"
            and bad.json()["argument"] == "from"
        )
        unknown = await export(AUDITOR, entityType="nothing")
        assert unknown.status_code == 400 and unknown.json()["argument"] == "entityType"
        extra = await export(AUDITOR, limit="5")
        assert extra.status_code == 400 and extra.json()["argument"] == "limit"
        anonymous = await http.get("/audit-log.csv")
        assert anonymous.status_code == 401 and anonymous.json()["code"] == "UNAUTHENTICATED"


async def test_vendor_ids_in_the_trail_follow_the_billing_detail_rule(
    db: Database, gql: GraphQLClient, users: None
) -> None:
    """§4.4: vendor ids only for roles with a billing need (and auditors); others see that the column was written,
    not its value."""
    site_id = (await _site_ids(db))[OWN_SITE]
    async with db.transaction() as session:
        await session.execute(
            text("UPDATE customer_site SET vendor_id = 'V-AUDIT', rooms = 321 WHERE id = :id"),
            {"id": site_id},
        )
    for subject, shown in ((AM, None), ("test-reporting", None), (ADMIN, "V-AUDIT"), (AUDITOR, "V-AUDIT")):
        entries = await _entries(gql, subject, type="CUSTOMER_SITE", id=site_id)
        update = [e for e in entries if e["action"] == "UPDATE"]
        assert len(update) == 1, subject
        assert _changes(update[0])["vendor_id"][1] == shown, subject
        assert _changes(update[0])["rooms"][1] == 321
    # the import's INSERT: every column, the point as WKT
    insert = [
        e for e in await _entries(gql, ADMIN, type="CUSTOMER_SITE", id=site_id) if e["action"] == "INSERT"
    ]
    assert insert[0]["operation"] == "towne import"
    assert _changes(insert[0])["location"][1].startswith("POINT(-")
