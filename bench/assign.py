"""Benchmark: point-in-polygon assignment of N synthetic sites to the district layer, PostGIS against shapely 2.

    .venv/bin/python bench/assign.py [--n 1000000] [--repeat 3] [--seed 42]      (`make bench`)

Rebuilds the scratch database `towne_bench` (schema `public` dropped, `alembic upgrade head`; on the server
of DATABASE_URL when it is set, else in the embedded cluster), loads the real district layer
(`data/towne-park/territories/districts.geojson`, 33 MultiPolygons, subdivided into `territory_part` by
the production trigger) and N seeded random points as `customer_site` rows, then measures in the same run:

* shapely (the reference): `shapely.prepare` on each district, `shapely.contains_xy(district, xs, ys)` over
  numpy arrays, first hit in (priority, code) order wins; timed from WKB to the result array;
* PostGIS decision: the `hits`/`desired` part of `towne_assign_layer`, read from the installed function and
  run the way the function runs it (generic plan, the function's own settings, no parallel workers:
  PostgreSQL never plans a statement with data-modifying CTEs in parallel); one count at the end;
* PostGIS full assignment: `SELECT * FROM towne_assign_layer(layer)` on an empty history (N rows
  written, with their indexes, foreign-key checks and the deferred exclusion constraint), COMMIT included;
* PostGIS no-op re-assignment: the same call again, nothing changes;
* the trigger path, for the record: the function for 1 and for 1,000 given sites (nothing changes).

Then checks that both engines agree, point by point and per district (exit status 1 when they do not).

Bench-only relaxation: N sites need N site numbers, so the bench drops the 4-digit CHECK on
`customer_site.site_number` and widens it to text (the unique constraint stays). Everything the
assignment reads or writes (location, its GiST index, the parts, the function, the history table and its
constraints) is as in production.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # our `migrations`/`schema` must win over PyPI namesakes
    sys.path.insert(0, str(REPO_ROOT))

import asyncpg  # noqa: E402
import numpy as np  # noqa: E402
import numpy.typing as npt  # noqa: E402
import shapely  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from sqlalchemy.engine import Connection, make_url  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from db.database import empty_database  # noqa: E402
from db.repositories.assignments import CLUSTER_SITES_SQL  # noqa: E402
from importer.territories import LAYERS, read_layer  # noqa: E402
from server.settings import normalise_url  # noqa: E402

BENCH_DB = "towne_bench"
TERRITORIES_DIR = REPO_ROOT / "data" / "towne-park" / "territories"
DISTRICTS = next(layer for layer in LAYERS if layer.code == "districts")
TARGET_RATIO = 1.5  # the issue's target for the decision: within 1.5× of shapely
NO_TERRITORY = "(none)"

# Where the synthetic sites fall: share of N and (west, south, east, north) in degrees. Uniform boxes over
# the US with their ocean, Canada and Mexico, so that part of the points lies in no district.
BOXES: tuple[tuple[str, float, tuple[float, float, float, float]], ...] = (
    ("conterminous US", 0.84, (-125.0, 24.4, -66.9, 49.4)),
    ("Alaska", 0.10, (-180.0, 51.2, -129.9, 71.5)),
    ("Aleutians east of 180°", 0.01, (172.4, 51.2, 180.0, 53.1)),
    ("Hawaii", 0.05, (-160.3, 18.9, -154.8, 22.3)),
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
console = Console(highlight=False, soft_wrap=True)


@dataclass(frozen=True)
class Territory:
    id: int
    code: str
    area_km2: float
    wkb: bytes


@dataclass
class Timings:
    shapely: list[float] = field(default_factory=list)
    decision: list[float] = field(default_factory=list)
    clustered: list[float] = field(default_factory=list)
    full: list[float] = field(default_factory=list)
    noop: list[float] = field(default_factory=list)


# ------------------------------------------------------------------------------------------- database


def bench_database_url() -> str:
    """`towne_bench` on the server of DATABASE_URL, or in the embedded cluster (started when needed)."""
    raw = os.environ.get("DATABASE_URL")
    if raw:
        return make_url(normalise_url(raw)).set(database=BENCH_DB).render_as_string(hide_password=False)
    from server import devdb

    return devdb.ensure_database(BENCH_DB)


def asyncpg_dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


async def create_database_if_missing(url: str) -> None:
    admin = await asyncpg.connect(asyncpg_dsn(url, "postgres"))
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", BENCH_DB):
            await admin.execute(f'CREATE DATABASE "{BENCH_DB}"')
    finally:
        await admin.close()


def _upgrade_head(connection: Connection) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def rebuild_schema(url: str) -> None:
    """Drop schema `public` and build it again with `alembic upgrade head` (the only way to build it)."""
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await empty_database(conn)
            await conn.run_sync(_upgrade_head)
    finally:
        await engine.dispose()


async def load_districts(conn: Any) -> int:
    """Insert the district layer; the production trigger builds `territory_part`. Returns the layer id."""
    rows, issues = read_layer(TERRITORIES_DIR, DISTRICTS)
    if issues:
        raise SystemExit("districts.geojson did not import cleanly:\n" + "\n".join(map(str, issues)))
    layer_id: int = await conn.fetchval(
        "INSERT INTO territory_layer (code, name, kind, description) VALUES ($1, $2, $3, $4) RETURNING id",
        DISTRICTS.code,
        DISTRICTS.name,
        DISTRICTS.kind,
        DISTRICTS.description,
    )
    await conn.execute(
        "INSERT INTO territory (layer_id, code, name, source_district, geom) "
        "SELECT $1, u.code, u.name, u.source_district, ST_GeomFromWKB(u.wkb, 4326) "
        "FROM unnest($2::text[], $3::text[], $4::text[], $5::bytea[]) AS u(code, name, source_district, wkb)",
        layer_id,
        [r["code"] for r in rows],
        [r["name"] for r in rows],
        [r["source_district"] for r in rows],
        [bytes(r["geom"].data) for r in rows],
    )
    return layer_id


async def load_sites(conn: Any, xs: FloatArray, ys: FloatArray, seed: int) -> None:
    """N sites at (xs[i], ys[i]) with site number i, loaded by COPY + one INSERT, site triggers disabled."""
    await conn.execute("ALTER TABLE customer_site DROP CONSTRAINT ck_customer_site_site_number_format")
    # the reporting views (migration 0015) pin the column's type; the bench database does not report
    await conn.execute("DROP SCHEMA IF EXISTS reporting CASCADE")
    await conn.execute("ALTER TABLE customer_site ALTER COLUMN site_number TYPE text")
    await conn.execute(
        "CREATE TEMP TABLE bench_point (i integer NOT NULL, x float8 NOT NULL, y float8 NOT NULL)"
    )
    await conn.copy_records_to_table(
        "bench_point",
        records=zip(range(len(xs)), xs.tolist(), ys.tolist(), strict=True),
        columns=["i", "x", "y"],
    )
    await conn.execute("ALTER TABLE customer_site DISABLE TRIGGER customer_site_after_insert")
    await conn.execute(
        "INSERT INTO customer_site (id, site_number, name, address, street, state, zip, gl_string, "
        "location, geocode_method) "
        "SELECT md5($1 || ':' || i)::uuid, i::text, 'Bench site ' || i, 'synthetic', 'synthetic', 'ZZ', "
        "'00000', '00-00-0000-', ST_SetSRID(ST_MakePoint(x, y), 4326), 'manual' "
        "FROM bench_point ORDER BY i",
        str(seed),
    )
    await conn.execute("ALTER TABLE customer_site ENABLE TRIGGER customer_site_after_insert")
    await conn.execute("DROP TABLE bench_point")
    await conn.execute("VACUUM ANALYZE customer_site")
    await conn.execute("ANALYZE territory")
    await conn.execute("ANALYZE territory_part")


async def territories(conn: Any, layer_id: int) -> list[Territory]:
    """The layer's territories in tie-rule order: lowest priority (the area at creation) first, then code
    (domain.md §4.3, migration 0009)."""
    rows = await conn.fetch(
        "SELECT id, code, area_km2, ST_AsBinary(geom) AS wkb FROM territory WHERE layer_id = $1 "
        "ORDER BY priority, code",
        layer_id,
    )
    return [Territory(r["id"], r["code"], r["area_km2"], bytes(r["wkb"])) for r in rows]


async def decision_sql(conn: Any) -> tuple[str, list[str]]:
    """The `hits` and `desired` CTEs of the whole-layer statement of the installed `towne_reassign` (the
    rule `towne_assign_layer` wraps, migration 0009), and the function's settings.

    Parameters: $1 layer id, $2 site ids (NULL: all; the whole-layer statement does not read it). Ends
    without a final SELECT.
    """
    row = await conn.fetchrow(
        "SELECT prosrc, coalesce(proconfig, '{}') AS config FROM pg_proc WHERE proname = 'towne_reassign'"
    )
    if row is None:
        raise SystemExit("no towne_reassign in the database: migrate it to head first")
    source: str = row["prosrc"]
    start = source.find("WITH hits AS")
    end = source.find("current_rows AS", start)
    if start < 0 or end < start:
        raise SystemExit("towne_reassign no longer has the `hits`, `desired`, `current_rows` CTEs")
    ctes = source[start:end].rstrip().rstrip(",")
    if "p_at" in ctes:
        raise SystemExit("the decision CTEs of towne_reassign use p_at: update bench/assign.py")
    ctes = re.sub(r"\bp_layer_id\b", "$1::integer", ctes)
    ctes = re.sub(r"\bp_site_ids\b", "$2::uuid[]", ctes)
    if "$2" not in ctes:  # keep the two parameters the callers pass
        ctes += ",\nsite_ids AS (SELECT $2::uuid[] AS ids)"
    return ctes, list(row["config"])


async def configure_like_the_function(conn: Any, function_settings: Sequence[str]) -> None:
    """Plan and run the decision as inside `towne_assign_layer`.

    SQL functions plan their statements without parameter values (a generic plan); the function's SET
    clauses apply; a statement that writes never gets parallel workers.
    """
    await conn.execute("SET plan_cache_mode = force_generic_plan")
    await conn.execute("SET max_parallel_workers_per_gather = 0")
    for setting in function_settings:
        name, _, value = setting.partition("=")
        await conn.execute("SELECT set_config($1, $2, false)", name, value)


# --------------------------------------------------------------------------------------------- points


def synthetic_points(n: int, seed: int) -> tuple[FloatArray, FloatArray]:
    """N seeded uniform points over BOXES, shuffled (the load order is the site number order)."""
    rng = np.random.default_rng(seed)
    counts = [int(n * share) for _, share, _ in BOXES]
    counts[0] += n - sum(counts)
    xs = np.empty(n)
    ys = np.empty(n)
    at = 0
    for count, (_, _, (west, south, east, north)) in zip(counts, BOXES, strict=True):
        xs[at : at + count] = rng.uniform(west, east, count)
        ys[at : at + count] = rng.uniform(south, north, count)
        at += count
    order = rng.permutation(n)
    return xs[order], ys[order]


def shapely_assign(wkbs: Sequence[bytes], xs: FloatArray, ys: FloatArray) -> IntArray:
    """Index (into `wkbs`, which is in tie-rule order) of the territory of each point, or -1.

    The practical lower bound: prepared polygons, `contains_xy` over the whole arrays, first hit wins.
    `contains_xy` is interior-only where ST_Covers also counts the boundary; random doubles do not land on
    a boundary, and the comparison below would show it if one did.
    """
    geoms = shapely.from_wkb(list(wkbs))
    shapely.prepare(geoms)
    result = np.full(xs.shape, -1, dtype=np.int64)
    for index, geom in enumerate(geoms):
        inside = shapely.contains_xy(geom, xs, ys)
        inside &= result < 0
        result[inside] = index
    return result


# ------------------------------------------------------------------------------------------- checking


def counts_by_code(territory_ids: IntArray, code_of: dict[int, str]) -> Counter[str]:
    ids, counts = np.unique(territory_ids, return_counts=True)
    return Counter({code_of.get(int(i), NO_TERRITORY): int(c) for i, c in zip(ids, counts, strict=True)})


def compare(
    shapely_counts: Counter[str],
    decision_counts: Counter[str],
    history_counts: Counter[str],
    codes: list[str],
) -> bool:
    table = Table(title="Points per district: shapely vs PostGIS", title_justify="left")
    for column in ("district", "shapely", "PostGIS decision", "PostGIS history", ""):
        table.add_column(column, justify="left" if column == "district" else "right")
    agree = True
    for code in [*codes, NO_TERRITORY]:
        values = (shapely_counts[code], decision_counts[code], history_counts[code])
        same = len(set(values)) == 1
        agree &= same
        table.add_row(code, *(f"{v:,}" for v in values), "" if same else "[red]differs[/red]")
    totals = (sum(shapely_counts.values()), sum(decision_counts.values()), sum(history_counts.values()))
    table.add_row("total", *(f"{v:,}" for v in totals), "", end_section=True)
    console.print(table)
    return agree


def explain_mismatches(
    mismatched: IntArray,
    xs: FloatArray,
    ys: FloatArray,
    shapely_ids: IntArray,
    postgis_ids: IntArray,
    by_id: dict[int, Territory],
) -> None:
    console.print(f"[red]{len(mismatched):,} points assigned differently[/red] (first 10):")
    boundaries = {i: shapely.boundary(shapely.from_wkb(t.wkb)) for i, t in by_id.items()}
    for i in mismatched[:10]:
        point = shapely.Point(xs[i], ys[i])
        on_boundary = [by_id[t].code for t, b in boundaries.items() if shapely.intersects(b, point)]
        console.print(
            f"  site {i} at ({xs[i]!r}, {ys[i]!r}): shapely {by_id[int(shapely_ids[i])].code if shapely_ids[i] else NO_TERRITORY},"
            f" PostGIS {by_id[int(postgis_ids[i])].code if postgis_ids[i] else NO_TERRITORY}"
            + (f"; on the boundary of {', '.join(on_boundary)} (ST_Covers: inside)" if on_boundary else "")
        )


# ------------------------------------------------------------------------------------------------ run


def seconds(values: Sequence[float]) -> str:
    return " ".join(f"{v:.3f}" for v in values)


async def timed(conn: Any, sql: str, *args: object) -> tuple[float, Any]:
    started = time.perf_counter()
    async with conn.transaction():
        row = await conn.fetchrow(sql, *args)
    return time.perf_counter() - started, row


def machine() -> str:
    model = platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.M)
        model = found.group(1).strip() if found else model
    return f"{os.cpu_count()} CPUs {model}, {platform.system()} {platform.release()}"


async def environment(conn: Any) -> list[tuple[str, str]]:
    return [
        ("machine", machine()),
        ("PostgreSQL", str(await conn.fetchval("SHOW server_version"))),
        ("PostGIS", str(await conn.fetchval("SELECT postgis_lib_version()"))),
        ("PostGIS GEOS", str(await conn.fetchval("SELECT postgis_geos_version()"))),
        ("shapely / GEOS", f"{shapely.__version__} / {shapely.geos_version_string}"),
        ("numpy", np.__version__),
        ("python", platform.python_version()),
    ]


async def run(n: int, repeat: int, seed: int) -> int:
    url = bench_database_url()
    await create_database_if_missing(url)
    console.print(
        f"[bold]Point-in-polygon assignment[/bold]: {n:,} sites, district layer, seed {seed}, {repeat}×"
    )
    console.print(f"database {make_url(url).render_as_string(hide_password=True)} (rebuilt)")

    started = time.perf_counter()
    await rebuild_schema(url)
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        for name, value in await environment(conn):
            console.print(f"  {name:<14} {value}")
        layer_id = await load_districts(conn)
        parts, vertices = await conn.fetchrow(
            "SELECT count(*), sum(ST_NPoints(geom)) FROM territory_part WHERE layer_id = $1", layer_id
        )
        layer = await territories(conn, layer_id)
        xs, ys = synthetic_points(n, seed)
        await load_sites(conn, xs, ys, seed)
        console.print(
            f"schema, {len(layer)} districts ({parts:,} parts, {vertices:,} vertices) and {n:,} sites "
            f"loaded in {time.perf_counter() - started:.1f} s"
        )
        console.print(
            "  bench-only: customer_site.site_number widened to text, its 4-digit CHECK dropped "
            "(unique kept); the rest of the schema is production's"
        )

        by_id = {t.id: t for t in layer}
        code_of = {t.id: t.code for t in layer}
        ids_by_rank = np.array([t.id for t in layer], dtype=np.int64)
        wkbs = [t.wkb for t in layer]
        times = Timings()

        # shapely: the reference
        result = np.empty(0, dtype=np.int64)
        for _ in range(repeat):
            t0 = time.perf_counter()
            result = shapely_assign(wkbs, xs, ys)
            times.shapely.append(time.perf_counter() - t0)
        shapely_ids = np.where(result >= 0, ids_by_rank[result], 0)
        console.print(f"shapely contains_xy        {seconds(times.shapely)} s")

        # PostGIS: the decision alone, as the function plans it
        ctes, function_settings = await decision_sql(conn)
        await configure_like_the_function(conn, function_settings)
        decision = ctes + "\nSELECT count(*) AS sites, count(territory_id) AS assigned FROM desired"
        plan = "\n".join(r[0] for r in await conn.fetch("EXPLAIN (COSTS OFF) " + decision, layer_id, None))
        parts_drive = "Index Cond: (location @ p.geom)" in plan  # a part's geometry probes the site index
        for _ in range(repeat):
            elapsed, row = await timed(conn, decision, layer_id, None)
            times.decision.append(elapsed)
        sites, assigned = row["sites"], row["assigned"]
        console.print(
            f"PostGIS decision            {seconds(times.decision)} s  ({assigned:,} of {sites:,} sites in a "
            f"district; plan: {'parts drive, site GiST index probed' if parts_drive else 'NOT parts-driven'})"
        )
        # the same after `towne assign --cluster` (rows rewritten in the order of the location index)
        await conn.execute("RESET ALL")
        await conn.execute(CLUSTER_SITES_SQL)
        await conn.execute("ANALYZE customer_site")
        await configure_like_the_function(conn, function_settings)
        for _ in range(repeat):
            elapsed, clustered_row = await timed(conn, decision, layer_id, None)
            times.clustered.append(elapsed)
        assert tuple(clustered_row) == tuple(row), "clustering changed the decision"
        console.print(f"PostGIS decision, clustered {seconds(times.clustered)} s  (towne assign --cluster)")
        decision_rows = await conn.fetch(
            ctes + "\nSELECT territory_id, count(*) AS n FROM desired GROUP BY territory_id", layer_id, None
        )
        decision_counts = Counter(
            {code_of.get(r["territory_id"], NO_TERRITORY): int(r["n"]) for r in decision_rows}
        )
        await conn.execute("RESET ALL")

        # PostGIS: the whole function, first on an empty history, then again with nothing to change
        expected_full = (assigned, sites - assigned, sites, 0, 0)
        ok = True
        for _ in range(repeat):
            await conn.execute("TRUNCATE site_territory_assignment")
            elapsed, row = await timed(conn, "SELECT * FROM towne_assign_layer($1)", layer_id)
            times.full.append(elapsed)
            ok &= tuple(row) == expected_full
        console.print(
            f"PostGIS full assignment     {seconds(times.full)} s  (assigned, unassigned, opened, closed, manual) = {tuple(row)}"
        )
        await conn.execute("ANALYZE site_territory_assignment")  # what autovacuum does after the load
        expected_noop = (assigned, sites - assigned, 0, 0, 0)
        for _ in range(repeat):
            elapsed, row = await timed(conn, "SELECT * FROM towne_assign_layer($1)", layer_id)
            times.noop.append(elapsed)
            ok &= tuple(row) == expected_noop
        console.print(f"PostGIS no-op re-assignment {seconds(times.noop)} s  {tuple(row)}")

        # the trigger path (a site created or moved): given sites only, nothing to change
        given: dict[int, list[float]] = {}
        for k in sorted({1, min(1000, n)}):
            site_ids = await conn.fetch(
                "SELECT id FROM customer_site ORDER BY site_number::bigint LIMIT $1", k
            )
            ids = [r["id"] for r in site_ids]
            given[k] = []
            for _ in range(repeat):
                elapsed, row = await timed(
                    conn, "SELECT * FROM towne_assign_layer($1, clock_timestamp(), $2::uuid[])", layer_id, ids
                )
                given[k].append(elapsed)
                ok &= row["opened"] == 0 and row["closed"] == 0 and row["assigned"] + row["unassigned"] == k
        for k, values in given.items():
            console.print(f"PostGIS given sites: {k:<6,} {seconds(values)} s")
        if not ok:
            console.print(
                f"[red]unexpected towne_assign_layer result[/red]: want {expected_full}, then {expected_noop}"
            )

        # agreement: per district, and point by point against the history rows
        postgis_ids = np.asarray(
            await conn.fetchval(
                "SELECT array_agg(coalesce(a.territory_id, 0) ORDER BY s.site_number::bigint) "
                "FROM customer_site s JOIN site_territory_assignment a ON a.site_id = s.id "
                "WHERE a.layer_id = $1 AND a.valid_to IS NULL",
                layer_id,
            ),
            dtype=np.int64,
        )
    finally:
        await conn.close()

    agree = compare(
        counts_by_code(shapely_ids, code_of),
        decision_counts,
        counts_by_code(postgis_ids, code_of),
        [t.code for t in layer],
    )
    if postgis_ids.shape != shapely_ids.shape:
        console.print(f"[red]{len(postgis_ids):,} open history rows for {n:,} sites[/red]")
        agree = False
    else:
        mismatched = np.flatnonzero(postgis_ids != shapely_ids)
        if len(mismatched):
            explain_mismatches(mismatched, xs, ys, shapely_ids, postgis_ids, by_id)
            agree = False
        else:
            console.print(f"point by point: all {n:,} sites in the same district (or none) in both engines")

    best = {name: min(values) for name, values in vars(times).items()}
    summary = Table(title=f"Best of {repeat} (seconds; ratio to shapely)", title_justify="left")
    for column in (
        "N",
        "shapely",
        "PostGIS decision",
        "decision, clustered",
        "PostGIS full assign",
        "no-op re-assign",
    ):
        summary.add_column(column, justify="right")

    def cell(name: str) -> str:
        return f"{best[name]:.3f} ({best[name] / best['shapely']:.2f}×)"

    summary.add_row(
        f"{n:,}", f"{best['shapely']:.3f}", cell("decision"), cell("clustered"), cell("full"), cell("noop")
    )
    console.print(summary)
    for label, name in (("as loaded", "decision"), ("clustered", "clustered")):
        ratio = best[name] / best["shapely"]
        verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
        console.print(
            f"target: decision within {TARGET_RATIO}× of shapely, {label}: {verdict} ({ratio:.2f}×)"
        )
    if not (agree and ok):
        console.print("[red]the engines disagree[/red]")
        return 1
    console.print("both engines agree")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--n", type=int, default=1_000_000, help="number of synthetic sites (default 1,000,000)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of each measurement (default 3)")
    parser.add_argument("--seed", type=int, default=42, help="seed of the synthetic points (default 42)")
    args = parser.parse_args(argv)
    if args.n < 1 or args.repeat < 1:
        parser.error("--n and --repeat must be at least 1")
    return asyncio.run(run(args.n, args.repeat, args.seed))


if __name__ == "__main__":
    sys.exit(main())
