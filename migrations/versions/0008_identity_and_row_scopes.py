"""Users, roles and site scopes; row-level security for the application role (domain.md §3.9, §4.4).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

* `app_user` (one row per token subject), `app_user_role`, `app_user_site` (explicit user↔site links, the
  legacy `bs_customersitesbyuser`) and `app_user_territory` (territories a district manager or regional VP
  manages; decision 18: their sites follow the *current* assignment).
* The application connects as its own role (`towne_app` unless `TOWNE_APP_ROLE` names another), neither
  superuser nor `BYPASSRLS`. Created here when the migrating role may create roles (the embedded cluster);
  on a supplied server the DBA creates it first (docs/security.md). The migrating role owns every table
  and so is not subject to the policies: migrations, the importer and `towne` commands run as it.
* Every table that holds or reveals site data has row-level security with policies `TO <app role>` that
  read the caller from `current_setting('towne.user_id')`, set once per request transaction by
  `towne_begin_request(subject)`. Other database roles (GIS editors, BI readers of later migrations) see
  nothing until they get policies of their own, and cannot borrow a caller by setting `towne.user_id`.
* The assignment triggers and `towne_assign_layer` become `SECURITY DEFINER` with a fixed `search_path`: a
  GIS editor's territory edit re-assigns sites it may not read.
* Who did it: generation requests and batches record `requested_by`, idempotency keys are unique per
  caller, ad-hoc invoice lines record `added_by`.
"""

import os
from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
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
)
# roles that see every site's contract and billing data (§4.4: "all sites for billingAdmin/billingManager/
# finance"); gisEditor sees every site's identity, location and assignments but no contract or billing data
ALL_SITES_CONTRACT = ("billingAdmin", "billingManager", "reportingReader")
ALL_SITES_IDENTITY = (*ALL_SITES_CONTRACT, "gisEditor")

# tables keyed by site_id whose rows are contract or billing data
CONTRACT_SCOPED_BY_SITE = (
    "contract",
    "billing_statement",
    "statement_generation",
    "revenue_daily",
    "occupied_rooms_daily",
    "timesheet_minutes",
    "ledger_balance",
    "forecast_internal_revenue",
    "ready_for_invoice_comment",
)
# child tables: visible when their parent row is (the parent's own policy applies inside the subquery)
CHILDREN = (
    ("contract_component", "contract_id", "contract"),
    ("fixed_fee_service", "contract_id", "contract"),
    ("invoice_group", "contract_id", "contract"),
    ("labor_hour_job", "contract_id", "contract"),
    ("revenue_share_threshold", "contract_id", "contract"),
    ("statement_version", "statement_id", "billing_statement"),
    ("invoice", "statement_version_id", "statement_version"),
    ("invoice_line", "invoice_id", "invoice"),
    ("statement_event", "statement_version_id", "statement_version"),
)
# what the API writes (statement lifecycle, user administration); everything else it only reads
WRITTEN = (
    "billing_statement",
    "statement_version",
    "invoice",
    "invoice_line",
    "statement_event",
    "statement_generation",
    "generation_batch",
    "app_user",
    "app_user_role",
    "app_user_site",
    "app_user_territory",
)
READ_ONLY = (
    "customer_site",
    "site_territory_assignment",
    "territory_layer",
    "territory",
    "territory_part",
    "territory_version",
    "contract",
    "contract_component",
    "fixed_fee_service",
    "invoice_group",
    "labor_hour_job",
    "revenue_share_threshold",
    "revenue_daily",
    "occupied_rooms_daily",
    "timesheet_minutes",
    "ledger_balance",
    "forecast_internal_revenue",
    "ready_for_invoice_comment",
    "alembic_version",
)
DEFINER_FUNCTIONS = (
    "customer_site_after_locate()",
    "territory_after_insert()",
    "territory_after_update()",
    "territory_before_write()",
    "towne_assign_layer(integer, timestamp with time zone, uuid[])",
)

# what the application role calls, directly or through its policies
CALLER_FUNCTIONS = ("towne_begin_request(text)", "towne_has_role(text[])", "towne_scoped_site_ids()")


def app_role() -> str:
    name = os.environ.get("TOWNE_APP_ROLE", "towne_app")
    if not name.replace("_", "").isalnum() or not name[0].isalpha():
        raise ValueError(f"TOWNE_APP_ROLE {name!r} must be a plain identifier")
    return name


def _each(script: str) -> None:
    """Run a script statement by statement (asyncpg prepares one command at a time); a `;` that ends a
    line outside a `$$` body ends a statement."""
    statement: list[str] = []
    for line in script.splitlines():
        statement.append(line)
        if line.rstrip().endswith(";") and "\n".join(statement).count("$$") % 2 == 0:
            op.execute("\n".join(statement).strip().rstrip(";"))
            statement = []
    if "\n".join(statement).strip():
        op.execute("\n".join(statement))


def _array(names: Sequence[str]) -> str:
    return "ARRAY[" + ", ".join(f"'{n}'" for n in names) + "]::text[]"


def upgrade() -> None:
    role = app_role()
    op.execute(f"""
    DO $$
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_user
                           AND (rolsuper OR rolcreaterole)) THEN
                RAISE EXCEPTION 'database role {role} does not exist and % may not create it', current_user
                    USING HINT = 'CREATE ROLE {role} LOGIN PASSWORD ''…'' NOSUPERUSER NOBYPASSRLS (docs/security.md)';
            END IF;
            CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
        END IF;
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}' AND (rolsuper OR rolbypassrls)) THEN
            RAISE EXCEPTION 'database role {role} is a superuser or BYPASSRLS: row scopes would not apply';
        END IF;
    END $$
    """)
    _each(f"""
    CREATE TABLE app_user (
        id bigint GENERATED ALWAYS AS IDENTITY,
        subject text NOT NULL,
        email text,
        display_name text,
        active boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        created_by text,
        CONSTRAINT pk_app_user PRIMARY KEY (id),
        CONSTRAINT uq_app_user_subject UNIQUE (subject),
        CONSTRAINT ck_app_user_subject_shape CHECK (subject ~ '^[^[:space:][:cntrl:]]{{1,200}}$')
    );
    CREATE TABLE app_user_role (
        user_id bigint NOT NULL,
        role text NOT NULL,
        granted_at timestamptz NOT NULL DEFAULT now(),
        granted_by text,
        CONSTRAINT pk_app_user_role PRIMARY KEY (user_id, role),
        CONSTRAINT fk_app_user_role_user_id_app_user FOREIGN KEY (user_id) REFERENCES app_user (id)
            ON DELETE CASCADE,
        CONSTRAINT ck_app_user_role_known CHECK (role = ANY ({_array(ROLES)}))
    );
    CREATE TABLE app_user_site (
        user_id bigint NOT NULL,
        site_id uuid NOT NULL,
        granted_at timestamptz NOT NULL DEFAULT now(),
        granted_by text,
        CONSTRAINT pk_app_user_site PRIMARY KEY (user_id, site_id),
        CONSTRAINT fk_app_user_site_user_id_app_user FOREIGN KEY (user_id) REFERENCES app_user (id)
            ON DELETE CASCADE,
        CONSTRAINT fk_app_user_site_site_id_customer_site FOREIGN KEY (site_id) REFERENCES customer_site (id)
            ON DELETE CASCADE
    );
    CREATE TABLE app_user_territory (
        user_id bigint NOT NULL,
        territory_id integer NOT NULL,
        granted_at timestamptz NOT NULL DEFAULT now(),
        granted_by text,
        CONSTRAINT pk_app_user_territory PRIMARY KEY (user_id, territory_id),
        CONSTRAINT fk_app_user_territory_user_id_app_user FOREIGN KEY (user_id) REFERENCES app_user (id)
            ON DELETE CASCADE,
        CONSTRAINT fk_app_user_territory_territory_id_territory FOREIGN KEY (territory_id)
            REFERENCES territory (id) ON DELETE CASCADE
    );

    -- who asked: idempotency keys belong to their caller
    ALTER TABLE statement_generation ADD COLUMN requested_by text NOT NULL DEFAULT '';
    ALTER TABLE statement_generation ALTER COLUMN requested_by DROP DEFAULT;
    ALTER TABLE statement_generation DROP CONSTRAINT uq_statement_generation_idempotency_key;
    ALTER TABLE statement_generation ADD CONSTRAINT uq_statement_generation_requested_by_key
        UNIQUE (requested_by, idempotency_key);
    ALTER TABLE generation_batch ADD COLUMN requested_by text NOT NULL DEFAULT '';
    ALTER TABLE generation_batch ALTER COLUMN requested_by DROP DEFAULT;
    ALTER TABLE generation_batch DROP CONSTRAINT uq_generation_batch_idempotency_key;
    ALTER TABLE generation_batch ADD CONSTRAINT uq_generation_batch_requested_by_key
        UNIQUE (requested_by, idempotency_key);
    ALTER TABLE invoice_line ADD COLUMN added_by text;
    """)

    # ---- the caller of this transaction, and what it may see
    _each("""
    CREATE FUNCTION towne_user_id() RETURNS bigint LANGUAGE sql STABLE PARALLEL SAFE AS $$
        SELECT nullif(current_setting('towne.user_id', true), '')::bigint
    $$;
    COMMENT ON FUNCTION towne_user_id() IS
        'The app_user of this transaction (set by towne_begin_request), or NULL: no caller sees no site.';

    CREATE FUNCTION towne_begin_request(p_subject text)
    RETURNS TABLE (user_id bigint, roles text[])
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
        SELECT u.id,
               ARRAY(SELECT r.role FROM app_user_role r WHERE r.user_id = u.id ORDER BY r.role)
        FROM app_user u, set_config('towne.user_id', u.id::text, true) AS bound
        WHERE u.subject = p_subject AND u.active
    $$;
    COMMENT ON FUNCTION towne_begin_request(text) IS
        'Binds the active app_user with this subject to the transaction (towne.user_id, transaction-local) '
        'and returns its id and roles; no row for an unknown or deactivated subject.';

    CREATE FUNCTION towne_has_role(VARIADIC p_roles text[]) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
        SELECT EXISTS (SELECT 1 FROM app_user_role WHERE user_id = towne_user_id() AND role = ANY (p_roles))
    $$;

    -- sites of explicit links, and sites currently assigned to a territory the caller manages (§4.4)
    CREATE FUNCTION towne_scoped_site_ids() RETURNS SETOF uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
        SELECT site_id FROM app_user_site WHERE user_id = towne_user_id()
        UNION
        SELECT a.site_id FROM app_user_territory t
        JOIN site_territory_assignment a ON a.territory_id = t.territory_id AND a.valid_to IS NULL
        WHERE t.user_id = towne_user_id()
    $$;
    """)
    sees_contract = f"(SELECT towne_has_role(VARIADIC {_array(ALL_SITES_CONTRACT)}))"
    sees_identity = f"(SELECT towne_has_role(VARIADIC {_array(ALL_SITES_IDENTITY)}))"
    writes_billing = "(SELECT towne_has_role('billingAdmin', 'billingManager'))"
    scoped = "(SELECT towne_scoped_site_ids())"

    statements: list[str] = []
    for table in (*READ_ONLY, *WRITTEN):
        if table != "alembic_version":
            statements.append(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")

    statements += [
        f"CREATE POLICY read_scoped ON customer_site FOR SELECT TO {role}"
        f" USING ({sees_identity} OR id IN {scoped})",
        f"CREATE POLICY read_scoped ON site_territory_assignment FOR SELECT TO {role}"
        f" USING ({sees_identity} OR site_id IN {scoped})",
    ]
    # company geography: every signed-in caller
    for table in ("territory_layer", "territory", "territory_part", "territory_version"):
        statements.append(
            f"CREATE POLICY read_signed_in ON {table} FOR SELECT TO {role} USING ((SELECT towne_user_id()) IS NOT NULL)"
        )
    for table in CONTRACT_SCOPED_BY_SITE:
        statements.append(
            f"CREATE POLICY read_scoped ON {table} FOR SELECT TO {role}"
            f" USING ({sees_contract} OR site_id IN {scoped})"
        )
    for table, column, parent in CHILDREN:
        statements.append(
            f"CREATE POLICY read_scoped ON {table} FOR SELECT TO {role}"
            f" USING ({column} IN (SELECT id FROM {parent}))"
        )
    # the statement lifecycle is written by billing roles only (§3.9), on rows they can see
    for table in ("billing_statement", "statement_generation"):
        statements.append(
            f"CREATE POLICY write_billing ON {table} FOR ALL TO {role}"
            f" USING ({writes_billing}) WITH CHECK ({writes_billing})"
        )
    for table, column, parent in CHILDREN:
        if table in WRITTEN:
            statements.append(
                f"CREATE POLICY write_billing ON {table} FOR ALL TO {role}"
                f" USING ({writes_billing} AND {column} IN (SELECT id FROM {parent}))"
                f" WITH CHECK ({writes_billing} AND {column} IN (SELECT id FROM {parent}))"
            )
    statements += [
        f"CREATE POLICY own_batches ON generation_batch FOR ALL TO {role}"
        f" USING ({writes_billing} AND requested_by = (SELECT subject FROM app_user WHERE id = towne_user_id()))"
        f" WITH CHECK ({writes_billing}"
        f" AND requested_by = (SELECT subject FROM app_user WHERE id = towne_user_id()))",
        # users: one sees oneself, an administrator everyone; only administrators write
        f"CREATE POLICY read_self ON app_user FOR SELECT TO {role} USING (id = towne_user_id())",
        f"CREATE POLICY admin ON app_user FOR ALL TO {role}"
        " USING ((SELECT towne_has_role('billingAdmin'))) WITH CHECK ((SELECT towne_has_role('billingAdmin')))",
    ]
    for table in ("app_user_role", "app_user_site", "app_user_territory"):
        statements += [
            f"CREATE POLICY read_self ON {table} FOR SELECT TO {role} USING (user_id = towne_user_id())",
            f"CREATE POLICY admin ON {table} FOR ALL TO {role}"
            " USING ((SELECT towne_has_role('billingAdmin')))"
            " WITH CHECK ((SELECT towne_has_role('billingAdmin')))",
        ]

    # ---- privileges of the application role
    statements += [
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT ON {', '.join(READ_ONLY)} TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(WRITTEN)} TO {role}",
        f"GRANT SELECT ON spatial_ref_sys TO {role}",
        f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}",
    ]
    for function in DEFINER_FUNCTIONS:
        statements.append(f"ALTER FUNCTION {function} SECURITY DEFINER SET search_path = public, pg_temp")
    # a definer function is the owner's power: nobody else calls these directly (triggers still fire)
    for function in (*DEFINER_FUNCTIONS, *CALLER_FUNCTIONS):
        statements.append(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
    for function in CALLER_FUNCTIONS:
        statements.append(f"GRANT EXECUTE ON FUNCTION {function} TO {role}")
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    role = app_role()
    for function in DEFINER_FUNCTIONS:
        op.execute(f"ALTER FUNCTION {function} SECURITY INVOKER RESET search_path")
    for table in (*READ_ONLY, *WRITTEN):
        if table == "alembic_version":
            continue
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
        for policy in ("read_scoped", "read_signed_in", "write_billing", "own_batches", "read_self", "admin"):
            op.execute(f"DROP POLICY IF EXISTS {policy} ON {table}")
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}")
    op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {role}")
    op.execute(f"REVOKE ALL ON SCHEMA public FROM {role}")
    for statement in (
        "DROP FUNCTION towne_scoped_site_ids()",
        "DROP FUNCTION towne_has_role(text[])",
        "DROP FUNCTION towne_begin_request(text)",
        "DROP FUNCTION towne_user_id()",
        "ALTER TABLE invoice_line DROP COLUMN added_by",
        "ALTER TABLE generation_batch DROP CONSTRAINT uq_generation_batch_requested_by_key",
        "ALTER TABLE generation_batch DROP COLUMN requested_by",
        "ALTER TABLE generation_batch ADD CONSTRAINT uq_generation_batch_idempotency_key UNIQUE (idempotency_key)",
        "ALTER TABLE statement_generation DROP CONSTRAINT uq_statement_generation_requested_by_key",
        "ALTER TABLE statement_generation DROP COLUMN requested_by",
        "ALTER TABLE statement_generation ADD CONSTRAINT uq_statement_generation_idempotency_key"
        " UNIQUE (idempotency_key)",
        "DROP TABLE app_user_territory",
        "DROP TABLE app_user_site",
        "DROP TABLE app_user_role",
        "DROP TABLE app_user",
    ):
        op.execute(statement)
