"""bench/reassign.py keeps working: a run with tiny sizes on a scratch database of its own.

The bench rebuilds `<test database>_reassign` (migrations, the real data, 2,000 synthetic sites), runs all
four measurements of issue 9 §4 and exits 1 when one of its consistency checks fails (shapely and PostGIS
disagree, a site without its rows, a border move that moves nothing or does not come back). Timings are
not asserted: they are the bench's business, not a test's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bench import reassign


@pytest.fixture
async def scratch_url(database_url: str) -> AsyncIterator[str]:
    url = make_url(database_url)
    scratch = url.set(database=f"{url.database}_reassign")
    yield scratch.render_as_string(hide_password=False)
    admin = create_async_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch.database}" WITH (FORCE)'))
    finally:
        await admin.dispose()


async def test_the_bench_runs_all_four_measurements_with_tiny_sizes(
    scratch_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = reassign.parse(
        ["--sites", "2000", "--polygons", "20", "--inserts", "3", "--database-url", scratch_url]
    )
    status = await reassign.run(args)
    out = capsys.readouterr().out
    assert status == 0, out
    assert "2,000 synthetic sites loaded" in out
    for measurement in ("(a) border moved 3 km", "(b) one site inserted", "(c) 20 polygons row by row",
                        "(d) full assignment of 2,649 sites"):  # fmt: skip
        assert measurement in out, out
    # the border move moved sites there and the same number back (the bench checks they match)
    assert "check failed" not in out
