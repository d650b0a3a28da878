"""US states for the basemap of the vector tiles (issue 9 §3).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03

* `us_state`: the 50 states, DC and Puerto Rico (USPS `code`, `name`, census `fips`, MultiPolygon EPSG:4326),
  loaded here from the repository's `data/us/states.geojson` (US Census 2016 cartographic boundaries,
  simplified; `data/towne-park/territories/README.md`), so a fresh database has its basemap without an
  import step. It is reference data: the migration writes it, nothing else does.
* Company geography, like the territory layers (migration 0008): row-level security with one policy, every
  signed-in caller of the application role reads it; the role gets SELECT only.
"""

import json
import os
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATES_FILE = Path(__file__).resolve().parents[2] / "data" / "us" / "states.geojson"


def app_role() -> str:
    """The application role (as migration 0008 names it)."""
    name = os.environ.get("TOWNE_APP_ROLE", "towne_app")
    if not name.replace("_", "").isalnum() or not name[0].isalpha():
        raise ValueError(f"TOWNE_APP_ROLE {name!r} must be a plain identifier")
    return name


def upgrade() -> None:
    role = app_role()
    op.execute("""
    CREATE TABLE us_state (
        code text NOT NULL,
        name text NOT NULL,
        fips text NOT NULL,
        geom geometry(MultiPolygon, 4326) NOT NULL,
        CONSTRAINT pk_us_state PRIMARY KEY (code),
        CONSTRAINT uq_us_state_fips UNIQUE (fips),
        CONSTRAINT ck_us_state_code_format CHECK (code ~ '^[A-Z]{2}$'),
        CONSTRAINT ck_us_state_fips_format CHECK (fips ~ '^[0-9]{2}$'),
        CONSTRAINT ck_us_state_geom_valid CHECK (ST_IsValid(geom))
    )
    """)
    op.execute("CREATE INDEX ix_us_state_geom ON us_state USING gist (geom)")
    collection = json.loads(STATES_FILE.read_text(encoding="utf-8"))
    rows = [
        {
            "code": feature["properties"]["code"],
            "name": feature["properties"]["name"],
            "fips": feature["properties"]["fips"],
            "geom": json.dumps(feature["geometry"]),
        }
        for feature in collection["features"]
    ]
    op.get_bind().execute(
        sa.text(
            "INSERT INTO us_state (code, name, fips, geom)"
            " VALUES (:code, :name, :fips, ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(:geom), 4326)))"
        ),
        rows,
    )
    op.execute("ALTER TABLE us_state ENABLE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY read_signed_in ON us_state FOR SELECT TO {role}"
        " USING ((SELECT towne_user_id()) IS NOT NULL)"
    )
    op.execute(f"GRANT SELECT ON us_state TO {role}")
    # the GIS editors' QGIS basemap (their role exists when migration 0009 could create it)
    op.execute("""
    DO $$
    BEGIN
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'towne_gis_editor') THEN
            CREATE POLICY gis_read ON us_state FOR SELECT TO towne_gis_editor USING (true);
            GRANT SELECT ON us_state TO towne_gis_editor;
        END IF;
    END $$
    """)


def downgrade() -> None:
    op.execute("DROP TABLE us_state")
