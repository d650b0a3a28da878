"""Benchmark: territory edits and the reassignment they cause, with 1,000,000 synthetic sites (issue 9 §4).

    .venv/bin/python bench/reassign.py [--sites 1000000] [--polygons 3000] [--km 3] [--row-budget 60]

Rebuilds the scratch database `towne_bench_reassign` (schema `public` dropped, `alembic upgrade head`, the
real Towne Park data imported: three layers, 649 sites), adds N SYNTHETIC sites and then measures in one run,
each figure beside its reference measured in the same run:

(d) the full assignment of the district layer, `SELECT * FROM towne_assign_layer(layer)` on an empty history
    of that layer, COMMIT included, beside the write floor: the same rows written by one plain
    `INSERT … SELECT` into the same table (`site_territory_assignment` with its four indexes, three foreign
    keys and deferred exclusion constraint), COMMIT included (target: within 1.5× of the floor); and beside
    shapely's decision (`bench.assign.shapely_assign`, prepared districts, `contains_xy`), as in
    bench/assign.py. Then the no-op whole-layer re-assignment (nothing changes): what one territory
    statement cost while every edit re-ran the whole layer.
(b) one site inserted with the history present (≥ N rows): in the database (a DO block timing the INSERT
    with `clock_timestamp()`, its triggers included, and `towne_flush_territory_changes()` where the
    assignment is made at commit) and the round trip (one autocommit INSERT, COMMIT and
    the deferred constraint check included). Target < 2 ms in the database.
(a) one district border moved by `--km` (default 3 km; default pair: baltimore grows into dc): the strip
    of the neighbour within that distance of the shared border goes to the grown district, in one
    transaction of two UPDATEs as a GIS client sends them (shrink the neighbour, then grow the district);
    the new geometries are computed before the clock starts. Timed: both UPDATEs and the COMMIT. Counted:
    the sites affected (assigned to either district: the sites a reassignment must look at, domain.md §4.3)
    and the sites moved (their open row changed). Target < 0.2 s (for ~20,000 affected sites). Then the
    border is moved back the same way (a second sample).
(c) `--polygons` cells (default 3,000; a grid over the US north-east) as a new partition layer, inserted row
    by row in one transaction (one INSERT per polygon, as QGIS saves; COMMIT included) against the same rows
    in one INSERT statement, in another new layer (target: row by row within 2× of one statement). While
    every INSERT re-runs the whole layer the row-by-row case is stopped after `--row-budget` seconds,
    rolled back, and extrapolated (first row + remaining rows × median of the later rows), labelled so.

The synthetic sites (deterministic, no Python loop: `generate_series` and `ST_GeneratePoints` with fixed
seeds) are named "Synthetic site <i>" with address "synthetic (bench/reassign.py)": half uniform over the
district layer's parts by geodesic area, half scattered around the 649 real sites (a normal offset,
σ = 25 km, by hashes of the row number), so metropolitan borders are denser than the open country. They are
loaded with the site triggers off; (d) then assigns them. Bench-only relaxation, as in bench/assign.py:
`customer_site.site_number` widened to text and its 4-digit CHECK dropped (unique kept).

Prints a table of figures, references, ratios and targets; figures are recorded in docs/benchmarks.md. Exit
status 1 when a consistency check fails (wrong counts, engines disagree), not when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import math
import os
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # our `migrations`/`schema` must win over PyPI namesakes
    sys.path.insert(0, str(REPO))

import asyncpg  # noqa: E402
import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from bench import migrate_and_import  # noqa: E402
from bench.assign import asyncpg_dsn, environment, shapely_assign  # noqa: E402
from db.database import empty_database  # noqa: E402
from server.settings import normalise_url  # noqa: E402

DATABASE = "towne_bench_reassign"
LAYER = "districts"
GROW, INTO = "baltimore", "dc"  # 219 km of shared border near two metropolitan areas
SIGMA_KM = 25.0
GRID_BOX = (-80.0, 37.0, -71.0, 43.0)  # west, south, east, north: DC to Boston
TARGET_EDIT_S = 0.2
TARGET_INSERT_MS = 2.0
TARGET_ROWS_RATIO = 2.0
TARGET_FLOOR_RATIO = 1.5
SYNTHETIC_ADDRESS = "synthetic (bench/reassign.py)"

console = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200)


@dataclass
class Result:
    """One line of the summary: a figure, its reference from the same run, the target."""

    what: str
    value: str
    reference: str = ""
    ratio: str = ""
    target: str = ""
    met: bool | None = None


@dataclass
class Run:
    results: list[Result] = field(default_factory=list)
    ok: bool = True
    noop_s: float = math.nan  # the no-op whole-layer re-assignment of (d): (a)'s reference

    def check(self, condition: bool, message: str) -> None:
        if not condition:
            console.print(f"[red]check failed[/red]: {message}")
            self.ok = False


# ------------------------------------------------------------------------------------------- database


def bench_url(explicit: str | None) -> str:
    """`--database-url`, else `towne_bench_reassign` on the server of DATABASE_URL, else on the dev cluster."""
    if explicit:
        return normalise_url(explicit)
    raw = os.environ.get("DATABASE_URL")
    if raw:
        return make_url(normalise_url(raw)).set(database=DATABASE).render_as_string(hide_password=False)
    from server import devdb

    return devdb.ensure_database(DATABASE)


async def rebuild(url: str) -> None:
    """Create the database when missing, drop schema `public`, migrate to head and import the real data."""
    admin = await asyncpg.connect(asyncpg_dsn(url, "postgres"))
    name = make_url(url).database
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await empty_database(conn)
    finally:
        await engine.dispose()
    database = await migrate_and_import(url)
    await database.dispose()


# Uniform half: each part of the layer gets its share of points by geodesic area (cumulative rounding, so
# the shares add up exactly), drawn by ST_GeneratePoints with the part id as seed.
UNIFORM_POINTS = """
INSERT INTO bench_point (i, location)
WITH parts AS (
    SELECT p.id, p.geom, ST_Area(p.geom::geography) AS a
    FROM territory_part p JOIN territory_layer l ON l.id = p.layer_id
    WHERE l.code = $2
), cumulative AS (
    SELECT id, geom, a, sum(a) OVER (ORDER BY id) AS upto, sum(a) OVER () AS total FROM parts
), counts AS (
    SELECT id, geom, (round($1 * upto / total) - round($1 * (upto - a) / total))::integer AS n
    FROM cumulative
)
SELECT row_number() OVER (ORDER BY c.id, d.path), d.geom
FROM counts c, LATERAL ST_Dump(ST_GeneratePoints(c.geom, c.n, c.id::integer)) AS d
WHERE c.n > 0
"""

# Scattered half: point i lies around real site (i mod R) at a normal offset of σ km (Box–Muller on two
# 53-bit hashes of i), clamped to the lon/lat range.
SCATTERED_POINTS = """
INSERT INTO bench_point (i, location)
WITH real_site AS (
    SELECT row_number() OVER (ORDER BY site_number) - 1 AS k, ST_X(location) AS x, ST_Y(location) AS y
    FROM customer_site WHERE location IS NOT NULL
), r AS (SELECT count(*) AS n FROM real_site),
draw AS (
    SELECT i,
           (hashint8extended(i, 1) & 9007199254740991)::float8 / 9007199254740992.0 AS u1,
           (hashint8extended(i, 2) & 9007199254740991)::float8 / 9007199254740992.0 AS u2
    FROM generate_series($1::bigint + 1, $1::bigint + $2::bigint) AS i
)
SELECT d.i, ST_SetSRID(ST_MakePoint(
    greatest(-180, least(180, s.x + $3 * sqrt(-2 * ln(1 - d.u1)) * cos(2 * pi() * d.u2)
                                   / (111.32 * cos(radians(s.y))))),
    greatest(-90, least(90, s.y + $3 * sqrt(-2 * ln(1 - d.u1)) * sin(2 * pi() * d.u2) / 110.574))), 4326)
FROM draw d, r, real_site s
WHERE s.k = d.i % r.n
"""


async def add_synthetic_sites(conn: Any, n: int) -> None:
    """N synthetic sites, loaded with the user triggers of customer_site off (no assignment yet)."""
    await conn.execute(
        "ALTER TABLE customer_site DROP CONSTRAINT IF EXISTS ck_customer_site_site_number_format"
    )
    # the reporting views (migration 0015) pin the column's type; the bench database does not report
    await conn.execute("DROP SCHEMA IF EXISTS reporting CASCADE")
    await conn.execute("ALTER TABLE customer_site ALTER COLUMN site_number TYPE text")
    await conn.execute("CREATE TEMP TABLE bench_point (i bigint NOT NULL, location geometry(Point, 4326))")
    await conn.execute(UNIFORM_POINTS, n // 2, LAYER)
    uniform = await conn.fetchval("SELECT count(*) FROM bench_point")
    await conn.execute(SCATTERED_POINTS, uniform, n - uniform, SIGMA_KM)
    await conn.execute("ALTER TABLE customer_site DISABLE TRIGGER USER")
    await conn.execute(
        "INSERT INTO customer_site (id, site_number, name, address, street, state, zip, gl_string, "
        "location, geocode_method) "
        "SELECT md5('reassign:' || i)::uuid, 'S' || lpad(i::text, 7, '0'), 'Synthetic site ' || i, $1, "
        "'synthetic', 'ZZ', '00000', '00-00-0000-', location, 'manual' FROM bench_point ORDER BY i",
        SYNTHETIC_ADDRESS,
    )
    await conn.execute("ALTER TABLE customer_site ENABLE TRIGGER USER")
    await conn.execute("DROP TABLE bench_point")
    await conn.execute("VACUUM ANALYZE customer_site")


# ------------------------------------------------------------------------------------------- helpers


async def timed_transaction(
    conn: Any, *statements: tuple[str, Sequence[object]]
) -> tuple[float, list[float]]:
    """Run the statements in one transaction; total seconds (COMMIT included) and each step's seconds."""
    steps: list[float] = []
    started = time.perf_counter()
    await conn.execute("BEGIN")
    try:
        for sql, args in statements:
            t0 = time.perf_counter()
            await conn.execute(sql, *args)
            steps.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        await conn.execute("COMMIT")
        steps.append(time.perf_counter() - t0)
    except BaseException:
        await conn.execute("ROLLBACK")
        raise
    return time.perf_counter() - started, steps


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def verdict(met: bool | None) -> str:
    return {True: "[green]met[/green]", False: "[red]NOT met[/red]", None: ""}[met]


async def layer_id(conn: Any, code: str) -> int:
    found: int | None = await conn.fetchval("SELECT id FROM territory_layer WHERE code = $1", code)
    if found is None:
        raise SystemExit(f"no layer {code!r}")
    return found


async def tie_order(conn: Any) -> str:
    """The tie rule's order: `priority` once migration 0009 has added it, else area_km2 (domain.md §4.3)."""
    has_priority = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM information_schema.columns "
        "WHERE table_name = 'territory' AND column_name = 'priority')"
    )
    return "priority, code" if has_priority else "area_km2, code"


# ------------------------------------------------------------------------------ (d) full assignment


async def full_assignment(conn: Any, run: Run, layer: int, repeat: int) -> None:
    """(d): towne_assign_layer on an empty history of the layer against the plain INSERT … SELECT floor."""
    # the other layers' rows (the real sites') are put back after each TRUNCATE, so both writes start
    # from the same table
    await conn.execute(
        "CREATE TEMP TABLE bench_other AS SELECT * FROM site_territory_assignment WHERE layer_id <> $1", layer
    )
    restore_other = (
        "INSERT INTO site_territory_assignment SELECT * FROM bench_other; "
        "ANALYZE site_territory_assignment; CHECKPOINT"
    )
    sites = await conn.fetchval("SELECT count(*) FROM customer_site")
    full: list[float] = []
    floor: list[float] = []
    outcome: Any = None
    for attempt in range(repeat):
        await conn.execute("TRUNCATE site_territory_assignment")
        await conn.execute(restore_other)
        elapsed, steps = await timed_transaction(conn, ("SELECT * FROM towne_assign_layer($1)", (layer,)))
        full.append(elapsed)
        full_commit = steps[-1]
        if attempt == 0:
            outcome = await conn.fetchrow(
                "SELECT count(*) AS rows, count(territory_id) AS assigned FROM site_territory_assignment "
                "WHERE layer_id = $1 AND valid_to IS NULL",
                layer,
            )
            await conn.execute(
                "CREATE TEMP TABLE bench_written AS "
                "SELECT site_id, layer_id, territory_id, method, valid_from, valid_to "
                "FROM site_territory_assignment WHERE layer_id = $1 ORDER BY id",
                layer,
            )
        await conn.execute("TRUNCATE site_territory_assignment")
        await conn.execute(restore_other)
        elapsed, steps = await timed_transaction(
            conn,
            (
                "INSERT INTO site_territory_assignment "
                "(site_id, layer_id, territory_id, method, valid_from, valid_to) "
                "SELECT site_id, layer_id, territory_id, method, valid_from, valid_to FROM bench_written",
                (),
            ),
        )
        floor.append(elapsed)
        console.print(
            f"(d) full assignment {full[-1]:.2f} s (COMMIT {full_commit:.2f} s), plain INSERT … SELECT of its "
            f"rows {floor[-1]:.2f} s (COMMIT {steps[-1]:.2f} s)"
        )
    assert outcome is not None
    run.check(outcome["rows"] == sites, f"{outcome['rows']:,} open rows in the layer for {sites:,} sites")
    await conn.execute("VACUUM ANALYZE site_territory_assignment")  # what autovacuum does after the load

    # shapely's decision on the same points, in the same run (bench/assign.py's reference)
    order = await tie_order(conn)
    territories = await conn.fetch(
        f"SELECT id, code, ST_AsBinary(geom) AS wkb FROM territory WHERE layer_id = $1 ORDER BY {order}",
        layer,
    )
    points = await conn.fetchrow(
        "SELECT array_agg(id ORDER BY id) AS ids, array_agg(ST_X(location) ORDER BY id) AS xs, "
        "array_agg(ST_Y(location) ORDER BY id) AS ys FROM customer_site WHERE location IS NOT NULL"
    )
    xs, ys = np.asarray(points["xs"], dtype=np.float64), np.asarray(points["ys"], dtype=np.float64)
    wkbs = [bytes(t["wkb"]) for t in territories]
    shapely_times: list[float] = []
    for _ in range(3):
        t0 = time.perf_counter()
        ranks = shapely_assign(wkbs, xs, ys)
        shapely_times.append(time.perf_counter() - t0)
    shapely_s = min(shapely_times)
    codes = [t["code"] for t in territories]
    shapely_counts = Counter(codes[r] if r >= 0 else None for r in ranks.tolist())
    db_counts = Counter(
        {
            r["code"]: r["n"]
            for r in await conn.fetch(
                "SELECT t.code, count(*) AS n FROM site_territory_assignment a "
                "JOIN customer_site s ON s.id = a.site_id AND s.location IS NOT NULL "
                "LEFT JOIN territory t ON t.id = a.territory_id "
                "WHERE a.layer_id = $1 AND a.valid_to IS NULL GROUP BY t.code",
                layer,
            )
        }
    )
    differ = {c for c in set(shapely_counts) | set(db_counts) if shapely_counts[c] != db_counts[c]}
    run.check(not differ, f"shapely and PostGIS count differently in {sorted(map(str, differ))}")

    noop, _ = await timed_transaction(conn, ("SELECT * FROM towne_assign_layer($1)", (layer,)))
    console.print(
        f"(d) {outcome['rows']:,} rows written ({outcome['assigned']:,} in a district); shapely's decision "
        f"{shapely_s:.3f} s (best of 3); no-op whole-layer re-assignment {noop:.2f} s"
    )
    best_full, best_floor = min(full), min(floor)
    ratio = best_full / best_floor
    run.results += [
        Result(
            f"(d) full assignment of {sites:,} sites (towne_assign_layer, COMMIT incl.)",
            f"{best_full:.2f} s",
            f"floor, plain INSERT … SELECT: {best_floor:.2f} s",
            f"{ratio:.2f}×",
            f"≤ {TARGET_FLOOR_RATIO}× floor",
            ratio <= TARGET_FLOOR_RATIO,
        ),
        Result(
            "(d) the same against shapely's decision",
            f"{best_full:.2f} s",
            f"shapely: {shapely_s:.3f} s",
            f"{best_full / shapely_s:.0f}×",
        ),
        Result("whole-layer re-assignment, nothing changes", f"{noop:.2f} s"),
    ]
    run.noop_s = noop


# ---------------------------------------------------------------------------------- (b) site insert

SITE_VALUES = (
    "'{id}', 'B{k:07d}', 'Synthetic site B{k}', '{address}', 'synthetic', 'ZZ', '00000', '00-00-0000-', "
    "ST_SetSRID(ST_MakePoint({x}, {y}), 4326), 'manual'"
)
SITE_COLUMNS = "id, site_number, name, address, street, state, zip, gl_string, location, geocode_method"


async def site_insert(conn: Any, run: Run, inserts: int) -> None:
    """(b): one site inserted (assigned in every layer by its trigger) with the history present."""
    history = await conn.fetchval("SELECT count(*) FROM site_territory_assignment")
    layers = await conn.fetchval("SELECT count(*) FROM territory_layer")
    # since the 0009 review fixes a site's assignment is queued and made at COMMIT (site_change), so the
    # in-database timing includes the flush that COMMIT would run
    deferred = bool(await conn.fetchval("SELECT to_regclass('site_change') IS NOT NULL"))
    flush = "PERFORM count(*) FROM towne_flush_territory_changes(); " if deferred else ""
    inside: list[float] = []
    round_trip: list[float] = []
    made: list[str] = []
    for k in range(2 * inserts):
        site_id = str(uuid.UUID(hashlib.md5(f"reassign-insert:{k}".encode()).hexdigest()))
        made.append(site_id)
        values = SITE_VALUES.format(
            id=site_id, k=k, address=SYNTHETIC_ADDRESS, x=-76.70 + 0.01 * (k % 10), y=39.20 + 0.01 * (k // 10)
        )
        insert = f"INSERT INTO customer_site ({SITE_COLUMNS}) VALUES ({values})"
        if k % 2 == 0:  # alternate the two ways of measuring
            await conn.execute(
                "DO $$ DECLARE t0 timestamptz := clock_timestamp(); BEGIN "
                f"{insert}; {flush}"
                "PERFORM set_config('bench.insert_s', extract(epoch FROM clock_timestamp() - t0)::text, false); "
                "END $$"
            )
            inside.append(float(await conn.fetchval("SELECT current_setting('bench.insert_s')")))
        else:
            t0 = time.perf_counter()
            await conn.execute(insert)  # no arguments: simple protocol, one round trip, autocommit
            round_trip.append(time.perf_counter() - t0)
    rows = await conn.fetchval(
        "SELECT count(*) FROM site_territory_assignment WHERE site_id = ANY ($1::uuid[]) AND valid_to IS NULL",
        made,
    )
    run.check(rows == len(made) * layers, f"{rows} open rows for {len(made)} new sites in {layers} layers")
    await conn.execute("DELETE FROM customer_site WHERE id = ANY ($1::uuid[])", made)
    median_in, median_rt = statistics.median(inside), statistics.median(round_trip)
    how = "INSERT + towne_flush_territory_changes()" if deferred else "INSERT, its triggers included"
    console.print(
        f"(b) one site ({how}), {history:,} history rows: in the database median {median_in * 1000:.2f} ms "
        f"(min {min(inside) * 1000:.2f}, max {max(inside) * 1000:.2f}); round trip median "
        f"{median_rt * 1000:.2f} ms (min {min(round_trip) * 1000:.2f}, max {max(round_trip) * 1000:.2f}); "
        f"{inserts} each"
    )
    run.results += [
        Result(
            f"(b) one site inserted, {history:,} history rows, in the database (median of {inserts})",
            f"{median_in * 1000:.2f} ms",
            target=f"< {TARGET_INSERT_MS:g} ms",
            met=median_in * 1000 < TARGET_INSERT_MS,
        ),
        Result("(b) the same, round trip (autocommit INSERT)", f"{median_rt * 1000:.2f} ms"),
    ]


# ---------------------------------------------------------------------------------- (a) border move

# The strip of `into` within `km` of the border it shares with `grow`, by a buffer of the shared border in
# an azimuthal equidistant projection centred on it (metres true to well under 1 % over a few hundred km).
STRIP = """
WITH a AS (SELECT geom FROM territory WHERE id = $1), b AS (SELECT geom FROM territory WHERE id = $2),
border AS (
    SELECT ST_CollectionExtract(ST_Intersection(ST_Boundary(a.geom), ST_Boundary(b.geom)), 2) AS line
    FROM a, b
), proj AS (
    SELECT line, format('+proj=aeqd +lat_0=%s +lon_0=%s +datum=WGS84 +units=m',
                        ST_Y(ST_Centroid(line)), ST_X(ST_Centroid(line))) AS aeqd
    FROM border
), strip AS (
    SELECT ST_Intersection(b.geom, ST_Transform(ST_Buffer(ST_Transform(line, aeqd), $3 * 1000.0), aeqd, 4326))
           AS geom
    FROM proj, b
)
SELECT ST_AsBinary(ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_Union(a.geom, strip.geom)), 3))) AS grown,
       ST_AsBinary(ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_Difference(b.geom, strip.geom)), 3)))
           AS shrunk,
       ST_Area(strip.geom::geography) / 1e6 AS strip_km2,
       ST_Length((SELECT line FROM border)::geography) / 1000 AS border_km
FROM a, b, strip
"""
SET_GEOM = "UPDATE territory SET geom = ST_GeomFromWKB($2::bytea, 4326) WHERE id = $1"


async def border_move(conn: Any, run: Run, layer: int, grow: str, into: str, km: float) -> None:
    """(a): move the border of `grow` and `into` by `km` into `into`, then back."""
    ids = {
        r["code"]: r["id"]
        for r in await conn.fetch(
            "SELECT code, id FROM territory WHERE layer_id = $1 AND code = ANY ($2::text[])",
            layer,
            [grow, into],
        )
    }
    if set(ids) != {grow, into}:
        raise SystemExit(f"no districts {grow!r} and {into!r} in layer {LAYER!r}")
    a, b = ids[grow], ids[into]
    original = await conn.fetchrow(
        "SELECT (SELECT ST_AsBinary(geom) FROM territory WHERE id = $1) AS a, "
        "(SELECT ST_AsBinary(geom) FROM territory WHERE id = $2) AS b",
        a,
        b,
    )
    moved_geoms = await conn.fetchrow(STRIP, a, b, km)
    console.print(
        f"(a) {grow} grows {km:g} km into {into}: shared border {moved_geoms['border_km']:.0f} km, "
        f"strip {moved_geoms['strip_km2']:.0f} km²"
    )
    samples: list[tuple[str, float, list[float], int, int, int]] = []
    for label, first, second in (
        (f"{grow} into {into}", (b, moved_geoms["shrunk"]), (a, moved_geoms["grown"])),
        ("and back", (a, original["a"]), (b, original["b"])),
    ):
        affected = await conn.fetchval(
            "SELECT count(*) FROM site_territory_assignment "
            "WHERE layer_id = $1 AND valid_to IS NULL AND territory_id = ANY ($2::int[])",
            layer,
            [a, b],
        )
        since = await conn.fetchval("SELECT clock_timestamp()")
        elapsed, steps = await timed_transaction(conn, (SET_GEOM, first), (SET_GEOM, second))
        changed = await conn.fetchrow(
            "SELECT count(*) FILTER (WHERE valid_to IS NULL) AS moved, count(*) AS opened "
            "FROM site_territory_assignment WHERE layer_id = $1 AND valid_from >= $2",
            layer,
            since,
        )
        samples.append((label, elapsed, steps, affected, changed["moved"], changed["opened"]))
        console.print(
            f"(a) {label}: {elapsed * 1000:.1f} ms (UPDATE {steps[0] * 1000:.1f}, UPDATE {steps[1] * 1000:.1f}, "
            f"COMMIT {steps[2] * 1000:.1f} ms); {affected:,} sites affected, {changed['moved']:,} moved, "
            f"{changed['opened']:,} history rows opened"
        )
    run.check(samples[0][4] > 0, "the border move moved no site")
    run.check(samples[0][4] == samples[1][4], "moving the border back did not move the same number of sites")
    now = await conn.fetchrow(
        "SELECT (SELECT ST_AsBinary(geom) FROM territory WHERE id = $1) AS a, "
        "(SELECT ST_AsBinary(geom) FROM territory WHERE id = $2) AS b",
        a,
        b,
    )
    run.check(tuple(now) == tuple(original), "the districts are not back to their original geometry")
    noop = run.noop_s
    for label, elapsed, _, affected, moved, opened in samples:
        run.results.append(
            Result(
                f"(a) border moved {km:g} km, {label}: 2 UPDATEs + COMMIT; {affected:,} sites affected, "
                f"{moved:,} moved, {opened:,} history rows",
                ms(elapsed),
                f"whole-layer re-assignment: {noop:.2f} s",
                f"{elapsed / noop:.2f}×",
                f"< {TARGET_EDIT_S:g} s",
                elapsed < TARGET_EDIT_S,
            )
        )


# ------------------------------------------------------------------------------ (c) polygons by row


def grid(n: int) -> list[tuple[str, str, float, float, float, float]]:
    """N cells (code, name, west, south, east, north) of a grid over GRID_BOX, row by row from the south-west."""
    west, south, east, north = GRID_BOX
    columns = math.ceil(math.sqrt(n * (east - west) / (north - south)))
    rows = math.ceil(n / columns)
    width, height = (east - west) / columns, (north - south) / rows
    cells = []
    for k in range(n):
        r, c = divmod(k, columns)
        x, y = west + c * width, south + r * height
        cells.append((f"cell-{k + 1:05d}", f"Synthetic cell {r + 1}/{c + 1}", x, y, x + width, y + height))
    return cells


INSERT_CELL = (
    "INSERT INTO territory (layer_id, code, name, geom) "
    "VALUES ($1, $2, $3, ST_Multi(ST_MakeEnvelope($4, $5, $6, $7, 4326)))"
)
INSERT_CELLS = (
    "INSERT INTO territory (layer_id, code, name, geom) "
    "SELECT $1, u.code, u.name, ST_Multi(ST_MakeEnvelope(u.w, u.s, u.e, u.n, 4326)) "
    "FROM unnest($2::text[], $3::text[], $4::float8[], $5::float8[], $6::float8[], $7::float8[]) "
    "AS u(code, name, w, s, e, n)"
)


async def new_layer(conn: Any, code: str) -> int:
    made: int = await conn.fetchval(
        "INSERT INTO territory_layer (code, name, kind, description) "
        "VALUES ($1, $2, 'partition', 'synthetic grid (bench/reassign.py)') RETURNING id",
        code,
        f"Synthetic grid ({code})",
    )
    return made


async def polygons(conn: Any, run: Run, n: int, budget: float) -> None:
    """(c): N cells row by row in one transaction against the same rows in one statement."""
    cells = grid(n)
    statement_layer = await new_layer(conn, "bench-grid-statement")
    columns = list(zip(*cells, strict=True))
    one, _ = await timed_transaction(conn, (INSERT_CELLS, (statement_layer, *map(list, columns))))
    assigned = await conn.fetchval(
        "SELECT count(*) FROM site_territory_assignment "
        "WHERE layer_id = $1 AND valid_to IS NULL AND territory_id IS NOT NULL",
        statement_layer,
    )
    console.print(
        f"(c) {n:,} polygons in one INSERT: {one:.2f} s (COMMIT incl.); {assigned:,} sites in a cell"
    )

    rows_layer = await new_layer(conn, "bench-grid-rows")
    per_row: list[float] = []
    started = time.perf_counter()
    await conn.execute("BEGIN")
    for cell in cells:
        t0 = time.perf_counter()
        await conn.execute(INSERT_CELL, rows_layer, *cell)
        per_row.append(time.perf_counter() - t0)
        if time.perf_counter() - started > budget and len(per_row) < n:
            break
    complete = len(per_row) == n
    t0 = time.perf_counter()
    await conn.execute("COMMIT" if complete else "ROLLBACK")
    ending = time.perf_counter() - t0
    measured = time.perf_counter() - started
    later = per_row[1:] or per_row
    growth = (
        f"first row {ms(per_row[0])}, median of later rows {ms(statistics.median(later))}, "
        f"last {ms(per_row[-1])}"
    )
    if complete:
        total, how = measured, f"{n:,} INSERTs + COMMIT ({ms(ending)})"
        rows_assigned = await conn.fetchval(
            "SELECT count(*) FROM site_territory_assignment "
            "WHERE layer_id = $1 AND valid_to IS NULL AND territory_id IS NOT NULL",
            rows_layer,
        )
        run.check(
            rows_assigned == assigned, f"row by row {rows_assigned:,} sites in a cell, else {assigned:,}"
        )
    else:
        total = per_row[0] + (n - 1) * statistics.median(later)
        how = (
            f"EXTRAPOLATED from {len(per_row):,} of {n:,} rows in {measured:.1f} s "
            f"(--row-budget {budget:g} s; rolled back): first row + {n - 1:,} × median of later rows"
        )
    console.print(f"(c) row by row: {total:.2f} s, {how}; {growth}")
    ratio = total / one
    run.results.append(
        Result(
            f"(c) {n:,} polygons row by row in one transaction ({how})",
            f"{total:.2f} s" + ("" if complete else " (extrapolated)"),
            f"one INSERT of the same rows: {one:.2f} s",
            f"{ratio:.2f}×",
            f"≤ {TARGET_ROWS_RATIO:g}×",
            ratio <= TARGET_ROWS_RATIO,
        )
    )


# ------------------------------------------------------------------------------------------------ run


async def run(args: argparse.Namespace) -> int:
    url = bench_url(args.database_url)
    console.print(
        f"[bold]Territory edits and reassignment[/bold]: {args.sites:,} synthetic sites, "
        f"{args.polygons:,} polygons, border moved {args.km:g} km ({args.grow} into {args.into})"
    )
    console.print(f"database {make_url(url).render_as_string(hide_password=True)} (rebuilt)")
    started = time.perf_counter()
    await rebuild(url)
    conn = await asyncpg.connect(asyncpg_dsn(url))
    result = Run()
    try:
        for name, value in await environment(conn):
            console.print(f"  {name:<14} {value}")
        console.print(f"  load average   {' '.join(f'{v:.2f}' for v in os.getloadavg())} (1, 5, 15 min)")
        revision = await conn.fetchval("SELECT version_num FROM alembic_version")
        settings = await conn.fetch(
            "SELECT name, setting, unit FROM pg_settings WHERE name = ANY ($1::text[]) ORDER BY name",
            ["shared_buffers", "work_mem", "synchronous_commit", "max_wal_size", "jit"],
        )
        console.print(
            f"  migration      {revision}; "
            + ", ".join(f"{s['name']} {s['setting']}{s['unit'] or ''}" for s in settings)
        )
        await add_synthetic_sites(conn, args.sites)
        console.print(
            f"schema, real data and {args.sites:,} synthetic sites loaded in {time.perf_counter() - started:.1f} s"
        )
        layer = await layer_id(conn, LAYER)
        await full_assignment(conn, result, layer, args.repeat)
        await site_insert(conn, result, args.inserts)
        await border_move(conn, result, layer, args.grow, args.into, args.km)
        await polygons(conn, result, args.polygons, args.row_budget)
    finally:
        await conn.close()

    table = Table(title="Territory edits and reassignment", title_justify="left")
    for column in ("measurement", "figure", "reference (same run)", "ratio", "target", ""):
        table.add_column(
            column, justify="left" if column in ("measurement", "reference (same run)") else "right"
        )
    for r in result.results:
        table.add_row(r.what, r.value, r.reference, r.ratio, r.target, verdict(r.met))
    console.print(table)
    console.print(
        f"total {time.perf_counter() - started:.0f} s; load average at the end "
        + " ".join(f"{v:.2f}" for v in os.getloadavg())
    )
    if not result.ok:
        console.print("[red]a consistency check failed[/red]")
        return 1
    return 0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sites", type=int, default=1_000_000, help="synthetic sites (default 1,000,000)")
    parser.add_argument(
        "--polygons", type=int, default=3000, help="cells of the new layer in (c) (default 3,000)"
    )
    parser.add_argument("--km", type=float, default=3.0, help="how far the border moves in (a) (default 3)")
    parser.add_argument("--grow", default=GROW, help=f"district that grows in (a) (default {GROW})")
    parser.add_argument("--into", default=INTO, help=f"neighbour it grows into (default {INTO})")
    parser.add_argument(
        "--row-budget",
        type=float,
        default=60.0,
        help="seconds after which (c)'s row-by-row case stops and is extrapolated (default 60)",
    )
    parser.add_argument("--inserts", type=int, default=21, help="site inserts per way of measuring in (b)")
    parser.add_argument("--repeat", type=int, default=1, help="repetitions of (d) (default 1)")
    parser.add_argument(
        "--database-url", help=f"bench database (default {DATABASE} on DATABASE_URL's server)"
    )
    args = parser.parse_args(argv)
    if args.sites < 2 or args.polygons < 2 or args.repeat < 1 or args.inserts < 1 or args.km <= 0:
        parser.error("--sites and --polygons must be at least 2, --repeat and --inserts at least 1, --km > 0")
    return args


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(run(parse(argv)))


if __name__ == "__main__":
    sys.exit(main())
