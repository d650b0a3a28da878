"""The database keeps territories and assignments consistent, whatever the path (migration 0009, domain.md §4.3).

What a GIS user does in QGIS or psql: plain INSERT/UPDATE/DELETE on `territory`, committed, as the
`towne_gis_editor` login. Those tests really commit, on a scratch layer and scratch sites in the middle of
the Pacific (no real site or territory is near), and delete what they made afterwards. The others run
inside the rolled-back `db` fixture and use `at_commit` for what COMMIT would run.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from db.database import Database
from tests.conftest import REPO_ROOT, at_commit

GIS_ROLE = "towne_gis_editor"


def _box(min_lon: float, min_lat: float, max_lon: float, max_lat: float) -> str:
    return (
        f"SRID=4326;POLYGON(({min_lon} {min_lat}, {max_lon} {min_lat}, {max_lon} {max_lat}, "
        f"{min_lon} {max_lat}, {min_lon} {min_lat}))"
    )


def _libpq(url: str, user: str | None = None) -> str:
    parsed = make_url(url)
    if user is not None:
        parsed = parsed.set(username=user, password=None)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


class Scratch:
    """Connections as the GIS editor and as the owner, and the scratch layer/sites to clean up."""

    def __init__(self, owner_url: str) -> None:
        self.owner_url = owner_url
        self.layers: list[str] = []
        self.site_numbers: list[str] = []

    async def gis(self) -> asyncpg.Connection:
        return await asyncpg.connect(_libpq(self.owner_url, GIS_ROLE))

    async def owner(self) -> asyncpg.Connection:
        return await asyncpg.connect(_libpq(self.owner_url))

    async def layer(self, code: str, kind: str = "partition") -> int:
        conn = await self.gis()
        try:
            layer_id: int = await conn.fetchval(
                "INSERT INTO territory_layer (code, name, kind) VALUES ($1, $1, $2) RETURNING id", code, kind
            )
        finally:
            await conn.close()
        self.layers.append(code)
        return layer_id

    async def sites(self, points: list[tuple[float, float]]) -> list[uuid.UUID]:
        """Scratch sites (SYNTHETIC) at these lon/lat points, inserted by the owner and committed."""
        conn = await self.owner()
        try:
            ids = []
            for i, (lon, lat) in enumerate(points):
                number = f"98{len(self.site_numbers) + i:02d}"
                site_id = await conn.fetchval(
                    "INSERT INTO customer_site (site_number, name, address, street, state, zip, gl_string,"
                    " location, geocode_method) VALUES ($1, 'Scratch site (synthetic)', '1 Ocean Way', '1 Ocean Way',"
                    " 'HI', '96801', '02-03-1009-', ST_SetSRID(ST_MakePoint($2, $3), 4326), 'manual') RETURNING id",
                    number,
                    lon,
                    lat,
                )
                ids.append(site_id)
            self.site_numbers += [f"98{len(self.site_numbers) + i:02d}" for i in range(len(points))]
        finally:
            await conn.close()
        return ids

    async def cleanup(self) -> None:
        conn = await self.owner()
        try:
            await conn.execute(
                "DELETE FROM customer_site WHERE site_number = ANY($1::text[])", self.site_numbers
            )
            for code in self.layers:
                layer = "(SELECT id FROM territory_layer WHERE code = $1)"
                await conn.execute(f"DELETE FROM site_territory_assignment WHERE layer_id = {layer}", code)
                await conn.execute(f"DELETE FROM territory WHERE layer_id = {layer}", code)
                await conn.execute("DELETE FROM territory_layer WHERE code = $1", code)
        finally:
            await conn.close()


@pytest.fixture
async def scratch(engine: AsyncEngine, database_url: str, imported: Any) -> AsyncIterator[Scratch]:
    made = Scratch(database_url)
    try:
        yield made
    finally:
        await made.cleanup()


async def _history(conn: asyncpg.Connection, site_id: uuid.UUID, layer: str) -> list[tuple[Any, ...]]:
    rows = await conn.fetch(
        "SELECT t.code, a.method, a.valid_to IS NULL AS open FROM site_territory_assignment a"
        " JOIN territory_layer l ON l.id = a.layer_id AND l.code = $2"
        " LEFT JOIN territory t ON t.id = a.territory_id WHERE a.site_id = $1 ORDER BY a.valid_from, a.id",
        site_id,
        layer,
    )
    return [tuple(r) for r in rows]


async def test_a_layer_loaded_row_by_row_in_one_transaction_is_one_reassignment(scratch: Scratch) -> None:
    # QGIS saves an edit session as one transaction of single-row INSERTs
    site_ids = await scratch.sites([(-150.5 + i, 10.5) for i in range(4)])
    layer_id = await scratch.layer("scratch-rows")
    conn = await scratch.gis()
    try:
        async with conn.transaction():
            for i in range(4):
                await conn.execute(
                    "INSERT INTO territory (layer_id, code, name, geom) VALUES ($1, $2, $2, $3::geometry)",
                    layer_id,
                    f"sq-{i}",
                    _box(-151 + i, 10, -150 + i, 11),
                )
            # until commit nothing is reassigned: no site passes through "unassigned"
            assert (
                await conn.fetchval(
                    "SELECT count(*) FROM site_territory_assignment WHERE layer_id = $1", layer_id
                )
                == 0
            )
        for i, site_id in enumerate(site_ids):
            assert await _history(conn, site_id, "scratch-rows") == [(f"sq-{i}", "initial", True)]
        versions = await conn.fetch(
            "SELECT v.version, v.change, v.changed_by FROM territory_version v JOIN territory t ON t.id = v.territory_id"
            " WHERE t.layer_id = $1",
            layer_id,
        )
        assert {tuple(v) for v in versions} == {(1, "create", GIS_ROLE)}
        assert len(versions) == 4
    finally:
        await conn.close()


async def test_a_border_moved_in_two_updates_is_one_change_without_an_unassigned_interval(
    scratch: Scratch,
) -> None:
    # west [-151, -150], east [-150, -149]; a site at -150.2 moves east when the border moves to -150.5.
    [moving, staying] = await scratch.sites([(-150.2, 10.5), (-150.8, 10.5)])
    layer_id = await scratch.layer("scratch-border")
    conn = await scratch.gis()
    try:
        await conn.execute(
            "INSERT INTO territory (layer_id, code, name, geom) VALUES ($1, 'west', 'West', $2::geometry),"
            " ($1, 'east', 'East', $3::geometry)",
            layer_id,
            _box(-151, 10, -150, 11),
            _box(-150, 10, -149, 11),
        )
        async with conn.transaction():
            # grow east first: the two overlap between the statements, which only commit checks
            await conn.execute(
                "UPDATE territory SET geom = $2::geometry WHERE layer_id = $1 AND code = 'east'",
                layer_id,
                _box(-150.5, 10, -149, 11),
            )
            await conn.execute(
                "UPDATE territory SET geom = $2::geometry WHERE layer_id = $1 AND code = 'west'",
                layer_id,
                _box(-151, 10, -150.5, 11),
            )
        assert await _history(conn, moving, "scratch-border") == [
            ("west", "initial", False),
            ("east", "point_in_polygon", True),
        ]
        assert await _history(conn, staying, "scratch-border") == [("west", "initial", True)]
        versions = await conn.fetch(
            "SELECT t.code, v.version FROM territory_version v JOIN territory t ON t.id = v.territory_id"
            " WHERE t.layer_id = $1 ORDER BY 1, 2",
            layer_id,
        )
        assert [tuple(v) for v in versions] == [("east", 1), ("east", 2), ("west", 1), ("west", 2)]
        # the moved site's assignment changed at the instant both new versions start
        instants = await conn.fetch(
            "SELECT DISTINCT v.valid_from FROM territory_version v JOIN territory t ON t.id = v.territory_id"
            " WHERE t.layer_id = $1 AND v.version = 2",
            layer_id,
        )
        moved_at = await conn.fetchval(
            "SELECT valid_from FROM site_territory_assignment WHERE site_id = $1 AND valid_to IS NULL"
            " AND layer_id = $2",
            moving,
            layer_id,
        )
        assert [r[0] for r in instants] == [moved_at]
    finally:
        await conn.close()


async def test_moving_back_in_a_later_transaction_is_version_3(scratch: Scratch) -> None:
    [site] = await scratch.sites([(-150.5, 10.5)])
    layer_id = await scratch.layer("scratch-back")
    conn = await scratch.gis()
    try:
        await conn.execute(
            "INSERT INTO territory (layer_id, code, name, geom) VALUES ($1, 'a', 'A', $2::geometry)",
            layer_id,
            _box(-151, 10, -150, 11),
        )
        for box in (_box(-140, 10, -139, 11), _box(-151, 10, -150, 11)):
            await conn.execute("UPDATE territory SET geom = $2::geometry WHERE layer_id = $1", layer_id, box)
        assert await conn.fetchval("SELECT version FROM territory WHERE layer_id = $1", layer_id) == 3
        assert await _history(conn, site, "scratch-back") == [
            ("a", "initial", False),
            (None, "point_in_polygon", False),
            ("a", "point_in_polygon", True),
        ]
    finally:
        await conn.close()


async def test_an_overlap_in_a_partition_layer_is_refused_at_commit_naming_both(scratch: Scratch) -> None:
    layer_id = await scratch.layer("scratch-overlap")
    conn = await scratch.gis()
    try:
        await conn.execute(
            "INSERT INTO territory (layer_id, code, name, geom) VALUES ($1, 'a', 'Alpha', $2::geometry)",
            layer_id,
            _box(-151, 10, -150, 11),
        )
        with pytest.raises(asyncpg.ExclusionViolationError) as refused:
            await conn.execute(
                "INSERT INTO territory (layer_id, code, name, geom) VALUES ($1, 'b', 'Beta', $2::geometry)",
                layer_id,
                _box(-150.5, 10, -149, 11),
            )
        message = str(refused.value)
        assert 'territory "b" overlaps "a" (Alpha)' in message and "partition layer" in message
        overlap_m2 = int(message.split(" by ")[1].split(" m²")[0])
        assert 5.9e9 < overlap_m2 < 6.1e9  # half a degree by one degree at 10°N: about 6,000 km²
        assert await conn.fetchval("SELECT count(*) FROM territory WHERE layer_id = $1", layer_id) == 1
        # within the tolerance (a sliver from snapping) is accepted
        await conn.execute(
            "INSERT INTO territory (layer_id, code, name, geom) VALUES ($1, 'c', 'Gamma', $2::geometry)",
            layer_id,
            _box(-150.0005, 10, -149, 10.001),
        )
    finally:
        await conn.close()


async def test_an_overlay_layer_accepts_overlaps(scratch: Scratch) -> None:
    layer_id = await scratch.layer("scratch-overlay", kind="overlay")
    conn = await scratch.gis()
    try:
        await conn.execute(
            "INSERT INTO territory (layer_id, code, name, geom) VALUES ($1, 'a', 'A', $2::geometry),"
            " ($1, 'b', 'B', $3::geometry)",
            layer_id,
            _box(-151, 10, -150, 11),
            _box(-150.5, 10, -149, 11),
        )
        assert await conn.fetchval("SELECT count(*) FROM territory WHERE layer_id = $1", layer_id) == 2
    finally:
        await conn.close()


async def test_concurrent_edits_of_neighbours_cannot_both_commit_an_overlap(scratch: Scratch) -> None:
    # each edit alone is fine; together they overlap. The layer lock makes the second check see the first.
    layer_id = await scratch.layer("scratch-race")
    setup = await scratch.gis()
    await setup.execute(
        "INSERT INTO territory (layer_id, code, name, geom) VALUES ($1, 'a', 'A', $2::geometry),"
        " ($1, 'b', 'B', $3::geometry)",
        layer_id,
        _box(-152, 10, -151, 11),
        _box(-149, 10, -148, 11),
    )
    await setup.close()
    first, second = await scratch.gis(), await scratch.gis()

    async def grow(conn: asyncpg.Connection, code: str, box: str, hold: float) -> str:
        try:
            async with conn.transaction():
                await conn.execute(
                    "UPDATE territory SET geom = $3::geometry WHERE layer_id = $1 AND code = $2",
                    layer_id,
                    code,
                    box,
                )
                await asyncio.sleep(hold)
            return "committed"
        except asyncpg.ExclusionViolationError:
            return "refused"

    try:
        outcomes = await asyncio.gather(
            grow(first, "a", _box(-152, 10, -150, 11), 0.3),
            grow(second, "b", _box(-150.5, 10, -148, 11), 0.0),
        )
    finally:
        await first.close()
        await second.close()
    assert sorted(outcomes) == ["committed", "refused"]


async def test_the_tie_rule_is_frozen_at_creation(scratch: Scratch) -> None:
    # overlay: small and big overlap; a site in both goes to small (lower priority = area at creation).
    # small then grows far away, larger than big: the border between them did not move, nor does the site.
    [site] = await scratch.sites([(-150.25, 10.5)])
    layer_id = await scratch.layer("scratch-tie", kind="overlay")
    conn = await scratch.gis()
    try:
        await conn.execute(
            "INSERT INTO territory (layer_id, code, name, geom) VALUES ($1, 'z-small', 'Small', $2::geometry),"
            " ($1, 'a-big', 'Big', $3::geometry)",
            layer_id,
            _box(-150.5, 10, -150, 11),
            _box(-151, 9, -149, 12),
        )
        assert await _history(conn, site, "scratch-tie") == [("z-small", "initial", True)]
        await conn.execute(
            "UPDATE territory SET geom = ST_Multi(ST_Union($2::geometry, $3::geometry))"
            " WHERE layer_id = $1 AND code = 'z-small'",
            layer_id,
            _box(-150.5, 10, -150, 11),
            _box(-145, 10, -140, 20),
        )
        sizes = await conn.fetch(
            "SELECT code, area_km2 > (SELECT area_km2 FROM territory WHERE layer_id = $1 AND code = 'a-big'),"
            " priority FROM territory WHERE layer_id = $1 ORDER BY code",
            layer_id,
        )
        assert sizes[1][0] == "z-small" and sizes[1][1] is True  # now the bigger one …
        assert await _history(conn, site, "scratch-tie") == [("z-small", "initial", True)]  # … and keeps it
    finally:
        await conn.close()


async def test_reassignment_touches_only_the_sites_of_the_changed_territory(scratch: Scratch) -> None:
    [far, near] = await scratch.sites([(-140.5, 10.5), (-150.5, 10.5)])
    layer_id = await scratch.layer("scratch-touch", kind="overlay")
    conn, owner = await scratch.gis(), await scratch.owner()
    try:
        await conn.execute(
            "INSERT INTO territory (layer_id, code, name, geom) VALUES ($1, 'near', 'Near', $2::geometry),"
            " ($1, 'far', 'Far', $3::geometry)",
            layer_id,
            _box(-151, 10, -150, 11),
            _box(-141, 10, -140, 11),
        )
        assert await _history(conn, far, "scratch-touch") == [("far", "initial", True)]
        # a stale row the rule would correct if it looked at the far site (only the owner can forge one)
        await owner.execute(
            "UPDATE site_territory_assignment SET territory_id = NULL WHERE site_id = $1 AND layer_id = $2",
            far,
            layer_id,
        )
        async with conn.transaction():
            await conn.execute(
                "UPDATE territory SET geom = $2::geometry WHERE layer_id = $1 AND code = 'near'",
                layer_id,
                _box(-151, 10, -149, 11),
            )
            changed = await conn.fetch("SELECT * FROM towne_flush_territory_changes()")
        assert changed == []  # the near site stays where it is …
        assert await _history(conn, far, "scratch-touch") == [(None, "initial", True)]  # … the far one unseen
        assert await _history(conn, near, "scratch-touch") == [("near", "initial", True)]
        # a layer whose every territory changed is assigned whole: every site gets its row
        assert await conn.fetchval(
            "SELECT count(DISTINCT site_id) FROM site_territory_assignment WHERE layer_id = $1", layer_id
        ) == await conn.fetchval("SELECT count(*) FROM customer_site")
    finally:
        await conn.close()
        await owner.close()


async def test_retiring_keeps_history_and_delete_is_refused_once_assigned(scratch: Scratch) -> None:
    [site] = await scratch.sites([(-150.5, 10.5)])
    layer_id = await scratch.layer("scratch-retire")
    conn = await scratch.gis()
    try:
        await conn.execute(
            "INSERT INTO territory (layer_id, code, name, geom) VALUES ($1, 'old', 'Old', $2::geometry),"
            " ($1, 'never', 'Never assigned', $3::geometry)",
            layer_id,
            _box(-151, 10, -150, 11),
            _box(-140, 10, -139, 11),
        )
        with pytest.raises(asyncpg.ForeignKeyViolationError, match="retire it instead"):
            await conn.execute("DELETE FROM territory WHERE layer_id = $1 AND code = 'old'", layer_id)
        await conn.execute("DELETE FROM territory WHERE layer_id = $1 AND code = 'never'", layer_id)
        await conn.execute("UPDATE territory SET retired_at = now() WHERE layer_id = $1", layer_id)
        row = await conn.fetchrow(
            "SELECT t.version, (SELECT count(*) FROM territory_part p WHERE p.territory_id = t.id) AS parts,"
            " (SELECT count(*) FROM territory_version v WHERE v.territory_id = t.id AND v.valid_to IS NULL) AS open"
            " FROM territory t WHERE t.layer_id = $1",
            layer_id,
        )
        assert tuple(row) == (2, 0, 0)
        assert await _history(conn, site, "scratch-retire") == [
            ("old", "initial", False),
            (None, "point_in_polygon", True),
        ]
        with pytest.raises(asyncpg.CheckViolationError, match="is retired"):
            await conn.execute(
                "UPDATE territory SET name = 'Renamed' WHERE layer_id = $1 AND code = 'old'", layer_id
            )
        await conn.execute("UPDATE territory SET retired_at = NULL WHERE layer_id = $1", layer_id)
        assert await _history(conn, site, "scratch-retire") == [
            ("old", "initial", False),
            (None, "point_in_polygon", False),
            ("old", "point_in_polygon", True),
        ]
        changes = await conn.fetch(
            "SELECT v.version, v.change FROM territory_version v JOIN territory t ON t.id = v.territory_id"
            " WHERE t.layer_id = $1 ORDER BY 1",
            layer_id,
        )
        assert [tuple(c) for c in changes] == [(1, "create"), (3, "restore")]
    finally:
        await conn.close()


async def test_the_gis_editor_role_edits_territories_and_nothing_else(scratch: Scratch) -> None:
    conn = await scratch.gis()
    try:
        for statement in (
            "SELECT * FROM contract LIMIT 1",
            "SELECT email FROM app_user LIMIT 1",
            "SELECT billing_contact_email FROM customer_site LIMIT 1",
            "UPDATE customer_site SET name = name",
            "DELETE FROM site_territory_assignment",
            "INSERT INTO territory_version (territory_id, version, code, name, geom, valid_from, changed_by,"
            " change) VALUES (1, 99, 'x', 'x', 'SRID=4326;MULTIPOLYGON(((0 0,1 0,1 1,0 0)))', now(), 'x', 'update')",
        ):
            with pytest.raises((asyncpg.InsufficientPrivilegeError, asyncpg.UndefinedColumnError)):
                await conn.execute(statement)
        # what it may read: territories, their history and parts, the sites' identity and location
        assert await conn.fetchval("SELECT count(*) FROM customer_site") == 649
        assert await conn.fetchval("SELECT count(*) FROM territory_version") >= 44
        assert await conn.fetchval("SELECT count(*) FROM us_state") == 52  # the QGIS basemap
        kind = await conn.fetchval(
            "SELECT type FROM geometry_columns WHERE f_table_name = 'territory' AND f_geometry_column = 'geom'"
        )
        assert kind == "MULTIPOLYGON"  # what QGIS is told, so it saves (Multi)Polygons
    finally:
        await conn.close()


# ---- inside the rolled-back fixture


async def test_a_plain_polygon_is_stored_as_a_one_part_multipolygon(db: Database) -> None:
    async with db.transaction() as session:
        await session.execute(
            text(
                "INSERT INTO territory (layer_id, code, name, geom) SELECT id, 'gulf', 'Gulf',"
                " ST_MakeEnvelope(-90, 25, -89, 26, 4326) FROM territory_layer WHERE code = 'districts'"
            )
        )
        await at_commit(session)
        kind, parts = (
            await session.execute(
                text("SELECT GeometryType(geom), ST_NumGeometries(geom) FROM territory WHERE code = 'gulf'")
            )
        ).one()
    assert (kind, parts) == ("MULTIPOLYGON", 1)


@pytest.mark.parametrize(
    ("wkt", "reason"),
    [
        ("SRID=4326;LINESTRING(-90 25, -89 26)", "is a LINESTRING, expected a Polygon or MultiPolygon"),
        ("SRID=4326;POLYGON((-90 25, -89 26, -89 25, -90 26, -90 25))", "Self-intersection"),
        ("SRID=4326;POLYGON((-190 25, -189 25, -189 26, -190 25))", "outside longitude -180..180"),
    ],
)
async def test_the_database_refuses_bad_geometry_with_its_reason(db: Database, wkt: str, reason: str) -> None:
    async with db.transaction() as session:
        with pytest.raises(DBAPIError, match=reason):
            async with session.begin_nested():
                await session.execute(
                    text(
                        "INSERT INTO territory (layer_id, code, name, geom) SELECT id, 'bad', 'Bad', CAST(:g AS geometry)"
                        " FROM territory_layer WHERE code = 'districts'"
                    ),
                    {"g": wkt},
                )


async def test_customer_site_id_has_a_database_default(db: Database) -> None:
    async with db.transaction() as session:
        site_id = (
            await session.execute(
                text(
                    "INSERT INTO customer_site (site_number, name, address, street, state, zip, gl_string,"
                    " location, geocode_method) VALUES ('9990', 'Default id (synthetic)', '1 Test St', '1 Test St',"
                    " 'FL', '32830', '02-03-1009-', ST_SetSRID(ST_MakePoint(-81.5, 28.5), 4326), 'manual')"
                    " RETURNING id"
                )
            )
        ).scalar_one()
        await at_commit(session)
        layers = (
            await session.execute(
                text("SELECT count(DISTINCT layer_id) FROM site_territory_assignment WHERE site_id = :id"),
                {"id": site_id},
            )
        ).scalar_one()
    assert isinstance(site_id, uuid.UUID)
    assert layers == 3  # assigned in every layer in the same transaction


async def test_towne_db_url_prints_a_libpq_url_for_the_gis_editor(database_url: str, imported: Any) -> None:
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "server.cli", "db", "url", "--libpq", "--role", "gis-editor"],
        cwd=REPO_ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    url = result.stdout.strip()
    assert url.startswith(f"postgresql://{GIS_ROLE}@")
    conn = await asyncpg.connect(url)
    try:
        assert await conn.fetchval("SELECT current_user") == GIS_ROLE
    finally:
        await conn.close()
    if shutil.which("psql"):  # what QGIS' connection dialog is given: a libpq connection string
        answer = await asyncio.to_thread(
            subprocess.run,
            ["psql", url, "-Atc", "SELECT count(*) FROM territory"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert int(answer.stdout) >= 44


# ---- what a GIS login must not be able to steer (review of migration 0009)


async def test_a_gis_login_cannot_borrow_a_caller_nor_switch_off_reassignment(scratch: Scratch) -> None:
    [site] = await scratch.sites([(-150.5, 10.5)])
    layer_id = await scratch.layer("scratch-forge")
    conn = await scratch.gis()
    try:
        async with conn.transaction():
            # towne import's switches and the application's caller binding, set by hand
            await conn.execute(
                "SELECT set_config('towne.user_id', min(id)::text, true) FROM generate_series(1, 1) id"
            )
            await conn.execute("SET LOCAL towne.defer_assignment = on")
            await conn.execute("SET LOCAL towne.history_from_beginning = on")
            await conn.execute(
                "INSERT INTO territory (layer_id, code, name, geom) VALUES ($1, 'f', 'F', $2::geometry)",
                layer_id,
                _box(-151, 10, -150, 11),
            )
        row = await conn.fetchrow(
            "SELECT t.updated_by, v.changed_by, v.change, isfinite(v.valid_from) AS finite FROM territory t"
            " JOIN territory_version v ON v.territory_id = t.id WHERE t.layer_id = $1",
            layer_id,
        )
        assert tuple(row) == (GIS_ROLE, GIS_ROLE, "create", True)
        assert await _history(conn, site, "scratch-forge") == [
            ("f", "initial", True)
        ]  # assigned all the same
        assert await conn.fetchval("SELECT towne_caller()") == GIS_ROLE
    finally:
        await conn.close()


async def test_territory_edits_outside_read_committed_are_refused(scratch: Scratch) -> None:
    layer_id = await scratch.layer("scratch-isolation")
    conn = await scratch.gis()
    try:
        with pytest.raises(asyncpg.InvalidTransactionStateError, match="READ COMMITTED"):
            async with conn.transaction(isolation="repeatable_read"):
                await conn.execute(
                    "INSERT INTO territory (layer_id, code, name, geom) VALUES ($1, 'r', 'R', $2::geometry)",
                    layer_id,
                    _box(-151, 10, -150, 11),
                )
        assert await conn.fetchval("SELECT count(*) FROM territory WHERE layer_id = $1", layer_id) == 0
    finally:
        await conn.close()


@pytest.mark.parametrize("site_first", [False, True])
async def test_a_territory_and_a_site_created_together_start_at_one_instant(
    scratch: Scratch, site_first: bool
) -> None:
    # whichever statement comes first, the site is in the new territory from its creation, not from the
    # site's start date (the territory did not exist then), and passes through no unassigned row
    layer_id = await scratch.layer("scratch-together")
    owner = await scratch.owner()
    number = f"98{len(scratch.site_numbers):02d}"
    scratch.site_numbers.append(number)
    territory = (
        "INSERT INTO territory (layer_id, code, name, geom) VALUES ($1, 't', 'T', $2::geometry)",
        layer_id,
        _box(-151, 10, -150, 11),
    )
    site = (
        "INSERT INTO customer_site (site_number, name, address, street, state, zip, gl_string, location,"
        " geocode_method, start_date) VALUES ($1, 'Together (synthetic)', '1 Ocean Way', '1 Ocean Way', 'HI',"
        " '96801', '02-03-1009-', ST_SetSRID(ST_MakePoint(-150.5, 10.5), 4326), 'manual', '2020-01-01')",
        number,
    )
    try:
        async with owner.transaction():
            for statement in (site, territory) if site_first else (territory, site):
                await owner.execute(*statement)
        rows = await owner.fetch(
            "SELECT a.method, a.valid_from = v.valid_from AS same_instant, a.valid_to IS NULL AS open"
            " FROM site_territory_assignment a JOIN customer_site s ON s.id = a.site_id"
            " JOIN territory_version v ON v.territory_id = (SELECT id FROM territory WHERE layer_id = $2)"
            " WHERE s.site_number = $1 AND a.layer_id = $2 ORDER BY a.valid_from",
            number,
            layer_id,
        )
        assert [tuple(r) for r in rows] == [("initial", True, True)]
    finally:
        await owner.close()


async def test_renaming_a_code_reapplies_the_tie_on_a_shared_border(scratch: Scratch) -> None:
    [site] = await scratch.sites([(-150.0, 10.5)])  # on the border of m and n, equal priority: code decides
    layer_id = await scratch.layer("scratch-rename")
    conn = await scratch.gis()
    try:
        await conn.execute(
            "INSERT INTO territory (layer_id, code, name, geom, priority) VALUES"
            " ($1, 'm', 'M', $2::geometry, 5), ($1, 'n', 'N', $3::geometry, 5)",
            layer_id,
            _box(-151, 10, -150, 11),
            _box(-150, 10, -149, 11),
        )
        assert (await _history(conn, site, "scratch-rename"))[-1] == ("m", "initial", True)
        await conn.execute("UPDATE territory SET code = 'a-n' WHERE layer_id = $1 AND code = 'n'", layer_id)
        assert (await _history(conn, site, "scratch-rename"))[-1] == ("a-n", "point_in_polygon", True)
    finally:
        await conn.close()


async def test_retired_at_is_the_database_clock_and_no_marker_is_left(scratch: Scratch) -> None:
    layer_id = await scratch.layer("scratch-clock")
    conn = await scratch.gis()
    try:
        async with conn.transaction():
            await conn.execute(
                "INSERT INTO territory (layer_id, code, name, geom) VALUES ($1, 'gone', 'Gone', $2::geometry)",
                layer_id,
                _box(-151, 10, -150, 11),
            )
            await conn.execute("DELETE FROM territory WHERE layer_id = $1", layer_id)
        await conn.execute(
            "INSERT INTO territory (layer_id, code, name, geom) VALUES ($1, 'c', 'C', $2::geometry)",
            layer_id,
            _box(-151, 10, -150, 11),
        )
        await conn.execute("UPDATE territory SET retired_at = '2030-01-01' WHERE layer_id = $1", layer_id)
        retired_at = await conn.fetchval("SELECT retired_at FROM territory WHERE layer_id = $1", layer_id)
        assert retired_at < await conn.fetchval("SELECT now()")  # retired then, not in 2030
    finally:
        await conn.close()
    owner = await scratch.owner()
    try:  # the commit-time queue is empty once every transaction has committed
        assert await owner.fetchval("SELECT count(*) FROM territory_change_marker") == 0
        assert await owner.fetchval("SELECT count(*) FROM territory_change") == 0
        assert await owner.fetchval("SELECT count(*) FROM site_change") == 0
    finally:
        await owner.close()
