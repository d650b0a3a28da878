"""Benchmark: reporting over a year of statements (issue 11 §5: the summary within 1.5× of the same query in
plain SQL and under 300 ms; the statements register export of the year streamed in bounded memory).

    .venv/bin/python bench/reporting.py [--repeat 7] [--database towne_bench_reporting]

Builds (once) a scratch database `towne_bench_reporting` with the real sites, contracts and territories and a
SYNTHETIC year 2025 of statements for all 649 sites, labelled `created_by = 'bench-synthetic'`: only 16 real
contracts have rates, so the statements are written directly in the engine's shapes instead of computed (the
engine's own cost is bench/billing.py's): one statement per site and month, one invoice, a line per building
block of the site's real contract with that block's GL code (billable accounts: payroll 6000 and expenses
7000), amounts drawn deterministically from the site number, month and block. January–October are Sent (one in
ten also has an unsent v2 in AR Review); November and December wait in AR Review, Approval Team or Ready To
Send. The stored forecast is each month's revenue × a deterministic factor in 0.88–1.12.

Measured in the same run, best of N (and the median):

* `billingSummary` of 12 service periods × the 33 districts as assigned at each period × building block, through
  the GraphQL schema as a billing manager (row scopes applied), and its resolver alone;
* reference: the same aggregate written directly in SQL (the plainest correct query: latest Sent version
  by a correlated max, lines, assignment as of the period's last day), on the same connection settings, run
  as the owner (no row-level security) and as the application role with the same caller bound;
* peak Python memory (tracemalloc) of the GraphQL summary;
* the statements register export of the year (`/exports/statements.csv`, when the export module is
  present): time, body size and peak memory, beside `COPY (the register's SQL) TO STDOUT` on a raw connection.

Figures are recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from bench import end_request, migrate_and_import, request_context  # noqa: E402
from bench.billing import database_url  # noqa: E402
from db.database import Database  # noqa: E402
from db.repositories.users import Grants, upsert_user  # noqa: E402
from resolvers import reporting  # noqa: E402
from resolvers.context import Context  # noqa: E402
from schema import build_schema  # noqa: E402
from server.settings import Settings  # noqa: E402

BENCH_USER = "bench-reporting-manager"
LABEL = "bench-synthetic"
SUMMARY = """query { billingSummary(groupBy: [SERVICE_PERIOD, TERRITORY, BUILDING_BLOCK], fromPeriod: "2025-01",
    toPeriod: "2025-12", territoryLayer: "districts") {
  groups { key { servicePeriod territory { code } buildingBlock } invoicedAmount pendingAmount
           forecastInternalRevenue siteCount statementCount }
  total { invoicedAmount pendingAmount forecastInternalRevenue siteCount statementCount } } }"""

# GL code of each building block's synthetic line (billing/blocks/common.py; 4700 fixed fee as in the configs)
BLOCK_CODES = {
    "FIXED_FEE": "4700",
    "PER_LABOR_HOUR": "4720",
    "PER_OCCUPIED_ROOM": "4791",
    "REVENUE_SHARE": "4790",
    "BELL_SERVICE": "4795",
    "MID_MONTH_ADVANCE": "4790",
    "DEPOSITED_REVENUE": "4780",
    "BILLABLE_ACCOUNTS": "6000",
    "MANAGEMENT_AGREEMENT": "4791",
}

SYNTHESIS = [
    # one statement per site and month of 2025
    """INSERT INTO billing_statement (id, site_id, contract_id, service_period_start, service_period_end)
       SELECT gen_random_uuid(), cs.id, ct.id, d::date, (d + interval '1 month' - interval '1 day')::date
         FROM customer_site cs JOIN contract ct ON ct.site_id = cs.id
        CROSS JOIN generate_series(date '2025-01-01', date '2025-12-01', interval '1 month') AS d""",
    # v1: Sent up to October, else waiting in a status drawn from the site and month
    """INSERT INTO statement_version (id, statement_id, version, revision, status, billing_type,
                                      rate_selection_date, sent_at, created_by)
       SELECT gen_random_uuid(), s.id, 1, 1, st.status, ct.billing_type, s.service_period_start,
              CASE WHEN st.status = 'SENT' THEN s.service_period_end + interval '5 days' END, :label
         FROM billing_statement s JOIN contract ct ON ct.id = s.contract_id
         JOIN customer_site cs ON cs.id = s.site_id
        CROSS JOIN LATERAL (SELECT CASE WHEN s.service_period_start < date '2025-11-01' THEN 'SENT'
                                   ELSE (ARRAY['AR_REVIEW', 'APPROVAL_TEAM', 'READY_TO_SEND'])
                                        [1 + abs(hashtext(cs.site_number || s.service_period_start::text)) % 3]
                                   END AS status) st""",
    # one Sent statement in ten has an unsent v2 in AR Review (a regeneration after sending, §3.3)
    """INSERT INTO statement_version (id, statement_id, version, revision, status, billing_type,
                                      rate_selection_date, created_by)
       SELECT gen_random_uuid(), v.statement_id, 2, 1, 'AR_REVIEW', v.billing_type, v.rate_selection_date, :label
         FROM statement_version v JOIN billing_statement s ON s.id = v.statement_id
         JOIN customer_site cs ON cs.id = s.site_id
        WHERE v.status = 'SENT' AND abs(hashtext('v2' || cs.site_number || s.service_period_start::text)) % 10 = 0""",
    # one invoice per version (group 1), numbered as §3.4 numbers them
    """INSERT INTO invoice (id, statement_version_id, group_number, invoice_number, invoice_date, amount,
                            site_number)
       SELECT gen_random_uuid(), v.id, 1, cs.site_number || '-' || to_char(s.service_period_start, 'YYYYMM') || '-01-'
                       || lpad(v.version::text, 2, '0'),
              s.service_period_end, 0, cs.site_number
         FROM statement_version v JOIN billing_statement s ON s.id = v.statement_id
         JOIN customer_site cs ON cs.id = s.site_id""",
    # a line per building block of the real contract (billable accounts: payroll and expenses)
    """INSERT INTO invoice_line (id, invoice_id, position, building_block, title, code, amount)
       SELECT gen_random_uuid(), i.id, row_number() OVER (PARTITION BY i.id ORDER BY b.block, b.code), b.block,
              initcap(replace(lower(b.block), '_', ' ')), b.code,
              round((500 + abs(hashtext(cs.site_number || s.service_period_start::text || b.block || b.code))
                     % 2450000 / 100.0)::numeric, 2)
         FROM invoice i
         JOIN statement_version v ON v.id = i.statement_version_id
         JOIN billing_statement s ON s.id = v.statement_id
         JOIN customer_site cs ON cs.id = s.site_id
         JOIN contract ct ON ct.id = s.contract_id
        CROSS JOIN LATERAL (
            SELECT blk AS block, c.code FROM unnest(ct.building_blocks) AS blk
              JOIN LATERAL (SELECT unnest(CASE WHEN blk = 'BILLABLE_ACCOUNTS' THEN ARRAY['6000', '7000']
                                             ELSE ARRAY[(:codes)::jsonb ->> blk] END) AS code) c ON true
             WHERE blk <> 'INVOICE_GROUPING'
        ) b""",
    """UPDATE invoice i SET amount = l.amount
         FROM (SELECT invoice_id, sum(amount) AS amount FROM invoice_line GROUP BY invoice_id) l
        WHERE l.invoice_id = i.id""",
    # the stored forecast: the month's revenue × 0.88 … 1.12
    """INSERT INTO forecast_internal_revenue (site_id, period, amount, synthetic)
       SELECT s.site_id, to_char(s.service_period_start, 'YYYYMM'),
              round(sum(l.amount) * (0.88 + (abs(hashtext('fc' || s.site_id::text || s.service_period_start::text))
                                             % 25) / 100.0), 2), true
         FROM billing_statement s
         JOIN statement_version v ON v.statement_id = s.id AND v.version = 1
         JOIN invoice i ON i.statement_version_id = v.id
         JOIN invoice_line l ON l.invoice_id = i.id
        WHERE l.code BETWEEN '4000' AND '4999'
        GROUP BY s.site_id, s.service_period_start
       ON CONFLICT DO NOTHING""",
]

# The same aggregate as SUMMARY, written the plainest correct way (one statement, no grouping sets).
REFERENCE = """
WITH lines AS (
    SELECT s.site_id, s.id AS statement_id, s.service_period_start AS period, v.status,
           l.building_block, l.amount, NULL::numeric AS forecast
      FROM billing_statement s
      JOIN statement_version v ON v.statement_id = s.id AND NOT v.superseded
       AND (v.status <> 'SENT' OR v.version = (SELECT max(w.version) FROM statement_version w
                                                WHERE w.statement_id = s.id AND w.status = 'SENT'))
      JOIN invoice i ON i.statement_version_id = v.id
      JOIN invoice_line l ON l.invoice_id = i.id
     WHERE s.service_period_start BETWEEN date '2025-01-01' AND date '2025-12-01'
    UNION ALL
    SELECT f.site_id, NULL, to_date(f.period, 'YYYYMM'), NULL, NULL, NULL, f.amount
      FROM forecast_internal_revenue f WHERE f.period BETWEEN '202501' AND '202512'
)
SELECT x.period, t.code, x.building_block,
       coalesce(sum(x.amount) FILTER (WHERE x.status = 'SENT'), 0) AS invoiced,
       coalesce(sum(x.amount) FILTER (WHERE x.status <> 'SENT'), 0) AS pending,
       coalesce(sum(x.forecast), 0) AS forecast,
       count(DISTINCT x.site_id) AS sites, count(DISTINCT x.statement_id) AS statements
  FROM lines x
  LEFT JOIN site_territory_assignment a
         ON a.site_id = x.site_id AND a.layer_id = (SELECT id FROM territory_layer WHERE code = 'districts')
        AND a.valid_from <= ((x.period + interval '1 month')::timestamp AT TIME ZONE 'UTC') - interval '1 microsecond'
        AND (a.valid_to IS NULL
             OR a.valid_to > ((x.period + interval '1 month')::timestamp AT TIME ZONE 'UTC') - interval '1 microsecond')
  LEFT JOIN territory t ON t.id = a.territory_id
 GROUP BY 1, 2, 3
"""


async def ensure_data(url: str) -> int:
    """The bench database with the synthetic year; returns the number of its invoice lines."""
    import json

    database = await migrate_and_import(url)
    try:
        async with database.transaction() as session:
            count = (
                await session.execute(
                    text("SELECT count(*) FROM statement_version WHERE created_by = :l"), {"l": LABEL}
                )
            ).scalar_one()
            if not count:
                print("writing a SYNTHETIC year of statements for every site …", file=sys.stderr)
                for sql in SYNTHESIS:
                    await session.execute(text(sql), {"label": LABEL, "codes": json.dumps(BLOCK_CODES)})
        async with database.transaction() as session:
            await session.execute(text("ANALYZE"))
            return int((await session.execute(text("SELECT count(*) FROM invoice_line"))).scalar_one())
    finally:
        await database.dispose()


def summary_of(samples: list[float]) -> dict[str, float]:
    return {"best": min(samples), "median": statistics.median(samples)}


async def run(repeat: int, database: str) -> dict[str, Any]:
    url = database_url(database)
    lines = await ensure_data(url)
    # the server's connection settings (db.database.Database.from_url: jit off), for the API and the references
    engine = create_async_engine(url, pool_size=4, connect_args={"server_settings": {"jit": "off"}})
    owner = Database(engine)
    async with owner.transaction() as session:
        await upsert_user(
            session, subject=BENCH_USER, grants=Grants(roles=("billingManager",)), granted_by="bench"
        )
    settings = Settings(DATABASE_URL=url)
    db = Database(engine, assume_role=settings.app_role)
    schema = build_schema()

    async def request() -> Context:
        return await request_context(db, settings, BENCH_USER)

    results: dict[str, Any] = {"lines": lines}
    try:
        graphql: list[float] = []
        for _ in range(repeat):
            started = time.perf_counter()
            context = await request()
            result = await schema.execute(SUMMARY, context_value=context)
            await end_request(context)
            graphql.append(time.perf_counter() - started)
            assert result.errors is None, result.errors
        assert result.data is not None
        groups = result.data["billingSummary"]["groups"]
        total = result.data["billingSummary"]["total"]
        results["groups"] = len(groups)
        results["total"] = total

        tracemalloc.start()
        context = await request()
        await schema.execute(SUMMARY, context_value=context)
        await end_request(context)
        results["graphql_peak_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()

        request_ = reporting.summary_request(
            group_by=[
                reporting.Dimension.SERVICE_PERIOD,
                reporting.Dimension.TERRITORY,
                reporting.Dimension.BUILDING_BLOCK,
            ],
            from_period="2025-01",
            to_period="2025-12",
            layer="districts",
            filter=reporting.SummaryFilter(),
        )
        resolver: list[float] = []
        for _ in range(repeat):
            started = time.perf_counter()
            context = await request()
            await reporting.billing_summary(context, request_)
            await end_request(context)
            resolver.append(time.perf_counter() - started)

        as_owner: list[float] = []
        reference_rows: list[Any] = []
        for _ in range(repeat):
            async with engine.connect() as conn:
                started = time.perf_counter()
                reference_rows = list((await conn.execute(text(REFERENCE))).mappings())
                as_owner.append(time.perf_counter() - started)
        as_app: list[float] = []
        for _ in range(repeat):
            async with engine.connect() as conn:
                started = time.perf_counter()
                async with conn.begin():
                    await conn.execute(text(f"SET LOCAL ROLE {settings.app_role}"))
                    await conn.execute(text("SELECT towne_begin_request(:s)"), {"s": BENCH_USER})
                    (await conn.execute(text(REFERENCE))).all()
                as_app.append(time.perf_counter() - started)
        # the reference agrees with the API, to the cent
        invoiced = sum((r["invoiced"] for r in reference_rows), Decimal(0))
        assert invoiced == Decimal(total["invoicedAmount"]), (invoiced, total)
        assert len(reference_rows) == len(groups), (len(reference_rows), len(groups))

        results.update(
            graphql=summary_of(graphql),
            resolver=summary_of(resolver),
            reference_owner=summary_of(as_owner),
            reference_app=summary_of(as_app),
        )
        results["export"] = await measure_export(engine, settings, repeat=max(1, repeat // 3))
    finally:
        await engine.dispose()
    return results


async def measure_export(engine: Any, settings: Settings, *, repeat: int) -> dict[str, Any]:
    """The statements register of the year through `/exports/statements.csv` (streamed, as a billing manager
    with row scopes), beside `COPY (the same SELECT) TO STDOUT` on a raw connection as the owner."""
    import datetime as dt

    import asyncpg
    import httpx
    from sqlalchemy.dialects import postgresql

    from db.repositories import exports as export_repo
    from server.app import create_app
    from server.exports import statement_filter
    from server.tokens import issue

    url = engine.url.render_as_string(hide_password=False).replace("+asyncpg", "")
    secret = "bench-reporting-" + "x" * 40
    app_settings = Settings(DATABASE_URL=url, TOWNE_JWT_SECRET=secret)
    db = Database(engine, assume_role=settings.app_role)
    app = create_app(app_settings, db=db)
    headers = {"authorization": "Bearer " + issue(app_settings, BENCH_USER, ttl=dt.timedelta(hours=1))}
    params = {"from": "2025-01", "to": "2025-12"}

    async def export() -> tuple[int, int]:
        size = lines = 0
        async with (
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as http,
            http.stream("GET", "/exports/statements.csv", params=params, headers=headers) as response,
        ):
            assert response.status_code == 200, await response.aread()
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                lines += chunk.count(b"\n")
        return size, lines - 1

    times: list[float] = []
    for _ in range(repeat):
        started = time.perf_counter()
        size, rows = await export()
        times.append(time.perf_counter() - started)
    tracemalloc.start()
    await export()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()

    context = await request_context(db, settings, BENCH_USER)
    query, periods, _ = await statement_filter(params, context)
    await end_request(context)
    statement = export_repo.statement_register(query, periods, dt.datetime.now(dt.UTC).date())
    sql = str(statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))  # type: ignore[no-untyped-call]
    copies: list[float] = []
    connection = await asyncpg.connect(url)
    try:
        for _ in range(repeat):
            received = 0

            async def sink(chunk: bytes) -> None:
                nonlocal received
                received += len(chunk)

            started = time.perf_counter()
            await connection.copy_from_query(sql, output=sink, format="csv", header=True)
            copies.append(time.perf_counter() - started)
    finally:
        await connection.close()
    return {"rows": rows, "bytes": size, "export_s": min(times), "copy_s": min(copies), "peak_mib": peak,
            "copy_bytes": received}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--database", default="towne_bench_reporting", help="scratch database name")
    args = parser.parse_args()
    r = asyncio.run(run(args.repeat, args.database))
    g, res, ro, ra = r["graphql"], r["resolver"], r["reference_owner"], r["reference_app"]
    print(
        f"billingSummary: 12 periods × districts as of each period × building block, {r['groups']} groups over "
        f"{r['lines']} invoice lines (best / median of {args.repeat}):"
    )
    print(
        f"  reference  plain SQL as the owner (no RLS)      {ro['best'] * 1000:7.1f} / {ro['median'] * 1000:7.1f} ms"
    )
    print(
        f"  reference  plain SQL as towne_app, caller bound {ra['best'] * 1000:7.1f} / {ra['median'] * 1000:7.1f} ms"
    )
    print(
        f"  resolver   billing_summary                     {res['best'] * 1000:7.1f} / {res['median'] * 1000:7.1f} ms"
        f"  ×{res['best'] / ra['best']:.2f} reference (app)"
    )
    ratio = g["best"] / ra["best"]
    print(
        f"  GraphQL    billingSummary                      {g['best'] * 1000:7.1f} / {g['median'] * 1000:7.1f} ms"
        f"  ×{ratio:.2f} reference (app), ×{g['best'] / ro['best']:.2f} reference (owner)"
        f"   targets ≤ 1.5× and < 300 ms: {'met' if ratio <= 1.5 and g['best'] < 0.3 else 'MISSED'}"
    )
    print(f"  GraphQL    peak Python memory                  {r['graphql_peak_mib']:.1f} MiB")
    export = r["export"]
    if export:
        print(
            f"statements register export of the year, {export['rows']} rows, {export['bytes'] / 2**20:.1f} MiB CSV:"
        )
        print(f"  reference  COPY … TO STDOUT                    {export['copy_s'] * 1000:7.1f} ms")
        print(
            f"  export     /exports/statements.csv             {export['export_s'] * 1000:7.1f} ms"
            f"  ×{export['export_s'] / export['copy_s']:.2f} reference, peak Python memory "
            f"{export['peak_mib']:.1f} MiB"
        )


if __name__ == "__main__":
    main()
