"""The audit trail (0013) covers the contract-management tables of 0011 (issue 10 §5).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03

* `contract_amendment` and `contract_header_history`: every proposal, decision and closed header edition is
  recorded with who, when, which operation and what changed, in the contract's scope (`Contract.auditLog`).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("contract_amendment", "contract_header_history")


def upgrade() -> None:
    for table in TABLES:
        op.execute(f"SELECT towne_audit_attach('{table}'::regclass, 'id', 'contract', 'contract_id')")


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"SELECT towne_audit_detach('{table}'::regclass)")
