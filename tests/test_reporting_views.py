"""The BI-facing `reporting` schema (migration 0015, docs/reporting.md), on the real imported data: every view
keeps the reader's row scope (security_invoker), the `towne_reporting` role reads every row but no vendor id
and writes nothing, a line's territory is the one at its service period (`towne_period_as_of`), and the
figures are the GraphQL API's."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from db.database import Database
from server.settings import Settings
from tests.conftest import REPO_ROOT, GraphQLClient, at_commit, context_for
from tests.test_row_security import _grant, _orlando
from tests.test_statements import _generate, _move

REPORTING_ROLE = "towne_reporting"
# views with a site_number column (building_block is a lookup of §1.4)
SITE_VIEWS = (
    "site",
    "site_territory",
    "contract",
    "contract_building_block",
    "statement",
    "invoice_line",
    "invoice_line_territory",
    "forecast_site_month",
)
VIEWS = ("building_block", *SITE_VIEWS)


async def _sites_by_view(session: AsyncSession) -> dict[str, set[str]]:
    return {
        view: set((await session.execute(text(f"SELECT site_number FROM reporting.{view}"))).scalars())
        for view in SITE_VIEWS
    }


async def _seen_by(db: Database, settings: Settings, subject: str) -> dict[str, set[str]]:
    """Site numbers in each view as the application role with `subject` bound (as the API reads)."""
    ctx = await context_for(db, settings, subject)
    async with ctx.db.read() as session:
        return await _sites_by_view(session)


async def _statements(gql: GraphQLClient, *pairs: tuple[str, str]) -> dict[tuple[str, str], dict[str, Any]]:
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for site, period in pairs:
        result = await _generate(gql, site=site, period=period)
        assert result["__typename"] == "StatementPayload", result
        out[(site, period)] = result["statement"]
    return out


# ---- the catalogue: comments, security_invoker, the documentation


async def _catalog(db: Database) -> dict[str, list[tuple[str, str, str | None]]]:
    async with db.read() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), col_description(c.oid, a.attnum)"
                    " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
                    " WHERE n.nspname = 'reporting' ORDER BY c.relname, a.attnum"
                )
            )
        ).all()
    catalog: dict[str, list[tuple[str, str, str | None]]] = {}
    for view, column, type_, comment in rows:
        catalog.setdefault(view, []).append((column, type_, comment))
    return catalog


async def test_every_view_is_security_invoker_and_commented(db: Database) -> None:
    async with db.read() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT c.relname, c.relkind::text, c.reloptions, obj_description(c.oid, 'pg_class')"
                    " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'reporting'"
                )
            )
        ).all()
    assert sorted(r[0] for r in rows) == sorted(VIEWS)
    for name, kind, options, comment in rows:
        assert kind == "v" and options == ["security_invoker=true"], name
        assert comment and len(comment) > 30, name
    for view, columns in (await _catalog(db)).items():
        assert [c for c, _, comment in columns if not comment] == [], view


def _documented() -> dict[str, list[tuple[str, str, str]]]:
    """(column, type, description) of each `### \\`reporting.view\\`` table of docs/reporting.md."""
    doc = (REPO_ROOT / "docs" / "reporting.md").read_text(encoding="utf-8")
    sections = re.split(r"^### `reporting\.(\w+)`\s*$", doc, flags=re.M)
    documented: dict[str, list[tuple[str, str, str]]] = {}
    for view, body in zip(sections[1::2], sections[2::2], strict=True):
        body = body.split("\n## ", 1)[0]
        documented[view] = [
            (m[1], m[2], m[3]) for m in re.finditer(r"^\| `(\w+)` \| `([^`]+)` \| (.*?) \|$", body, re.M)
        ]
    return documented


async def test_the_documentation_lists_exactly_the_catalog(db: Database) -> None:
    """docs/reporting.md cannot drift: every view, its columns in order, their types and comments."""
    catalog = await _catalog(db)
    documented = _documented()
    assert sorted(documented) == sorted(catalog)
    for view, columns in catalog.items():
        assert documented[view] == [(c, t, comment or "") for c, t, comment in columns], view


async def test_a_service_period_is_judged_at_its_last_instant_in_utc(db: Database) -> None:
    async with db.read() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT towne_period_as_of(d)::text FROM unnest(ARRAY['2025-05-01', '2025-02-01',"
                    " '2024-02-01', '2025-12-01']::date[]) d"
                )
            )
        ).scalars()
        volatility = (
            await session.execute(
                text("SELECT provolatile::text FROM pg_proc WHERE proname = 'towne_period_as_of'")
            )
        ).scalar_one()
    assert list(rows) == [
        "2025-05-31 23:59:59.999999+00",
        "2025-02-28 23:59:59.999999+00",
        "2024-02-29 23:59:59.999999+00",
        "2025-12-31 23:59:59.999999+00",
    ]
    assert volatility == "i"  # IMMUTABLE


# ---- row scopes


async def test_scoped_callers_see_exactly_their_sites_in_every_view(
    gql: GraphQLClient, db: Database, settings: Settings
) -> None:
    await _statements(gql, ("0349", "2025-04"), ("0170", "2025-04"), ("0338", "2025-04"))
    await _grant(db, "am-two", roles=("accountManager",), site_numbers=("0349", "0170"))
    await _grant(db, "dm-orlando", roles=("districtManager",), territories=("districts:orlando",))

    two = await _seen_by(db, settings, "am-two")
    # 0170 has no forecast: forecast_site_month has a row for each site-month with a forecast or a statement
    assert two == {view: {"0349", "0170"} for view in SITE_VIEWS}

    orlando = await _orlando(db)
    assert len(orlando) > 30 and "0349" in orlando and not {"0170", "0338"} & orlando
    seen = await _seen_by(db, settings, "dm-orlando")
    for view in ("site", "site_territory", "contract"):
        assert seen[view] == orlando, view
    assert seen["contract_building_block"] <= orlando and "0349" in seen["contract_building_block"]
    for view in ("statement", "invoice_line", "invoice_line_territory"):
        assert seen[view] == {"0349"}, view
    assert seen["forecast_site_month"] <= orlando and "0349" in seen["forecast_site_month"]

    # without a caller nothing; a reportingReader everything
    nobody = await _seen_by(db, settings, "test-nobody")
    assert nobody == {view: set() for view in SITE_VIEWS}
    everything = await _seen_by(db, settings, "test-reporting")
    assert len(everything["site"]) == 649 and len(everything["contract"]) == 649
    assert everything["statement"] == {"0349", "0170", "0338"}


async def test_a_reporting_reader_through_the_application_reads_every_row(
    db: Database, settings: Settings
) -> None:
    ctx = await context_for(db, settings, "test-reporting")
    async with ctx.db.read() as session:
        counts = {
            view: (await session.execute(text(f"SELECT count(*) FROM reporting.{view}"))).scalar_one()
            for view in ("site", "site_territory", "contract", "building_block")
        }
    assert counts == {"site": 649, "site_territory": 649 * 3, "contract": 649, "building_block": 10}


# ---- the towne_reporting role


async def test_the_reporting_role_reads_everything_but_vendor_ids_and_writes_nothing(db: Database) -> None:
    async with db.transaction() as session:
        # a BI login is a member of the group role (docs/reporting.md); NOLOGIN here, the privileges are the same
        await session.execute(text(f"CREATE ROLE towne_probe_powerbi NOLOGIN IN ROLE {REPORTING_ROLE}"))
        await session.execute(text("SET LOCAL ROLE towne_probe_powerbi"))
        try:
            counts = {
                view: (await session.execute(text(f"SELECT count(*) FROM reporting.{view}"))).scalar_one()
                for view in ("site", "site_territory", "contract", "contract_building_block")
            }
            sites = (
                await session.execute(text("SELECT count(*), count(name) FROM public.customer_site"))
            ).one()
            refused: dict[str, str] = {}
            for sql in (
                "SELECT vendor_id FROM public.customer_site",
                "SELECT * FROM public.customer_site",
                "SELECT vendor_id FROM public.invoice",
                "SELECT count(*) FROM public.app_user",
                "SELECT count(*) FROM public.app_user_site",
                "SELECT count(*) FROM public.audit_log",
                "SELECT count(*) FROM public.statement_generation",
                "SELECT count(*) FROM public.invoice_group",
                "UPDATE public.customer_site SET name = 'x' WHERE site_number = '0349'",
                "DELETE FROM public.invoice_line",
                "INSERT INTO public.territory_layer (code, name, kind) VALUES ('bi', 'BI', 'overlay')",
                "UPDATE reporting.site SET name = 'x' WHERE site_number = '0349'",
                "DELETE FROM reporting.contract_building_block",
                "CREATE TABLE reporting.mine (x int)",
            ):
                with pytest.raises(Exception) as error:
                    async with session.begin_nested():
                        await session.execute(text(sql))
                refused[sql] = str(error.value)
        finally:
            await session.execute(text("RESET ROLE"))
    assert counts == {
        "site": 649,
        "site_territory": 649 * 3,
        "contract": 649,
        "contract_building_block": 1406,
    }
    assert tuple(sites) == (649, 649)
    for sql, message in refused.items():
        assert (
            "permission denied" in message or "cannot update view" in message or "cannot delete" in message
        ), (
            sql,
            message,
        )


async def test_the_views_show_no_vendor_id(db: Database) -> None:
    columns = {c for cols in (await _catalog(db)).values() for c, _, _ in cols}
    assert not {c for c in columns if "vendor" in c}
    async with db.read() as session:
        privileges = (
            await session.execute(
                text(
                    "SELECT table_name, column_name FROM information_schema.column_privileges"
                    " WHERE grantee = :r AND column_name = 'vendor_id'"
                ),
                {"r": REPORTING_ROLE},
            )
        ).all()
        writable = (
            await session.execute(
                text(
                    "SELECT table_schema, table_name, privilege_type FROM information_schema.table_privileges"
                    " WHERE grantee = :r AND privilege_type <> 'SELECT'"
                ),
                {"r": REPORTING_ROLE},
            )
        ).all()
    assert privileges == [] and writable == []


# ---- the territory of a line is the one at its service period


async def _move_0349_to_miami(session: AsyncSession, at: dt.datetime) -> None:
    """The districts assignment of 0349 changes to Miami at `at` (the open row closed there, a manual one
    opened), or, when it already has, moves that instant to `at`."""
    moved = await session.execute(
        text(
            "UPDATE site_territory_assignment a SET valid_from = :at"
            " FROM customer_site s, territory_layer l WHERE s.id = a.site_id AND l.id = a.layer_id"
            " AND s.site_number = '0349' AND l.code = 'districts' AND a.method = 'manual'"
        ),
        {"at": at},
    )
    await session.execute(
        text(
            "UPDATE site_territory_assignment a SET valid_to = :at"
            " FROM customer_site s, territory_layer l WHERE s.id = a.site_id AND l.id = a.layer_id"
            " AND s.site_number = '0349' AND l.code = 'districts' AND a.method = 'initial'"
        ),
        {"at": at},
    )
    if not moved.rowcount:  # type: ignore[attr-defined]
        await session.execute(
            text(
                "INSERT INTO site_territory_assignment (site_id, layer_id, territory_id, method, valid_from)"
                " SELECT s.id, t.layer_id, t.id, 'manual', :at"
                " FROM customer_site s, territory t JOIN territory_layer l ON l.id = t.layer_id"
                " WHERE s.site_number = '0349' AND l.code = 'districts' AND t.code = 'miami'"
            ),
            {"at": at},
        )
    await at_commit(session)  # the assignment history must still be gapless and without overlap


async def _districts_by_period(db: Database, settings: Settings) -> dict[str, set[str | None]]:
    ctx = await context_for(db, settings, "test-reporting")
    async with ctx.db.read() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT service_period, territory_code FROM reporting.invoice_line_territory"
                    " WHERE site_number = '0349' AND layer_code = 'districts'"
                )
            )
        ).all()
    out: dict[str, set[str | None]] = {}
    for period, code in rows:
        out.setdefault(period, set()).add(code)
    return out


async def test_a_line_belongs_to_the_territory_at_the_end_of_its_service_period(
    gql: GraphQLClient, db: Database, settings: Settings
) -> None:
    await _statements(gql, ("0349", "2025-05"), ("0349", "2025-06"))
    assert await _districts_by_period(db, settings) == {"2025-05": {"orlando"}, "2025-06": {"orlando"}}
    utc = dt.UTC
    cases = (
        # mid-June: May stays Orlando's, June is Miami's
        (dt.datetime(2025, 6, 15, tzinfo=utc), {"2025-05": {"orlando"}, "2025-06": {"miami"}}),
        # at June's first instant: the same
        (dt.datetime(2025, 6, 1, tzinfo=utc), {"2025-05": {"orlando"}, "2025-06": {"miami"}}),
        # in May's last second: May is Miami's too
        (dt.datetime(2025, 5, 31, 23, 59, 59, tzinfo=utc), {"2025-05": {"miami"}, "2025-06": {"miami"}}),
        # at July's first instant: neither
        (dt.datetime(2025, 7, 1, tzinfo=utc), {"2025-05": {"orlando"}, "2025-06": {"orlando"}}),
    )
    for at, expected in cases:
        async with db.transaction() as session:
            await _move_0349_to_miami(session, at)
        assert await _districts_by_period(db, settings) == expected, at
    # the assignment history as the view shows it: the import's row from the beginning, then the move
    ctx = await context_for(db, settings, "test-reporting")
    async with ctx.db.read() as session:
        history = (
            await session.execute(
                text(
                    "SELECT territory_code, assignment_method, valid_from, valid_to, is_current"
                    " FROM reporting.site_territory WHERE site_number = '0349' AND layer_code = 'districts'"
                    " ORDER BY valid_from NULLS FIRST"
                )
            )
        ).all()
    july = dt.datetime(2025, 7, 1, tzinfo=dt.UTC)
    assert [tuple(r) for r in history] == [
        ("orlando", "initial", None, july, False),
        ("miami", "manual", july, None, True),
    ]


# ---- figures: the GraphQL API's


STATEMENT = """query ($id: ID!) { statement(id: $id) {
  id servicePeriod version revision: currentVersion { revision } status billingType total createdAt sentAt
  forecast { forecastedRevenue postedRevenue invoicedRevenue totalActualRevenue deviationAmount deviationPercentage
             exceeded }
  invoices { invoiceNumber invoiceDate amount lines { id code title amount buildingBlock flags { isAdhoc } } }
  versions { version status total }
} }"""


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


async def test_statement_and_line_views_carry_the_api_figures(
    gql: GraphQLClient, db: Database, settings: Settings
) -> None:
    generated = (await _statements(gql, ("0349", "2025-04")))[("0349", "2025-04")]
    assert (await _move(gql, "markStatementSent", generated["id"]))["statement"]["status"] == "SENT"
    regenerated = await gql.data(
        "mutation ($id: ID!) { regenerateStatement(statementId: $id) { __typename } }", id=generated["id"]
    )
    assert regenerated["regenerateStatement"]["__typename"] == "StatementPayload"
    api = (await gql.data(STATEMENT, id=generated["id"]))["statement"]
    assert (api["version"], api["status"], api["total"]) == (2, "READY_TO_SEND", "33300.00")
    assert [(v["version"], v["status"], v["total"]) for v in api["versions"]] == [
        (1, "SENT", "33300.00"),
        (2, "READY_TO_SEND", "33300.00"),
    ]

    ctx = await context_for(db, settings, "test-reporting")
    async with ctx.db.read() as session:
        row = (
            (
                await session.execute(
                    text("SELECT * FROM reporting.statement WHERE statement_id = :id"),
                    {"id": generated["id"]},
                )
            )
            .mappings()
            .one()
        )
        lines = (
            (
                await session.execute(
                    text(
                        "SELECT * FROM reporting.invoice_line WHERE statement_id = :id"
                        " ORDER BY version, invoice_number, line_position"
                    ),
                    {"id": generated["id"]},
                )
            )
            .mappings()
            .all()
        )
        month = (
            (
                await session.execute(
                    text(
                        "SELECT * FROM reporting.forecast_site_month"
                        " WHERE site_number = '0349' AND service_period = '2025-04'"
                    )
                )
            )
            .mappings()
            .one()
        )
    forecast = api["forecast"]
    assert {
        "service_period": row["service_period"],
        "version": row["version"],
        "revision": row["revision"],
        "status": row["status"],
        "billing_type": row["billing_type"],
        "amount": _money(row["amount"]),
        "invoice_count": row["invoice_count"],
        "forecasted_revenue": _money(row["forecasted_revenue"]),
        "posted_revenue": _money(row["posted_revenue"]),
        "invoiced_revenue": _money(row["invoiced_revenue"]),
        "total_actual_revenue": _money(row["total_actual_revenue"]),
        "forecast_deviation_amount": _money(row["forecast_deviation_amount"]),
        "forecast_deviation_percentage": str(row["forecast_deviation_percentage"]),
        "forecast_deviation_exceeded": row["forecast_deviation_exceeded"],
        "sent_at": row["sent_at"],
        "last_sent_version": row["last_sent_version"],
        "last_sent_amount": _money(row["last_sent_amount"]),
    } == {
        "service_period": api["servicePeriod"],
        "version": 2,
        "revision": api["revision"]["revision"],
        "status": "READY_TO_SEND",
        "billing_type": "ARREARS",
        "amount": api["total"],
        "invoice_count": len(api["invoices"]),
        "forecasted_revenue": forecast["forecastedRevenue"],
        "posted_revenue": forecast["postedRevenue"],
        "invoiced_revenue": forecast["invoicedRevenue"],
        "total_actual_revenue": forecast["totalActualRevenue"],
        "forecast_deviation_amount": forecast["deviationAmount"],
        "forecast_deviation_percentage": forecast["deviationPercentage"],
        "forecast_deviation_exceeded": forecast["exceeded"],
        "sent_at": None,
        "last_sent_version": 1,
        "last_sent_amount": "33300.00",
    }
    assert (forecast["forecastedRevenue"], forecast["deviationAmount"], forecast["deviationPercentage"]) == (
        "36879.75",
        "3579.75",
        "9.7065",
    )
    assert row["created_at"].isoformat().replace("+00:00", "Z")[:19] == api["createdAt"][:19]

    # lines: the Sent version 1 and the current version 2, each flagged; the current ones are the API's
    [invoice] = api["invoices"]
    flags = [(line["version"], line["is_current_version"], line["is_latest_sent"]) for line in lines]
    assert flags == [(1, False, True)] * len(invoice["lines"]) + [(2, True, False)] * len(invoice["lines"])
    current = [line for line in lines if line["is_current_version"]]
    assert [
        (str(line["invoice_line_id"]), line["invoice_number"], line["invoice_date"].isoformat(), line["code"],
         line["title"], _money(line["amount"]), line["building_block"], line["is_adhoc"])
        for line in current
    ] == [
        (api_line["id"], invoice["invoiceNumber"], invoice["invoiceDate"], api_line["code"], api_line["title"],
         api_line["amount"], api_line["buildingBlock"], api_line["flags"]["isAdhoc"])
        for api_line in invoice["lines"]
    ]  # fmt: skip
    assert sorted({line["invoice_number"] for line in lines}) == ["0349-202504-01-01", "0349-202504-01-02"]
    assert all(line["is_revenue_code"] for line in lines)

    # forecast per site and month: invoiced is the latest Sent version's 4000–4999 lines (§3.6)
    assert {
        k: month[k] for k in ("forecast_revenue", "posted_revenue", "invoiced_version", "invoiced_revenue")
    } == {
        "forecast_revenue": Decimal("36879.75"),
        "posted_revenue": Decimal("0.00"),
        "invoiced_version": 1,
        "invoiced_revenue": Decimal("33300.00"),
    }
    assert (month["actual_revenue"], month["deviation_amount"], month["deviation_percentage"]) == (
        Decimal("33300.00"),
        Decimal("3579.75"),
        Decimal("9.7065"),
    )


# ---- the downgrade leaves nothing behind


def _alembic(connection: Connection, action: str, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.attributes["connection"] = connection
    getattr(command, action)(config, revision)


LEFTOVERS = {
    "schema": "SELECT count(*) FROM pg_namespace WHERE nspname = 'reporting'",
    "function": "SELECT count(*) FROM pg_proc WHERE proname = 'towne_period_as_of'",
    "policies": "SELECT count(*) FROM pg_policies WHERE roles @> ARRAY['towne_reporting']::name[]",
    "table privileges": "SELECT count(*) FROM information_schema.table_privileges WHERE grantee = 'towne_reporting'",
    "column privileges": "SELECT count(*) FROM information_schema.column_privileges"
    " WHERE grantee = 'towne_reporting'",
    "schema usage": "SELECT count(*) FROM pg_namespace WHERE nspname = 'public'"
    " AND has_schema_privilege('towne_reporting', oid, 'USAGE')",
}


async def test_downgrade_removes_the_schema_role_grants_and_policies_and_upgrade_restores_them(
    engine: AsyncEngine, imported: object
) -> None:
    """Down to 0014 and up again, inside a transaction rolled back at the end (DDL is transactional)."""
    async with engine.connect() as conn:
        transaction = await conn.begin()
        try:
            await conn.run_sync(_alembic, "downgrade", "0014")
            after_down = {k: (await conn.execute(text(sql))).scalar_one() for k, sql in LEFTOVERS.items()}
            await conn.run_sync(_alembic, "upgrade", "head")
            after_up = {k: (await conn.execute(text(sql))).scalar_one() for k, sql in LEFTOVERS.items()}
            await conn.execute(text(f"SET LOCAL ROLE {REPORTING_ROLE}"))
            sites = (await conn.execute(text("SELECT count(*) FROM reporting.site"))).scalar_one()
        finally:
            await transaction.rollback()
    assert after_down == dict.fromkeys(LEFTOVERS, 0)
    assert after_up["schema"] == after_up["function"] == after_up["schema usage"] == 1
    assert (
        after_up["policies"] == 11 and after_up["table privileges"] > 11 and after_up["column privileges"] > 0
    )
    assert sites == 649
