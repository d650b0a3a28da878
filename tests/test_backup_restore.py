"""Backup and restore (docs/operations.md): a `pg_dump -Fc` of the test database, restored into a fresh
database on the same server by `server.backup`, answers the API exactly as the original does."""

from __future__ import annotations

import asyncio
import dataclasses
import difflib
import re
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from db.database import Database
from importer.run import ImportSummary
from resolvers.context import Context
from server import backup
from tests.conftest import GraphQLClient

SITES = """
query ($after: String) {
  sites(first: 250, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node {
      siteNumber name address city state zip sourceDistrict glString parkingSpaces rooms isActive
      geocodeMethod location
      territories { method validFrom validTo layer { code } territory { code name version } }
      contract {
        id contractType billingType buildingBlocks incrementPercentage incrementMonth deviationAmount
        deviationPercentage paymentTerms purchaseOrder deposits fixedFeeServices { displayName fee }
      }
    } }
  }
}
"""
TERRITORIES = """
{
  territoryLayers { code name kind territories { id code name version areaKm2 } }
  east: territory(layer: "regions", code: "east") { areaKm2 siteCount geometry(simplifyTolerance: 0.05) }
  orlando: territory(layer: "districts", code: "orlando", asOf: "2025-03-15T00:00:00Z") { name version }
}
"""
PREVIEW = """
query ($site: String!, $period: String!) {
  site(siteNumber: $site) {
    billingPreview(servicePeriod: $period) {
      siteNumber servicePeriod billingType version rateSelectionDate total notComputed warnings
      invoices { groupNumber invoiceNumber invoiceDate title amount lines { title code amount explanation } }
    }
  }
}
"""
PREVIEWS = """
{ billingPreviews(servicePeriod: "2025-03", filter: {state: "FL"}) {
    site { siteNumber } preview { total notComputed warnings } } }
"""
GENERATE = """
mutation ($site: String!, $key: String!) {
  generateStatement(siteNumber: $site, servicePeriod: "2025-04", idempotencyKey: $key) {
    __typename ... on Problem { code message }
  }
}
"""
STATEMENTS = """
{ statements(first: 50) {
    totalCount
    edges { cursor node {
      id servicePeriod version status billingType total createdAt warnings site { siteNumber }
      versions { id version revision status superseded }
      invoices { id invoiceNumber amount lines { title code amount } }
      forecast { deviationPercentage exceeded }
      events { fromStatus toStatus note }
    } }
} }
"""
STATEMENT_SITES = ("0349", "0170")


def _url(database_url: str, name: str) -> str:
    return make_url(database_url).set(database=name).render_as_string(hide_password=False)


async def _drop_database(database_url: str, name: str) -> None:
    admin = create_async_engine(_url(database_url, "postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


async def _answers(client: GraphQLClient) -> dict[str, Any]:
    """The same reads, in the same order, against one database."""
    answers: dict[str, Any] = {"sites": []}
    after: str | None = None
    while True:
        page = (await client.data(SITES, after=after) if after else await client.data(SITES))["sites"]
        answers["sites"].append(page)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    answers["territories"] = await client.data(TERRITORIES)
    for site in ("0349", "0170", "0918"):
        for period in ("2025-03", "2025-04"):
            answers[f"preview {site} {period}"] = await client.data(PREVIEW, site=site, period=period)
    answers["previews"] = await client.data(PREVIEWS)
    answers["statements"] = await client.data(STATEMENTS)
    return answers


_TABLES = "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
_SEQUENCES = "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1"


async def _table_counts(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        tables = list((await conn.execute(text(_TABLES))).scalars())
        return {
            t: int((await conn.execute(text(f'SELECT count(*) FROM "{t}"'))).scalar_one()) for t in tables
        }


async def _sequences(engine: AsyncEngine) -> dict[str, int | None]:
    async with engine.connect() as conn:
        return {name: value for name, value in (await conn.execute(text(_SEQUENCES))).all()}


def _schema_lines(url: str) -> list[str]:
    """`pg_dump --schema-only` (DDL, GRANTs, policies, comments, owners) of a database, line by line."""
    target = backup.Target.from_url(url)
    tools = backup.find_tools(target)
    res = subprocess.run(
        [tools.path("pg_dump"), "--schema-only", "--no-password", "--dbname", target.uri],
        capture_output=True,
        text=True,
        check=True,
        env=target.env(),
        timeout=120,
    )
    lines = []
    for line in res.stdout.splitlines():
        # pg_dump >= 15.14 brackets a script with `\restrict KEY` / `\unrestrict KEY`, a random key per run.
        if line.startswith(("\\restrict", "\\unrestrict")):
            continue
        # CHECK and policy expressions are stored as parse trees and printed back: a restored one can print
        # differently with the same meaning (`ANY ((ARRAY['A'::varchar])::text[])` comes back as
        # `ANY (ARRAY[('A'::varchar)::text])`, nested ANDs flattened). Compare what they are and where only.
        line = re.sub(r"(CONSTRAINT \S+ CHECK ).*", r"\1...", line)
        line = re.sub(r"^(CREATE POLICY .*?)(?: USING \(| WITH CHECK \().*", r"\1 ...", line)
        lines.append(line)
    return lines


@pytest.fixture
async def restored_name(database_url: str) -> AsyncIterator[str]:
    """`<test database>_restore`, absent before the test and dropped after it."""
    name = f"{make_url(database_url).database}_restore"
    await _drop_database(database_url, name)
    try:
        yield name
    finally:
        await _drop_database(database_url, name)


async def test_a_restored_dump_answers_the_api_exactly_as_the_original(
    database_url: str,
    engine: AsyncEngine,
    imported: ImportSummary,
    committing_db: Database,
    gql: GraphQLClient,
    context: Context,
    schema: Any,
    restored_name: str,
    tmp_path: Path,
) -> None:
    # Statements are not in the imported baseline: commit two (committing_db deletes them at teardown).
    writer = GraphQLClient(schema, dataclasses.replace(context, db=committing_db))
    for site in STATEMENT_SITES:
        generated = await writer.data(GENERATE, site=site, key=f"backup-test-{site}")
        assert generated["generateStatement"]["__typename"] == "StatementPayload", generated

    path = tmp_path / "towne.dump"
    dumped = await asyncio.to_thread(backup.dump, database_url, path)
    assert path.is_file() and dumped.size_bytes == path.stat().st_size and dumped.tables >= 20
    assert not path.with_name(path.name + ".partial").exists()

    restored_url = _url(database_url, restored_name)
    result = await asyncio.to_thread(backup.restore, path, restored_url)
    assert result.created and result.tables == dumped.tables
    assert result.revision is not None and result.revision == result.head

    restored_engine = create_async_engine(restored_url)
    try:
        restored = GraphQLClient(schema, dataclasses.replace(context, db=Database(restored_engine)))
        original_answers, restored_answers = await asyncio.gather(_answers(gql), _answers(restored))
        assert original_answers["statements"]["statements"]["totalCount"] == len(STATEMENT_SITES)
        assert sum(len(page["edges"]) for page in original_answers["sites"]) == 649
        assert original_answers["preview 0349 2025-04"]["site"]["billingPreview"]["total"] == "33300.00"
        for key, answer in original_answers.items():
            assert restored_answers[key] == answer, key

        original_counts = await _table_counts(engine)
        assert original_counts["customer_site"] == 649 and original_counts["billing_statement"] == 2
        assert await _table_counts(restored_engine) == original_counts
        assert await _sequences(restored_engine) == await _sequences(engine)
    finally:
        await restored_engine.dispose()

    # Same tables, functions, triggers, indexes, GRANTs and policies.
    original_sql, restored_sql = await asyncio.gather(
        asyncio.to_thread(_schema_lines, database_url), asyncio.to_thread(_schema_lines, restored_url)
    )
    diff = list(difflib.unified_diff(original_sql, restored_sql, "original", "restored", lineterm="", n=1))
    assert not diff, "\n".join(diff[:60])

    # The target now holds objects: a second restore is refused and leaves it as it is.
    with pytest.raises(backup.BackupError, match=rf"database {restored_name} is not empty"):
        await asyncio.to_thread(backup.restore, path, restored_url)

    # A truncated copy (its table of contents, at the start, is intact) is found before anything is created.
    damaged = tmp_path / "truncated.dump"
    damaged.write_bytes(path.read_bytes()[: dumped.size_bytes // 2])
    with pytest.raises(backup.BackupError, match="is damaged"):
        await asyncio.to_thread(backup.verify, backup.newest_tools(), damaged)
    with pytest.raises(backup.BackupError, match="is damaged"):
        await asyncio.to_thread(backup.restore, damaged, _url(database_url, f"{restored_name}_damaged"))
    (left,) = await _sql(
        _url(database_url, "postgres"), f"SELECT 1 FROM pg_database WHERE datname = '{restored_name}_damaged'"
    )
    assert left == []


@pytest.fixture
async def scratch(database_url: str, engine: AsyncEngine) -> AsyncIterator[tuple[str, str, str]]:
    """A small database, a role only it uses, and the name of a restore target; all dropped afterwards."""
    base = make_url(database_url).database
    names = (f"{base}_scratch", f"{base}_probe_role", f"{base}_scratch_restore")
    async with engine.connect() as conn:
        may = (
            await conn.execute(
                text("SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user")
            )
        ).scalar_one()
    if not may:
        pytest.skip("the test role may not create roles")
    database, role, target = names

    async def drop() -> None:
        await _drop_database(database_url, database)
        await _drop_database(database_url, target)
        admin = create_async_engine(_url(database_url, "postgres"), isolation_level="AUTOCOMMIT")
        try:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        finally:
            await admin.dispose()

    await drop()
    try:
        yield names
    finally:
        await drop()


async def _sql(url: str, *statements: str) -> list[list[tuple[Any, ...]]]:
    """Run statements in autocommit mode; the rows of each (empty for those that return none)."""
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    out: list[list[tuple[Any, ...]]] = []
    try:
        async with engine.connect() as conn:
            for statement in statements:
                result = await conn.execute(text(statement))
                out.append([tuple(row) for row in result.all()] if result.returns_rows else [])
    finally:
        await engine.dispose()
    return out


async def test_restore_refuses_a_dump_whose_roles_the_server_lacks_and_cleans_on_request(
    database_url: str, scratch: tuple[str, str, str], tmp_path: Path
) -> None:
    database, role, target = scratch
    admin_url = _url(database_url, "postgres")
    await _sql(admin_url, f'CREATE ROLE "{role}" NOLOGIN', f'CREATE DATABASE "{database}"')
    source = _url(database_url, database)
    await _sql(
        source,
        "CREATE TABLE note (id int PRIMARY KEY, body text)",
        "INSERT INTO note VALUES (1, 'kept')",
        "ALTER TABLE note ENABLE ROW LEVEL SECURITY",
        f'CREATE POLICY readers ON note FOR SELECT TO "{role}" USING (true)',
        f'GRANT SELECT ON note TO "{role}"',
    )
    # Database-level settings and privileges: in the archive, applied by pg_restore only with --create.
    await _sql(
        admin_url,
        f"ALTER DATABASE \"{database}\" SET work_mem = '8MB'",
        f'REVOKE CONNECT ON DATABASE "{database}" FROM PUBLIC',
        f'GRANT CONNECT ON DATABASE "{database}" TO "{role}"',
    )
    path = tmp_path / "scratch.dump"
    await asyncio.to_thread(backup.dump, source, path)

    # A server without the role (as a new server is before `pg_dumpall --roles-only`): refused up front.
    await _sql(source, "DROP POLICY readers ON note", f'REVOKE SELECT ON note FROM "{role}"')
    await _sql(admin_url, f'REVOKE CONNECT ON DATABASE "{database}" FROM "{role}"', f'DROP ROLE "{role}"')
    with pytest.raises(backup.BackupError, match=rf"roles that do not exist on the target server: {role}\."):
        await asyncio.to_thread(backup.restore, path, _url(database_url, target))
    (exists,) = await _sql(admin_url, f"SELECT 1 FROM pg_database WHERE datname = '{target}'")
    assert exists == []

    # With the role back, the restore brings the GRANTs, the policy and the database's settings with it.
    await _sql(admin_url, f'CREATE ROLE "{role}" NOLOGIN')
    await asyncio.to_thread(backup.restore, path, _url(database_url, target))
    (policies, grants) = await _sql(
        _url(database_url, target),
        "SELECT policyname, roles::text FROM pg_policies WHERE tablename = 'note'",
        f"SELECT privilege_type FROM information_schema.table_privileges WHERE grantee = '{role}'",
    )
    assert policies == [("readers", "{" + role + "}")]
    assert grants == [("SELECT",)]
    (settings, connect) = await _sql(
        admin_url,
        "SELECT s.setconfig FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase "
        f"WHERE d.datname = '{target}' AND s.setrole = 0",
        "SELECT a.grantee::regrole::text FROM pg_database d, aclexplode(d.datacl) a "
        f"WHERE d.datname = '{target}' AND a.privilege_type = 'CONNECT' ORDER BY 1",
    )
    assert settings == [(["work_mem=8MB"],)]
    assert ("-",) not in connect and (role,) in connect  # grantee 0 (PUBLIC) prints as "-"

    # --clean replaces the dump's objects in a non-empty target.
    await _sql(_url(database_url, target), "UPDATE note SET body = 'changed'")
    result = await asyncio.to_thread(backup.restore, path, _url(database_url, target), clean=True)
    assert not result.created and result.tables == 1 and result.revision is None
    (rows,) = await _sql(_url(database_url, target), "SELECT body FROM note")
    assert rows == [("kept",)]


def test_client_tools_older_than_the_server_are_refused_with_what_to_install() -> None:
    backup.check_versions(16, 15, Path("/usr/lib/postgresql/16/bin"))
    with pytest.raises(backup.BackupError, match=r"apt-get install postgresql-client-17"):
        backup.check_versions(15, 17, Path("/usr/lib/postgresql/15/bin"))


def test_the_roles_of_a_dump_script_are_found() -> None:
    sql = "\n".join(
        [
            "ALTER TABLE public.customer_site OWNER TO towne;",
            "GRANT SELECT,INSERT ON TABLE public.customer_site TO towne_app;",
            'GRANT USAGE ON SCHEMA public TO towne_app, "Report ""Readers""";',
            "REVOKE ALL ON TABLE public.invoice FROM PUBLIC;",
            "CREATE POLICY site_scope ON public.customer_site FOR SELECT TO towne_app USING ((id > 0));",
            "CREATE POLICY everyone ON public.invoice USING (true);",
            "ALTER DEFAULT PRIVILEGES FOR ROLE migrator IN SCHEMA public GRANT SELECT ON TABLES TO towne_app;",
        ]
    )
    assert backup.roles_in_script(sql) == {"towne", "towne_app", 'Report "Readers"', "migrator"}


def test_libpq_uri_from_an_sqlalchemy_url_keeps_the_password_out_of_argv() -> None:
    target = backup.Target.from_url(
        "postgresql+asyncpg://app:s%40cret@db.example:5433/towne?ssl=require&prepared_statement_cache_size=0"
    )
    assert target.uri == "postgresql://app@db.example:5433/towne?sslmode=require"
    assert target.password == "s@cret" and target.env()["PGPASSWORD"] == "s@cret"
    assert (
        target.with_database("towne_restore").uri
        == "postgresql://app@db.example:5433/towne_restore?sslmode=require"
    )
