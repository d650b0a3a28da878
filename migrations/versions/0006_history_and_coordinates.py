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

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

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
        -- the version counts the rows of territory_version: one more for each change of what it records
        IF NEW.geom IS DISTINCT FROM OLD.geom OR NEW.name IS DISTINCT FROM OLD.name
           OR NEW.code IS DISTINCT FROM OLD.code THEN
            NEW.version := OLD.version + 1;
        ELSE
            NEW.version := OLD.version;
        END IF;
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END $$
"""

# History of territories. One instant per statement (clock_timestamp() at the statement's AFTER trigger)
# closes the previous versions, opens the new ones and is the `p_at` of the reassignment, so a site's
# assignment history and the territory versions change at exactly the same instant.
# `towne import` sets towne.history_from_beginning: the first version of what it loads is in force since
# '-infinity' (the record begins with the import; there is no earlier geometry to speak of); a territory a
# GIS user creates later starts at its insert.
TERRITORY_AFTER_INSERT = """
CREATE OR REPLACE FUNCTION territory_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    layer integer;
    v_at timestamptz := clock_timestamp();
BEGIN
    INSERT INTO territory_version (territory_id, version, code, name, geom, valid_from)
    SELECT n.id, n.version, n.code, n.name, n.geom,
           CASE WHEN current_setting('towne.history_from_beginning', true) = 'on'
                THEN '-infinity'::timestamptz ELSE v_at END
    FROM new_rows n;
    INSERT INTO territory_part (territory_id, layer_id, geom)
    SELECT n.id, n.layer_id, d.geom
    FROM new_rows n, LATERAL ST_Subdivide(n.geom, 255) AS s(geom), LATERAL ST_Dump(s.geom) AS d
    WHERE GeometryType(d.geom) = 'POLYGON';
    IF current_setting('towne.defer_assignment', true) = 'on' THEN
        RETURN NULL;  -- a bulk load (towne import) assigns once at its end
    END IF;
    FOR layer IN SELECT DISTINCT layer_id FROM new_rows LOOP
        PERFORM towne_assign_layer(layer, v_at);
    END LOOP;
    RETURN NULL;
END $$
"""

TERRITORY_AFTER_UPDATE = """
CREATE OR REPLACE FUNCTION territory_after_update() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed integer[];
    layer integer;
    v_at timestamptz := clock_timestamp();
BEGIN
    -- territory_before_write bumped the version exactly where geometry, name or code changed
    UPDATE territory_version v SET valid_to = v_at
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE v.territory_id = n.id AND v.valid_to IS NULL AND n.version <> o.version;
    INSERT INTO territory_version (territory_id, version, code, name, geom, valid_from)
    SELECT n.id, n.version, n.code, n.name, n.geom, v_at
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE n.version <> o.version;

    SELECT array_agg(n.id) INTO changed
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE n.geom IS DISTINCT FROM o.geom OR n.layer_id <> o.layer_id;
    IF changed IS NULL THEN
        RETURN NULL;
    END IF;
    DELETE FROM territory_part WHERE territory_id = ANY (changed);
    INSERT INTO territory_part (territory_id, layer_id, geom)
    SELECT n.id, n.layer_id, d.geom
    FROM new_rows n, LATERAL ST_Subdivide(n.geom, 255) AS s(geom), LATERAL ST_Dump(s.geom) AS d
    WHERE n.id = ANY (changed) AND GeometryType(d.geom) = 'POLYGON';
    IF current_setting('towne.defer_assignment', true) = 'on' THEN
        RETURN NULL;  -- a bulk load (towne import) assigns once at its end
    END IF;
    FOR layer IN SELECT layer_id FROM new_rows WHERE id = ANY (changed)
                 UNION SELECT layer_id FROM old_rows WHERE id = ANY (changed) LOOP
        PERFORM towne_assign_layer(layer, v_at);
    END LOOP;
    RETURN NULL;
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

    op.create_table(
        "territory_version",
        sa.Column(
            "territory_id", sa.Integer(), sa.ForeignKey("territory.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "geom",
            geoalchemy2.Geometry("MULTIPOLYGON", srid=4326, spatial_index=False, from_text="ST_GeomFromEWKT"),
            nullable=False,
        ),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("territory_id", "version"),
        sa.CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="period_ordered"),
        postgresql.ExcludeConstraint(
            ("territory_id", "="),
            (sa.text("tstzrange(valid_from, valid_to)"), "&&"),
            name="no_overlapping_territory_version",
            using="gist",
        ),
    )
    # Territories that exist are what the record begins with.
    op.execute(
        "INSERT INTO territory_version (territory_id, version, code, name, geom, valid_from) "
        "SELECT id, version, code, name, geom, '-infinity' FROM territory"
    )
    op.execute(TERRITORY_BEFORE_WRITE)
    op.execute(TERRITORY_AFTER_INSERT)
    op.execute(TERRITORY_AFTER_UPDATE)


def downgrade() -> None:
    op.execute(_previous_function("territory_after_update"))
    op.execute(_previous_function("territory_after_insert"))
    op.execute(_previous_function("territory_before_write"))
    op.drop_table("territory_version")
    op.drop_constraint("ck_territory_geom_in_lon_lat_range", "territory", type_="check")
    op.drop_constraint("ck_customer_site_location_in_lon_lat_range", "customer_site", type_="check")
    op.drop_constraint("ck_customer_site_location_not_empty", "customer_site", type_="check")
