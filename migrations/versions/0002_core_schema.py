"""Core schema: customer sites, contracts and their building blocks, territories and assignments.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21

Besides the tables this creates the database-side rules GIS users editing in QGIS also go through:
territory geometry validation (naming the fault location), version bump on edit, the `territory_part`
subdivision, and reassignment of sites when a territory or a site location changes (`towne_assign_layer`,
domain.md §4.3: ST_Covers, ties to the smallest area then the lowest code, manual rows win).
"""

from collections.abc import Sequence

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BUILDING_BLOCKS = (
    "FIXED_FEE", "PER_LABOR_HOUR", "PER_OCCUPIED_ROOM", "INVOICE_GROUPING", "REVENUE_SHARE",
    "BELL_SERVICE", "MID_MONTH_ADVANCE", "DEPOSITED_REVENUE", "BILLABLE_ACCOUNTS", "MANAGEMENT_AGREEMENT",
)  # fmt: skip
SINGLE_ROW_BLOCKS = (
    "BELL_SERVICE", "MID_MONTH_ADVANCE", "DEPOSITED_REVENUE", "BILLABLE_ACCOUNTS", "MANAGEMENT_AGREEMENT",
)  # fmt: skip


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    ]


def _contract_fk() -> sa.Column[object]:
    return sa.Column(
        "contract_id",
        sa.Uuid(),
        sa.ForeignKey("contract.id", ondelete="CASCADE", name=None),
        nullable=False,
    )


def upgrade() -> None:
    block_list = ", ".join(f"'{b}'" for b in BUILDING_BLOCKS)
    single_list = ", ".join(f"'{b}'" for b in SINGLE_ROW_BLOCKS)

    op.create_table(
        "customer_site",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("site_number", sa.String(4), nullable=False, unique=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("street", sa.Text(), nullable=False),
        sa.Column("city", sa.Text()),
        sa.Column("state", sa.String(2), nullable=False),
        sa.Column("zip", sa.String(5), nullable=False),
        sa.Column("source_district", sa.Text()),
        sa.Column("gl_string", sa.String(11), nullable=False),
        sa.Column("parking_spaces", sa.Integer()),
        sa.Column("rooms", sa.Integer()),
        sa.Column("vendor_id", sa.Text()),
        sa.Column("start_date", sa.Date()),
        sa.Column("close_date", sa.Date()),
        sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column(
            "location",
            geoalchemy2.Geometry("POINT", srid=4326, spatial_index=False, from_text="ST_GeomFromEWKT"),
        ),
        sa.Column("geocode_method", sa.Text()),
        *_timestamps(),
        sa.CheckConstraint(r"site_number ~ '^[0-9]{4}$'", name="site_number_format"),
        sa.CheckConstraint(r"zip ~ '^[0-9]{5}$'", name="zip_format"),
        sa.CheckConstraint(r"state ~ '^[A-Z]{2}$'", name="state_format"),
        sa.CheckConstraint(r"gl_string ~ '^[0-9]{2}-[0-9]{2}-[0-9]{4}-$'", name="gl_string_format"),
        sa.CheckConstraint("parking_spaces >= 0", name="parking_spaces_non_negative"),
        sa.CheckConstraint("rooms >= 0", name="rooms_non_negative"),
        sa.CheckConstraint("geocode_method IN ('zip', 'zip3_prefix', 'manual')", name="geocode_method_known"),
        sa.CheckConstraint("(location IS NULL) = (geocode_method IS NULL)", name="geocoded_with_method"),
    )
    op.create_index("ix_customer_site_location", "customer_site", ["location"], postgresql_using="gist")
    op.create_index("ix_customer_site_source_district", "customer_site", ["source_district"])
    op.create_index("ix_customer_site_state", "customer_site", ["state"])
    # Substring search on name and address.
    op.execute(
        "CREATE INDEX ix_customer_site_search ON customer_site "
        "USING gin ((name || ' ' || address) gin_trgm_ops)"
    )
    # Metre-based "within N metres" filters run on geography.
    op.execute("CREATE INDEX ix_customer_site_geography ON customer_site USING gist ((location::geography))")

    op.create_table(
        "contract",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "site_id", sa.Uuid(), sa.ForeignKey("customer_site.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("contract_type", sa.Text()),
        sa.Column("billing_type", sa.String(8), nullable=False),
        sa.Column(
            "building_blocks",
            postgresql.ARRAY(sa.Text()),
            nullable=False,
            server_default=sa.text("'{}'::text[]"),
        ),
        sa.Column("increment_percentage", sa.Numeric(9, 4), nullable=False, server_default=sa.text("0")),
        sa.Column("increment_month", sa.SmallInteger()),
        sa.Column("consumer_price_index", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("deviation_amount", sa.Numeric(14, 2)),
        sa.Column("deviation_percentage", sa.Numeric(9, 4)),
        sa.Column("payment_terms", sa.Text()),
        sa.Column("purchase_order", sa.Text()),
        sa.Column("deposits", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("hours_backup_report", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column(
            "supporting_reports",
            postgresql.ARRAY(sa.Text()),
            nullable=False,
            server_default=sa.text("'{}'::text[]"),
        ),
        sa.Column("occupied_room_rate", sa.Numeric(12, 4)),
        sa.Column("occupied_room_code", sa.Text()),
        sa.Column("occupied_room_invoice_group", sa.Integer()),
        sa.Column("configuration_source", sa.Text(), nullable=False, server_default="export"),
        *_timestamps(),
        sa.UniqueConstraint("site_id"),
        sa.CheckConstraint("billing_type IN ('ARREARS', 'ADVANCED')", name="billing_type_known"),
        sa.CheckConstraint(f"building_blocks <@ ARRAY[{block_list}]::text[]", name="building_blocks_known"),
        sa.CheckConstraint("increment_month BETWEEN 1 AND 12", name="increment_month_range"),
        sa.CheckConstraint("increment_percentage >= 0", name="increment_non_negative"),
        sa.CheckConstraint(
            "configuration_source IN ('export', 'snapshot')", name="configuration_source_known"
        ),
    )

    op.create_table(
        "invoice_group",
        sa.Column("id", sa.Uuid(), primary_key=True),
        _contract_fk(),
        sa.Column("group_number", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("site_number_override", sa.String(4)),
        sa.Column("customer_name", sa.Text()),
        sa.Column("vendor_id", sa.Text()),
        sa.UniqueConstraint("contract_id", "group_number", name="uq_invoice_group_contract_number"),
        sa.CheckConstraint("group_number BETWEEN 1 AND 99", name="group_number_range"),
    )
    op.create_index("ix_invoice_group_contract_id", "invoice_group", ["contract_id"])

    op.create_table(
        "fixed_fee_service",
        sa.Column("id", sa.Uuid(), primary_key=True),
        _contract_fk(),
        sa.Column("name", sa.Text()),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("fee", sa.Numeric(14, 4), nullable=False),
        sa.Column("start_date", sa.Date()),
        sa.Column("end_date", sa.Date()),
        sa.Column("invoice_group", sa.Integer()),
        sa.CheckConstraint("end_date >= start_date", name="dates_ordered"),
    )
    op.create_index("ix_fixed_fee_service_contract_id", "fixed_fee_service", ["contract_id"])

    op.create_table(
        "labor_hour_job",
        sa.Column("id", sa.Uuid(), primary_key=True),
        _contract_fk(),
        sa.Column("name", sa.Text()),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("job_code", sa.Text(), nullable=False),
        sa.Column("code", sa.Text()),
        sa.Column("rate", sa.Numeric(12, 4), nullable=False),
        sa.Column("overtime_rate", sa.Numeric(12, 4)),
        sa.Column("is_salaried", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("start_date", sa.Date()),
        sa.Column("end_date", sa.Date()),
        sa.Column("invoice_group", sa.Integer()),
        sa.CheckConstraint("end_date >= start_date", name="dates_ordered"),
    )
    op.create_index("ix_labor_hour_job_contract_id", "labor_hour_job", ["contract_id"])

    op.create_table(
        "revenue_share_threshold",
        sa.Column("id", sa.Uuid(), primary_key=True),
        _contract_fk(),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("revenue_codes", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("accumulation_type", sa.Text(), nullable=False),
        sa.Column("tiers", postgresql.JSONB(), nullable=False),
        sa.Column("validation_threshold_type", sa.Text()),
        sa.Column("validation_threshold_amount", sa.Numeric(14, 4)),
        sa.Column("invoice_group", sa.Integer()),
        sa.UniqueConstraint("contract_id", "position", name="uq_revenue_share_threshold_position"),
        sa.CheckConstraint(
            "accumulation_type IN ('MONTHLY', 'ANNUAL_CALENDAR', 'ANNUAL_ANNIVERSARY')",
            name="accumulation_type_known",
        ),
        sa.CheckConstraint(
            "validation_threshold_type IN ('VEHICLE_COUNT', 'REVENUE_PERCENTAGE', 'VALIDATION_AMOUNT')",
            name="validation_threshold_type_known",
        ),
        sa.CheckConstraint("jsonb_typeof(tiers) = 'array'", name="tiers_is_array"),
    )
    op.create_index("ix_revenue_share_threshold_contract_id", "revenue_share_threshold", ["contract_id"])

    op.create_table(
        "contract_component",
        sa.Column("id", sa.Uuid(), primary_key=True),
        _contract_fk(),
        sa.Column("building_block", sa.Text(), nullable=False),
        sa.Column("invoice_group", sa.Integer()),
        sa.Column("settings", postgresql.JSONB(), nullable=False),
        sa.UniqueConstraint("contract_id", "building_block", name="uq_contract_component_block"),
        sa.CheckConstraint(f"building_block IN ({single_list})", name="single_row_block"),
        sa.CheckConstraint("jsonb_typeof(settings) = 'object'", name="settings_is_object"),
    )

    op.create_table(
        "territory_layer",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.Text(), nullable=False, unique=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("description", sa.Text()),
        sa.CheckConstraint("kind IN ('partition', 'overlay')", name="kind_known"),
        sa.CheckConstraint(r"code ~ '^[a-z0-9][a-z0-9-]*$'", name="code_format"),
    )

    op.create_table(
        "territory",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "layer_id", sa.Integer(), sa.ForeignKey("territory_layer.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("source_district", sa.Text()),
        sa.Column(
            "geom",
            geoalchemy2.Geometry("MULTIPOLYGON", srid=4326, spatial_index=False, from_text="ST_GeomFromEWKT"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False, server_default=sa.text("1")),
        sa.Column("area_km2", sa.Double(), nullable=False, server_default=sa.text("0")),
        *_timestamps(),
        sa.UniqueConstraint("layer_id", "code", name="uq_territory_layer_id_code"),
        sa.CheckConstraint("ST_IsValid(geom)", name="geom_valid"),
        sa.CheckConstraint("NOT ST_IsEmpty(geom)", name="geom_not_empty"),
    )
    op.create_index("ix_territory_geom", "territory", ["geom"], postgresql_using="gist")

    op.create_table(
        "territory_part",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column(
            "territory_id", sa.Integer(), sa.ForeignKey("territory.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("layer_id", sa.Integer(), nullable=False),
        sa.Column(
            "geom",
            geoalchemy2.Geometry("POLYGON", srid=4326, spatial_index=False, from_text="ST_GeomFromEWKT"),
            nullable=False,
        ),
    )
    op.create_index("ix_territory_part_geom", "territory_part", ["geom"], postgresql_using="gist")
    op.create_index("ix_territory_part_territory_id", "territory_part", ["territory_id"])

    op.create_table(
        "site_territory_assignment",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column(
            "site_id", sa.Uuid(), sa.ForeignKey("customer_site.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "layer_id", sa.Integer(), sa.ForeignKey("territory_layer.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("territory_id", sa.Integer(), sa.ForeignKey("territory.id", ondelete="RESTRICT")),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("valid_to", sa.DateTime(timezone=True)),
        sa.CheckConstraint("method IN ('point_in_polygon', 'manual')", name="method_known"),
        sa.CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="period_ordered"),
        postgresql.ExcludeConstraint(
            ("site_id", "="),
            ("layer_id", "="),
            (sa.text("tstzrange(valid_from, valid_to)"), "&&"),
            name="no_overlapping_assignment",
            using="gist",
            deferrable=True,
            initially="DEFERRED",
        ),
    )
    op.create_index(
        "ix_site_territory_assignment_open",
        "site_territory_assignment",
        ["layer_id", "territory_id"],
        postgresql_where=sa.text("valid_to IS NULL"),
    )
    op.create_index(
        "ix_site_territory_assignment_site",
        "site_territory_assignment",
        ["site_id", "layer_id", "valid_from"],
    )

    for statement in SQL_FUNCTIONS_AND_TRIGGERS:
        op.execute(statement)


SQL_FUNCTIONS_AND_TRIGGERS = [
    # Validation with the fault location in the message: QGIS shows it to the editor as is.
    """
    CREATE FUNCTION territory_before_write() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.geom IS NULL OR ST_IsEmpty(NEW.geom) THEN
            RAISE EXCEPTION 'territory % geometry is empty', NEW.code USING ERRCODE = 'check_violation';
        END IF;
        IF ST_SRID(NEW.geom) <> 4326 THEN
            RAISE EXCEPTION 'territory % geometry has SRID %, expected 4326', NEW.code, ST_SRID(NEW.geom)
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
    """,
    """
    CREATE TRIGGER territory_before_write BEFORE INSERT OR UPDATE ON territory
    FOR EACH ROW EXECUTE FUNCTION territory_before_write()
    """,
    # Set-based point-in-polygon assignment of one layer, one statement (domain.md §4.3):
    # ST_Covers so a site on a border counts as inside; several hits (overlay layers, or a point on a
    # shared edge) resolve to the smallest territory, then the lowest code; open manual rows are kept;
    # only sites whose territory changed get their open row closed and a new one opened.
    # Plans (docs/benchmarks.md): a SQL function's statement is planned once per call without parameter
    # values, so each CTE has one branch for the whole layer (p_site_ids NULL) and one for given sites;
    # the branch that does not apply is skipped at run time. For the whole layer the parts drive and probe
    # the GiST index of the site locations; OFFSET 0 keeps the planner from turning that join round
    # (sites outer, parts index probed: about 6x slower at 1M sites). Given sites use the primary key and
    # probe the parts index. jit = off: the cost estimate of the whole-layer branch made every call,
    # one site included, pay about a second of JIT compilation.
    """
    CREATE FUNCTION towne_assign_layer(
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
            SELECT s.id AS site_id, h.territory_id
            FROM (
                SELECT s.id FROM customer_site s WHERE p_site_ids IS NULL
                UNION ALL
                SELECT s.id FROM customer_site s WHERE s.id = ANY (p_site_ids)
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
            SELECT d.site_id, d.territory_id, c.id AS open_id
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
            SELECT ch.site_id, p_layer_id, ch.territory_id, 'point_in_polygon', p_at FROM changes ch
            RETURNING id
        )
        SELECT
            (SELECT count(*) FROM desired WHERE territory_id IS NOT NULL)::integer,
            (SELECT count(*) FROM desired WHERE territory_id IS NULL)::integer,
            (SELECT count(*) FROM opened_rows)::integer,
            (SELECT count(*) FROM closed_rows)::integer,
            (SELECT count(*) FROM current_rows WHERE method = 'manual')::integer
    $$
    """,
    # Territory edits (web map or QGIS) refresh the subdivision and reassign the layer's sites.
    """
    CREATE FUNCTION territory_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE layer integer;
    BEGIN
        INSERT INTO territory_part (territory_id, layer_id, geom)
        SELECT n.id, n.layer_id, d.geom
        FROM new_rows n, LATERAL ST_Subdivide(n.geom, 255) AS s(geom), LATERAL ST_Dump(s.geom) AS d
        WHERE GeometryType(d.geom) = 'POLYGON';
        IF current_setting('towne.defer_assignment', true) = 'on' THEN
            RETURN NULL;  -- a bulk load (towne import) assigns once at its end
        END IF;
        FOR layer IN SELECT DISTINCT layer_id FROM new_rows LOOP
            PERFORM towne_assign_layer(layer);
        END LOOP;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER territory_after_insert AFTER INSERT ON territory
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION territory_after_insert()
    """,
    """
    CREATE FUNCTION territory_after_update() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        changed integer[];
        layer integer;
    BEGIN
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
            PERFORM towne_assign_layer(layer);
        END LOOP;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER territory_after_update AFTER UPDATE ON territory
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION territory_after_update()
    """,
    # A site that is created or moved is (re)assigned in every layer.
    """
    CREATE FUNCTION customer_site_after_locate() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        site_ids uuid[];
        layer integer;
    BEGIN
        IF current_setting('towne.defer_assignment', true) = 'on' THEN
            RETURN NULL;  -- a bulk load (towne import) assigns once at its end
        END IF;
        IF TG_OP = 'INSERT' THEN
            SELECT array_agg(id) INTO site_ids FROM new_rows;
        ELSE
            SELECT array_agg(n.id) INTO site_ids
            FROM new_rows n JOIN old_rows o ON o.id = n.id
            WHERE n.location IS DISTINCT FROM o.location;
        END IF;
        IF site_ids IS NULL THEN
            RETURN NULL;
        END IF;
        FOR layer IN SELECT id FROM territory_layer ORDER BY id LOOP
            PERFORM towne_assign_layer(layer, clock_timestamp(), site_ids);
        END LOOP;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER customer_site_after_insert AFTER INSERT ON customer_site
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION customer_site_after_locate()
    """,
    """
    CREATE TRIGGER customer_site_after_update AFTER UPDATE ON customer_site
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION customer_site_after_locate()
    """,
]


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS customer_site_after_update ON customer_site")
    op.execute("DROP TRIGGER IF EXISTS customer_site_after_insert ON customer_site")
    op.execute("DROP FUNCTION IF EXISTS customer_site_after_locate()")
    op.execute("DROP TRIGGER IF EXISTS territory_after_update ON territory")
    op.execute("DROP FUNCTION IF EXISTS territory_after_update()")
    op.execute("DROP TRIGGER IF EXISTS territory_after_insert ON territory")
    op.execute("DROP FUNCTION IF EXISTS territory_after_insert()")
    op.execute("DROP FUNCTION IF EXISTS towne_assign_layer(integer, timestamptz, uuid[])")
    for table in (
        "site_territory_assignment",
        "territory_part",
        "territory",
        "territory_layer",
        "contract_component",
        "revenue_share_threshold",
        "labor_hour_job",
        "fixed_fee_service",
        "invoice_group",
        "contract",
        "customer_site",
    ):
        op.drop_table(table)
    op.execute("DROP FUNCTION IF EXISTS territory_before_write()")
