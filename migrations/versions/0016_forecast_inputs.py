"""Forecast facts: site statistics, parking rates, forecast payroll, budgets, billable-expense budgets and
other-expense forecasts (issue 11 §4; domain.md §1.7, §2.12, §2.13).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05

* The inputs of the P&L forecast (`billing.forecast`) besides the contract, in the shapes its calculators read:
  `site_statistic_day` (a day of a site's statistics of type BUDGET / FORECAST / ACTUAL with occupied rooms
  and the 8 vehicle counts), `parking_rate` (site, year, month, rate category → USD per unit),
  `forecast_payroll_hours` (regular hours per site, period and job code), `budget_value` (site, period, P&L
  budget row → USD, hours or rooms), `billable_expense_budget` (payroll-expense, billable-expense and
  other-expense budgets per site and period) and `other_expense_forecast` (the 12 forecastable accounts).
* Money `numeric(14,2)` USD, counts and hours `numeric(12,2)`, rates `numeric(12,4)`; periods `YYYYMM`;
  months 1..12; counts, hours and rates never negative; `synthetic` marks generated rows, as the operating
  facts (0003).
* Row-level security exactly as the operating facts (0008): the application role reads a row when it may see
  the site's contract (billingAdmin, billingManager, reportingReader: every site; others their scoped
  sites); it only reads (SELECT). The importer and `towne demo-forecast` write as the owner.
"""

import os
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    "site_statistic_day",
    "parking_rate",
    "forecast_payroll_hours",
    "budget_value",
    "billable_expense_budget",
    "other_expense_forecast",
)
STATISTIC_TYPES = ("BUDGET", "FORECAST", "ACTUAL")
RATE_CATEGORIES = (
    "VALET_OVERNIGHT",
    "SELF_OVERNIGHT",
    "VALET_DAILY",
    "SELF_DAILY",
    "VALET_MONTHLY",
    "SELF_MONTHLY",
    "VALET_AGGREGATOR",
    "SELF_AGGREGATOR",
)
BUDGET_ROWS = ("INTERNAL_REVENUE", "EXTERNAL_REVENUE", "PER_LABOR_HOUR", "PTEB", "OCCUPIED_ROOMS")
COUNTS = (
    ("occupied_rooms", "occupied rooms"),
    ("valet_overnight", "valet overnight vehicles"),
    ("self_overnight", "self-park overnight vehicles"),
    ("valet_daily", "valet daily vehicles"),
    ("self_daily", "self-park daily vehicles"),
    ("valet_monthly", "valet monthly passes"),
    ("self_monthly", "self-park monthly passes"),
    ("valet_aggregator", "valet aggregator vehicles"),
    ("self_aggregator", "self-park aggregator vehicles"),
)
ACCOUNTS = (
    ("employee_relations", "bs_EmployeeRelations"),
    ("fuel_vehicles", "bs_FuelVehicles"),
    ("loss_and_damage_claims", "bs_LossAndDamageClaims"),
    ("office_supplies", "bs_OfficeSupplies"),
    ("outside_services", "bs_OutsideServices"),
    ("rents_parking", "bs_RentsParking"),
    ("repairs_and_maintenance", "bs_RepairsAndMaintenance"),
    ("repairs_and_maintenance_vehicle", "bs_RepairsAndMaintenanceVehicle"),
    ("signage", "bs_Signage"),
    ("supplies_and_equipment", "bs_SuppliesAndEquipment"),
    ("tickets_and_printed_material", "bs_TicketsAndPrintedMaterial"),
    ("uniforms", "bs_Uniforms"),
)
PERIOD_CHECK = "period ~ '^[0-9]{4}(0[1-9]|1[0-2])$'"


def app_role() -> str:
    """The application role (as migration 0008 names it)."""
    name = os.environ.get("TOWNE_APP_ROLE", "towne_app")
    if not name.replace("_", "").isalnum() or not name[0].isalpha():
        raise ValueError(f"TOWNE_APP_ROLE {name!r} must be a plain identifier")
    return name


def _array(names: Sequence[str]) -> str:
    return "ARRAY[" + ", ".join(f"'{n}'" for n in names) + "]::text[]"


def _in(values: Sequence[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def _site(table: str) -> list[Any]:
    return [
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["customer_site.id"], name=f"fk_{table}_site_id_customer_site", ondelete="CASCADE"
        ),
    ]


def _period(table: str) -> list[Any]:
    return [
        sa.Column("period", sa.String(length=6), nullable=False, comment="YYYYMM"),
        sa.CheckConstraint(PERIOD_CHECK, name=f"ck_{table}_period_format"),
    ]


def _synthetic() -> sa.Column[bool]:
    return sa.Column(
        "synthetic",
        sa.Boolean(),
        server_default=sa.text("false"),
        nullable=False,
        comment="generated, not real data",
    )


def _money(name: str, comment: str) -> sa.Column[object]:
    return sa.Column(
        name, sa.Numeric(precision=14, scale=2), server_default=sa.text("0"), nullable=False, comment=comment
    )


def upgrade() -> None:
    op.create_table(
        "site_statistic_day",
        *_site("site_statistic_day"),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("statistic_type", sa.Text(), nullable=False, comment="BUDGET, FORECAST or ACTUAL"),
        *(sa.Column(name, sa.Numeric(precision=12, scale=2), nullable=True, comment=c) for name, c in COUNTS),
        _synthetic(),
        sa.CheckConstraint(
            f"statistic_type IN ({_in(STATISTIC_TYPES)})", name="ck_site_statistic_day_statistic_type_known"
        ),
        sa.CheckConstraint(
            f"LEAST({', '.join(name for name, _ in COUNTS)}) >= 0",
            name="ck_site_statistic_day_counts_non_negative",
        ),
        sa.PrimaryKeyConstraint("site_id", "date", "statistic_type", name="pk_site_statistic_day"),
        comment="Site statistics per day and type (SiteStatisticDetail): occupied rooms, vehicle counts",
    )
    op.create_table(
        "parking_rate",
        *_site("parking_rate"),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("month", sa.SmallInteger(), nullable=False, comment="1..12"),
        sa.Column("category", sa.Text(), nullable=False, comment="RateCategory name, e.g. VALET_DAILY"),
        sa.Column(
            "rate",
            sa.Numeric(precision=12, scale=4),
            nullable=True,
            comment="USD per unit; NULL: not entered",
        ),
        _synthetic(),
        sa.CheckConstraint("year BETWEEN 2000 AND 2099", name="ck_parking_rate_year_range"),
        sa.CheckConstraint("month BETWEEN 1 AND 12", name="ck_parking_rate_month_range"),
        sa.CheckConstraint(f"category IN ({_in(RATE_CATEGORIES)})", name="ck_parking_rate_category_known"),
        sa.CheckConstraint("rate >= 0", name="ck_parking_rate_rate_non_negative"),
        sa.PrimaryKeyConstraint("site_id", "year", "month", "category", name="pk_parking_rate"),
        comment="Parking rates per site, year, month and rate category (ParkingRateDetail), USD per unit",
    )
    op.create_table(
        "forecast_payroll_hours",
        *_site("forecast_payroll_hours"),
        *_period("forecast_payroll_hours"),
        sa.Column("job_code", sa.Text(), nullable=False, comment="job code, e.g. GSA"),
        sa.Column(
            "regular_hours",
            sa.Numeric(precision=12, scale=2),
            nullable=True,
            comment="hours; NULL: not entered (skipped)",
        ),
        _synthetic(),
        sa.CheckConstraint(
            "length(btrim(job_code)) > 0", name="ck_forecast_payroll_hours_job_code_not_blank"
        ),
        sa.CheckConstraint("regular_hours >= 0", name="ck_forecast_payroll_hours_hours_non_negative"),
        sa.PrimaryKeyConstraint("site_id", "period", "job_code", name="pk_forecast_payroll_hours"),
        comment="Forecast payroll regular hours per site, period and job code (bs_payrolldetail)",
    )
    op.create_table(
        "budget_value",
        *_site("budget_value"),
        *_period("budget_value"),
        sa.Column("budget_row", sa.Text(), nullable=False, comment="BudgetRow name, e.g. PTEB"),
        sa.Column("value", sa.Numeric(precision=14, scale=2), nullable=False, comment="USD, hours or rooms"),
        _synthetic(),
        sa.CheckConstraint(f"budget_row IN ({_in(BUDGET_ROWS)})", name="ck_budget_value_budget_row_known"),
        sa.CheckConstraint(
            "budget_row NOT IN ('PER_LABOR_HOUR', 'OCCUPIED_ROOMS') OR value >= 0",
            name="ck_budget_value_counts_non_negative",
        ),
        sa.PrimaryKeyConstraint("site_id", "period", "budget_row", name="pk_budget_value"),
        comment="Budget values per site, period and P&L budget row",
    )
    op.create_table(
        "billable_expense_budget",
        *_site("billable_expense_budget"),
        *_period("billable_expense_budget"),
        _money("payroll_expense_budget", "payroll base of PTEB and support services, USD"),
        _money("billable_expense_budget", "non-forecast billable expense accounts, USD"),
        _money("other_expense_budget", "fallback of the 12 forecastable accounts, USD"),
        _synthetic(),
        sa.PrimaryKeyConstraint("site_id", "period", name="pk_billable_expense_budget"),
        comment="Billable-expense budgets per site and period (bs_billableexpense), USD",
    )
    op.create_table(
        "other_expense_forecast",
        *_site("other_expense_forecast"),
        *_period("other_expense_forecast"),
        *(
            sa.Column(name, sa.Numeric(precision=14, scale=2), nullable=True, comment=f"{column}, USD")
            for name, column in ACCOUNTS
        ),
        _synthetic(),
        sa.PrimaryKeyConstraint("site_id", "period", name="pk_other_expense_forecast"),
        comment="Forecast of the 12 forecastable expense accounts per site and period, USD",
    )

    # row scopes exactly as the operating facts of migration 0008 (CONTRACT_SCOPED_BY_SITE)
    role = app_role()
    sees_contract = (
        f"(SELECT towne_has_role(VARIADIC {_array(('billingAdmin', 'billingManager', 'reportingReader'))}))"
    )
    scoped = "(SELECT towne_scoped_site_ids())"
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY read_scoped ON {table} FOR SELECT TO {role}"
            f" USING ({sees_contract} OR site_id IN {scoped})"
        )
    op.execute(f"GRANT SELECT ON {', '.join(TABLES)} TO {role}")


def downgrade() -> None:
    role = app_role()
    for table in reversed(TABLES):
        op.execute(f"REVOKE ALL ON {table} FROM {role}")
        op.execute(f"DROP POLICY IF EXISTS read_scoped ON {table}")
        op.drop_table(table)
