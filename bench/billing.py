"""Benchmark: billing previews of the whole portfolio and of one site (issue 8: portfolio ≤ 30× the pure engine,
one site < 10 ms median; earlier: portfolio < 2 s, one site < 20 ms).

    .venv/bin/python bench/billing.py [--period 2025-04] [--repeat 5] [--database towne_bench_billing]

Builds (once) a scratch database `towne_bench_billing` with the real sites and contracts and SYNTHETIC facts
for the period, then measures in the same run:

* portfolio: `billingPreviews(servicePeriod, first: 1000)` through the GraphQL schema (one call, 649 sites);
* the same without GraphQL (`resolvers.billing.portfolio_previews`);
* reference: the pure engine alone (`billing.preview` for every site, facts already in memory, one row per
  source row as `load_facts` reads them), so the ratios show what the database round trips and GraphQL add;
  also the engine on the facts summed in SQL (`load_reduced_facts`, what the service path computes on);
* one site: `site(siteNumber) { billingPreview }` for each of the 16 fully configured contracts.

Prints best-of-N seconds and per-site cost. Figures are recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import func, select, text  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from bench import end_request, migrate_and_import, request_context  # noqa: E402
from billing import ServicePeriod, preview  # noqa: E402
from db.database import Database  # noqa: E402
from db.models import CustomerSite, RevenueDaily  # noqa: E402
from db.repositories.users import Grants, upsert_user  # noqa: E402
from resolvers.billing import load_billables, portfolio_previews  # noqa: E402
from resolvers.context import Context  # noqa: E402
from schema import build_schema  # noqa: E402
from server.settings import Settings, normalise_url  # noqa: E402

SNAPSHOT_SITES = ("0170", "0198", "0200", "0208", "0212", "0237", "0242", "0293", "0338", "0349", "0429", "0451",
                  "0487", "0534", "0918", "1078")  # fmt: skip
PORTFOLIO = """query ($p: String!) { billingPreviews(servicePeriod: $p, first: 1000) {
  site { siteNumber } preview { total invoices { invoiceNumber amount lines { code amount } } } } }"""
ONE_SITE = """query ($n: String!, $p: String) { site(siteNumber: $n) { billingPreview(servicePeriod: $p) {
  total invoices { invoiceNumber amount lines { title code amount explanation } } } } }"""


BENCH_USER = "bench-billing-manager"


def database_url(name: str = "towne_bench_billing") -> str:
    """The bench database `name` on the server of `DATABASE_URL` (which must hold it), else on the dev cluster."""
    import os

    if os.environ.get("DATABASE_URL"):
        from sqlalchemy.engine import make_url

        return (
            make_url(normalise_url(os.environ["DATABASE_URL"]))
            .set(database=name)
            .render_as_string(hide_password=False)
        )
    from server import devdb

    return devdb.ensure_database(name)


async def ensure_data(url: str, period: str) -> None:
    from importer.facts import generate

    database = await migrate_and_import(url)
    try:
        start = ServicePeriod.parse(period).start
        async with database.read() as session:
            facts = (
                await session.execute(select(func.count()).where(RevenueDaily.date == start))
            ).scalar_one()
        if not facts:
            print(f"generating SYNTHETIC facts for {period} …", file=sys.stderr)
            async with database.transaction() as session:
                await generate(session, period, period)
    finally:
        await database.dispose()


def best(samples: list[float]) -> float:
    return min(samples)


async def run(period_text: str, repeat: int, database: str = "towne_bench_billing") -> dict[str, Any]:
    url = database_url(database)
    await ensure_data(url, period_text)
    period = ServicePeriod.parse(period_text)
    engine = create_async_engine(url, pool_size=5)
    owner = Database(engine)
    async with owner.transaction() as session:  # measured as a billing manager, row scopes applied
        await upsert_user(
            session, subject=BENCH_USER, grants=Grants(roles=("billingManager",)), granted_by="bench"
        )
    db = Database(engine, assume_role=Settings(DATABASE_URL=url).app_role)
    schema = build_schema()
    settings = Settings(DATABASE_URL=url)

    async def request() -> Context:
        return await request_context(db, settings, BENCH_USER)

    results: dict[str, Any] = {"period": period_text}
    try:
        async with owner.read() as session:
            site_ids = list((await session.execute(select(CustomerSite.id))).scalars())
            billables = await load_billables(session, site_ids=site_ids)
            from billing import fact_needs
            from db.repositories.facts import load_facts, load_reduced_facts
            from resolvers.billing import facts_start

            configs = {s: b.config_for(period) for s, b in billables.items()}
            facts = await load_facts(
                session,
                windows={s: facts_start(configs[s], period) for s in billables},
                end=period.end,
                period=period.yyyymm,
            )
            reduced = await load_reduced_facts(
                session, needs={s: fact_needs(configs[s], period) for s in billables}, period=period
            )
            await session.execute(text("SELECT 1"))
        results["sites"] = len(billables)

        engine_only: list[float] = []
        for _ in range(repeat):
            started = time.perf_counter()
            for site_id in billables:
                preview(configs[site_id], period, facts[site_id])
            engine_only.append(time.perf_counter() - started)
        engine_reduced: list[float] = []
        for _ in range(repeat):
            started = time.perf_counter()
            for site_id in billables:
                preview(configs[site_id], period, reduced[site_id])
            engine_reduced.append(time.perf_counter() - started)

        service: list[float] = []
        for _ in range(repeat):
            started = time.perf_counter()
            context = await request()
            _, previews = await portfolio_previews(context, raw=None, period=period, limit=1000)
            await end_request(context)
            service.append(time.perf_counter() - started)
        assert len(previews) == len(billables)

        graphql: list[float] = []
        for _ in range(repeat):
            started = time.perf_counter()
            context = await request()
            result = await schema.execute(
                PORTFOLIO, variable_values={"p": period_text}, context_value=context
            )
            await end_request(context)
            graphql.append(time.perf_counter() - started)
            assert result.errors is None, result.errors
        results["portfolio_rows"] = len(result.data["billingPreviews"])  # type: ignore[index]

        one: list[float] = []
        for _ in range(repeat):
            for number in SNAPSHOT_SITES:
                started = time.perf_counter()
                context = await request()
                r = await schema.execute(
                    ONE_SITE, variable_values={"n": number, "p": period_text}, context_value=context
                )
                await end_request(context)
                one.append(time.perf_counter() - started)
                assert r.errors is None, r.errors
        results.update(
            engine_s=best(engine_only),
            engine_reduced_s=best(engine_reduced),
            service_s=best(service),
            graphql_s=best(graphql),
            one_site_median_ms=statistics.median(one) * 1000,
            one_site_p90_ms=sorted(one)[int(len(one) * 0.9)] * 1000,
        )
    finally:
        await engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--period", default="2025-04")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database", default="towne_bench_billing", help="scratch database name")
    args = parser.parse_args()
    r = asyncio.run(run(args.period, args.repeat, args.database))
    n = r["sites"]
    print(f"billing previews, {n} sites, service period {r['period']} (best of {args.repeat}):")
    print(
        f"  reference  pure engine, facts in memory   {r['engine_s']:.3f} s  {r['engine_s'] / n * 1000:.2f} ms/site"
    )
    print(
        f"  reference  pure engine, facts summed in SQL {r['engine_reduced_s']:.3f} s"
        f"  {r['engine_reduced_s'] / n * 1000:.2f} ms/site"
    )
    print(
        f"  portfolio  service (SQL + engine)         {r['service_s']:.3f} s  {r['service_s'] / n * 1000:.2f} ms/site"
        f"  ×{r['service_s'] / r['engine_s']:.1f} reference"
    )
    print(
        f"  portfolio  GraphQL billingPreviews        {r['graphql_s']:.3f} s  {r['graphql_s'] / n * 1000:.2f} ms/site"
        f"  ×{r['graphql_s'] / r['engine_s']:.1f} reference   target ≤ 30× reference: {'met' if r['graphql_s'] <= 30 * r['engine_s'] else 'MISSED'}"
    )
    print(
        f"  one site   GraphQL site.billingPreview    median {r['one_site_median_ms']:.1f} ms, p90 {r['one_site_p90_ms']:.1f} ms"
        f"   target < 10 ms: {'met' if r['one_site_median_ms'] < 10 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
