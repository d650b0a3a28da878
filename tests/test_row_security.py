"""Row scopes are PostgreSQL's (migration 0008, docs/security.md): read straight from the tables as the
application role with a scoped caller, and the policies alone decide what is there."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from db.database import Database
from db.repositories.users import Grants, upsert_user
from server.settings import Settings, app_database_url
from tests.conftest import APP_ROLE, context_for

# every table the policies cover, with the column that ties a row to a site (directly or through a parent)
SITE_TABLES = (
    "customer_site",
    "site_territory_assignment",
    "contract",
    "contract_component",
    "fixed_fee_service",
    "invoice_group",
    "labor_hour_job",
    "revenue_share_threshold",
    "billing_statement",
    "statement_version",
    "invoice",
    "invoice_line",
    "statement_event",
    "statement_generation",
    "generation_batch",
    "revenue_daily",
    "occupied_rooms_daily",
    "timesheet_minutes",
    "ledger_balance",
    "forecast_internal_revenue",
    "ready_for_invoice_comment",
    "app_user",
    "app_user_role",
    "app_user_site",
    "app_user_territory",
)
# no site data: PostGIS's reference table and the migration marker
UNSCOPED = {"spatial_ref_sys", "alembic_version"}


async def _grant(db: Database, subject: str, **grants: tuple[str, ...]) -> None:
    async with db.transaction() as session:
        await upsert_user(session, subject=subject, grants=Grants(**grants), granted_by="tests")


async def _sites_seen(db: Database, settings: Settings, subject: str) -> set[str]:
    ctx = await context_for(db, settings, subject)
    async with ctx.db.read() as session:
        return set((await session.execute(text("SELECT site_number FROM customer_site"))).scalars())


async def _orlando(db: Database) -> set[str]:
    async with db.read() as session:
        rows = await session.execute(
            text(
                "SELECT s.site_number FROM site_territory_assignment a"
                " JOIN territory t ON t.id = a.territory_id JOIN territory_layer l ON l.id = t.layer_id"
                " JOIN customer_site s ON s.id = a.site_id"
                " WHERE l.code = 'districts' AND t.code = 'orlando' AND a.valid_to IS NULL"
            )
        )
        return set(rows.scalars())


async def test_every_table_of_the_schema_has_row_security(db: Database) -> None:
    async with db.read() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT c.relname, c.relrowsecurity FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"
                )
            )
        ).all()
    tables = {name: secured for name, secured in rows}
    assert {name for name, secured in tables.items() if not secured} == UNSCOPED
    assert set(SITE_TABLES) <= set(tables)


async def test_the_application_role_cannot_bypass_the_policies(db: Database) -> None:
    async with db.read() as session:
        role = (
            await session.execute(
                text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = :r"), {"r": APP_ROLE}
            )
        ).one()
        owners = set(
            (
                await session.execute(
                    text("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")
                )
            ).scalars()
        )
    assert tuple(role) == (False, False)
    assert APP_ROLE not in owners  # an owner is not subject to its table's policies


async def test_without_a_caller_no_site_data_is_visible(db: Database, settings: Settings) -> None:
    ctx = await context_for(db, settings, None)
    async with ctx.db.read() as session:
        for table in (*SITE_TABLES, "territory"):
            count = (await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
            assert count == 0, table


async def test_a_district_manager_sees_the_sites_currently_in_the_district(
    db: Database, settings: Settings
) -> None:
    await _grant(db, "dm-orlando", roles=("districtManager",), territories=("districts:orlando",))
    orlando = await _orlando(db)
    assert len(orlando) > 30 and "0349" in orlando
    assert await _sites_seen(db, settings, "dm-orlando") == orlando
    ctx = await context_for(db, settings, "dm-orlando")
    async with ctx.db.read() as session:
        contracts = set(
            (
                await session.execute(
                    text("SELECT s.site_number FROM contract c JOIN customer_site s ON s.id = c.site_id")
                )
            ).scalars()
        )
        lines_of_others = (
            await session.execute(
                text(
                    "SELECT count(*) FROM revenue_daily r WHERE r.site_id NOT IN"
                    " (SELECT id FROM customer_site)"
                )
            )
        ).scalar_one()
    assert contracts <= orlando and "0349" in contracts
    assert lines_of_others == 0


async def test_a_site_that_moves_out_of_the_district_leaves_with_its_data(
    db: Database, settings: Settings
) -> None:
    """Decision 18: the scope follows the current assignment, not a copy taken when access was given."""
    await _grant(db, "dm-orlando", roles=("districtManager",), territories=("districts:orlando",))
    assert "0349" in await _sites_seen(db, settings, "dm-orlando")
    async with db.transaction() as session:  # GIS moves 0349 to Miami (close the open row, open another)
        await session.execute(
            text(
                "UPDATE site_territory_assignment a SET valid_to = now()"
                " FROM customer_site s, territory_layer l WHERE s.id = a.site_id AND l.id = a.layer_id"
                " AND s.site_number = '0349' AND l.code = 'districts' AND a.valid_to IS NULL"
            )
        )
        await session.execute(
            text(
                "INSERT INTO site_territory_assignment (site_id, layer_id, territory_id, method, valid_from)"
                " SELECT s.id, t.layer_id, t.id, 'manual', now() + interval '1 second'"
                " FROM customer_site s, territory t JOIN territory_layer l ON l.id = t.layer_id"
                " WHERE s.site_number = '0349' AND l.code = 'districts' AND t.code = 'miami'"
            )
        )
    seen = await _sites_seen(db, settings, "dm-orlando")
    assert "0349" not in seen and seen == await _orlando(db)


async def test_an_account_manager_sees_only_linked_sites(db: Database, settings: Settings) -> None:
    await _grant(db, "am-two", roles=("accountManager",), site_numbers=("0349", "0170"))
    assert await _sites_seen(db, settings, "am-two") == {"0349", "0170"}
    await _grant(db, "am-none", roles=("accountManager",))
    assert await _sites_seen(db, settings, "am-none") == set()  # §4.4: with no links they see nothing


async def test_a_gis_editor_sees_every_site_but_no_contract_or_billing_row(
    db: Database, settings: Settings
) -> None:
    assert len(await _sites_seen(db, settings, "test-gis")) == 649
    ctx = await context_for(db, settings, "test-gis")
    async with ctx.db.read() as session:
        for table in ("contract", "fixed_fee_service", "revenue_daily", "billing_statement", "invoice"):
            assert (await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one() == 0, table
        assigned = (
            await session.execute(text("SELECT count(*) FROM site_territory_assignment"))
        ).scalar_one()
    assert assigned > 649


async def test_billing_and_reporting_roles_see_every_site(db: Database, settings: Settings) -> None:
    for subject in ("test-admin", "test-billing-manager", "test-reporting"):
        assert len(await _sites_seen(db, settings, subject)) == 649, subject


async def test_a_role_without_write_policy_cannot_write_statements(db: Database, settings: Settings) -> None:
    """Even a bug in the role checks of the API cannot let a reader write: the policy refuses the row."""
    ctx = await context_for(db, settings, "test-reporting")
    with pytest.raises(Exception, match="row-level security"):
        async with ctx.db.transaction() as session:
            await session.execute(
                text(
                    "INSERT INTO billing_statement (id, site_id, contract_id, service_period_start,"
                    " service_period_end) SELECT gen_random_uuid(), c.site_id, c.id, '2025-04-01', '2025-04-30'"
                    " FROM contract c LIMIT 1"
                )
            )


async def test_setting_a_caller_does_not_help_another_database_role(db: Database) -> None:
    """Policies are `TO towne_app`: a direct client (a future GIS or BI role) that sets towne.user_id to an
    administrator's id still sees nothing until it has policies of its own."""
    async with db.transaction() as session:
        await session.execute(text("CREATE ROLE towne_probe_direct NOLOGIN"))
        await session.execute(text("GRANT USAGE ON SCHEMA public TO towne_probe_direct"))
        await session.execute(text("GRANT SELECT ON customer_site TO towne_probe_direct"))
        admin_id = (
            await session.execute(text("SELECT id FROM app_user WHERE subject = 'test-admin'"))
        ).scalar_one()
        await session.execute(text("SET LOCAL ROLE towne_probe_direct"))
        await session.execute(text(f"SELECT set_config('towne.user_id', '{admin_id}', true)"))
        seen = (await session.execute(text("SELECT count(*) FROM customer_site"))).scalar_one()
        await session.execute(text("RESET ROLE"))
    assert seen == 0


@pytest.fixture
async def app_engine(engine: AsyncEngine, imported: object, database_url: str) -> AsyncIterator[AsyncEngine]:
    """A real login as the application role (what the server uses), with a committed scoped user."""
    async with Database(engine).transaction() as session:
        await upsert_user(
            session,
            subject="am-committed",
            grants=Grants(roles=("accountManager",), site_numbers=("0918",)),
            granted_by="tests",
        )
    settings = Settings(DATABASE_URL=database_url)
    app = create_async_engine(app_database_url(settings, database_url))
    try:
        yield app
    finally:
        await app.dispose()
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM app_user WHERE subject = 'am-committed'"))


async def test_a_login_as_the_application_role_reads_only_its_scope(app_engine: AsyncEngine) -> None:
    async with app_engine.connect() as conn:
        async with conn.begin():
            who = (await conn.execute(text("SELECT current_user"))).scalar_one()
            bound = (
                await conn.execute(text("SELECT user_id FROM towne_begin_request('am-committed')"))
            ).first()
            assert bound is not None
            sites = set((await conn.execute(text("SELECT site_number FROM customer_site"))).scalars())
            statements_of_others = (await conn.execute(text("SELECT count(*) FROM contract c"))).scalar_one()
        async with conn.begin():  # the caller was transaction-local: the next transaction has none
            after = (await conn.execute(text("SELECT count(*) FROM customer_site"))).scalar_one()
    assert who == APP_ROLE
    assert sites == {"0918"} and statements_of_others == 1 and after == 0
