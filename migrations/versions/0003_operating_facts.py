"""Operating facts: revenue, occupied rooms, timesheets, ledger, forecast revenue, RFI comments.

The inputs the legacy invoice engine reads from its data warehouse (domain.md §1.7); money numeric USD,
minutes integer, periods YYYYMM; `synthetic` marks generated rows.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "forecast_internal_revenue",
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("period", sa.String(length=6), nullable=False, comment="YYYYMM"),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False, comment="USD"),
        sa.Column(
            "synthetic",
            sa.Boolean(),
            server_default=sa.text("false"),
            nullable=False,
            comment="generated, not real data",
        ),
        sa.CheckConstraint(
            "period ~ '^[0-9]{4}(0[1-9]|1[0-2])$'", name=op.f("ck_forecast_internal_revenue_period_format")
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["customer_site.id"],
            name=op.f("fk_forecast_internal_revenue_site_id_customer_site"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("site_id", "period", name=op.f("pk_forecast_internal_revenue")),
        comment="Forecast internal revenue per site and period (vwFORECAST_CONSOLIDATED), USD",
    )
    op.create_table(
        "ledger_balance",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("period", sa.String(length=6), nullable=False, comment="YYYYMM"),
        sa.Column("main_account", sa.Text(), nullable=False, comment="e.g. 6000, 7080, 4790"),
        sa.Column("entity", sa.Text(), nullable=False, comment="GL entity, e.g. 02; 06 is excluded"),
        sa.Column(
            "balance",
            sa.Numeric(precision=14, scale=2),
            server_default=sa.text("0"),
            nullable=False,
            comment="BALANCE, USD (credit negative)",
        ),
        sa.Column(
            "synthetic",
            sa.Boolean(),
            server_default=sa.text("false"),
            nullable=False,
            comment="generated, not real data",
        ),
        sa.CheckConstraint(
            "period ~ '^[0-9]{4}(0[1-9]|1[0-2])$'", name=op.f("ck_ledger_balance_period_format")
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["customer_site.id"],
            name=op.f("fk_ledger_balance_site_id_customer_site"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_balance")),
        sa.UniqueConstraint("site_id", "period", "main_account", "entity", name="uq_ledger_balance_key"),
        comment="General-ledger balances (EDW ACCOUNT_SUMMARY); revenue accounts are credit-signed",
    )
    op.create_table(
        "occupied_rooms_daily",
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("rooms", sa.Numeric(precision=10, scale=2), nullable=False, comment="occupied rooms"),
        sa.Column(
            "synthetic",
            sa.Boolean(),
            server_default=sa.text("false"),
            nullable=False,
            comment="generated, not real data",
        ),
        sa.CheckConstraint("rooms >= 0", name=op.f("ck_occupied_rooms_daily_rooms_non_negative")),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["customer_site.id"],
            name=op.f("fk_occupied_rooms_daily_site_id_customer_site"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("site_id", "date", name=op.f("pk_occupied_rooms_daily")),
        comment="Occupied rooms per site and day (hotel statistics)",
    )
    op.create_table(
        "ready_for_invoice_comment",
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("period", sa.String(length=6), nullable=False, comment="YYYYMM"),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column(
            "synthetic",
            sa.Boolean(),
            server_default=sa.text("false"),
            nullable=False,
            comment="generated, not real data",
        ),
        sa.CheckConstraint(
            "period ~ '^[0-9]{4}(0[1-9]|1[0-2])$'", name=op.f("ck_ready_for_invoice_comment_period_format")
        ),
        sa.CheckConstraint(
            "length(btrim(comment)) > 0", name=op.f("ck_ready_for_invoice_comment_comment_not_blank")
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["customer_site.id"],
            name=op.f("fk_ready_for_invoice_comment_site_id_customer_site"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("site_id", "period", name=op.f("pk_ready_for_invoice_comment")),
        comment="Ready-for-invoice comments per site and period",
    )
    op.create_table(
        "revenue_daily",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("revenue_code", sa.Text(), nullable=False, comment="e.g. VD1, SM2, OR1, ADJ"),
        sa.Column("category", sa.Text(), nullable=False, comment="REVENUE_CATEGORY, e.g. 'Other Revenue'"),
        sa.Column(
            "collection_type", sa.Text(), nullable=True, comment="COLLECTION_TYPE, e.g. 'Bell Service Fee'"
        ),
        sa.Column(
            "deposit_flag",
            sa.String(length=1),
            nullable=False,
            comment="Y deposited by Towne Park, N collected by the client, V validation",
        ),
        sa.Column(
            "external_revenue",
            sa.Numeric(precision=14, scale=2),
            server_default=sa.text("0"),
            nullable=False,
            comment="EXTERNALREVENUE, USD",
        ),
        sa.Column(
            "net_external_revenue",
            sa.Numeric(precision=14, scale=2),
            server_default=sa.text("0"),
            nullable=False,
            comment="NETEXTERNALREVENUE, USD",
        ),
        sa.Column(
            "billable_net_validation",
            sa.Numeric(precision=14, scale=2),
            server_default=sa.text("0"),
            nullable=False,
            comment="BILLABLE_NET_VALIDATION, USD",
        ),
        sa.Column(
            "tax_rate",
            sa.Numeric(precision=7, scale=5),
            nullable=True,
            comment="TAXRATE as a fraction (0.10 = 10 %)",
        ),
        sa.Column(
            "synthetic",
            sa.Boolean(),
            server_default=sa.text("false"),
            nullable=False,
            comment="generated, not real data",
        ),
        sa.CheckConstraint(
            "deposit_flag IN ('Y', 'N', 'V')", name=op.f("ck_revenue_daily_deposit_flag_known")
        ),
        sa.CheckConstraint("tax_rate >= 0 AND tax_rate < 1", name=op.f("ck_revenue_daily_tax_rate_fraction")),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["customer_site.id"],
            name=op.f("fk_revenue_daily_site_id_customer_site"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revenue_daily")),
        sa.UniqueConstraint(
            "site_id",
            "date",
            "revenue_code",
            "category",
            "collection_type",
            "deposit_flag",
            name="uq_revenue_daily_source_key",
            postgresql_nulls_not_distinct=True,
        ),
        comment="Daily revenue detail (EDW vwREVENUE_DAILY_DETAIL_INVOICE), USD",
    )
    op.create_table(
        "timesheet_minutes",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("job_code", sa.Text(), nullable=False, comment="WORK_ROLE, e.g. GSA, BELL"),
        sa.Column(
            "regular", sa.Integer(), server_default=sa.text("0"), nullable=False, comment="REGULAR minutes"
        ),
        sa.Column(
            "regular_next_day",
            sa.Integer(),
            server_default=sa.text("0"),
            nullable=False,
            comment="REGULAR_NEXT_DAY minutes",
        ),
        sa.Column(
            "overtime", sa.Integer(), server_default=sa.text("0"), nullable=False, comment="OVERTIME minutes"
        ),
        sa.Column(
            "overtime_next_day",
            sa.Integer(),
            server_default=sa.text("0"),
            nullable=False,
            comment="OVERTIME_NEXT_DAY minutes",
        ),
        sa.Column(
            "holiday", sa.Integer(), server_default=sa.text("0"), nullable=False, comment="HOLIDAY minutes"
        ),
        sa.Column(
            "holiday_next_day",
            sa.Integer(),
            server_default=sa.text("0"),
            nullable=False,
            comment="HOLIDAY_NEXT_DAY minutes",
        ),
        sa.Column(
            "double_overtime",
            sa.Integer(),
            server_default=sa.text("0"),
            nullable=False,
            comment="DOUBLE_OVERTIME minutes",
        ),
        sa.Column(
            "double_overtime_next_day",
            sa.Integer(),
            server_default=sa.text("0"),
            nullable=False,
            comment="DOUBLE_OVERTIME_NEXT_DAY minutes",
        ),
        sa.Column(
            "holiday_overtime",
            sa.Integer(),
            server_default=sa.text("0"),
            nullable=False,
            comment="HOLIDAY_OVERTIME minutes",
        ),
        sa.Column(
            "holiday_overtime_next_day",
            sa.Integer(),
            server_default=sa.text("0"),
            nullable=False,
            comment="HOLIDAY_OVERTIME_NEXT_DAY minutes",
        ),
        sa.Column(
            "holiday_double_overtime",
            sa.Integer(),
            server_default=sa.text("0"),
            nullable=False,
            comment="HOLIDAY_DOUBLE_OVERTIME minutes",
        ),
        sa.Column(
            "holiday_double_overtime_next_day",
            sa.Integer(),
            server_default=sa.text("0"),
            nullable=False,
            comment="HOLIDAY_DOUBLE_OVERTIME_NEXT_DAY minutes",
        ),
        sa.Column(
            "synthetic",
            sa.Boolean(),
            server_default=sa.text("false"),
            nullable=False,
            comment="generated, not real data",
        ),
        sa.CheckConstraint(
            "LEAST(regular, regular_next_day, overtime, overtime_next_day, holiday, holiday_next_day, double_overtime, double_overtime_next_day, holiday_overtime, holiday_overtime_next_day, holiday_double_overtime, holiday_double_overtime_next_day) >= 0",
            name=op.f("ck_timesheet_minutes_minutes_non_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["customer_site.id"],
            name=op.f("fk_timesheet_minutes_site_id_customer_site"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timesheet_minutes")),
        sa.UniqueConstraint("site_id", "date", "job_code", name="uq_timesheet_minutes_site_date_job"),
        comment="Timesheet minutes per site, day and job code; each category with its next-day twin",
    )


def downgrade() -> None:
    op.drop_table("timesheet_minutes")
    op.drop_table("revenue_daily")
    op.drop_table("ready_for_invoice_comment")
    op.drop_table("occupied_rooms_daily")
    op.drop_table("ledger_balance")
    op.drop_table("forecast_internal_revenue")
