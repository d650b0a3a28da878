"""The audit trail: who changed what, when, through which operation (issue 10 §5, domain.md §3.9).

Revision ID: 0013
Revises: 0010
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
  UPDATE that changes nothing else writes no row. Decimals are JSON strings (exact, as in the amendments'
  canonical changes); geometry is summarised, not copied (a point as WKT; otherwise type, vertex count,
  geodesic area in km² and the md5 of its EWKB; `territory_version` keeps every territory geometry).
* Written by AFTER … FOR EACH STATEMENT triggers with transition tables (one per event: PostgreSQL allows
  transition tables on single-event triggers only), so a bulk write is one INSERT into `audit_log`, in the
  writer's transaction. One generic SECURITY DEFINER function, `towne_audit()`, takes the key columns, the
  scope, the site expression and an optional row filter as trigger arguments and reads the table's columns
  from the catalogue at each statement, so a column added later is audited without touching the trigger.
  Attaching a table is one call: `SELECT towne_audit_attach('t', 'id', 'contract', 'r.site_id')` (or
  `attach()` of this module for a migration that imports it).
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
down_revision: str | None = "0010"
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

# the site of a row of a contract's child table, of a statement's version, invoice and line
_CONTRACT_SITE = "(SELECT c.site_id FROM contract c WHERE c.id = r.contract_id)"
_VERSION_SITE = "(SELECT s.site_id FROM billing_statement s WHERE s.id = r.statement_id)"
_INVOICE_SITE = (
    "(SELECT s.site_id FROM statement_version v JOIN billing_statement s ON s.id = v.statement_id"
    " WHERE v.id = r.statement_version_id)"
)
_LINE_SITE = (
    "(SELECT s.site_id FROM invoice i JOIN statement_version v ON v.id = i.statement_version_id"
    " JOIN billing_statement s ON s.id = v.statement_id WHERE i.id = r.invoice_id)"
)

# (table, key columns, scope, the row's site as SQL over the row `r`, which rows as SQL over `r`)
AUDITED: tuple[tuple[str, str, str, str | None, str | None], ...] = (
    ("customer_site", "id", "site", "r.id", None),
    ("contract", "id", "contract", "r.site_id", None),
    ("contract_component", "id", "contract", _CONTRACT_SITE, None),
    ("fixed_fee_service", "id", "contract", _CONTRACT_SITE, None),
    ("labor_hour_job", "id", "contract", _CONTRACT_SITE, None),
    ("revenue_share_threshold", "id", "contract", _CONTRACT_SITE, None),
    ("invoice_group", "id", "contract", _CONTRACT_SITE, None),
    ("territory_layer", "id", "company", None, None),
    ("territory", "id", "company", None, None),
    ("site_territory_assignment", "id", "site", "r.site_id", "r.method = 'manual'"),
    ("billing_statement", "id", "statement", "r.site_id", None),
    ("statement_version", "id", "statement", _VERSION_SITE, None),
    ("invoice", "id", "statement", _INVOICE_SITE, None),
    ("invoice_line", "id", "statement", _LINE_SITE, None),
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
    """Audit `table` from now on (a later migration: `from migrations.versions… import attach`, or the SQL
    function directly). `key`: its primary key column(s), comma-separated; `scope`: one of `SCOPES`;
    `site`: SQL over the row `r` giving its site's uuid (required for site, contract and statement scopes);
    `where`: SQL over `r` choosing the rows to audit (None: all)."""
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


AUDIT_GEOMETRY = """
CREATE FUNCTION towne_audit_geometry(g geometry) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = public, pg_temp AS $$
    SELECT CASE WHEN g IS NULL THEN NULL
                WHEN GeometryType(g) = 'POINT' THEN to_jsonb(ST_AsText(g))
                ELSE jsonb_build_object('type', GeometryType(g), 'points', ST_NPoints(g),
                                        'areaKm2', round((ST_Area(g::geography) / 1e6)::numeric, 3)::text,
                                        'md5', md5(ST_AsEWKB(g))) END
$$
"""

# One function for every audited table; the trigger arguments say how to read a row (module docstring).
TOWNE_AUDIT = f"""
CREATE FUNCTION towne_audit() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_key text;
    v_site text := coalesce(nullif(TG_ARGV[2], ''), 'NULL::uuid');
    v_filter text := coalesce(nullif(TG_ARGV[3], ''), 'true');
    v_doc text;
    v_sql text;
    v_columns text := 'at, actor, operation, entity_type, entity_id, site_id, scope, action, before, after, '
                      'changed, txid';
BEGIN
    SELECT 'concat_ws(''/'', ' || string_agg(format('r.%I', trim(c)), ', ') || ')'
    INTO v_key FROM unnest(string_to_array(TG_ARGV[0], ',')) AS c;
    -- the row as jsonb, column by column (jsonb_build_object takes at most 100 arguments: 40 pairs a call)
    SELECT string_agg(format('jsonb_build_object(%s)', pairs), ' || ') INTO v_doc
    FROM (
        SELECT string_agg(format('%L, %s', a.attname,
                   CASE WHEN t.typname IN ('geometry', 'geography')
                            THEN format('towne_audit_geometry(r.%I::geometry)', a.attname)
                        WHEN t.typname = 'numeric' THEN format('r.%I::text', a.attname)
                        ELSE format('r.%I', a.attname) END), ', ' ORDER BY a.attnum) AS pairs
        FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
        WHERE a.attrelid = TG_RELID AND a.attnum > 0 AND NOT a.attisdropped
          AND a.attname <> ALL ({_array(NOISE)})
        GROUP BY a.attnum / 40
    ) AS chunks;
    IF TG_OP = 'UPDATE' THEN
        v_sql := format($q$
            WITH n AS (SELECT %1$s AS k, %2$s AS site, %3$s AS doc FROM new_rows r WHERE %4$s),
                 o AS (SELECT %1$s AS k, %3$s AS doc FROM old_rows r)
            INSERT INTO audit_log (%5$s)
            SELECT statement_timestamp(), $1, $2, $3, n.k, n.site, $4, 'UPDATE', o.doc - x.same, n.doc - x.same,
                   x.changed, $5
            FROM n JOIN o ON o.k = n.k
            CROSS JOIN LATERAL (
                SELECT coalesce(array_agg(e.key ORDER BY e.key)
                                FILTER (WHERE e.value IS DISTINCT FROM o.doc -> e.key), '{{}}') AS changed,
                       coalesce(array_agg(e.key)
                                FILTER (WHERE e.value IS NOT DISTINCT FROM o.doc -> e.key), '{{}}') AS same
                FROM jsonb_each(n.doc) AS e
            ) AS x
            WHERE cardinality(x.changed) > 0
        $q$, v_key, v_site, v_doc, v_filter, v_columns);
    ELSE
        v_sql := format($q$
            INSERT INTO audit_log (%5$s)
            SELECT statement_timestamp(), $1, $2, $3, %1$s, %2$s, $4, %6$L,
                   CASE WHEN %6$L = 'DELETE' THEN d.doc END, CASE WHEN %6$L = 'INSERT' THEN d.doc END,
                   ARRAY(SELECT jsonb_object_keys(d.doc) ORDER BY 1), $5
            FROM %7$I r CROSS JOIN LATERAL (SELECT %3$s AS doc) AS d
            WHERE %4$s
        $q$, v_key, v_site, v_doc, v_filter, v_columns, TG_OP,
             CASE WHEN TG_OP = 'INSERT' THEN 'new_rows' ELSE 'old_rows' END);
    END IF;
    EXECUTE v_sql USING towne_caller(), coalesce(towne_operation(), 'sql:' || TG_OP), TG_TABLE_NAME::text,
                        TG_ARGV[1], towne_xact();
    RETURN NULL;
END $$
"""

AUDIT_ATTACH = f"""
CREATE FUNCTION towne_audit_attach(p_table regclass, p_key text, p_scope text, p_site text DEFAULT NULL,
                                   p_filter text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    v_arguments text;
BEGIN
    IF p_scope <> ALL ({_array(SCOPES)}) THEN
        RAISE EXCEPTION 'audit scope % is not one of %', p_scope, {_array(SCOPES)};
    END IF;
    IF p_scope IN ('site', 'contract', 'statement') AND p_site IS NULL THEN
        RAISE EXCEPTION 'a % scope needs the row''s site (SQL over the row r, e.g. r.site_id)', p_scope;
    END IF;
    v_arguments := format('%L, %L, %L, %L', p_key, p_scope, coalesce(p_site, ''), coalesce(p_filter, ''));
    EXECUTE format('CREATE TRIGGER audit_insert AFTER INSERT ON %s REFERENCING NEW TABLE AS new_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION towne_audit(%s)', p_table, v_arguments);
    EXECUTE format('CREATE TRIGGER audit_update AFTER UPDATE ON %s REFERENCING OLD TABLE AS old_rows '
                   'NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION towne_audit(%s)', p_table, v_arguments);
    EXECUTE format('CREATE TRIGGER audit_delete AFTER DELETE ON %s REFERENCING OLD TABLE AS old_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION towne_audit(%s)', p_table, v_arguments);
END $$;
COMMENT ON FUNCTION towne_audit_attach(regclass, text, text, text, text) IS
    'Audit a table into audit_log (migration 0013): key column(s) comma-separated, scope (site, contract, '
    'statement, company, users), the row''s site as SQL over the row r, and optionally which rows (SQL over r).';

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
    for statement in (towne_operation(app), AUDIT_GEOMETRY, TOWNE_AUDIT):
        op.execute(statement)
    _each(AUDIT_ATTACH)
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
    DROP FUNCTION towne_audit_geometry(geometry);
    DROP FUNCTION towne_operation();
    DELETE FROM app_user_role WHERE role = 'auditor';
    ALTER TABLE app_user_role DROP CONSTRAINT ck_app_user_role_known;
    ALTER TABLE app_user_role ADD CONSTRAINT ck_app_user_role_known CHECK (role = ANY ({_array(ROLES_0008)}));
    """)
