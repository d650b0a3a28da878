"""Contracts and their building-block configuration (domain.md §1.3–§1.5).

Dated, multi-row blocks (fixed-fee services, labor-hour jobs, revenue-share threshold structures, invoice
groups) have tables of their own; the blocks the legacy flows read only one row of (bell service, mid-month
advance, deposited revenue, billable accounts, management agreement: §7 #21) are one `contract_component`
row each, unique per (contract, building block), with typed settings validated on write
(`importer.contract_config`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    false,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from billing.codes import BuildingBlock
from db.models.base import Base, Timestamped

if TYPE_CHECKING:
    from db.models.site import CustomerSite

# The engine's vocabulary is the source; the migrations spell the same list in their CHECKs
# (tests/test_errors.py compares the database's constraint with it).
BUILDING_BLOCKS = tuple(block.name for block in BuildingBlock)
SINGLE_ROW_BLOCKS = (
    "BELL_SERVICE",
    "MID_MONTH_ADVANCE",
    "DEPOSITED_REVENUE",
    "BILLABLE_ACCOUNTS",
    "MANAGEMENT_AGREEMENT",
)
_BLOCK_LIST = ", ".join(f"'{b}'" for b in BUILDING_BLOCKS)
_SINGLE_LIST = ", ".join(f"'{b}'" for b in SINGLE_ROW_BLOCKS)


class Contract(Timestamped, Base):
    __tablename__ = "contract"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    site_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customer_site.id", ondelete="CASCADE"), unique=True, nullable=False
    )
    contract_type: Mapped[str | None] = mapped_column(Text)  # EDW label, informational (§1.3)
    billing_type: Mapped[str] = mapped_column(String(8), nullable=False)
    building_blocks: Mapped[list[str]] = mapped_column(
        ARRAY(Text), nullable=False, server_default=text("'{}'::text[]")
    )
    increment_percentage: Mapped[Decimal] = mapped_column(
        Numeric(9, 4), nullable=False, server_default=text("0")
    )
    increment_month: Mapped[int | None] = mapped_column(SmallInteger)
    consumer_price_index: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    deviation_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    deviation_percentage: Mapped[Decimal | None] = mapped_column(Numeric(9, 4))
    payment_terms: Mapped[str | None] = mapped_column(Text)
    purchase_order: Mapped[str | None] = mapped_column(Text)
    deposits: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    hours_backup_report: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    supporting_reports: Mapped[list[str]] = mapped_column(
        ARRAY(Text), nullable=False, server_default=text("'{}'::text[]")
    )
    occupied_room_rate: Mapped[Decimal | None] = mapped_column(Numeric(12, 4))
    occupied_room_code: Mapped[str | None] = mapped_column(Text)
    occupied_room_invoice_group: Mapped[int | None] = mapped_column(Integer)
    # 'export' = contracts.csv only; 'snapshot' = full configuration from contracts/NNNN.json;
    # 'api' = created with its site by `addCustomerSite` (migration 0012)
    configuration_source: Mapped[str] = mapped_column(Text, nullable=False, server_default="export")

    site: Mapped[CustomerSite] = relationship(back_populates="contract", lazy="raise")

    __table_args__ = (
        CheckConstraint("billing_type IN ('ARREARS', 'ADVANCED')", name="billing_type_known"),
        CheckConstraint(f"building_blocks <@ ARRAY[{_BLOCK_LIST}]::text[]", name="building_blocks_known"),
        CheckConstraint("increment_month BETWEEN 1 AND 12", name="increment_month_range"),
        CheckConstraint("increment_percentage >= 0", name="increment_non_negative"),
        CheckConstraint(
            "configuration_source IN ('export', 'snapshot', 'api')", name="configuration_source_known"
        ),
    )


class InvoiceGroup(Base):
    """§1.5 `bs_invoicegroup`; absent rows mean the implicit group 1."""

    __tablename__ = "invoice_group"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    contract_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contract.id", ondelete="CASCADE"), nullable=False, index=True
    )
    group_number: Mapped[int] = mapped_column(Integer, nullable=False)
    title: Mapped[str] = mapped_column(Text, nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    site_number_override: Mapped[str | None] = mapped_column(String(4))
    customer_name: Mapped[str | None] = mapped_column(Text)
    vendor_id: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("contract_id", "group_number", name="uq_invoice_group_contract_number"),
        CheckConstraint("group_number BETWEEN 1 AND 99", name="group_number_range"),
    )


class FixedFeeService(Base):
    """§1.5 `bs_fixedfeeservice`: dated fee rows; escalation closes a row and opens a new one (§2.14)."""

    __tablename__ = "fixed_fee_service"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    contract_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contract.id", ondelete="CASCADE"), nullable=False, index=True
    )
    name: Mapped[str | None] = mapped_column(Text)
    display_name: Mapped[str] = mapped_column(Text, nullable=False)
    code: Mapped[str] = mapped_column(Text, nullable=False)
    fee: Mapped[Decimal] = mapped_column(Numeric(14, 4), nullable=False)
    start_date: Mapped[dt.date | None] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    invoice_group: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (CheckConstraint("end_date >= start_date", name="dates_ordered"),)


class LaborHourJob(Base):
    """§1.5 `bs_laborhourjob`: dated per-labor-hour rates by timesheet job code."""

    __tablename__ = "labor_hour_job"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    contract_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contract.id", ondelete="CASCADE"), nullable=False, index=True
    )
    name: Mapped[str | None] = mapped_column(Text)
    display_name: Mapped[str] = mapped_column(Text, nullable=False)
    job_code: Mapped[str] = mapped_column(Text, nullable=False)
    code: Mapped[str | None] = mapped_column(Text)
    rate: Mapped[Decimal] = mapped_column(Numeric(12, 4), nullable=False)
    overtime_rate: Mapped[Decimal | None] = mapped_column(Numeric(12, 4))
    is_salaried: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    start_date: Mapped[dt.date | None] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    invoice_group: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (CheckConstraint("end_date >= start_date", name="dates_ordered"),)


class RevenueShareThreshold(Base):
    """§1.5 `bs_revenuesharethreshold` ("threshold structure"), in stored order (`position`).

    `tiers` is `[{"share_percentage": "24.0", "amount": "0"}]` with decimal strings; `amount` is the tier's
    cumulative cap, 0 = unlimited (§2.4 invoice semantics).
    """

    __tablename__ = "revenue_share_threshold"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    contract_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contract.id", ondelete="CASCADE"), nullable=False, index=True
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    revenue_codes: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    accumulation_type: Mapped[str] = mapped_column(Text, nullable=False)
    tiers: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    validation_threshold_type: Mapped[str | None] = mapped_column(Text)
    validation_threshold_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 4))
    invoice_group: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        UniqueConstraint("contract_id", "position", name="uq_revenue_share_threshold_position"),
        CheckConstraint(
            "accumulation_type IN ('MONTHLY', 'ANNUAL_CALENDAR', 'ANNUAL_ANNIVERSARY')",
            name="accumulation_type_known",
        ),
        CheckConstraint(
            "validation_threshold_type IN ('VEHICLE_COUNT', 'REVENUE_PERCENTAGE', 'VALIDATION_AMOUNT')",
            name="validation_threshold_type_known",
        ),
        CheckConstraint("jsonb_typeof(tiers) = 'array'", name="tiers_is_array"),
    )


class ContractComponent(Base):
    """One single-row building block of a contract with its validated settings (snake_case JSON).

    Dated: an escalator (§2.14) closes the current version and opens a new one from its fire date, so the
    version in force on a statement's rate-selection date (§2.15) is billed. NULL bounds are open; versions of
    one (contract, block) never overlap.
    """

    __tablename__ = "contract_component"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    contract_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contract.id", ondelete="CASCADE"), nullable=False
    )
    building_block: Mapped[str] = mapped_column(Text, nullable=False)
    invoice_group: Mapped[int | None] = mapped_column(Integer)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)

    __table_args__ = (
        CheckConstraint(f"building_block IN ({_SINGLE_LIST})", name="single_row_block"),
        CheckConstraint("jsonb_typeof(settings) = 'object'", name="settings_is_object"),
        CheckConstraint("valid_to >= valid_from", name="dates_ordered"),
        ExcludeConstraint(
            ("contract_id", "="),
            ("building_block", "="),
            (text("daterange(valid_from, valid_to, '[]')"), "&&"),
            name="no_overlapping_component_versions",
            using="gist",
        ),
    )
