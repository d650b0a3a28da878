"""Create PostGIS and the extensions the schema relies on.

Revision ID: 0001
Revises:
Create Date: 2026-11-21

PostGIS is not a trusted extension: the migrating role must be allowed to create it (a superuser on the
embedded cluster). btree_gist backs the no-overlap constraint of the assignment history; pg_trgm the
substring search on site names and addresses.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")


def downgrade() -> None:
    op.execute("DROP EXTENSION IF EXISTS pg_trgm")
    op.execute("DROP EXTENSION IF EXISTS btree_gist")
    op.execute("DROP EXTENSION IF EXISTS postgis")
