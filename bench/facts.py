"""Benchmark: `towne facts generate --from 2025-01 --to 2025-06` on a freshly imported database (what
`make run` does first on an empty database), and the check that a change leaves the generated data as it was.

    .venv/bin/python bench/facts.py [--tree DIR] [--repeat 3] [--database towne_bench_facts] [--dump DIR]

Each repetition drops and re-creates the database (on the server of DATABASE_URL, else the embedded
cluster), then runs `towne migrate`, `towne import` and, timed, `towne facts generate`, with the code of
`--tree` (default: this checkout; `git worktree add /tmp/before COMMIT` gives an older one), each in a
subprocess with that tree first on PYTHONPATH. Prints per repetition the time `generate` reports (from
its start to its commit), the subprocess's wall clock (with Python's start-up) and the load average.

`--dump DIR` writes every facts table of the last repetition to DIR, sorted on all columns, the site as
its site_number (site ids are random per import), without generated ids; and the key columns of
`revenue_daily` in id order (the engine reads the rows of a day in that order). It prints the SHA-256 of
each file: two trees generate the same data when the sums are equal. Figures: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from server.settings import normalise_url  # noqa: E402

TABLES = (
    "revenue_daily", "occupied_rooms_daily", "timesheet_minutes", "ledger_balance",
    "forecast_internal_revenue", "ready_for_invoice_comment",
)  # fmt: skip


def server_url(database: str) -> str:
    """`postgresql://` URL of `database` on the server of DATABASE_URL, or on the embedded cluster."""
    if os.environ.get("DATABASE_URL"):
        url = make_url(normalise_url(os.environ["DATABASE_URL"])).set(
            drivername="postgresql", database=database
        )
        return url.render_as_string(hide_password=False)
    from server import devdb

    url = make_url(devdb.ensure_database(database)).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


async def recreate(url: str) -> None:
    parsed = make_url(url)
    connection = await asyncpg.connect(parsed.set(database="postgres").render_as_string(hide_password=False))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{parsed.database}"')
        await connection.execute(f'CREATE DATABASE "{parsed.database}"')
    finally:
        await connection.close()


def towne(tree: Path, url: str, *args: str) -> str:
    """Run `towne ARGS` with the code of `tree`; its output (the CLI reports on stderr)."""
    env = {**os.environ, "PYTHONPATH": str(tree), "DATABASE_URL": url}
    done = subprocess.run(
        [sys.executable, "-m", "server.cli", *args], cwd=tree, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"towne {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout + done.stderr


async def dump(url: str, out: Path) -> list[Path]:
    """The files written (DIR must exist)."""
    paths = []
    connection = await asyncpg.connect(url)
    try:
        queries = {}
        for table in TABLES:
            columns = await connection.fetchval(
                "SELECT string_agg('f.' || quote_ident(column_name), ', ' ORDER BY ordinal_position)"
                " FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1"
                " AND column_name NOT IN ('id', 'site_id')",
                table,
            )
            every = ", ".join(str(i) for i in range(1, columns.count(",") + 3))
            queries[table] = (
                f"SELECT s.site_number, {columns} FROM {table} f JOIN customer_site s ON s.id = f.site_id"
                f" ORDER BY {every}"
            )
        queries["revenue_daily.id_order"] = (
            "SELECT s.site_number, f.date, f.revenue_code, f.category, f.collection_type, f.deposit_flag"
            " FROM revenue_daily f JOIN customer_site s ON s.id = f.site_id ORDER BY f.id"
        )
        for name, query in queries.items():
            paths.append(out / f"{name}.tsv")
            await connection.copy_from_query(query, output=str(paths[-1]))
    finally:
        await connection.close()
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--tree", type=Path, default=REPO, help="checkout whose code runs (default: this one)"
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database", default="towne_bench_facts", help="scratch database, dropped each time")
    parser.add_argument("--dump", type=Path, help="write the generated facts of the last repetition here")
    args = parser.parse_args()
    tree = args.tree.resolve()
    url = server_url(args.database)
    reported = []
    for repetition in range(1, args.repeat + 1):
        asyncio.run(recreate(url))
        towne(tree, url, "migrate")
        towne(tree, url, "import")
        load = os.getloadavg()[0]
        started = time.perf_counter()
        output = towne(tree, url, "facts", "generate", "--from", "2025-01", "--to", "2025-06")
        wall = time.perf_counter() - started
        match = re.search(r"2025-06 \(([0-9.]+) s\)", output)
        reported.append(float(match[1]) if match else wall)
        print(f"{repetition}: generate {reported[-1]:.1f} s, process {wall:.1f} s, load average {load:.2f}")
    print(f"{tree}: best {min(reported):.1f} s, median {sorted(reported)[len(reported) // 2]:.1f} s")
    if args.dump:
        args.dump.mkdir(parents=True, exist_ok=True)
        for path in asyncio.run(dump(url, args.dump)):
            data = path.read_bytes()
            rows = data.count(b"\n")
            print(f"{hashlib.sha256(data).hexdigest()}  {path.name} ({rows} rows)")


if __name__ == "__main__":
    main()
