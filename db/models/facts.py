"""Operating facts: the inputs the legacy engine reads from its data warehouse (domain.md §1.7).

One table per warehouse view, keyed like the source so imports are idempotent. Money is `numeric` USD
(never float), minutes are integers, periods are `YYYYMM` text. `synthetic` marks generated rows
(`towne facts generate`): Towne Park's real operating facts are not public.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from billing.facts import MINUTE_CATEGORIES
from db.models.base import Base

_PERIOD = r"period ~ '^[0-9]{4}(0[1-9]|1[0-2])$'"


def _site() -> Mapped[uuid.UUID]:
    return mapped_column(Uuid, ForeignKey("customer_site.id", ondelete="CASCADE"), nullable=False)


def _synthetic() -> Mapped[bool]:
    return mapped_column(Boolean, nullable=False, server_default=false(), comment="generated, not real data")


def _money(comment: str) -> Mapped[Decimal]:
    return mapped_column(Numeric(14, 2), nullable=False, server_default=text("0"), comment=comment)


def _minutes(comment: str) -> Mapped[int]:
    return mapped_column(Integer, nullable=False, server_default=text("0"), comment=comment)


class RevenueDaily(Base):
    """`vwREVENUE_DAILY_DETAIL_INVOICE`: revenue per site, day, revenue code, category, collection type, flag."""

    __tablename__ = "revenue_daily"
    __table_args__ = (
        UniqueConstraint(
            "site_id",
            "date",
            "revenue_code",
            "category",
            "collection_type",
            "deposit_flag",
            name="uq_revenue_daily_source_key",
            postgresql_nulls_not_distinct=True,
        ),
        CheckConstraint("deposit_flag IN ('Y', 'N', 'V')", name="deposit_flag_known"),
        CheckConstraint("tax_rate >= 0 AND tax_rate < 1", name="tax_rate_fraction"),
        {"comment": "Daily revenue detail (EDW vwREVENUE_DAILY_DETAIL_INVOICE), USD"},
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    site_id: Mapped[uuid.UUID] = _site()
    date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    revenue_code: Mapped[str] = mapped_column(Text, nullable=False, comment="e.g. VD1, SM2, OR1, ADJ")
    category: Mapped[str] = mapped_column(
        Text, nullable=False, comment="REVENUE_CATEGORY, e.g. 'Other Revenue'"
    )
    collection_type: Mapped[str | None] = mapped_column(
        Text, comment="COLLECTION_TYPE, e.g. 'Bell Service Fee'"
    )
    deposit_flag: Mapped[str] = mapped_column(
        String(1),
        nullable=False,
        comment="Y deposited by Towne Park, N collected by the client, V validation",
    )
    external_revenue: Mapped[Decimal] = _money("EXTERNALREVENUE, USD")
    net_external_revenue: Mapped[Decimal] = _money("NETEXTERNALREVENUE, USD")
    billable_net_validation: Mapped[Decimal] = _money("BILLABLE_NET_VALIDATION, USD")
    tax_rate: Mapped[Decimal | None] = mapped_column(
        Numeric(7, 5), comment="TAXRATE as a fraction (0.10 = 10 %)"
    )
    synthetic: Mapped[bool] = _synthetic()


class OccupiedRoomsDaily(Base):
    """`REVENUE_DATAMART_DAILY_INVOICE` rows of category 'Occupied Rooms' (§2.3)."""

    __tablename__ = "occupied_rooms_daily"
    __table_args__ = (
        CheckConstraint("rooms >= 0", name="rooms_non_negative"),
        {"comment": "Occupied rooms per site and day (hotel statistics)"},
    )

    site_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("customer_site.id", ondelete="CASCADE"), primary_key=True
    )
    date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    rooms: Mapped[Decimal] = mapped_column(Numeric(10, 2), nullable=False, comment="occupied rooms")
    synthetic: Mapped[bool] = _synthetic()


class TimesheetMinutes(Base):
    """`TIMESHEET_ENTITY`: minutes worked per site, day and job code (`WORK_ROLE`), §2.2."""

    __tablename__ = "timesheet_minutes"
    __table_args__ = (
        UniqueConstraint("site_id", "date", "job_code", name="uq_timesheet_minutes_site_date_job"),
        CheckConstraint(f"LEAST({', '.join(MINUTE_CATEGORIES)}) >= 0", name="minutes_non_negative"),
        {"comment": "Timesheet minutes per site, day and job code; each category with its next-day twin"},
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    site_id: Mapped[uuid.UUID] = _site()
    date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    job_code: Mapped[str] = mapped_column(Text, nullable=False, comment="WORK_ROLE, e.g. GSA, BELL")
    # one typed column per `billing.facts.MINUTE_CATEGORIES`, in its order (tests/test_facts_minutes.py)
    regular: Mapped[int] = _minutes("REGULAR minutes")
    regular_next_day: Mapped[int] = _minutes("REGULAR_NEXT_DAY minutes")
    overtime: Mapped[int] = _minutes("OVERTIME minutes")
    overtime_next_day: Mapped[int] = _minutes("OVERTIME_NEXT_DAY minutes")
    holiday: Mapped[int] = _minutes("HOLIDAY minutes")
    holiday_next_day: Mapped[int] = _minutes("HOLIDAY_NEXT_DAY minutes")
    double_overtime: Mapped[int] = _minutes("DOUBLE_OVERTIME minutes")
    double_overtime_next_day: Mapped[int] = _minutes("DOUBLE_OVERTIME_NEXT_DAY minutes")
    holiday_overtime: Mapped[int] = _minutes("HOLIDAY_OVERTIME minutes")
    holiday_overtime_next_day: Mapped[int] = _minutes("HOLIDAY_OVERTIME_NEXT_DAY minutes")
    holiday_double_overtime: Mapped[int] = _minutes("HOLIDAY_DOUBLE_OVERTIME minutes")
    holiday_double_overtime_next_day: Mapped[int] = _minutes("HOLIDAY_DOUBLE_OVERTIME_NEXT_DAY minutes")
    synthetic: Mapped[bool] = _synthetic()


class LedgerBalance(Base):
    """`ACCOUNT_SUMMARY`: balance per period, cost centre (site), main account and entity (§1.7)."""

    __tablename__ = "ledger_balance"
    __table_args__ = (
        UniqueConstraint("site_id", "period", "main_account", "entity", name="uq_ledger_balance_key"),
        CheckConstraint(_PERIOD, name="period_format"),
        {"comment": "General-ledger balances (EDW ACCOUNT_SUMMARY); revenue accounts are credit-signed"},
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    site_id: Mapped[uuid.UUID] = _site()
    period: Mapped[str] = mapped_column(String(6), nullable=False, comment="YYYYMM")
    main_account: Mapped[str] = mapped_column(Text, nullable=False, comment="e.g. 6000, 7080, 4790")
    entity: Mapped[str] = mapped_column(Text, nullable=False, comment="GL entity, e.g. 02; 06 is excluded")
    balance: Mapped[Decimal] = _money("BALANCE, USD (credit negative)")
    synthetic: Mapped[bool] = _synthetic()


class ForecastInternalRevenue(Base):
    """Forecast internal revenue per site and period (`−Σ FD_BALANCE`, §3.6), positive USD."""

    __tablename__ = "forecast_internal_revenue"
    __table_args__ = (
        CheckConstraint(_PERIOD, name="period_format"),
        {"comment": "Forecast internal revenue per site and period (vwFORECAST_CONSOLIDATED), USD"},
    )

    site_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("customer_site.id", ondelete="CASCADE"), primary_key=True
    )
    period: Mapped[str] = mapped_column(String(6), primary_key=True, comment="YYYYMM")
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2), nullable=False, comment="USD")
    synthetic: Mapped[bool] = _synthetic()


class ReadyForInvoiceComment(Base):
    """Ready-for-invoice comment per site and period (`cr9e8_period`, §3.5): its presence means AR Review."""

    __tablename__ = "ready_for_invoice_comment"
    __table_args__ = (
        CheckConstraint(_PERIOD, name="period_format"),
        CheckConstraint("length(btrim(comment)) > 0", name="comment_not_blank"),
        {"comment": "Ready-for-invoice comments per site and period"},
    )

    site_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("customer_site.id", ondelete="CASCADE"), primary_key=True
    )
    period: Mapped[str] = mapped_column(String(6), primary_key=True, comment="YYYYMM")
    comment: Mapped[str] = mapped_column(Text, nullable=False)
    synthetic: Mapped[bool] = _synthetic()
