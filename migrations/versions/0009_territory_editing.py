"""Territory editing: the database keeps itself consistent, once per transaction (domain.md §4.3).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03

GIS users edit territories through the API and directly in PostGIS (QGIS, psql). Whichever path an edit
takes, the database gives the same result:

* **Geometry.** A Polygon is stored as a one-part MultiPolygon (the column becomes `geometry(Geometry,
  4326)` with a `geometrytype(geom) = 'MULTIPOLYGON'` check, which PostGIS' `geometry_columns` reports as
  MultiPolygon to QGIS); other types, empty, invalid or off-Earth geometry are refused by the BEFORE
  trigger with the reason and, for coordinates, the coordinate. A territory's layer cannot change.
* **Versions, one per transaction.** The first change of code, name, geometry or retirement in a
  transaction bumps `territory.version`; later changes in the same transaction belong to that version
  (so a border moved in several UPDATEs is one version). Who changed it is recorded: the application's
  caller (its token subject) or else the database login (`towne_caller()`). `territory_version` rows get
  `changed_by` and `change` (`create`, `update`, `retire`, `restore`, `import`).
* **At commit.** AFTER statement triggers refresh `territory_part` at once and record the change in
  `territory_change`; a deferred constraint trigger (one per transaction, on `territory_change_marker`)
  runs `towne_flush_territory_changes()` at COMMIT: in partition layers it refuses an overlap between two
  current territories above the layer's `overlap_tolerance_m2` (naming both and the area in m²), writes
  the versions, and reassigns exactly the sites that a changed territory held or now covers, at one
  instant shared by the versions and the assignment rows. A layer loaded row by row in one transaction,
  or a border moved in several statements, is one reassignment and leaves no spurious history. The
  application calls the function itself before commit to report the moved sites (and to turn a refusal
  into a `Problem`, or, inside a savepoint, to answer a dry run).
* **Tie rule.** Several polygons of a layer covering a site (an overlay, or a point on a shared border):
  the lowest `priority` wins, then the lowest code. `priority` is frozen when the territory is created
  (its area in km² then, unless the insert names one) and kept across edits, so an edit that changes a
  territory's area does not flip sites on borders that did not move. This migration sets it to today's
  area: every site keeps its territory.
* **Retirement.** `retired_at` ends a territory: no parts, no sites, its last version closed, its
  history kept. DELETE is refused for a territory that ever had an assignment (retire it instead).
* **Assignment cost.** `towne_reassign` (plpgsql) plans the whole-layer and the given-sites cases as
  separate statements, so inserting or moving one site costs index probes, not a pass over the history.
  Flushes and site assignments in one layer take a transaction-scoped advisory lock of the layer, so two
  concurrent edits reassign one after the other from fresh snapshots instead of racing on the same rows.
* `customer_site.id` defaults to `gen_random_uuid()`.
* Privileges. The application role may write `territory_layer` and `territory` for callers with
  `gisEditor` (row-level security policies); manual assignments go through role-checked SECURITY DEFINER
  functions. A `towne_gis_editor` login role (QGIS) may edit those two tables and read the territory
  history, parts and the sites' identity and location, nothing else (docs/gis-editing.md).
"""

import os
from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GIS_ROLE = "towne_gis_editor"
# advisory lock namespace of a layer's reassignment (pg_advisory_xact_lock(key, layer_id))
LAYER_LOCK = 7429

# the current transaction's id as a bigint (xid8 has no SQLAlchemy type; the id never wraps around)
TOWNE_XACT = """
CREATE FUNCTION towne_xact() RETURNS bigint LANGUAGE sql VOLATILE AS $$
    SELECT pg_current_xact_id()::text::bigint
$$
"""


# Who made a change. `towne.user_id` is any session's to set, so it names the caller only in a session of
# the application role (which binds it from a verified token) or of the owner; any other login (QGIS) is
# recorded as itself. Inside a SECURITY DEFINER function current_user is the owner.
def towne_caller(app: str) -> str:
    return f"""
CREATE FUNCTION towne_caller() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT CASE WHEN pg_has_role(session_user, current_user, 'MEMBER')
                  OR pg_has_role(session_user, '{app}', 'MEMBER')
           THEN coalesce((SELECT subject FROM app_user WHERE id = towne_user_id()), session_user::text)
           ELSE session_user::text END
$$
"""


TERRITORY_BEFORE_WRITE = """
CREATE OR REPLACE FUNCTION territory_before_write() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    outside geometry;
    kind text;
    who text := towne_caller();
    changed boolean;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.layer_id <> OLD.layer_id THEN
        RAISE EXCEPTION 'territory % cannot move to another layer: create it in the other layer instead', OLD.code
            USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.retired_at IS NOT NULL AND NEW.retired_at IS NOT NULL
       AND (NEW.geom IS DISTINCT FROM OLD.geom OR NEW.name IS DISTINCT FROM OLD.name
            OR NEW.code IS DISTINCT FROM OLD.code) THEN
        RAISE EXCEPTION 'territory % is retired (since %): restore it (retired_at = NULL) before editing it',
            OLD.code, OLD.retired_at USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.geom IS NULL OR ST_IsEmpty(NEW.geom) THEN
        RAISE EXCEPTION 'territory % geometry is empty', NEW.code USING ERRCODE = 'check_violation';
    END IF;
    IF ST_SRID(NEW.geom) <> 4326 THEN
        RAISE EXCEPTION 'territory % geometry has SRID %, expected 4326', NEW.code, ST_SRID(NEW.geom)
            USING ERRCODE = 'check_violation';
    END IF;
    kind := GeometryType(NEW.geom);
    IF kind = 'POLYGON' THEN
        NEW.geom := ST_Multi(NEW.geom);
    ELSIF kind <> 'MULTIPOLYGON' THEN
        RAISE EXCEPTION 'territory % geometry is a %, expected a Polygon or MultiPolygon', NEW.code, kind
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
    IF TG_OP = 'INSERT' THEN
        IF NEW.retired_at IS NOT NULL THEN
            RAISE EXCEPTION 'territory % cannot be created retired', NEW.code USING ERRCODE = 'check_violation';
        END IF;
        NEW.created_at := now();
        NEW.updated_at := now();
        -- frozen at creation: the tie rule must not move sites on borders an edit did not touch
        NEW.priority := coalesce(NEW.priority, NEW.area_km2);
        NEW.version := coalesce(NEW.version, 1);
        NEW.created_by := who;
        NEW.updated_by := who;
        NEW.changed_xact := towne_xact();
        RETURN NEW;
    END IF;
    IF OLD.retired_at IS NULL AND NEW.retired_at IS NOT NULL THEN
        NEW.retired_at := clock_timestamp();  -- a retirement happens now, whatever time the writer gave
    ELSIF OLD.retired_at IS NOT NULL AND NEW.retired_at IS NOT NULL THEN
        NEW.retired_at := OLD.retired_at;
    END IF;
    NEW.created_at := OLD.created_at;
    changed := NEW.geom IS DISTINCT FROM OLD.geom OR NEW.name IS DISTINCT FROM OLD.name
               OR NEW.code IS DISTINCT FROM OLD.code OR NEW.retired_at IS DISTINCT FROM OLD.retired_at;
    IF changed THEN
        -- one version per transaction: later changes in the same transaction belong to the first one's
        IF OLD.changed_xact IS DISTINCT FROM towne_xact() THEN
            NEW.version := OLD.version + 1;
        ELSE
            NEW.version := OLD.version;
        END IF;
        NEW.changed_xact := towne_xact();
        NEW.updated_by := who;
        NEW.updated_at := now();
    ELSE
        NEW.version := OLD.version;
        NEW.changed_xact := OLD.changed_xact;
        NEW.updated_by := OLD.updated_by;
        NEW.updated_at := OLD.updated_at;
    END IF;
    NEW.created_by := OLD.created_by;
    RETURN NEW;
END $$
"""

TERRITORY_BEFORE_DELETE = """
CREATE FUNCTION territory_before_delete() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    since timestamptz;
BEGIN
    SELECT min(valid_from) INTO since FROM site_territory_assignment WHERE territory_id = OLD.id;
    IF FOUND AND since IS NOT NULL THEN
        RAISE EXCEPTION 'territory % has assignment history (since %): retire it instead of deleting it '
            '(UPDATE territory SET retired_at = now() WHERE id = %)', OLD.code, since, OLD.id
            USING ERRCODE = 'foreign_key_violation',
                  HINT = 'A retired territory keeps its history and gets no more sites.';
    END IF;
    DELETE FROM territory_change WHERE territory_id = OLD.id;
    RETURN OLD;
END $$
"""

# What changed in this transaction, for the commit-time processing. One row per (transaction, territory);
# `reassign` false for name-only changes and for `towne import`'s deferred loads (it assigns itself).
RECORD_CHANGE = """
CREATE FUNCTION territory_after_write() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    -- towne import's switches: any session can set them, so only the owner's sessions are heard
    trusted boolean := pg_has_role(session_user, current_user, 'MEMBER');
    deferred boolean := trusted AND coalesce(current_setting('towne.defer_assignment', true), '') = 'on';
    beginning boolean := trusted AND coalesce(current_setting('towne.history_from_beginning', true), '') = 'on';
    moved integer[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO territory_part (territory_id, layer_id, geom)
        SELECT n.id, n.layer_id, d.geom
        FROM new_rows n, LATERAL ST_Subdivide(n.geom, 255) AS s(geom), LATERAL ST_Dump(s.geom) AS d
        WHERE n.retired_at IS NULL AND GeometryType(d.geom) = 'POLYGON';
        INSERT INTO territory_change AS c (xact, territory_id, layer_id, reassign, from_beginning, created)
        SELECT towne_xact(), n.id, n.layer_id, NOT deferred, beginning, true FROM new_rows n
        ON CONFLICT (xact, territory_id) DO UPDATE SET reassign = c.reassign OR EXCLUDED.reassign;
    ELSE
        SELECT array_agg(n.id) INTO moved
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE n.geom IS DISTINCT FROM o.geom OR n.retired_at IS DISTINCT FROM o.retired_at
           OR n.priority IS DISTINCT FROM o.priority;
        IF moved IS NOT NULL THEN
            DELETE FROM territory_part WHERE territory_id = ANY (moved);
            INSERT INTO territory_part (territory_id, layer_id, geom)
            SELECT n.id, n.layer_id, d.geom
            FROM new_rows n, LATERAL ST_Subdivide(n.geom, 255) AS s(geom), LATERAL ST_Dump(s.geom) AS d
            WHERE n.id = ANY (moved) AND n.retired_at IS NULL AND GeometryType(d.geom) = 'POLYGON';
        END IF;
        INSERT INTO territory_change AS c (xact, territory_id, layer_id, reassign, from_beginning, created)
        -- the code is the tie rule's second key: a rename can move sites on a shared border
        SELECT towne_xact(), n.id, n.layer_id,
               (n.id = ANY (coalesce(moved, '{}')) OR n.code IS DISTINCT FROM o.code) AND NOT deferred,
               false, false
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE n.id = ANY (coalesce(moved, '{}')) OR n.name IS DISTINCT FROM o.name
           OR n.code IS DISTINCT FROM o.code
        ON CONFLICT (xact, territory_id) DO UPDATE SET reassign = c.reassign OR EXCLUDED.reassign;
    END IF;
    IF FOUND THEN
        INSERT INTO territory_change_marker (xact) VALUES (towne_xact()) ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$
"""

# A site created or moved is queued for the commit-time step (one assignment per transaction, at the
# instant of the territory versions written with it), unless `towne import` assigns itself.
SITE_AFTER_LOCATE = """
CREATE OR REPLACE FUNCTION customer_site_after_locate() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF pg_has_role(session_user, current_user, 'MEMBER')
       AND coalesce(current_setting('towne.defer_assignment', true), '') = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO site_change (xact, site_id) SELECT towne_xact(), n.id FROM new_rows n
        ON CONFLICT DO NOTHING;
    ELSE
        INSERT INTO site_change (xact, site_id)
        SELECT towne_xact(), n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE n.location IS DISTINCT FROM o.location
        ON CONFLICT DO NOTHING;
    END IF;
    IF FOUND THEN
        INSERT INTO territory_change_marker (xact) VALUES (towne_xact()) ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$
"""

# The assignment rule (domain.md §4.3) for one layer: all its sites (p_site_ids NULL) or the given ones.
# Returns one row per site whose assignment changed (from/to territory, whether an open row was closed)
# and, last, one summary row (site_id NULL) with the counts of the sites considered. A site covered by
# several parts goes to the lowest priority, then the lowest code; ST_Covers, so a border counts as inside;
# open manual rows are kept; a site's first row in the layer is `initial`, valid from its start date or
# '-infinity' but never before its territory's first version nor after p_at.
# Two statements, each planned for its case: for the whole layer the parts drive and probe the GiST index
# of the site locations (OFFSET 0 keeps the planner from turning that join round: sites outer is about 6x
# slower at 1M sites); for given sites the primary keys drive and the open rows come from the site index,
# so the cost does not grow with the history (the SQL function it replaces was planned once for both
# cases and hashed the whole history table for one site). jit = off: the whole-layer estimate would make
# every call pay about a second of JIT compilation.
TOWNE_REASSIGN = f"""
CREATE FUNCTION towne_reassign(p_layer_id integer, p_at timestamptz, p_site_ids uuid[])
RETURNS TABLE (site_id uuid, from_territory_id integer, to_territory_id integer, closed boolean,
               assigned integer, unassigned integer, manual integer)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp SET jit = off AS $$
BEGIN
    PERFORM pg_advisory_xact_lock({LAYER_LOCK}, p_layer_id);
    IF p_site_ids IS NULL THEN
        RETURN QUERY
        WITH hits AS (
            SELECT DISTINCT ON (x.site_id) x.site_id, x.territory_id
            FROM (
                SELECT s.id AS site_id, t.id AS territory_id, t.priority, t.code
                FROM territory_part p
                JOIN territory t ON t.id = p.territory_id
                CROSS JOIN LATERAL (
                    SELECT s.id FROM customer_site s WHERE ST_Covers(p.geom, s.location) OFFSET 0
                ) s
                WHERE p.layer_id = p_layer_id
            ) x
            ORDER BY x.site_id, x.priority, x.code
        ),
        desired AS (
            SELECT s.id AS site_id, h.territory_id, s.start_date
            FROM customer_site s LEFT JOIN hits h ON h.site_id = s.id
        ),
        current_rows AS (
            SELECT a.id, a.site_id, a.territory_id, a.method
            FROM site_territory_assignment a
            WHERE a.layer_id = p_layer_id AND a.valid_to IS NULL
        ),
        changes AS (
            SELECT d.site_id, d.territory_id, d.start_date, c.id AS open_id, c.territory_id AS was,
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
                       COALESCE((SELECT min(v.valid_from) FROM territory_version v
                                 WHERE v.territory_id = ch.territory_id), '-infinity')
                   )) ELSE p_at END
            FROM changes ch
            RETURNING id
        )
        SELECT ch.site_id, ch.was, ch.territory_id, ch.open_id IS NOT NULL, NULL::integer, NULL::integer,
               NULL::integer
        FROM changes ch
        UNION ALL
        SELECT NULL::uuid, NULL::integer, NULL::integer, NULL::boolean,
            (SELECT count(*) FROM desired WHERE territory_id IS NOT NULL)::integer,
            (SELECT count(*) FROM desired WHERE territory_id IS NULL)::integer,
            (SELECT count(*) FROM current_rows WHERE method = 'manual')::integer;
    ELSE
        RETURN QUERY
        WITH considered AS (
            SELECT s.id, s.start_date, s.location FROM customer_site s WHERE s.id = ANY (p_site_ids)
        ),
        hits AS (
            SELECT DISTINCT ON (c.id) c.id AS site_id, t.id AS territory_id
            FROM considered c
            JOIN territory_part p ON ST_Covers(p.geom, c.location)
            JOIN territory t ON t.id = p.territory_id
            WHERE p.layer_id = p_layer_id
            ORDER BY c.id, t.priority, t.code
        ),
        desired AS (
            SELECT c.id AS site_id, h.territory_id, c.start_date
            FROM considered c LEFT JOIN hits h ON h.site_id = c.id
        ),
        current_rows AS (
            SELECT a.id, a.site_id, a.territory_id, a.method
            FROM considered c
            JOIN site_territory_assignment a
              ON a.site_id = c.id AND a.layer_id = p_layer_id AND a.valid_to IS NULL
        ),
        changes AS (
            SELECT d.site_id, d.territory_id, d.start_date, c.id AS open_id, c.territory_id AS was,
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
            WHERE a.id IN (SELECT ch.open_id FROM changes ch WHERE ch.open_id IS NOT NULL)
            RETURNING a.id
        ),
        opened_rows AS (
            INSERT INTO site_territory_assignment (site_id, layer_id, territory_id, method, valid_from)
            SELECT ch.site_id, p_layer_id, ch.territory_id,
                   CASE WHEN ch.first THEN 'initial' ELSE 'point_in_polygon' END,
                   CASE WHEN ch.first THEN LEAST(p_at, GREATEST(
                       COALESCE(ch.start_date::timestamp AT TIME ZONE 'UTC', '-infinity'),
                       COALESCE((SELECT min(v.valid_from) FROM territory_version v
                                 WHERE v.territory_id = ch.territory_id), '-infinity')
                   )) ELSE p_at END
            FROM changes ch
            RETURNING id
        )
        SELECT ch.site_id, ch.was, ch.territory_id, ch.open_id IS NOT NULL, NULL::integer, NULL::integer,
               NULL::integer
        FROM changes ch
        UNION ALL
        SELECT NULL::uuid, NULL::integer, NULL::integer, NULL::boolean,
            (SELECT count(*) FROM desired WHERE territory_id IS NOT NULL)::integer,
            (SELECT count(*) FROM desired WHERE territory_id IS NULL)::integer,
            (SELECT count(*) FROM current_rows WHERE method = 'manual')::integer;
    END IF;
END $$
"""

# The interface of migrations 0002/0006 (towne import, `towne assign`, site triggers), over towne_reassign.
TOWNE_ASSIGN_LAYER = """
CREATE OR REPLACE FUNCTION towne_assign_layer(
    p_layer_id integer,
    p_at timestamptz DEFAULT clock_timestamp(),
    p_site_ids uuid[] DEFAULT NULL
) RETURNS TABLE (assigned integer, unassigned integer, opened integer, closed integer, manual integer)
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp SET jit = off AS $$
    SELECT max(r.assigned)::integer, max(r.unassigned)::integer,
           count(r.site_id)::integer, count(*) FILTER (WHERE r.closed)::integer, max(r.manual)::integer
    FROM towne_reassign(p_layer_id, p_at, p_site_ids) r
$$
"""

# Commit-time processing of this transaction's territory changes (module docstring). Returns the sites
# whose assignment changed. An overlap in a partition layer raises exclusion_violation (23P01).
TOWNE_FLUSH = f"""
CREATE FUNCTION towne_flush_territory_changes()
RETURNS TABLE (site_id uuid, layer_id integer, from_territory_id integer, to_territory_id integer)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp SET jit = off AS $$
DECLARE
    v_xact bigint := towne_xact();
    v_at timestamptz;
    v_layer integer;
    v_sites uuid[];
    v_reassign integer[];
    v_territories boolean;
    v_site_changes boolean;
    clash record;
BEGIN
    DELETE FROM territory_change_marker m WHERE m.xact = v_xact;
    v_territories := EXISTS (SELECT 1 FROM territory_change c WHERE c.xact = v_xact);
    v_site_changes := EXISTS (SELECT 1 FROM site_change c WHERE c.xact = v_xact);
    IF NOT (v_territories OR v_site_changes) THEN
        RETURN;
    END IF;
    -- the checks below read fresh snapshots after the layer locks; a transaction snapshot would miss a
    -- neighbour's edit committed meanwhile (two overlapping edits could both commit)
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'territories and site locations are edited in READ COMMITTED transactions; this one is %',
            upper(current_setting('transaction_isolation'))
            USING ERRCODE = 'invalid_transaction_state',
                  HINT = 'Use PostgreSQL''s default isolation level, READ COMMITTED, for these edits.';
    END IF;
    -- layers in id order, everywhere: concurrent edits queue instead of deadlocking (a site is in all)
    PERFORM pg_advisory_xact_lock({LAYER_LOCK}, l.id)
    FROM (SELECT t.id FROM territory_layer t
          WHERE v_site_changes OR t.id IN (SELECT c.layer_id FROM territory_change c WHERE c.xact = v_xact)
          ORDER BY t.id) l;
    v_at := clock_timestamp();

    -- partition layers: no overlap above the tolerance between current territories (fresh snapshot,
    -- after the layer lock: a concurrent edit of a neighbour has committed or waits for us)
    SELECT t.code AS code, o.code AS other_code, o.name AS other_name, l.code AS layer_code,
           l.overlap_tolerance_m2 AS tolerance,
           ST_Area(ST_Intersection(t.geom, o.geom)::geography) AS overlap_m2,
           ST_AsText(ST_PointOnSurface(ST_Intersection(t.geom, o.geom)), 6) AS at_point
    INTO clash
    FROM territory_change c
    JOIN territory t ON t.id = c.territory_id AND t.retired_at IS NULL
    JOIN territory_layer l ON l.id = t.layer_id AND l.kind = 'partition'
    JOIN territory o ON o.layer_id = t.layer_id AND o.id <> t.id AND o.retired_at IS NULL
                    AND ST_Intersects(t.geom, o.geom) AND NOT ST_Touches(t.geom, o.geom)
    WHERE c.xact = v_xact
      AND ST_Area(ST_Intersection(t.geom, o.geom)::geography) > l.overlap_tolerance_m2
    ORDER BY overlap_m2 DESC
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'territory "%" overlaps "%" (%) by % m² in partition layer "%" (tolerance % m²), '
            'around %', clash.code, clash.other_code, clash.other_name, round(clash.overlap_m2::numeric),
            clash.layer_code, clash.tolerance, clash.at_point
            USING ERRCODE = 'exclusion_violation',
                  HINT = 'Move the shared border so the territories do not overlap, or make the layer an overlay.';
    END IF;

    -- versions. A version written by an earlier flush of this transaction is rewritten in place (one
    -- version per transaction), or dropped when the territory is retired before commit; an open version of
    -- an earlier transaction is closed; a current territory without an open version gets one.
    DELETE FROM territory_version v
    USING territory_change c, territory t
    WHERE c.xact = v_xact AND t.id = c.territory_id AND v.territory_id = t.id
      AND v.recorded_xact = v_xact AND v.valid_to IS NULL AND t.retired_at IS NOT NULL;
    UPDATE territory_version v
    SET code = t.code, name = t.name, geom = t.geom, version = t.version, changed_by = t.updated_by
    FROM territory_change c JOIN territory t ON t.id = c.territory_id
    WHERE c.xact = v_xact AND v.territory_id = t.id AND v.recorded_xact = v_xact AND v.valid_to IS NULL
      AND t.retired_at IS NULL;
    UPDATE territory_version v SET valid_to = v_at
    FROM territory_change c JOIN territory t ON t.id = c.territory_id
    WHERE c.xact = v_xact AND v.territory_id = t.id AND v.valid_to IS NULL
      AND v.recorded_xact IS DISTINCT FROM v_xact
      AND (t.retired_at IS NOT NULL OR v.version <> t.version);
    INSERT INTO territory_version (territory_id, version, code, name, geom, valid_from, changed_by, change,
                                   recorded_xact)
    SELECT t.id, t.version, t.code, t.name, t.geom,
           CASE WHEN c.from_beginning AND c.created THEN '-infinity'::timestamptz ELSE v_at END,
           t.updated_by,
           CASE WHEN c.created AND c.from_beginning THEN 'import'
                WHEN c.created THEN 'create'
                WHEN EXISTS (SELECT 1 FROM territory_version p
                             WHERE p.territory_id = t.id AND p.valid_to = v_at) THEN 'update'
                ELSE 'restore' END,
           v_xact
    FROM territory_change c JOIN territory t ON t.id = c.territory_id
    WHERE c.xact = v_xact AND t.retired_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM territory_version e WHERE e.territory_id = t.id AND e.valid_to IS NULL);

    -- reassignment, layer by layer: the sites a changed territory held or now covers, and the sites
    -- created or moved in this transaction
    FOR v_layer, v_reassign IN
        SELECT l.id, coalesce((SELECT array_agg(c.territory_id) FROM territory_change c
                               WHERE c.xact = v_xact AND c.reassign AND c.layer_id = l.id), '{{}}')
        FROM territory_layer l
        WHERE v_site_changes
           OR l.id IN (SELECT c.layer_id FROM territory_change c WHERE c.xact = v_xact AND c.reassign)
        ORDER BY l.id
    LOOP
        IF cardinality(v_reassign) > 0
           AND NOT EXISTS (SELECT 1 FROM territory t WHERE t.layer_id = v_layer AND t.retired_at IS NULL
                           AND t.id <> ALL (v_reassign)) THEN
            -- every territory of the layer changed (a layer loaded or replaced): the whole-layer plan,
            -- instead of finding the covered sites once to collect them and again to assign them
            RETURN QUERY
            SELECT r.site_id, v_layer, r.from_territory_id, r.to_territory_id
            FROM towne_reassign(v_layer, v_at, NULL) r WHERE r.site_id IS NOT NULL;
            CONTINUE;
        END IF;
        SELECT array_agg(DISTINCT x.id) INTO v_sites FROM (
            SELECT a.site_id AS id FROM site_territory_assignment a
            WHERE a.layer_id = v_layer AND a.valid_to IS NULL AND a.territory_id = ANY (v_reassign)
            UNION ALL
            SELECT s.id FROM territory_part p
            JOIN customer_site s ON ST_Covers(p.geom, s.location)
            WHERE p.territory_id = ANY (v_reassign)
            UNION ALL
            SELECT c.site_id FROM site_change c WHERE c.xact = v_xact
        ) x;
        IF v_sites IS NOT NULL THEN
            RETURN QUERY
            SELECT r.site_id, v_layer, r.from_territory_id, r.to_territory_id
            FROM towne_reassign(v_layer, v_at, v_sites) r WHERE r.site_id IS NOT NULL;
        END IF;
    END LOOP;
    DELETE FROM territory_change c WHERE c.xact = v_xact;
    DELETE FROM site_change c WHERE c.xact = v_xact;
END $$
"""

TERRITORY_COMMIT = """
CREATE FUNCTION territory_commit() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM count(*) FROM towne_flush_territory_changes();
    RETURN NULL;
END $$
"""

TOWNE_OVERLAPS = """
CREATE FUNCTION towne_territory_overlaps(p_layer_id integer, p_geom geometry, p_except_territory_id integer)
RETURNS TABLE (territory_id integer, code text, name text, overlap_m2 double precision)
LANGUAGE sql STABLE AS $$
    SELECT o.id, o.code, o.name, ST_Area(ST_Intersection(p_geom, o.geom)::geography)
    FROM territory o
    WHERE o.layer_id = p_layer_id AND o.id IS DISTINCT FROM p_except_territory_id AND o.retired_at IS NULL
      AND ST_Intersects(p_geom, o.geom) AND NOT ST_Touches(p_geom, o.geom)
      AND ST_Area(ST_Intersection(p_geom, o.geom)::geography) > 0
    ORDER BY 4 DESC, o.code
$$
"""


# Who may set manual assignments: through the application, a caller with gisEditor or billingAdmin
# (an application session without a bound caller may not); directly, the owner and the GIS editors' role.
def may_assign_manually(app: str) -> str:
    return f"""
CREATE FUNCTION towne_may_assign_manually() RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF pg_has_role(session_user, '{app}', 'MEMBER') AND NOT pg_has_role(session_user, current_user, 'MEMBER') THEN
        RETURN towne_has_role('gisEditor', 'billingAdmin');
    END IF;
    IF pg_has_role(session_user, current_user, 'MEMBER') THEN
        RETURN towne_user_id() IS NULL OR towne_has_role('gisEditor', 'billingAdmin');
    END IF;
    RETURN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{GIS_ROLE}')
       AND pg_has_role(session_user, '{GIS_ROLE}', 'MEMBER');
END $$
"""


MANUAL_ASSIGNMENT = f"""
CREATE FUNCTION towne_set_manual_assignment(p_site_id uuid, p_layer_id integer, p_territory_id integer)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_at timestamptz;
    v_id bigint;
BEGIN
    IF NOT towne_may_assign_manually() THEN
        RAISE EXCEPTION 'a manual assignment needs the gisEditor or billingAdmin role' USING ERRCODE = '42501';
    END IF;
    IF p_territory_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM territory WHERE id = p_territory_id AND layer_id = p_layer_id AND retired_at IS NULL
    ) THEN
        RAISE EXCEPTION 'territory % is not a current territory of layer %', p_territory_id, p_layer_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    PERFORM pg_advisory_xact_lock({LAYER_LOCK}, p_layer_id);
    v_at := clock_timestamp();
    UPDATE site_territory_assignment SET valid_to = v_at
    WHERE site_id = p_site_id AND layer_id = p_layer_id AND valid_to IS NULL;
    INSERT INTO site_territory_assignment (site_id, layer_id, territory_id, method, valid_from)
    VALUES (p_site_id, p_layer_id, p_territory_id, 'manual', v_at)
    RETURNING id INTO v_id;
    RETURN v_id;
END $$;

CREATE FUNCTION towne_clear_manual_assignment(p_site_id uuid, p_layer_id integer) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_at timestamptz;
    v_territory integer;
BEGIN
    IF NOT towne_may_assign_manually() THEN
        RAISE EXCEPTION 'clearing a manual assignment needs the gisEditor or billingAdmin role'
            USING ERRCODE = '42501';
    END IF;
    PERFORM pg_advisory_xact_lock({LAYER_LOCK}, p_layer_id);
    v_at := clock_timestamp();
    UPDATE site_territory_assignment SET valid_to = v_at
    WHERE site_id = p_site_id AND layer_id = p_layer_id AND valid_to IS NULL AND method = 'manual';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the site has no manual assignment in layer %', p_layer_id
            USING ERRCODE = 'no_data_found';
    END IF;
    PERFORM count(*) FROM towne_reassign(p_layer_id, v_at, ARRAY[p_site_id]);
    SELECT territory_id INTO v_territory FROM site_territory_assignment
    WHERE site_id = p_site_id AND layer_id = p_layer_id AND valid_to IS NULL;
    RETURN v_territory;
END $$;
"""

# the 0008 functions this migration replaces, as 0006/0008 left them (for the downgrade)
REPLACED = ("territory_before_write", "towne_assign_layer")
NEW_FUNCTIONS = (
    "towne_xact()",
    "towne_caller()",
    "towne_may_assign_manually()",
    "territory_before_delete()",
    "territory_after_write()",
    "towne_reassign(integer, timestamp with time zone, uuid[])",
    "towne_flush_territory_changes()",
    "territory_commit()",
    "towne_territory_overlaps(integer, geometry, integer)",
    "towne_set_manual_assignment(uuid, integer, integer)",
    "towne_clear_manual_assignment(uuid, integer)",
)
# what the application role and GIS editors call directly
CALLABLE = (
    "towne_caller()",
    "towne_flush_territory_changes()",
    "towne_territory_overlaps(integer, geometry, integer)",
    "towne_set_manual_assignment(uuid, integer, integer)",
    "towne_clear_manual_assignment(uuid, integer)",
)


def _app_role() -> str:
    name = os.environ.get("TOWNE_APP_ROLE", "towne_app")
    if not name.replace("_", "").isalnum() or not name[0].isalpha():
        raise ValueError(f"TOWNE_APP_ROLE {name!r} must be a plain identifier")
    return name


def _each(script: str) -> None:
    """Run a script statement by statement; a `;` that ends a line outside a `$$` body ends a statement."""
    statement: list[str] = []
    for line in script.splitlines():
        statement.append(line)
        if line.rstrip().endswith(";") and "\n".join(statement).count("$$") % 2 == 0:
            op.execute("\n".join(statement).strip().rstrip(";"))
            statement = []
    if "\n".join(statement).strip():
        op.execute("\n".join(statement))


def upgrade() -> None:
    app = _app_role()
    op.execute("ALTER TABLE customer_site ALTER COLUMN id SET DEFAULT gen_random_uuid()")

    # ---- territory: priority (today's area: every site keeps its territory), retirement, who
    op.execute("ALTER TABLE territory DISABLE TRIGGER USER")
    _each("""
    ALTER TABLE territory ADD COLUMN priority double precision, ADD COLUMN retired_at timestamptz,
        ADD COLUMN created_by text, ADD COLUMN updated_by text, ADD COLUMN changed_xact bigint;
    UPDATE territory SET priority = area_km2, created_by = 'towne import', updated_by = 'towne import';
    ALTER TABLE territory ALTER COLUMN priority SET NOT NULL;
    ALTER TABLE territory ADD CONSTRAINT ck_territory_priority_finite
        CHECK (priority >= 0 AND priority < 'Infinity'::double precision);
    ALTER TABLE territory ALTER COLUMN geom TYPE geometry(Geometry, 4326);
    ALTER TABLE territory ADD CONSTRAINT ck_territory_geom_multipolygon CHECK (geometrytype(geom) = 'MULTIPOLYGON'::text);
    """)
    op.execute("ALTER TABLE territory ENABLE TRIGGER USER")
    _each("""
    ALTER TABLE territory_layer ADD COLUMN overlap_tolerance_m2 double precision NOT NULL DEFAULT 10000
        CONSTRAINT ck_territory_layer_overlap_tolerance_m2_non_negative CHECK (overlap_tolerance_m2 >= 0);
    ALTER TABLE territory_layer ADD CONSTRAINT ck_territory_layer_code_not_reserved
        CHECK (code NOT IN ('sites', 'states'));
    ALTER TABLE territory_version ADD COLUMN changed_by text, ADD COLUMN change text,
        ADD COLUMN recorded_xact bigint;
    UPDATE territory_version SET changed_by = 'towne import',
        change = CASE WHEN valid_from = '-infinity' THEN 'import' WHEN version = 1 THEN 'create' ELSE 'update' END;
    ALTER TABLE territory_version ALTER COLUMN changed_by SET NOT NULL, ALTER COLUMN change SET NOT NULL;
    ALTER TABLE territory_version ADD CONSTRAINT ck_territory_version_change_known
        CHECK (change IN ('import', 'create', 'update', 'restore'));
    CREATE TABLE territory_change (
        xact bigint NOT NULL,
        territory_id integer NOT NULL,
        layer_id integer NOT NULL,
        reassign boolean NOT NULL,
        from_beginning boolean NOT NULL,
        created boolean NOT NULL,
        CONSTRAINT pk_territory_change PRIMARY KEY (xact, territory_id)
    );
    CREATE TABLE territory_change_marker (xact bigint CONSTRAINT pk_territory_change_marker PRIMARY KEY);
    CREATE TABLE site_change (
        xact bigint NOT NULL,
        site_id uuid NOT NULL,
        CONSTRAINT pk_site_change PRIMARY KEY (xact, site_id)
    );
    ALTER TABLE site_change ENABLE ROW LEVEL SECURITY;
    ALTER TABLE territory_change ENABLE ROW LEVEL SECURITY;
    ALTER TABLE territory_change_marker ENABLE ROW LEVEL SECURITY;
    """)
    for statement in (
        TOWNE_XACT,
        towne_caller(app),
        may_assign_manually(app),
        SITE_AFTER_LOCATE,
        TERRITORY_BEFORE_WRITE,
        TERRITORY_BEFORE_DELETE,
        RECORD_CHANGE,
        TOWNE_REASSIGN,
        TOWNE_ASSIGN_LAYER,
        TOWNE_FLUSH,
        TERRITORY_COMMIT,
        TOWNE_OVERLAPS,
    ):
        op.execute(statement)
    _each(MANUAL_ASSIGNMENT)
    _each("""
    DROP TRIGGER territory_after_insert ON territory;
    DROP TRIGGER territory_after_update ON territory;
    DROP FUNCTION territory_after_insert();
    DROP FUNCTION territory_after_update();
    CREATE TRIGGER territory_after_insert AFTER INSERT ON territory
        REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION territory_after_write();
    CREATE TRIGGER territory_after_update AFTER UPDATE ON territory
        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION territory_after_write();
    CREATE TRIGGER territory_before_delete BEFORE DELETE ON territory
        FOR EACH ROW EXECUTE FUNCTION territory_before_delete();
    CREATE CONSTRAINT TRIGGER territory_commit AFTER INSERT ON territory_change_marker
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION territory_commit();
    """)

    # ---- privileges: the application role writes territories for gisEditor callers
    statements = [f"REVOKE ALL ON FUNCTION {f} FROM PUBLIC" for f in NEW_FUNCTIONS]
    statements += [f"GRANT EXECUTE ON FUNCTION {f} TO {app}" for f in CALLABLE]
    statements += [
        f"GRANT INSERT, UPDATE, DELETE ON territory_layer, territory TO {app}",
        f"GRANT USAGE ON SEQUENCE territory_id_seq, territory_layer_id_seq TO {app}",
    ]
    for table in ("territory_layer", "territory"):
        statements.append(
            f"CREATE POLICY write_gis ON {table} FOR ALL TO {app}"
            " USING ((SELECT towne_has_role('gisEditor'))) WITH CHECK ((SELECT towne_has_role('gisEditor')))"
        )
    for statement in statements:
        op.execute(statement)

    # ---- the GIS editors' login role (QGIS): the territory tables and nothing else
    op.execute(f"""
    DO $$
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{GIS_ROLE}') THEN
            IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_user AND (rolsuper OR rolcreaterole)) THEN
                CREATE ROLE {GIS_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
            ELSE
                RAISE NOTICE 'role {GIS_ROLE} not created (no CREATEROLE): docs/gis-editing.md says how';
                RETURN;
            END IF;
        END IF;
        EXECUTE 'GRANT USAGE ON SCHEMA public TO {GIS_ROLE}';
        EXECUTE 'GRANT SELECT, INSERT, UPDATE, DELETE ON territory_layer, territory TO {GIS_ROLE}';
        EXECUTE 'GRANT USAGE, SELECT ON SEQUENCE territory_id_seq, territory_layer_id_seq TO {GIS_ROLE}';
        EXECUTE 'GRANT SELECT ON territory_version, territory_part, site_territory_assignment, spatial_ref_sys '
                'TO {GIS_ROLE}';
        EXECUTE 'GRANT SELECT (id, site_number, name, location) ON customer_site TO {GIS_ROLE}';
        EXECUTE 'GRANT EXECUTE ON FUNCTION {", ".join(CALLABLE)} TO {GIS_ROLE}';
        EXECUTE 'CREATE POLICY gis_edit ON territory_layer FOR ALL TO {GIS_ROLE} USING (true) WITH CHECK (true)';
        EXECUTE 'CREATE POLICY gis_edit ON territory FOR ALL TO {GIS_ROLE} USING (true) WITH CHECK (true)';
        EXECUTE 'CREATE POLICY gis_read ON territory_version FOR SELECT TO {GIS_ROLE} USING (true)';
        EXECUTE 'CREATE POLICY gis_read ON territory_part FOR SELECT TO {GIS_ROLE} USING (true)';
        EXECUTE 'CREATE POLICY gis_read ON site_territory_assignment FOR SELECT TO {GIS_ROLE} USING (true)';
        EXECUTE 'CREATE POLICY gis_read ON customer_site FOR SELECT TO {GIS_ROLE} USING (true)';
    END $$
    """)


def _previous(name: str) -> str:
    """A function as migration 0006 defined it (0008 made it SECURITY DEFINER; re-applied below)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).with_name("0006_history_and_coordinates.py")
    spec = importlib.util.spec_from_file_location("towne_migration_0006", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(getattr(module, name))


def _site_after_locate_0002() -> str:
    """customer_site_after_locate as migration 0002 defined it, as CREATE OR REPLACE."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).with_name("0002_core_schema.py")
    spec = importlib.util.spec_from_file_location("towne_migration_0002", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for statement in module.SQL_FUNCTIONS_AND_TRIGGERS:
        if "CREATE FUNCTION customer_site_after_locate(" in statement:
            return str(statement).replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)
    raise LookupError("migration 0002 defines no customer_site_after_locate")


def downgrade() -> None:
    app = _app_role()
    op.execute(f"""
    DO $$
    BEGIN
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{GIS_ROLE}') THEN
            DROP POLICY IF EXISTS gis_edit ON territory_layer;
            DROP POLICY IF EXISTS gis_edit ON territory;
            DROP POLICY IF EXISTS gis_read ON territory_version;
            DROP POLICY IF EXISTS gis_read ON territory_part;
            DROP POLICY IF EXISTS gis_read ON site_territory_assignment;
            DROP POLICY IF EXISTS gis_read ON customer_site;
            EXECUTE 'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {GIS_ROLE}';
            EXECUTE 'REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {GIS_ROLE}';
            EXECUTE 'REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM {GIS_ROLE}';
            EXECUTE 'REVOKE ALL ON SCHEMA public FROM {GIS_ROLE}';
        END IF;
    END $$
    """)
    _each(f"""
    DROP POLICY write_gis ON territory_layer;
    DROP POLICY write_gis ON territory;
    REVOKE INSERT, UPDATE, DELETE ON territory_layer, territory FROM {app};
    DROP TRIGGER territory_commit ON territory_change_marker;
    DROP TRIGGER territory_before_delete ON territory;
    DROP TRIGGER territory_after_update ON territory;
    DROP TRIGGER territory_after_insert ON territory;
    """)
    op.execute(_previous("TERRITORY_AFTER_INSERT").replace("CREATE OR REPLACE", "CREATE"))
    op.execute(_previous("TERRITORY_AFTER_UPDATE").replace("CREATE OR REPLACE", "CREATE"))
    op.execute(_previous("TOWNE_ASSIGN_LAYER"))
    op.execute(_site_after_locate_0002())
    op.execute(
        "ALTER FUNCTION customer_site_after_locate() SECURITY DEFINER SET search_path = public, pg_temp"
    )
    op.execute(_previous("TERRITORY_BEFORE_WRITE"))
    _each("""
    CREATE TRIGGER territory_after_insert AFTER INSERT ON territory
        REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION territory_after_insert();
    CREATE TRIGGER territory_after_update AFTER UPDATE ON territory
        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION territory_after_update();
    """)
    for function in ("territory_after_insert()", "territory_after_update()", "territory_before_write()"):
        op.execute(f"ALTER FUNCTION {function} SECURITY DEFINER SET search_path = public, pg_temp")
        op.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
    op.execute(
        "ALTER FUNCTION towne_assign_layer(integer, timestamp with time zone, uuid[]) "
        "SECURITY DEFINER SET search_path = public, pg_temp"
    )
    for function in reversed(NEW_FUNCTIONS):
        op.execute(f"DROP FUNCTION {function}")
    _each("""
    DROP TABLE site_change;
    DROP TABLE territory_change_marker;
    DROP TABLE territory_change;
    ALTER TABLE territory_version DROP CONSTRAINT ck_territory_version_change_known;
    ALTER TABLE territory_version DROP COLUMN changed_by, DROP COLUMN change, DROP COLUMN recorded_xact;
    ALTER TABLE territory_layer DROP CONSTRAINT ck_territory_layer_code_not_reserved;
    ALTER TABLE territory_layer DROP COLUMN overlap_tolerance_m2;
    ALTER TABLE territory DISABLE TRIGGER USER;
    DELETE FROM territory_part p USING territory t WHERE t.id = p.territory_id AND t.retired_at IS NOT NULL;
    ALTER TABLE territory DROP CONSTRAINT ck_territory_geom_multipolygon;
    ALTER TABLE territory ALTER COLUMN geom TYPE geometry(MultiPolygon, 4326);
    ALTER TABLE territory DROP CONSTRAINT ck_territory_priority_finite;
    ALTER TABLE territory DROP COLUMN priority, DROP COLUMN retired_at, DROP COLUMN created_by,
        DROP COLUMN updated_by, DROP COLUMN changed_xact;
    ALTER TABLE territory ENABLE TRIGGER USER;
    ALTER TABLE customer_site ALTER COLUMN id DROP DEFAULT;
    """)
