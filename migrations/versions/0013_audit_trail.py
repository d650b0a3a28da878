"""The audit trail: who changed what, when, through which operation (issue 10 §5, domain.md §3.9).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03

* `audit_log`, one row per changed row: `at` (the statement's clock), `actor` (`towne_caller()` of migration
  0009: the API caller's token subject in sessions of the application role or the owner, else the database
  login, so a psql or QGIS edit is attributed to its database user), `operation` (the GraphQL mutation field
  that wrote, e.g. `saveUser`, bound per unit of work as `towne.operation` by `db.database`; heard only from
  those same sessions; else `sql:INSERT|UPDATE|DELETE`), `entity_type` (the table), `entity_id` (the primary
  key as text, `/` between the parts of a composite key), `site_id` (the site the row belongs to; NULL for
  company geography and users), `scope` (who may read it, below), `action`, `before`/`after` (jsonb: every
  column for INSERT and DELETE, only the changed ones for UPDATE), `changed` (their names, sorted), `txid`.
* What is not a change: `created_at`, `updated_at` and `changed_xact` (bookkeeping) are left out, and an
  UPDATE that changes nothing else writes no row. Values are the row's `to_jsonb` (numerics stay exact JSON
  numbers; the API and the CSV show non-integral numbers as strings); geometry is summarised, not copied (a
  point as WKT; otherwise its type and the md5 of its EWKB, which changes when any vertex does;
  `territory_version` keeps every territory geometry, `territory.area_km2` its area).
* Written by AFTER … FOR EACH STATEMENT triggers with transition tables (one per event: PostgreSQL allows
  transition tables on single-event triggers only), so a bulk write is one INSERT into `audit_log`, in the
  writer's transaction. One generic SECURITY DEFINER function, `towne_audit()`, with static SQL (its plans
  are cached per trigger and session: about 0.2 ms a statement), reads rows as jsonb (`to_jsonb`, or column by
  column for a table with geometry, which is summarised, not rendered as GeoJSON), so a column added later
  is audited without touching the trigger; its arguments are the key columns, the scope, where a row's site
  is (`SITE_SOURCES`), an optional row filter and the geometry columns (found when attaching). Attaching a
  table is one call: `SELECT towne_audit_attach('t', 'id', 'contract', 'contract_id')` (or `attach()` of this
  module); it is idempotent, and is run again after adding a geometry column.
* Site assignments: only manual ones (`method = 'manual'`) are audited. Automatic assignments follow from a
  territory or site change that is itself audited, and `site_territory_assignment` already is their
  history; auditing them would copy a whole layer's reassignment into the trail at every border edit.
* Scopes (row-level security for the application role): `auditor` and `billingAdmin` read everything;
  `company` rows (territory layers, territories) every signed-in caller; `site` rows (sites, manual
  assignments) who may see the site; `contract` and `statement` rows who may see the site's contract (the
  caller's own policies on `customer_site` and `contract` decide); `users` rows only `auditor` and
  `billingAdmin`. A row whose site could not be found (a child deleted by cascade after its parent) has no
  `site_id` and is read by `auditor` and `billingAdmin` only.
* Append-only: the application role may only SELECT; a statement trigger refuses UPDATE, DELETE and TRUNCATE
  to every role but the owner (a retention purge is the DBA's).
* The `auditor` role joins the known roles (`app_user_role`).
"""

import os
from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLES = (
    "billingAdmin",
    "billingManager",
    "accountManager",
    "districtManager",
    "regionalVp",
    "gisEditor",
    "reportingReader",
    "auditor",
)
ROLES_0008 = ROLES[:-1]

SCOPES = ("site", "contract", "statement", "company", "users")
# columns that are bookkeeping, not changes
NOISE = ("created_at", "updated_at", "changed_xact")

# How a row names its site (`towne_audit_site`): its own id (a site), its `site_id`, or the parent it hangs from.
SITE_SOURCES = ("id", "site_id", "contract_id", "statement_id", "statement_version_id", "invoice_id")

# (table, key columns, scope, where its site is (SITE_SOURCES), which rows: `column=value` or None for all)
AUDITED: tuple[tuple[str, str, str, str | None, str | None], ...] = (
    ("customer_site", "id", "site", "id", None),
    ("contract", "id", "contract", "site_id", None),
    ("contract_component", "id", "contract", "contract_id", None),
    ("fixed_fee_service", "id", "contract", "contract_id", None),
    ("labor_hour_job", "id", "contract", "contract_id", None),
    ("revenue_share_threshold", "id", "contract", "contract_id", None),
    ("invoice_group", "id", "contract", "contract_id", None),
    ("territory_layer", "id", "company", None, None),
    ("territory", "id", "company", None, None),
    ("site_territory_assignment", "id", "site", "site_id", "method=manual"),
    ("billing_statement", "id", "statement", "site_id", None),
    ("statement_version", "id", "statement", "statement_id", None),
    ("invoice", "id", "statement", "statement_version_id", None),
    ("invoice_line", "id", "statement", "invoice_id", None),
    ("app_user", "id", "users", None, None),
    ("app_user_role", "user_id,role", "users", None, None),
    ("app_user_site", "user_id,site_id", "users", None, None),
    ("app_user_territory", "user_id,territory_id", "users", None, None),
)


def app_role() -> str:
    """The application role (as migration 0008 names it)."""
    name = os.environ.get("TOWNE_APP_ROLE", "towne_app")
    if not name.replace("_", "").isalnum() or not name[0].isalpha():
        raise ValueError(f"TOWNE_APP_ROLE {name!r} must be a plain identifier")
    return name


def _literal(value: str | None) -> str:
    return "NULL" if value is None else "'" + value.replace("'", "''") + "'"


def attach(table: str, key: str, scope: str, site: str | None = None, where: str | None = None) -> None:
    """Audit `table` from now on (the SQL function `towne_audit_attach` does the same). `key`: its primary key
    column(s), comma-separated; `scope`: one of `SCOPES`; `site`: where a row's site is, one of
    `SITE_SOURCES` (required for the site, contract and statement scopes); `where`: `column=value`, the rows
    to audit (None: all). Run it again after adding a geometry column to the table (its columns are
    summarised, not copied, and are found when attaching)."""
    op.execute(
        f"SELECT towne_audit_attach({_literal(table)}::regclass, {_literal(key)}, {_literal(scope)},"
        f" {_literal(site)}, {_literal(where)})"
    )


def _array(names: Sequence[str]) -> str:
    return "ARRAY[" + ", ".join(f"'{n}'" for n in names) + "]::text[]"


def towne_operation(app: str) -> str:
    """The operation of this transaction: `towne.operation` when a session of the application role or the
    owner set it (any session can set it, so only those are heard, as `towne_caller()` does), else NULL."""
    return f"""
CREATE FUNCTION towne_operation() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT CASE WHEN pg_has_role(session_user, current_user, 'MEMBER')
                  OR pg_has_role(session_user, '{app}', 'MEMBER')
           THEN nullif(current_setting('towne.operation', true), '') END
$$
"""


# Helpers of `towne_audit`: a geometry column's summary (a point as WKT, anything else its type and the md5 of
# its EWKB), a row's key, a row's site. plpgsql, not SQL with a SET clause: such an SQL function is planned again
# at every statement that calls it, which made an audited single-row statement five times dearer.
AUDIT_HELPERS = """
CREATE FUNCTION towne_audit_geometry(g geometry) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN g IS NULL THEN NULL
                WHEN GeometryType(g) = 'POINT' THEN to_jsonb(ST_AsText(g))
                ELSE jsonb_build_object('type', GeometryType(g), 'md5', md5(ST_AsEWKB(g))) END
$$;

CREATE FUNCTION towne_audit_key(p_row jsonb, p_keys text[]) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    k text;
    v_parts text[] := '{}';
BEGIN
    IF cardinality(p_keys) = 1 THEN
        RETURN p_row ->> p_keys[1];
    END IF;
    FOREACH k IN ARRAY p_keys LOOP
        v_parts := v_parts || (p_row ->> k);
    END LOOP;
    RETURN array_to_string(v_parts, '/');
END $$;

-- run by towne_audit (as the owner, with its search_path): a row's site, through its parents for a child
CREATE FUNCTION towne_audit_site(p_source text, p_row jsonb) RETURNS uuid
LANGUAGE plpgsql STABLE AS $$
BEGIN
    CASE p_source
        WHEN 'id', 'site_id' THEN
            RETURN (p_row ->> p_source)::uuid;
        WHEN 'contract_id' THEN
            RETURN (SELECT c.site_id FROM contract c WHERE c.id = (p_row ->> 'contract_id')::uuid);
        WHEN 'statement_id' THEN
            RETURN (SELECT s.site_id FROM billing_statement s WHERE s.id = (p_row ->> 'statement_id')::uuid);
        WHEN 'statement_version_id' THEN
            RETURN (SELECT s.site_id FROM statement_version v JOIN billing_statement s ON s.id = v.statement_id
                    WHERE v.id = (p_row ->> 'statement_version_id')::uuid);
        WHEN 'invoice_id' THEN
            RETURN (SELECT s.site_id FROM invoice i JOIN statement_version v ON v.id = i.statement_version_id
                    JOIN billing_statement s ON s.id = v.statement_id WHERE i.id = (p_row ->> 'invoice_id')::uuid);
        ELSE
            RETURN NULL;
    END CASE;
END $$
"""

# One function for every audited table. Its SQL is static (plans cached per trigger and session), but for a table
# with geometry columns, whose documents are built column by column from the catalogue. Trigger arguments: key
# columns, scope, site source, filter (`column=value`), geometry columns.
TOWNE_AUDIT = f"""
CREATE FUNCTION towne_audit() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_keys text[] := string_to_array(TG_ARGV[0], ',');
    v_scope text := TG_ARGV[1];
    v_site text := nullif(TG_ARGV[2], '');
    v_filter text[] := string_to_array(nullif(TG_ARGV[3], ''), '=');
    v_geometry text[] := coalesce(string_to_array(nullif(TG_ARGV[4], ''), ','), '{{}}');
    v_actor text := towne_caller();
    v_operation text := coalesce(towne_operation(), 'sql:' || TG_OP);
    v_table text := TG_TABLE_NAME;
    v_xact bigint := towne_xact();
    v_document text;
    v_new jsonb[];
    v_old jsonb[];
BEGIN
    -- the rows as jsonb documents, once each
    IF cardinality(v_geometry) = 0 THEN
        IF TG_OP <> 'DELETE' THEN
            SELECT array_agg(to_jsonb(r)) INTO v_new FROM new_rows r;
        END IF;
        IF TG_OP <> 'INSERT' THEN
            SELECT array_agg(to_jsonb(r)) INTO v_old FROM old_rows r;
        END IF;
    ELSE
        -- to_jsonb would render the geometry as GeoJSON (PostGIS' cast to json), ~5 ms for a district: build the
        -- document column by column instead (jsonb_build_object takes at most 100 arguments: 40 pairs a call)
        SELECT string_agg(format('jsonb_build_object(%s)', pairs), ' || ') INTO v_document
        FROM (
            SELECT string_agg(format('%L, %s', a.attname,
                       CASE WHEN a.attname = ANY (v_geometry)
                            THEN format('towne_audit_geometry(r.%I::geometry)', a.attname)
                            ELSE format('r.%I', a.attname) END), ', ' ORDER BY a.attnum) AS pairs
            FROM pg_attribute a
            WHERE a.attrelid = TG_RELID AND a.attnum > 0 AND NOT a.attisdropped
            GROUP BY a.attnum / 40
        ) AS chunks;
        IF TG_OP <> 'DELETE' THEN
            EXECUTE format('SELECT array_agg(%s) FROM new_rows r', v_document) INTO v_new;
        END IF;
        IF TG_OP <> 'INSERT' THEN
            EXECUTE format('SELECT array_agg(%s) FROM old_rows r', v_document) INTO v_old;
        END IF;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        WITH n AS MATERIALIZED (
                 SELECT towne_audit_key(j, v_keys) AS k, j - {_array(NOISE)} AS doc FROM unnest(v_new) AS j
                 WHERE v_filter IS NULL OR j ->> v_filter[1] = v_filter[2]),
             o AS MATERIALIZED (
                 SELECT towne_audit_key(j, v_keys) AS k, j - {_array(NOISE)} AS doc FROM unnest(v_old) AS j
                 WHERE v_filter IS NULL OR j ->> v_filter[1] = v_filter[2])
        INSERT INTO audit_log (at, actor, operation, entity_type, entity_id, site_id, scope, action, before,
                               after, changed, txid)
        SELECT statement_timestamp(), v_actor, v_operation, v_table, n.k, towne_audit_site(v_site, n.doc),
               v_scope, 'UPDATE', o.doc - x.same, n.doc - x.same, x.changed, v_xact
        FROM n JOIN o ON o.k = n.k
        CROSS JOIN LATERAL (
            SELECT coalesce(array_agg(e.key ORDER BY e.key)
                            FILTER (WHERE e.value IS DISTINCT FROM o.doc -> e.key), '{{}}') AS changed,
                   coalesce(array_agg(e.key) FILTER (WHERE e.value IS NOT DISTINCT FROM o.doc -> e.key), '{{}}')
                       AS same
            FROM jsonb_each(n.doc) AS e
        ) AS x
        WHERE cardinality(x.changed) > 0;
    ELSE
        INSERT INTO audit_log (at, actor, operation, entity_type, entity_id, site_id, scope, action, before,
                               after, changed, txid)
        SELECT statement_timestamp(), v_actor, v_operation, v_table, towne_audit_key(j, v_keys),
               towne_audit_site(v_site, j), v_scope, TG_OP,
               CASE WHEN TG_OP = 'DELETE' THEN d.doc END, CASE WHEN TG_OP = 'INSERT' THEN d.doc END,
               ARRAY(SELECT jsonb_object_keys(d.doc) ORDER BY 1), v_xact
        FROM unnest(coalesce(v_new, v_old)) AS j, LATERAL (SELECT j - {_array(NOISE)} AS doc) AS d
        WHERE v_filter IS NULL OR j ->> v_filter[1] = v_filter[2];
    END IF;
    RETURN NULL;
END $$
"""

AUDIT_ATTACH = f"""
CREATE FUNCTION towne_audit_attach(p_table regclass, p_key text, p_scope text, p_site text DEFAULT NULL,
                                   p_filter text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    v_geometry text;
    v_arguments text;
BEGIN
    IF p_scope <> ALL ({_array(SCOPES)}) THEN
        RAISE EXCEPTION 'audit scope % is not one of %', p_scope, {_array(SCOPES)};
    END IF;
    IF p_site IS NOT NULL AND p_site <> ALL ({_array(SITE_SOURCES)}) THEN
        RAISE EXCEPTION 'audit site source % is not one of %', p_site, {_array(SITE_SOURCES)};
    END IF;
    IF p_scope IN ('site', 'contract', 'statement') AND p_site IS NULL THEN
        RAISE EXCEPTION 'a % scope needs the row''s site (one of %)', p_scope, {_array(SITE_SOURCES)};
    END IF;
    IF p_filter IS NOT NULL AND p_filter !~ '^[a-z_][a-z0-9_]*=[^,]*$' THEN
        RAISE EXCEPTION 'audit filter % is not column=value', p_filter;
    END IF;
    SELECT string_agg(a.attname, ',' ORDER BY a.attnum) INTO v_geometry
    FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
    WHERE a.attrelid = p_table AND a.attnum > 0 AND NOT a.attisdropped AND t.typname IN ('geometry', 'geography');
    v_arguments := format('%L, %L, %L, %L, %L', p_key, p_scope, coalesce(p_site, ''), coalesce(p_filter, ''),
                          coalesce(v_geometry, ''));
    PERFORM towne_audit_detach(p_table);
    EXECUTE format('CREATE TRIGGER audit_insert AFTER INSERT ON %s REFERENCING NEW TABLE AS new_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION towne_audit(%s)', p_table, v_arguments);
    EXECUTE format('CREATE TRIGGER audit_update AFTER UPDATE ON %s REFERENCING OLD TABLE AS old_rows '
                   'NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION towne_audit(%s)', p_table, v_arguments);
    EXECUTE format('CREATE TRIGGER audit_delete AFTER DELETE ON %s REFERENCING OLD TABLE AS old_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION towne_audit(%s)', p_table, v_arguments);
END $$;
COMMENT ON FUNCTION towne_audit_attach(regclass, text, text, text, text) IS
    'Audit a table into audit_log (migration 0013): key column(s) comma-separated; scope (site, contract, '
    'statement, company, users); where a row''s site is (id, site_id, contract_id, statement_id, '
    'statement_version_id, invoice_id); optionally which rows (column=value). Idempotent; run it again after '
    'adding a geometry column.'
"""

AUDIT_DETACH = """
CREATE FUNCTION towne_audit_detach(p_table regclass) RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    EXECUTE format('DROP TRIGGER IF EXISTS audit_insert ON %s', p_table);
    EXECUTE format('DROP TRIGGER IF EXISTS audit_update ON %s', p_table);
    EXECUTE format('DROP TRIGGER IF EXISTS audit_delete ON %s', p_table);
END $$
"""

APPEND_ONLY = """
CREATE FUNCTION audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    IF NOT pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'MEMBER') THEN
        RAISE EXCEPTION 'the audit trail is append-only: % of audit_log refused for %', TG_OP, current_user
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()
"""


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
    app = app_role()
    _each(f"""
    CREATE TABLE audit_log (
        id bigint GENERATED ALWAYS AS IDENTITY,
        at timestamptz NOT NULL,
        actor text NOT NULL,
        operation text NOT NULL,
        entity_type text NOT NULL,
        entity_id text NOT NULL,
        site_id uuid,
        scope text NOT NULL,
        action text NOT NULL,
        before jsonb,
        after jsonb,
        changed text[] NOT NULL,
        txid bigint NOT NULL,
        CONSTRAINT pk_audit_log PRIMARY KEY (id),
        CONSTRAINT ck_audit_log_action_known CHECK (action IN ('INSERT', 'UPDATE', 'DELETE')),
        CONSTRAINT ck_audit_log_scope_known CHECK (scope = ANY ({_array(SCOPES)}))
    );
    CREATE INDEX ix_audit_log_entity ON audit_log (entity_type, entity_id, at);
    CREATE INDEX ix_audit_log_site ON audit_log (site_id, at);
    CREATE INDEX ix_audit_log_at ON audit_log (at);
    ALTER TABLE app_user_role DROP CONSTRAINT ck_app_user_role_known;
    ALTER TABLE app_user_role ADD CONSTRAINT ck_app_user_role_known CHECK (role = ANY ({_array(ROLES)}));
    """)
    op.execute(towne_operation(app))
    _each(AUDIT_HELPERS)
    for statement in (TOWNE_AUDIT, AUDIT_DETACH, AUDIT_ATTACH):
        _each(statement)
    _each(APPEND_ONLY)
    for table, key, scope, site, where in AUDITED:
        attach(table, key, scope, site, where)

    sees_site = "site_id IN (SELECT id FROM customer_site)"
    sees_contract = "site_id IN (SELECT site_id FROM contract)"
    for statement in (
        "ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY",
        f"CREATE POLICY read_audit ON audit_log FOR SELECT TO {app} USING ("
        "(SELECT towne_has_role('auditor', 'billingAdmin'))"
        " OR (scope = 'company' AND (SELECT towne_user_id()) IS NOT NULL)"
        f" OR (scope = 'site' AND {sees_site})"
        f" OR (scope IN ('contract', 'statement') AND {sees_contract}))",
        f"GRANT SELECT ON audit_log TO {app}",
        # definer functions are the owner's power; the triggers still fire for every writer
        "REVOKE ALL ON FUNCTION towne_audit() FROM PUBLIC",
        "REVOKE ALL ON FUNCTION towne_audit_site(text, jsonb) FROM PUBLIC",
        "REVOKE ALL ON FUNCTION towne_operation() FROM PUBLIC",
        "REVOKE ALL ON FUNCTION towne_audit_attach(regclass, text, text, text, text) FROM PUBLIC",
        "REVOKE ALL ON FUNCTION towne_audit_detach(regclass) FROM PUBLIC",
    ):
        op.execute(statement)


def downgrade() -> None:
    for table, *_ in AUDITED:
        op.execute(f"SELECT towne_audit_detach('{table}'::regclass)")
    _each(f"""
    DROP TABLE audit_log;
    DROP FUNCTION audit_log_append_only();
    DROP FUNCTION towne_audit_detach(regclass);
    DROP FUNCTION towne_audit_attach(regclass, text, text, text, text);
    DROP FUNCTION towne_audit();
    DROP FUNCTION towne_audit_site(text, jsonb);
    DROP FUNCTION towne_audit_key(jsonb, text[]);
    DROP FUNCTION towne_audit_geometry(geometry);
    DROP FUNCTION towne_operation();
    DELETE FROM app_user_role WHERE role = 'auditor';
    ALTER TABLE app_user_role DROP CONSTRAINT ck_app_user_role_known;
    ALTER TABLE app_user_role ADD CONSTRAINT ck_app_user_role_known CHECK (role = ANY ({_array(ROLES_0008)}));
    """)
