"""Forecast facts: what the P&L forecast reads besides the contract (domain.md §1.7, §2.12, §2.13).

One table per legacy entity, in the shapes `billing.forecast.inputs` reads: daily site statistics by type
(`SiteStatisticDetail`), parking rates per year, month and category (`ParkingRateDetail`), forecast payroll
regular hours per period and job code (`bs_payrolldetail`, summed per job code as the calculator does), budget
values per P&L row (`PnlResponseDto.BudgetRows`), billable-expense budgets (`bs_billableexpense`) and the 12
forecastable other-expense accounts (`bs_otherexpensedetail`). Money is `numeric(14,2)` USD, counts and hours
`numeric(12,2)`, rates `numeric(12,4)` USD per unit, periods `YYYYMM` text like the operating facts;
`synthetic` marks generated rows (`towne demo-forecast`, `importer.forecast_inputs`): Towne Park's budgets and
forecasts are not public. Scoped like the operating facts (migration 0016): who may see the site's contract.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Numeric,
    SmallInteger,
    String,
    Text,
    Uuid,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from billing.forecast.inputs import FORECASTABLE_ACCOUNTS, BudgetRow, RateCategory, StatisticType
from db.models.base import Base

_PERIOD = r"period ~ '^[0-9]{4}(0[1-9]|1[0-2])$'"

STATISTIC_TYPES = tuple(t.name for t in StatisticType)
RATE_CATEGORIES = tuple(c.name for c in RateCategory)
BUDGET_ROWS = tuple(r.name for r in BudgetRow)
# the count columns of a statistic day, `SiteStatisticDetail` field names
STATISTIC_COUNTS = ("occupied_rooms", *(c.name.lower() for c in RateCategory))
OTHER_EXPENSE_ACCOUNTS = tuple(name for name, _ in FORECASTABLE_ACCOUNTS)


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def _site_key() -> Mapped[uuid.UUID]:
    return mapped_column(Uuid, ForeignKey("customer_site.id", ondelete="CASCADE"), primary_key=True)


def _period_key() -> Mapped[str]:
    return mapped_column(String(6), primary_key=True, comment="YYYYMM")


def _synthetic() -> Mapped[bool]:
    return mapped_column(Boolean, nullable=False, server_default=false(), comment="generated, not real data")


def _count(comment: str) -> Mapped[Decimal | None]:
    return mapped_column(Numeric(12, 2), comment=comment)


def _money(comment: str) -> Mapped[Decimal]:
    return mapped_column(Numeric(14, 2), nullable=False, server_default=text("0"), comment=comment)


def _account(comment: str) -> Mapped[Decimal | None]:
    return mapped_column(Numeric(14, 2), comment=comment)


class SiteStatisticDay(Base):
    """`SiteStatisticDetail`: one day of a site's statistics of one type (§1.7; §7 #12 reads Forecast rows,
    else Actual). NULL counts were not entered (count 0 in sums)."""

    __tablename__ = "site_statistic_day"
    __table_args__ = (
        CheckConstraint(f"statistic_type IN ({_in(STATISTIC_TYPES)})", name="statistic_type_known"),
        CheckConstraint(f"LEAST({', '.join(STATISTIC_COUNTS)}) >= 0", name="counts_non_negative"),
        {"comment": "Site statistics per day and type (SiteStatisticDetail): occupied rooms, vehicle counts"},
    )

    site_id: Mapped[uuid.UUID] = _site_key()
    date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    statistic_type: Mapped[str] = mapped_column(Text, primary_key=True, comment="BUDGET, FORECAST or ACTUAL")
    occupied_rooms: Mapped[Decimal | None] = _count("occupied rooms")
    valet_overnight: Mapped[Decimal | None] = _count("valet overnight vehicles")
    self_overnight: Mapped[Decimal | None] = _count("self-park overnight vehicles")
    valet_daily: Mapped[Decimal | None] = _count("valet daily vehicles")
    self_daily: Mapped[Decimal | None] = _count("self-park daily vehicles")
    valet_monthly: Mapped[Decimal | None] = _count("valet monthly passes")
    self_monthly: Mapped[Decimal | None] = _count("self-park monthly passes")
    valet_aggregator: Mapped[Decimal | None] = _count("valet aggregator vehicles")
    self_aggregator: Mapped[Decimal | None] = _count("self-park aggregator vehicles")
    synthetic: Mapped[bool] = _synthetic()


class ParkingRate(Base):
    """`ParkingRate` (site, year) → `ParkingRateDetail` (month, category, rate), flattened (§1.7, §2.12)."""

    __tablename__ = "parking_rate"
    __table_args__ = (
        CheckConstraint("year BETWEEN 2000 AND 2099", name="year_range"),
        CheckConstraint("month BETWEEN 1 AND 12", name="month_range"),
        CheckConstraint(f"category IN ({_in(RATE_CATEGORIES)})", name="category_known"),
        CheckConstraint("rate >= 0", name="rate_non_negative"),
        {
            "comment": "Parking rates per site, year, month and rate category (ParkingRateDetail), USD per unit"
        },
    )

    site_id: Mapped[uuid.UUID] = _site_key()
    year: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    month: Mapped[int] = mapped_column(SmallInteger, primary_key=True, comment="1..12")
    category: Mapped[str] = mapped_column(
        Text, primary_key=True, comment="RateCategory name, e.g. VALET_DAILY"
    )
    rate: Mapped[Decimal | None] = mapped_column(Numeric(12, 4), comment="USD per unit; NULL: not entered")
    synthetic: Mapped[bool] = _synthetic()


class ForecastPayrollHours(Base):
    """`bs_payroll` → `bs_payrolldetail` regular hours per period and job code (§1.7, §2.2 "Forecast";
    only regular hours, §7 #24)."""

    __tablename__ = "forecast_payroll_hours"
    __table_args__ = (
        CheckConstraint(_PERIOD, name="period_format"),
        CheckConstraint("length(btrim(job_code)) > 0", name="job_code_not_blank"),
        CheckConstraint("regular_hours >= 0", name="hours_non_negative"),
        {"comment": "Forecast payroll regular hours per site, period and job code (bs_payrolldetail)"},
    )

    site_id: Mapped[uuid.UUID] = _site_key()
    period: Mapped[str] = _period_key()
    job_code: Mapped[str] = mapped_column(Text, primary_key=True, comment="job code, e.g. GSA")
    regular_hours: Mapped[Decimal | None] = mapped_column(
        Numeric(12, 2), comment="hours; NULL: not entered (skipped)"
    )
    synthetic: Mapped[bool] = _synthetic()


class BudgetValue(Base):
    """A site's budget value of one P&L budget row for a period (`PnlResponseDto.BudgetRows` site detail,
    §2.2, §2.3, §2.9, §2.13): USD for the revenue rows and PTEB, hours for PER_LABOR_HOUR, rooms for
    OCCUPIED_ROOMS."""

    __tablename__ = "budget_value"
    __table_args__ = (
        CheckConstraint(_PERIOD, name="period_format"),
        CheckConstraint(f"budget_row IN ({_in(BUDGET_ROWS)})", name="budget_row_known"),
        CheckConstraint(
            "budget_row NOT IN ('PER_LABOR_HOUR', 'OCCUPIED_ROOMS') OR value >= 0", name="counts_non_negative"
        ),
        {"comment": "Budget values per site, period and P&L budget row"},
    )

    site_id: Mapped[uuid.UUID] = _site_key()
    period: Mapped[str] = _period_key()
    budget_row: Mapped[str] = mapped_column(Text, primary_key=True, comment="BudgetRow name, e.g. PTEB")
    value: Mapped[Decimal] = mapped_column(Numeric(14, 2), nullable=False, comment="USD, hours or rooms")
    synthetic: Mapped[bool] = _synthetic()


class BillableExpenseBudget(Base):
    """`bs_billableexpense` (site, period): the budgets the billable-account forecasts read (§1.7, §2.9)."""

    __tablename__ = "billable_expense_budget"
    __table_args__ = (
        CheckConstraint(_PERIOD, name="period_format"),
        {"comment": "Billable-expense budgets per site and period (bs_billableexpense), USD"},
    )

    site_id: Mapped[uuid.UUID] = _site_key()
    period: Mapped[str] = _period_key()
    payroll_expense_budget: Mapped[Decimal] = _money("payroll base of PTEB and support services, USD")
    billable_expense_budget: Mapped[Decimal] = _money("non-forecast billable expense accounts, USD")
    other_expense_budget: Mapped[Decimal] = _money("fallback of the 12 forecastable accounts, USD")
    synthetic: Mapped[bool] = _synthetic()


class OtherExpenseForecast(Base):
    """`bs_otherexpensedetail` (site, period): the 12 forecastable expense accounts (§1.7, §2.9); NULL: not
    entered (counts 0)."""

    __tablename__ = "other_expense_forecast"
    __table_args__ = (
        CheckConstraint(_PERIOD, name="period_format"),
        {"comment": "Forecast of the 12 forecastable expense accounts per site and period, USD"},
    )

    site_id: Mapped[uuid.UUID] = _site_key()
    period: Mapped[str] = _period_key()
    employee_relations: Mapped[Decimal | None] = _account("bs_EmployeeRelations, USD")
    fuel_vehicles: Mapped[Decimal | None] = _account("bs_FuelVehicles, USD")
    loss_and_damage_claims: Mapped[Decimal | None] = _account("bs_LossAndDamageClaims, USD")
    office_supplies: Mapped[Decimal | None] = _account("bs_OfficeSupplies, USD")
    outside_services: Mapped[Decimal | None] = _account("bs_OutsideServices, USD")
    rents_parking: Mapped[Decimal | None] = _account("bs_RentsParking, USD")
    repairs_and_maintenance: Mapped[Decimal | None] = _account("bs_RepairsAndMaintenance, USD")
    repairs_and_maintenance_vehicle: Mapped[Decimal | None] = _account("bs_RepairsAndMaintenanceVehicle, USD")
    signage: Mapped[Decimal | None] = _account("bs_Signage, USD")
    supplies_and_equipment: Mapped[Decimal | None] = _account("bs_SuppliesAndEquipment, USD")
    tickets_and_printed_material: Mapped[Decimal | None] = _account("bs_TicketsAndPrintedMaterial, USD")
    uniforms: Mapped[Decimal | None] = _account("bs_Uniforms, USD")
    synthetic: Mapped[bool] = _synthetic()


FORECAST_FACT_TABLES = (
    "site_statistic_day",
    "parking_rate",
    "forecast_payroll_hours",
    "budget_value",
    "billable_expense_budget",
    "other_expense_forecast",
)
"""The forecast fact tables (migration 0016), each keyed by `site_id`."""
