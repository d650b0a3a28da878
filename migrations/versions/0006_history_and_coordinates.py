"""Coordinates on Earth: the database refuses what the API would.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

Site locations must be non-empty points with longitude in [-180, 180] and latitude in [-90, 90]; territory
geometry must lie within the same extent. The API validates both (`spatial.geometry`), but GIS users write
straight into the tables from QGIS, so the database refuses them too: CHECK constraints on both tables, and
for territories a check in the validating trigger whose message names the offending coordinate (QGIS
shows it to the editor as is). `BETWEEN` also refuses NaN and ±Infinity: PostgreSQL orders NaN above every
number, so `NaN <= 180` is false.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SITE_LOCATION_NOT_EMPTY = "NOT ST_IsEmpty(location)"
SITE_LOCATION_IN_RANGE = "ST_X(location) BETWEEN -180 AND 180 AND ST_Y(location) BETWEEN -90 AND 90"
TERRITORY_GEOM_IN_RANGE = (
    "ST_XMin(geom) >= -180 AND ST_XMax(geom) <= 180 AND ST_YMin(geom) >= -90 AND ST_YMax(geom) <= 90"
)

# Validation with the fault location in the message: QGIS shows it to the editor as is. The extent is
# checked before validity (a polygon at longitude 400 is valid geometry, just not on Earth); NaN
# coordinates do not count in PostGIS' extent and are refused by ST_IsValid ("Invalid Coordinate[nan 0]").
TERRITORY_BEFORE_WRITE = """
CREATE OR REPLACE FUNCTION territory_before_write() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    outside geometry;
BEGIN
    IF NEW.geom IS NULL OR ST_IsEmpty(NEW.geom) THEN
        RAISE EXCEPTION 'territory % geometry is empty', NEW.code USING ERRCODE = 'check_violation';
    END IF;
    IF ST_SRID(NEW.geom) <> 4326 THEN
        RAISE EXCEPTION 'territory % geometry has SRID %, expected 4326', NEW.code, ST_SRID(NEW.geom)
            USING ERRCODE = 'check_violation';
    END IF;
    IF NOT (ST_XMin(NEW.geom) >= -180 AND ST_XMax(NEW.geom) <= 180
            AND ST_YMin(NEW.geom) >= -90 AND ST_YMax(NEW.geom) <= 90) THEN
        SELECT d.geom INTO outside
        FROM ST_DumpPoints(NEW.geom) AS d
        WHERE NOT (ST_X(d.geom) BETWEEN -180 AND 180 AND ST_Y(d.geom) BETWEEN -90 AND 90)
        ORDER BY d.path
        LIMIT 1;
        RAISE EXCEPTION 'territory % geometry has a coordinate outside longitude -180..180, latitude -90..90: '
            '% (extent %)', NEW.code, ST_AsText(outside), Box2D(NEW.geom)
            USING ERRCODE = 'check_violation';
    END IF;
    IF NOT ST_IsValid(NEW.geom) THEN
        RAISE EXCEPTION 'territory % geometry is invalid: %', NEW.code, ST_IsValidReason(NEW.geom)
            USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP = 'INSERT' OR NEW.geom IS DISTINCT FROM OLD.geom THEN
        NEW.area_km2 := ST_Area(NEW.geom::geography) / 1e6;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF NEW.geom IS DISTINCT FROM OLD.geom THEN
            NEW.version := OLD.version + 1;
        END IF;
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END $$
"""


def _revision_0002() -> ModuleType:
    """Migration 0002 (read by path, not by package: the installed `migrations` may be another checkout)."""
    path = Path(__file__).with_name("0002_core_schema.py")
    spec = importlib.util.spec_from_file_location("towne_migration_0002", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _previous_function(name: str) -> str:
    """The 0002 definition of SQL function `name`, as CREATE OR REPLACE (for the downgrade)."""
    for statement in _revision_0002().SQL_FUNCTIONS_AND_TRIGGERS:
        if f"CREATE FUNCTION {name}(" in statement:
            return str(statement).replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)
    raise LookupError(f"migration 0002 defines no function {name}")


def upgrade() -> None:
    op.create_check_constraint("location_not_empty", "customer_site", SITE_LOCATION_NOT_EMPTY)
    op.create_check_constraint("location_in_lon_lat_range", "customer_site", SITE_LOCATION_IN_RANGE)
    op.create_check_constraint("geom_in_lon_lat_range", "territory", TERRITORY_GEOM_IN_RANGE)
    op.execute(TERRITORY_BEFORE_WRITE)


def downgrade() -> None:
    op.execute(_previous_function("territory_before_write"))
    op.drop_constraint("ck_territory_geom_in_lon_lat_range", "territory", type_="check")
    op.drop_constraint("ck_customer_site_location_in_lon_lat_range", "customer_site", type_="check")
    op.drop_constraint("ck_customer_site_location_not_empty", "customer_site", type_="check")
