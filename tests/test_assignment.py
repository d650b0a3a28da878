"""Point-in-polygon assignment (domain.md §4.3): borders, unassigned points, history, manual rows, plan."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from db.database import Database
from db.models import CustomerSite, SiteTerritoryAssignment, Territory, TerritoryLayer
from db.repositories.assignments import UnknownLayerError, assign_layer, set_manual_assignment
from tests.conftest import at_commit

T0 = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
T1 = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)


async def _new_site(session, lon: float, lat: float, number: str = "9901") -> uuid.UUID:  # type: ignore[no-untyped-def]
    site = CustomerSite(
        id=uuid.uuid4(),
        site_number=number,
        name=f"Test site {number}",
        address="1 Test Street, Testville, FL 32830",
        street="1 Test Street",
        city="Testville",
        state="FL",
        zip="32830",
        gl_string="02-03-1009-",
        location=f"SRID=4326;POINT({lon} {lat})",
        geocode_method="manual",
    )
    session.add(site)
    await session.flush()
    await at_commit(session)  # a new site is assigned at commit (migration 0009)
    return site.id


async def _open_territory(session, site_id: uuid.UUID, layer: str) -> str | None:  # type: ignore[no-untyped-def]
    code: str | None = (
        await session.execute(
            select(Territory.code)
            .select_from(SiteTerritoryAssignment)
            .join(TerritoryLayer, TerritoryLayer.id == SiteTerritoryAssignment.layer_id)
            .outerjoin(Territory, Territory.id == SiteTerritoryAssignment.territory_id)
            .where(
                SiteTerritoryAssignment.site_id == site_id,
                TerritoryLayer.code == layer,
                SiteTerritoryAssignment.valid_to.is_(None),
            )
        )
    ).scalar_one()
    return code


async def test_point_on_a_shared_border_is_inside_and_resolves_deterministically(db: Database) -> None:
    async with db.transaction() as session:
        # A vertex on the shared boundary of two districts (ST_Covers counts it inside both).
        lon, lat, codes = (
            await session.execute(
                text(
                    """
                    SELECT ST_X(d.geom), ST_Y(d.geom), ARRAY[a.code, b.code]
                    FROM territory a
                    JOIN territory b ON b.layer_id = a.layer_id AND b.code = 'san-antonio'
                    CROSS JOIN LATERAL ST_DumpPoints(ST_Intersection(a.geom, b.geom)) d
                    WHERE a.code = 'austin'
                    ORDER BY d.path LIMIT 1
                    """
                )
            )
        ).one()
        covering = (
            await session.execute(
                text(
                    "SELECT array_agg(t.code ORDER BY t.area_km2, t.code) FROM territory t JOIN territory_layer l "
                    "ON l.id = t.layer_id AND l.code = 'districts' "
                    "WHERE ST_Covers(t.geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))"
                ),
                {"lon": lon, "lat": lat},
            )
        ).scalar_one()
        site_id = await _new_site(session, lon, lat)
        assigned = await _open_territory(session, site_id, "districts")
    assert sorted(covering) == sorted(codes), "the border point must be covered by both districts"
    # Tie rule: the smaller territory wins (then the lower code).
    assert assigned == covering[0]


async def test_point_outside_every_polygon_gets_an_explicit_unassigned_row(db: Database) -> None:
    async with db.transaction() as session:
        site_id = await _new_site(session, -140.0, 30.0)  # Pacific Ocean
        rows = (
            await session.execute(
                select(
                    TerritoryLayer.code, SiteTerritoryAssignment.territory_id, SiteTerritoryAssignment.method
                )
                .join(TerritoryLayer, TerritoryLayer.id == SiteTerritoryAssignment.layer_id)
                .where(SiteTerritoryAssignment.site_id == site_id)
            )
        ).all()
    assert sorted(rows) == [  # a new site's first rows: initial
        ("districts", None, "initial"),
        ("regions", None, "initial"),
        ("upp-districts", None, "initial"),
    ]


async def test_reassignment_closes_history_only_where_the_territory_changed(db: Database) -> None:
    async with db.transaction() as session:
        site_id = (
            await session.execute(select(CustomerSite.id).where(CustomerSite.site_number == "0349"))
        ).scalar_one()
        # Backdate the open rows so the history has a March that differs from June.
        await session.execute(
            text("UPDATE site_territory_assignment SET valid_from = :t0 WHERE valid_to IS NULL"), {"t0": T0}
        )
        rows_before = (
            await session.execute(select(func.count()).select_from(SiteTerritoryAssignment))
        ).scalar_one()
        unchanged = await assign_layer(session, layer_code="districts", at=T1)
        # Move the site to downtown Tampa without the site trigger, so the explicit run does the work.
        await session.execute(text("ALTER TABLE customer_site DISABLE TRIGGER customer_site_after_update"))
        await session.execute(
            text(
                "UPDATE customer_site SET location = ST_SetSRID(ST_MakePoint(-82.4572, 27.9506), 4326) WHERE id = :id"
            ),
            {"id": site_id},
        )
        await session.execute(text("ALTER TABLE customer_site ENABLE TRIGGER customer_site_after_update"))
        result = await assign_layer(session, layer_code="districts", at=T1)
        history = (
            await session.execute(
                select(Territory.code, SiteTerritoryAssignment.valid_from, SiteTerritoryAssignment.valid_to)
                .select_from(SiteTerritoryAssignment)
                .join(TerritoryLayer, TerritoryLayer.id == SiteTerritoryAssignment.layer_id)
                .outerjoin(Territory, Territory.id == SiteTerritoryAssignment.territory_id)
                .where(SiteTerritoryAssignment.site_id == site_id, TerritoryLayer.code == "districts")
                .order_by(SiteTerritoryAssignment.valid_from)
            )
        ).all()
        as_of_march = (
            await session.execute(
                text(
                    "SELECT t.code FROM site_territory_assignment a JOIN territory t ON t.id = a.territory_id "
                    "JOIN territory_layer l ON l.id = a.layer_id AND l.code = 'districts' "
                    "WHERE a.site_id = :id AND a.valid_from <= :at AND (a.valid_to IS NULL OR a.valid_to > :at)"
                ),
                {"id": site_id, "at": dt.datetime(2025, 3, 15, tzinfo=dt.UTC)},
            )
        ).scalar_one()
        rows_after = (
            await session.execute(select(func.count()).select_from(SiteTerritoryAssignment))
        ).scalar_one()
    assert (unchanged.opened, unchanged.closed) == (0, 0)  # nothing changed, nothing written
    assert (result.opened, result.closed) == (1, 1)  # only the moved site
    assert rows_after == rows_before + 1
    assert [tuple(h) for h in history] == [("orlando", T0, T1), ("tampa-st-petersburg", T1, None)]
    assert as_of_march == "orlando"


async def test_editing_a_territory_reassigns_its_sites_through_the_database(db: Database) -> None:
    # The path a QGIS user takes: a plain UPDATE of the geometry; triggers refresh parts and assignments.
    async with db.transaction() as session:
        await session.execute(
            text(
                "UPDATE territory SET geom = ST_Multi(ST_MakeEnvelope(-88, 24, -87, 25, 4326)) WHERE code = 'orlando'"
            )
        )
        await at_commit(session)
        version = (
            await session.execute(select(Territory.version).where(Territory.code == "orlando"))
        ).scalar_one()
        site_id = (
            await session.execute(select(CustomerSite.id).where(CustomerSite.site_number == "0349"))
        ).scalar_one()
        now_in = await _open_territory(session, site_id, "districts")
        closed = (
            await session.execute(
                select(func.count()).where(
                    SiteTerritoryAssignment.site_id == site_id, SiteTerritoryAssignment.valid_to.is_not(None)
                )
            )
        ).scalar_one()
    assert version == 2
    assert now_in is None  # the edit left a hole where the site is: explicitly unassigned
    assert closed == 1


async def test_manual_assignment_wins_over_point_in_polygon(db: Database) -> None:
    async with db.transaction() as session:
        site_id = (
            await session.execute(select(CustomerSite.id).where(CustomerSite.site_number == "0349"))
        ).scalar_one()
        tampa = (
            await session.execute(select(Territory.id).where(Territory.code == "tampa-st-petersburg"))
        ).scalar_one()
        await set_manual_assignment(session, site_id=site_id, layer_code="districts", territory_id=tampa)
        result = await assign_layer(session, layer_code="districts")
        assert await _open_territory(session, site_id, "districts") == "tampa-st-petersburg"
    assert result.manual == 1 and result.opened == 0


async def test_unknown_layer_is_refused(db: Database) -> None:
    async with db.transaction() as session:
        with pytest.raises(UnknownLayerError, match="nope"):
            await assign_layer(session, layer_code="nope")


async def test_database_refuses_invalid_territory_geometry_with_its_location(db: Database) -> None:
    bowtie = "SRID=4326;MULTIPOLYGON(((0 0, 1 1, 1 0, 0 1, 0 0)))"
    with pytest.raises(DBAPIError, match=r"Self-intersection\[0\.5 0\.5\]"):
        async with db.transaction() as session:
            await session.execute(
                text("UPDATE territory SET geom = :g WHERE code = 'orlando'"), {"g": bowtie}
            )


async def test_two_open_rows_for_one_site_and_layer_are_refused(db: Database) -> None:
    with pytest.raises(DBAPIError, match="no_overlapping_assignment"):
        async with db.transaction() as session:
            await session.execute(
                text(
                    "INSERT INTO site_territory_assignment (site_id, layer_id, territory_id, method, valid_from) "
                    "SELECT site_id, layer_id, territory_id, 'manual', valid_from + interval '1 day' "
                    "FROM site_territory_assignment WHERE valid_to IS NULL LIMIT 1"
                )
            )
            await session.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))


async def test_assignment_is_driven_by_polygons_probing_the_site_index(db: Database) -> None:
    async with db.read() as session:
        layer_id = (
            await session.execute(select(TerritoryLayer.id).where(TerritoryLayer.code == "districts"))
        ).scalar_one()
        plan = "\n".join(
            row[0]
            for row in await session.execute(
                text(
                    "EXPLAIN SELECT s.id, p.territory_id FROM territory_part p "
                    "JOIN customer_site s ON ST_Covers(p.geom, s.location) WHERE p.layer_id = :l"
                ),
                {"l": layer_id},
            )
        )
    assert "ix_customer_site_location" in plan, plan
    # polygons outer, sites probed: the site index scan is the inner side of a nested loop
    assert plan.index("territory_part") < plan.index("ix_customer_site_location"), plan


async def test_clustering_the_sites_changes_no_assignment(db: Database) -> None:
    from db.repositories.assignments import cluster_sites

    async with db.transaction() as session:
        await cluster_sites(session)
        result = await assign_layer(session, layer_code="districts")
    assert (result.assigned, result.opened, result.closed) == (649, 0, 0)


# The tie rule in both branches of towne_assign_layer: whole layer (import, territory edits) and given sites
# (the site trigger). Test layers are built by hand so the geometry of the case is exact.


async def _test_layer(session, code: str, kind: str, territories: list[tuple[str, str]]) -> None:  # type: ignore[no-untyped-def]
    """A layer with territories (code, WKT polygon), inserted in the given order in one statement."""
    await session.execute(
        text("INSERT INTO territory_layer (code, name, kind) VALUES (:c, :c, :k)"), {"c": code, "k": kind}
    )
    values = ", ".join(
        f"(:t{i}, :t{i}, ST_Multi(ST_GeomFromText(:g{i}, 4326)))" for i in range(len(territories))
    )
    params: dict[str, str] = {"layer": code}
    for i, (territory_code, wkt) in enumerate(territories):
        params[f"t{i}"], params[f"g{i}"] = territory_code, wkt
    await session.execute(
        text(
            "INSERT INTO territory (layer_id, code, name, geom) "
            f"SELECT l.id, v.code, v.name, v.geom FROM territory_layer l, (VALUES {values}) AS v(code, name, geom) "
            "WHERE l.code = :layer"
        ),
        params,
    )


def _box(min_lon: float, min_lat: float, max_lon: float, max_lat: float) -> str:
    return (
        f"POLYGON(({min_lon} {min_lat}, {max_lon} {min_lat}, {max_lon} {max_lat}, "
        f"{min_lon} {max_lat}, {min_lon} {min_lat}))"
    )


# Two districts sharing the edge lon = -99; the smaller one has the higher code, so only "smallest area
# first" gives border-b, and only ST_Covers (not ST_Contains) puts a point of the edge in either.
BORDER = [("border-a", _box(-100, 40, -99, 41)), ("border-b", _box(-99, 40, -98.5, 41))]
ON_THE_EDGE = (-99.0, 40.5)
# Two overlapping territories of exactly the same area; the higher code is inserted first (lower id), so
# only "then the lowest code" gives tie-a.
TIE = [("tie-b", _box(-99.5, 40, -98.5, 41)), ("tie-a", _box(-100, 40, -99, 41))]
IN_BOTH = (-99.25, 40.5)


async def test_whole_layer_assignment_puts_a_border_point_in_the_smaller_territory(db: Database) -> None:
    async with db.transaction() as session:
        site_id = await _new_site(session, *ON_THE_EDGE)  # exists before the layer: no row in it yet
        await session.execute(text("SELECT set_config('towne.defer_assignment', 'on', true)"))
        await _test_layer(session, "test-border", "partition", BORDER)
        await session.execute(text("SELECT set_config('towne.defer_assignment', 'off', true)"))
        result = await assign_layer(session, layer_code="test-border")  # p_site_ids NULL: whole layer
        assigned = await _open_territory(session, site_id, "test-border")
    assert assigned == "border-b"
    assert result.assigned == 1  # of all sites, only the test site lies in the test layer


async def test_site_trigger_puts_a_border_point_in_the_smaller_territory(db: Database) -> None:
    async with db.transaction() as session:
        await _test_layer(session, "test-border", "partition", BORDER)
        site_id = await _new_site(session, *ON_THE_EDGE)  # the site trigger: given-sites branch
        assigned = await _open_territory(session, site_id, "test-border")
    assert assigned == "border-b"


async def test_whole_layer_assignment_breaks_an_area_tie_by_the_lowest_code(db: Database) -> None:
    async with db.transaction() as session:
        site_id = await _new_site(session, *IN_BOTH)
        await session.execute(text("SELECT set_config('towne.defer_assignment', 'on', true)"))
        await _test_layer(session, "test-tie", "overlay", TIE)
        await session.execute(text("SELECT set_config('towne.defer_assignment', 'off', true)"))
        areas = (
            await session.execute(
                select(func.count(func.distinct(Territory.area_km2)))
                .join(TerritoryLayer, TerritoryLayer.id == Territory.layer_id)
                .where(TerritoryLayer.code == "test-tie")
            )
        ).scalar_one()
        await assign_layer(session, layer_code="test-tie")
        assigned = await _open_territory(session, site_id, "test-tie")
    assert areas == 1, "the two territories must have exactly the same area for this to test the code key"
    assert assigned == "tie-a"


async def test_site_trigger_breaks_an_area_tie_by_the_lowest_code(db: Database) -> None:
    async with db.transaction() as session:
        await _test_layer(session, "test-tie", "overlay", TIE)
        site_id = await _new_site(session, *IN_BOTH)
        assigned = await _open_territory(session, site_id, "test-tie")
    assert assigned == "tie-a"


# First assignments (method initial): valid from the site's start date, or from '-infinity' when unknown.


async def _history(session, site_id: uuid.UUID, layer: str) -> list[tuple[str | None, str, bool, object]]:  # type: ignore[no-untyped-def]
    """(territory code, method, valid_from finite?, valid_to) of a site in a layer, oldest first."""
    rows = await session.execute(
        text(
            "SELECT t.code, a.method, isfinite(a.valid_from), a.valid_to FROM site_territory_assignment a"
            " JOIN territory_layer l ON l.id = a.layer_id AND l.code = :layer"
            " LEFT JOIN territory t ON t.id = a.territory_id WHERE a.site_id = :id ORDER BY a.valid_from"
        ),
        {"id": site_id, "layer": layer},
    )
    return [tuple(row) for row in rows.all()]


async def test_the_import_opens_initial_rows_from_the_beginning(db: Database) -> None:
    async with db.read() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT count(*), count(*) FILTER (WHERE method = 'initial' AND valid_from = '-infinity'"
                    " AND valid_to IS NULL) FROM site_territory_assignment"
                )
            )
        ).one()
        start_dates = (await session.execute(select(func.count(CustomerSite.start_date)))).scalar_one()
    assert start_dates == 0  # no PROD site has a start date: every first row holds since '-infinity'
    assert tuple(rows) == (649 * 3, 649 * 3)


async def test_a_site_moved_now_keeps_its_initial_row_closed_now_and_gets_a_new_one(db: Database) -> None:
    async with db.transaction() as session:
        site_id = (
            await session.execute(select(CustomerSite.id).where(CustomerSite.site_number == "0349"))
        ).scalar_one()
        before = (await session.execute(text("SELECT clock_timestamp()"))).scalar_one()
        await session.execute(  # the site is queued, and reassigned at commit (given-sites branch)
            text(
                "UPDATE customer_site SET location = ST_SetSRID(ST_MakePoint(-82.4572, 27.9506), 4326) WHERE id = :id"
            ),
            {"id": site_id},
        )
        await at_commit(session)
        after = (await session.execute(text("SELECT clock_timestamp()"))).scalar_one()
        history = await _history(session, site_id, "districts")
        opened_at = (
            await session.execute(
                text(
                    "SELECT a.valid_from FROM site_territory_assignment a JOIN territory_layer l"
                    " ON l.id = a.layer_id AND l.code = 'districts' WHERE a.site_id = :id AND a.valid_to IS NULL"
                ),
                {"id": site_id},
            )
        ).scalar_one()
    [(code0, method0, finite0, closed_at), (code1, method1, finite1, open_to)] = history
    assert (code0, method0, finite0) == ("orlando", "initial", False)  # from '-infinity'
    assert before < closed_at < after and closed_at == opened_at
    assert (code1, method1, finite1, open_to) == ("tampa-st-petersburg", "point_in_polygon", True, None)


async def test_a_new_site_with_a_start_date_is_initially_assigned_from_that_date(db: Database) -> None:
    async with db.transaction() as session:
        site = CustomerSite(
            id=uuid.uuid4(),
            site_number="9903",
            name="Test site 9903",
            address="1 Test Street, Testville, FL 32830",
            street="1 Test Street",
            city="Testville",
            state="FL",
            zip="32830",
            gl_string="02-03-1009-",
            start_date=dt.date(2019, 7, 1),
            location="SRID=4326;POINT(-81.569 28.3822)",
            geocode_method="manual",
        )
        session.add(site)
        await session.flush()
        await at_commit(session)
        valid_from, method = (
            await session.execute(
                text(
                    "SELECT a.valid_from, a.method FROM site_territory_assignment a JOIN territory_layer l"
                    " ON l.id = a.layer_id AND l.code = 'districts' WHERE a.site_id = :id"
                ),
                {"id": site.id},
            )
        ).one()
    assert (valid_from, method) == (dt.datetime(2019, 7, 1, tzinfo=dt.UTC), "initial")


async def test_a_first_row_never_starts_before_its_territory(db: Database) -> None:
    # A territory a GIS user creates now has no version before now; a site found in it later (here: created
    # without a start date) is initially assigned from the territory's first version, not from '-infinity'.
    async with db.transaction() as session:
        await _test_layer(session, "test-new", "partition", [("new", _box(-100, 40, -99, 41))])
        await at_commit(session)
        created = (
            await session.execute(
                text(
                    "SELECT v.valid_from FROM territory_version v JOIN territory t ON t.id = v.territory_id"
                    " WHERE t.code = 'new'"
                )
            )
        ).scalar_one()
        site_id = await _new_site(session, -99.5, 40.5)
        history = await _history(session, site_id, "test-new")
        valid_from = (
            await session.execute(
                text(
                    "SELECT valid_from FROM site_territory_assignment WHERE site_id = :id AND territory_id IS NOT NULL"
                    " AND layer_id = (SELECT id FROM territory_layer WHERE code = 'test-new')"
                ),
                {"id": site_id},
            )
        ).scalar_one()
    assert [h[:3] for h in history] == [("new", "initial", True)]
    assert valid_from == created
