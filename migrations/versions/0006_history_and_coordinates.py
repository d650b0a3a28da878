"""History before the import, territory versions, and coordinates on Earth.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

As-of answers (domain.md §4.3). The record begins with the import, not on the day the database was
loaded:
* a site's first assignment in a layer has method `initial` and is valid from the site's start date
  (00:00 UTC), or from '-infinity' when it is unknown (all PROD start dates are); existing first rows are
  rewritten so; later changes open rows at their own instant as before; manual rows still win;
* `territory_version` keeps each territory's code, name and geometry per version, written by the territory
  triggers (QGIS edits are recorded too); what `towne import` loads, and what exists now, is in force since
  '-infinity', a territory created later since its insert. An edit closes the old version and reassigns the
  layer's sites at one instant, so `Site.territory(asOf:)` and `territory(asOf:)` agree for any date.

Coordinates. Site locations must be non-empty points with longitude in [-180, 180] and latitude in
[-90, 90]; territory geometry must lie within the same extent. The API validates both (`spatial.geometry`),
but GIS users write straight into the tables from QGIS, so the database refuses them too: CHECK constraints
on both tables, and for territories a check in the validating trigger whose message names the offending
coordinate (QGIS shows it to the editor as is). `BETWEEN` also refuses NaN and ±Infinity: PostgreSQL
orders NaN above every number, so `NaN <= 180` is false.
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
METHOD_KNOWN = "method IN ('initial', 'point_in_polygon', 'manual')"
PREVIOUS_METHOD_KNOWN = "method IN ('point_in_polygon', 'manual')"
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

# Set-based point-in-polygon assignment of one layer, one statement (domain.md §4.3):
# ST_Covers so a site on a border counts as inside; several hits (overlay layers, or a point on a
# shared edge) resolve to the smallest territory, then the lowest code; open manual rows are kept;
# only sites whose territory changed get their open row closed and a new one opened.
# The first row of a site in a layer (no row at all yet, open or closed) is `initial`: valid from the
# site's start date (00:00 UTC) or from '-infinity' when it is unknown (all PROD start dates are), because
# the record begins with the import, not on the day the database was loaded; never from before the
# territory's first version (a territory a GIS user created later has no version before its insert, and
# `Site.territory(asOf:)` must agree with `territory(asOf:)`), nor after `p_at`. Later rows open at `p_at`.
# Plans (docs/benchmarks.md): a SQL function's statement is planned once per call without parameter
# values, so each CTE has one branch for the whole layer (p_site_ids NULL) and one for given sites;
# the branch that does not apply is skipped at run time. For the whole layer the parts drive and probe
# the GiST index of the site locations; OFFSET 0 keeps the planner from turning that join round
# (sites outer, parts index probed: about 6x slower at 1M sites). Given sites use the primary key and
# probe the parts index. jit = off: the cost estimate of the whole-layer branch made every call,
# one site included, pay about a second of JIT compilation. The "no row yet" probe runs only for sites
# without an open row (CASE evaluates it lazily), on ix_site_territory_assignment_site.
TOWNE_ASSIGN_LAYER = """
CREATE OR REPLACE FUNCTION towne_assign_layer(
    p_layer_id integer,
    p_at timestamptz DEFAULT clock_timestamp(),
    p_site_ids uuid[] DEFAULT NULL
) RETURNS TABLE (assigned integer, unassigned integer, opened integer, closed integer, manual integer)
LANGUAGE sql
SET jit = off
AS $$
    WITH hits AS (
        SELECT DISTINCT ON (x.site_id) x.site_id, x.territory_id
        FROM (
            SELECT s.id AS site_id, t.id AS territory_id, t.area_km2, t.code
            FROM territory_part p
            JOIN territory t ON t.id = p.territory_id
            CROSS JOIN LATERAL (
                SELECT s.id FROM customer_site s WHERE ST_Covers(p.geom, s.location) OFFSET 0
            ) s
            WHERE p.layer_id = p_layer_id AND p_site_ids IS NULL
            UNION ALL
            SELECT s.id, t.id, t.area_km2, t.code
            FROM customer_site s
            JOIN territory_part p ON ST_Covers(p.geom, s.location)
            JOIN territory t ON t.id = p.territory_id
            WHERE p.layer_id = p_layer_id AND s.id = ANY (p_site_ids)
        ) x
        ORDER BY x.site_id, x.area_km2, x.code
    ),
    desired AS (
        SELECT s.id AS site_id, h.territory_id, s.start_date
        FROM (
            SELECT s.id, s.start_date FROM customer_site s WHERE p_site_ids IS NULL
            UNION ALL
            SELECT s.id, s.start_date FROM customer_site s WHERE s.id = ANY (p_site_ids)
        ) s
        LEFT JOIN hits h ON h.site_id = s.id
    ),
    current_rows AS (
        SELECT a.id, a.site_id, a.territory_id, a.method
        FROM site_territory_assignment a
        WHERE a.layer_id = p_layer_id AND a.valid_to IS NULL AND p_site_ids IS NULL
        UNION ALL
        SELECT a.id, a.site_id, a.territory_id, a.method
        FROM site_territory_assignment a
        WHERE a.layer_id = p_layer_id AND a.valid_to IS NULL AND a.site_id = ANY (p_site_ids)
    ),
    changes AS (
        SELECT d.site_id, d.territory_id, d.start_date, c.id AS open_id,
               CASE WHEN c.id IS NULL THEN NOT EXISTS (
                   SELECT 1 FROM site_territory_assignment a
                   WHERE a.site_id = d.site_id AND a.layer_id = p_layer_id
               ) ELSE false END AS first
        FROM desired d
        LEFT JOIN current_rows c ON c.site_id = d.site_id
        WHERE c.id IS NULL
           OR (c.method <> 'manual' AND c.territory_id IS DISTINCT FROM d.territory_id)
    ),
    closed_rows AS (
        UPDATE site_territory_assignment a SET valid_to = p_at
        FROM changes ch
        WHERE a.id = ch.open_id
        RETURNING a.id
    ),
    opened_rows AS (
        INSERT INTO site_territory_assignment (site_id, layer_id, territory_id, method, valid_from)
        SELECT ch.site_id, p_layer_id, ch.territory_id,
               CASE WHEN ch.first THEN 'initial' ELSE 'point_in_polygon' END,
               CASE WHEN ch.first THEN LEAST(p_at, GREATEST(
                   COALESCE(ch.start_date::timestamp AT TIME ZONE 'UTC', '-infinity'),
                   COALESCE(f.valid_from, '-infinity')
               )) ELSE p_at END
        FROM changes ch
        LEFT JOIN (
            SELECT v.territory_id, min(v.valid_from) AS valid_from FROM territory_version v GROUP BY 1
        ) f ON f.territory_id = ch.territory_id
        RETURNING id
    )
    SELECT
        (SELECT count(*) FROM desired WHERE territory_id IS NOT NULL)::integer,
        (SELECT count(*) FROM desired WHERE territory_id IS NULL)::integer,
        (SELECT count(*) FROM opened_rows)::integer,
        (SELECT count(*) FROM closed_rows)::integer,
        (SELECT count(*) FROM current_rows WHERE method = 'manual')::integer
$$
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

    op.drop_constraint(
        op.f("ck_site_territory_assignment_method_known"), "site_territory_assignment", type_="check"
    )
    op.create_check_constraint("method_known", "site_territory_assignment", METHOD_KNOWN)
    # The first row of each site and layer becomes what the new rule would have written: `initial`, from the
    # site's start date or '-infinity' (every territory is in force since '-infinity' after the backfill
    # above). Manual rows are decisions made at a time and stay as they are.
    op.execute(
        """
        UPDATE site_territory_assignment a
        SET method = 'initial',
            valid_from = LEAST(a.valid_from, COALESCE(s.start_date::timestamp AT TIME ZONE 'UTC', '-infinity'))
        FROM customer_site s
        WHERE s.id = a.site_id AND a.method = 'point_in_polygon'
          AND NOT EXISTS (
              SELECT 1 FROM site_territory_assignment e
              WHERE e.site_id = a.site_id AND e.layer_id = a.layer_id AND e.valid_from < a.valid_from
          )
        """
    )
    op.execute(TOWNE_ASSIGN_LAYER)


def downgrade() -> None:
    # Initial rows keep their start ('-infinity' or the start date): when the import ran is not recorded.
    op.execute(_previous_function("towne_assign_layer"))
    op.execute("UPDATE site_territory_assignment SET method = 'point_in_polygon' WHERE method = 'initial'")
    op.drop_constraint(
        op.f("ck_site_territory_assignment_method_known"), "site_territory_assignment", type_="check"
    )
    op.create_check_constraint("method_known", "site_territory_assignment", PREVIOUS_METHOD_KNOWN)
    op.execute(_previous_function("territory_after_update"))
    op.execute(_previous_function("territory_after_insert"))
    op.execute(_previous_function("territory_before_write"))
    op.drop_table("territory_version")
    op.drop_constraint(op.f("ck_territory_geom_in_lon_lat_range"), "territory", type_="check")
    op.drop_constraint(op.f("ck_customer_site_location_in_lon_lat_range"), "customer_site", type_="check")
    op.drop_constraint(op.f("ck_customer_site_location_not_empty"), "customer_site", type_="check")
