"""The database refuses coordinates the API would refuse, whoever writes them (a QGIS user writes SQL).

Site locations: a non-empty point, longitude in [-180, 180], latitude in [-90, 90] (NaN and ±Infinity
included: PostgreSQL orders NaN above every number). Territory geometry: its extent within the same range,
refused by the validating trigger with the offending coordinate in the message, and by a CHECK behind it.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from db.database import Database

CHECK_VIOLATION = "23514"

INSERT_SITE = """
INSERT INTO customer_site (id, site_number, name, address, street, city, state, zip, gl_string,
                           location, geocode_method)
VALUES (:id, '9902', 'QGIS site', '1 Test Street, Testville, FL 32830', '1 Test Street', 'Testville',
        'FL', '32830', '02-03-1009-', {location}, 'manual')
"""
MAKE_POINT = "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)"

OUT_OF_RANGE = [
    pytest.param(float("nan"), 28.0, id="nan-lon"),
    pytest.param(-81.0, float("nan"), id="nan-lat"),
    pytest.param(float("inf"), 28.0, id="plus-infinity-lon"),
    pytest.param(-81.0, float("-inf"), id="minus-infinity-lat"),
    pytest.param(200.0, 100.0, id="200-100"),
    pytest.param(0.0, 95.0, id="0-95"),
]


def _violation(exc: pytest.ExceptionInfo[IntegrityError]) -> str:
    assert getattr(exc.value.orig, "sqlstate", None) == CHECK_VIOLATION, exc.value
    return str(exc.value.orig)


@pytest.mark.parametrize(("lon", "lat"), OUT_OF_RANGE)
async def test_inserting_a_site_off_the_earth_is_refused(db: Database, lon: float, lat: float) -> None:
    with pytest.raises(IntegrityError) as exc:
        async with db.transaction() as session:
            await session.execute(
                text(INSERT_SITE.format(location=MAKE_POINT)), {"id": uuid.uuid4(), "lon": lon, "lat": lat}
            )
    assert 'violates check constraint "ck_customer_site_location_in_lon_lat_range"' in _violation(exc)


@pytest.mark.parametrize(("lon", "lat"), OUT_OF_RANGE)
async def test_moving_a_site_off_the_earth_is_refused(db: Database, lon: float, lat: float) -> None:
    with pytest.raises(IntegrityError) as exc:
        async with db.transaction() as session:
            await session.execute(
                text(f"UPDATE customer_site SET location = {MAKE_POINT} WHERE site_number = '0349'"),
                {"lon": lon, "lat": lat},
            )
    assert 'violates check constraint "ck_customer_site_location_in_lon_lat_range"' in _violation(exc)


async def test_an_empty_site_point_is_refused(db: Database) -> None:
    with pytest.raises(IntegrityError) as exc:
        async with db.transaction() as session:
            await session.execute(
                text("UPDATE customer_site SET location = 'SRID=4326;POINT EMPTY' WHERE site_number = '0349'")
            )
    assert 'violates check constraint "ck_customer_site_location_not_empty"' in _violation(exc)


async def test_sites_on_the_edges_of_the_range_are_accepted(db: Database) -> None:
    async with db.transaction() as session:
        for lon, lat in [(180.0, 90.0), (-180.0, -90.0)]:
            await session.execute(
                text(f"UPDATE customer_site SET location = {MAKE_POINT} WHERE site_number = '0349'"),
                {"lon": lon, "lat": lat},
            )


async def test_the_real_data_is_on_the_earth(db: Database) -> None:
    async with db.read() as session:
        sites = (
            await session.execute(
                text(
                    "SELECT count(*) FILTER (WHERE NOT ST_IsEmpty(location)"
                    " AND ST_X(location) BETWEEN -180 AND 180 AND ST_Y(location) BETWEEN -90 AND 90) FROM customer_site"
                )
            )
        ).scalar_one()
        territories = (
            await session.execute(
                text(
                    "SELECT count(*) FILTER (WHERE ST_XMin(geom) >= -180 AND ST_XMax(geom) <= 180"
                    " AND ST_YMin(geom) >= -90 AND ST_YMax(geom) <= 90) FROM territory"
                )
            )
        ).scalar_one()
    assert (sites, territories) == (649, 44)


FAR_EAST = "SRID=4326;MULTIPOLYGON(((400 10, 500 10, 500 20, 400 20, 400 10)))"
TRIGGER_MESSAGE = (
    "territory {code} geometry has a coordinate outside longitude -180..180, latitude -90..90: "
    "POINT(400 10) (extent BOX(400 10,500 20))"
)


async def test_a_territory_edit_at_longitude_400_is_refused_naming_the_coordinate(db: Database) -> None:
    with pytest.raises(IntegrityError) as exc:
        async with db.transaction() as session:
            await session.execute(
                text("UPDATE territory SET geom = :g WHERE code = 'orlando'"), {"g": FAR_EAST}
            )
    assert TRIGGER_MESSAGE.format(code="orlando") in _violation(exc)


async def test_a_new_territory_at_longitude_400_is_refused_naming_the_coordinate(db: Database) -> None:
    with pytest.raises(IntegrityError) as exc:
        async with db.transaction() as session:
            await session.execute(
                text(
                    "INSERT INTO territory (layer_id, code, name, geom) "
                    "SELECT id, 'far-east', 'Far East', :g FROM territory_layer WHERE code = 'districts'"
                ),
                {"g": FAR_EAST},
            )
    assert TRIGGER_MESSAGE.format(code="far-east") in _violation(exc)


async def test_the_check_constraint_backs_the_territory_trigger_up(db: Database) -> None:
    with pytest.raises(IntegrityError) as exc:
        async with db.transaction() as session:
            await session.execute(text("ALTER TABLE territory DISABLE TRIGGER territory_before_write"))
            await session.execute(
                text("UPDATE territory SET geom = :g WHERE code = 'orlando'"), {"g": FAR_EAST}
            )
    assert 'violates check constraint "ck_territory_geom_in_lon_lat_range"' in _violation(exc)


async def test_a_territory_with_a_nan_coordinate_is_refused_naming_it(db: Database) -> None:
    # NaN does not count in PostGIS' extent; ST_IsValid names it
    with pytest.raises(IntegrityError) as exc:
        async with db.transaction() as session:
            await session.execute(
                text(
                    "UPDATE territory SET geom = ST_SetSRID(ST_Multi(ST_MakePolygon(ST_MakeLine(ARRAY["
                    "ST_MakePoint(0, 0), ST_MakePoint('NaN', 0), ST_MakePoint(1, 1), ST_MakePoint(0, 0)]))), 4326) "
                    "WHERE code = 'orlando'"
                )
            )
    assert "territory orlando geometry is invalid: Invalid Coordinate[nan 0]" in _violation(exc)
