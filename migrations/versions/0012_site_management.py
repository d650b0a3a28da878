"""Site management through the API: billing admins add, change and close customer sites (issue 10 §1).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03

* The application role may INSERT and UPDATE `customer_site` and INSERT `contract`, but only for a caller
  holding `billingAdmin` (domain.md §3.9: "add customers … edit site general info"): row-level security
  policies `admin_write_site` and `admin_insert_contract` (`TO <app role>`). Policies on one table are
  OR'd with the read policies of migration 0008, so a scoped caller (accountManager, districtManager) and
  every other role still reads what it read, and writes nothing: the policy refuses the row even if the
  API's own role check had a bug. DELETE is granted to nobody (a site is closed, never deleted).
* The table's CHECKs stay the last line of defence (site number `^[0-9]{4}$`, ZIP, state, GL string
  `NN-NN-NNNN-`, counts ≥ 0, geocode method, point on Earth): the API validates first, with field paths.
* `contract.configuration_source` gains `'api'`: a contract created with its site by `addCustomerSite`
  (building blocks empty until a billing admin configures it).
* A site inserted or moved by the API is queued for assignment by migration 0009's trigger
  (`customer_site_after_locate`, SECURITY DEFINER) and assigned in every territory layer when the API
  calls `towne_flush_territory_changes()` before commit (or at commit).
"""

import os
from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IS_SITE_ADMIN = "(SELECT towne_has_role('billingAdmin'))"


def app_role() -> str:
    """The application role (as migration 0008 names it)."""
    name = os.environ.get("TOWNE_APP_ROLE", "towne_app")
    if not name.replace("_", "").isalnum() or not name[0].isalpha():
        raise ValueError(f"TOWNE_APP_ROLE {name!r} must be a plain identifier")
    return name


def upgrade() -> None:
    role = app_role()
    for statement in (
        "ALTER TABLE contract DROP CONSTRAINT ck_contract_configuration_source_known",
        "ALTER TABLE contract ADD CONSTRAINT ck_contract_configuration_source_known"
        " CHECK (configuration_source IN ('export', 'snapshot', 'api'))",
        f"GRANT INSERT, UPDATE ON customer_site TO {role}",
        f"GRANT INSERT ON contract TO {role}",
        # FOR INSERT and FOR UPDATE separately: a FOR ALL policy would also widen SELECT (OR'd with read_scoped)
        f"CREATE POLICY admin_write_site ON customer_site FOR INSERT TO {role} WITH CHECK ({IS_SITE_ADMIN})",
        f"CREATE POLICY admin_update_site ON customer_site FOR UPDATE TO {role}"
        f" USING ({IS_SITE_ADMIN}) WITH CHECK ({IS_SITE_ADMIN})",
        f"CREATE POLICY admin_insert_contract ON contract FOR INSERT TO {role} WITH CHECK ({IS_SITE_ADMIN})",
    ):
        op.execute(statement)


def downgrade() -> None:
    role = app_role()
    for statement in (
        "DROP POLICY IF EXISTS admin_insert_contract ON contract",
        "DROP POLICY IF EXISTS admin_update_site ON customer_site",
        "DROP POLICY IF EXISTS admin_write_site ON customer_site",
        f"REVOKE INSERT ON contract FROM {role}",
        f"REVOKE INSERT, UPDATE ON customer_site FROM {role}",
        "ALTER TABLE contract DROP CONSTRAINT ck_contract_configuration_source_known",
        # contracts the API created keep their rows; they read as contract-table-only, like the export's
        "UPDATE contract SET configuration_source = 'export' WHERE configuration_source = 'api'",
        "ALTER TABLE contract ADD CONSTRAINT ck_contract_configuration_source_known"
        " CHECK (configuration_source IN ('export', 'snapshot'))",
    ):
        op.execute(statement)
