"""Dated versions of the single-row building blocks (escalators as dated rows, domain.md §2.14–§2.15).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21

`contract_component` gains `valid_from`/`valid_to` (NULL = open); the one-row-per-block rule (§7 #21) becomes
"versions of a block never overlap", so exactly one version is in force on any day.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("contract_component", sa.Column("valid_from", sa.Date(), nullable=True))
    op.add_column("contract_component", sa.Column("valid_to", sa.Date(), nullable=True))
    op.drop_constraint("uq_contract_component_block", "contract_component", type_="unique")
    op.create_check_constraint("dates_ordered", "contract_component", "valid_to >= valid_from")
    op.execute(
        "ALTER TABLE contract_component ADD CONSTRAINT no_overlapping_component_versions"
        " EXCLUDE USING gist (contract_id WITH =, building_block WITH =,"
        " daterange(valid_from, valid_to, '[]') WITH &&)"
    )


def downgrade() -> None:
    op.drop_constraint("no_overlapping_component_versions", "contract_component")
    op.drop_constraint("ck_contract_component_dates_ordered", "contract_component")
    op.execute(
        "DELETE FROM contract_component c USING contract_component n WHERE c.contract_id = n.contract_id"
        " AND c.building_block = n.building_block AND c.valid_from IS NOT NULL"
    )
    op.create_unique_constraint(
        "uq_contract_component_block", "contract_component", ["contract_id", "building_block"]
    )
    op.drop_column("contract_component", "valid_to")
    op.drop_column("contract_component", "valid_from")
