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
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    false,
    func,
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
    notes: Mapped[str | None] = mapped_column(Text)  # §1.3 free text (un-automated terms such as ECI clauses)
    accounts_payable: Mapped[str | None] = mapped_column(Text)
    # the term and lifecycle (issue 10 §4, migration 0011); imported contracts are active and evergreen
    status: Mapped[str] = mapped_column(Text, nullable=False, server_default="active")
    term_start: Mapped[dt.date | None] = mapped_column(Date)
    term_end: Mapped[dt.date | None] = mapped_column(Date)
    auto_renew_months: Mapped[int | None] = mapped_column(SmallInteger)
    notice_days: Mapped[int | None] = mapped_column(SmallInteger)
    terminated_on: Mapped[dt.date | None] = mapped_column(Date)
    term_synthetic: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    # approved amendments so far; an amendment remembers the edition it was proposed on
    edition: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    # first service period of the header values on this row (NULL: since always); older ones in history
    header_from_period: Mapped[dt.date | None] = mapped_column(Date)

    site: Mapped[CustomerSite] = relationship(back_populates="contract", lazy="raise")

    __table_args__ = (
        CheckConstraint("billing_type IN ('ARREARS', 'ADVANCED')", name="billing_type_known"),
        CheckConstraint(f"building_blocks <@ ARRAY[{_BLOCK_LIST}]::text[]", name="building_blocks_known"),
        CheckConstraint("increment_month BETWEEN 1 AND 12", name="increment_month_range"),
        CheckConstraint("increment_percentage >= 0", name="increment_non_negative"),
        CheckConstraint(
            "configuration_source IN ('export', 'snapshot', 'api')", name="configuration_source_known"
        ),
        CheckConstraint(
            "status IN ('draft', 'active', 'expired', 'terminated', 'archived')", name="status_known"
        ),
        CheckConstraint("term_end >= term_start", name="term_ordered"),
        CheckConstraint("auto_renew_months BETWEEN 1 AND 120", name="auto_renew_positive"),
        CheckConstraint("notice_days BETWEEN 0 AND 3650", name="notice_days_range"),
        CheckConstraint(
            "status NOT IN ('terminated') OR terminated_on IS NOT NULL", name="terminated_has_date"
        ),
        CheckConstraint("extract(day FROM header_from_period) = 1", name="header_from_first_day"),
    )


class Edition:
    """The service periods of the configuration edition a row belongs to (migration 0011, issue 10 §3).

    `from_period` / `to_period` are first days of months, both inclusive, NULL unbounded: the row is part of
    the configuration of every service period in between. `amendment_id` names the approved amendment that
    wrote it (NULL: imported). The dated bounds of a row (start/end dates, valid_from/valid_to) are a second,
    independent dimension: the legacy rate-selection rule inside an edition (§2.15).
    """

    from_period: Mapped[dt.date | None] = mapped_column(Date)
    to_period: Mapped[dt.date | None] = mapped_column(Date)
    amendment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("contract_amendment.id"))


EDITION_CHECKS = (
    "to_period >= from_period",
    "extract(day FROM from_period) = 1 AND extract(day FROM to_period) = 1",
)


def _edition_checks() -> tuple[CheckConstraint, CheckConstraint]:
    return (
        CheckConstraint(EDITION_CHECKS[0], name="periods_ordered"),
        CheckConstraint(EDITION_CHECKS[1], name="periods_first_day"),
    )


class ContractAmendment(Base):
    """A proposed change of a contract and its decision (issue 10 §3; domain.md §3.9).

    `changes` is the canonical JSON of what changes (database column names, decimals as strings); `kind` says
    which part; `first_service_period` (1st of a month) is the first statement it applies to. Approved only
    by someone other than the proposer (a CHECK), except amendments written by jobs (`source = 'job'`).
    """

    __tablename__ = "contract_amendment"

    id: Mapped[uuid.UUID] = mapped_column(
        Uuid, primary_key=True, default=uuid.uuid4, server_default=text("gen_random_uuid()")
    )
    contract_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contract.id", ondelete="CASCADE"), nullable=False, index=True
    )
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    first_service_period: Mapped[dt.date | None] = mapped_column(Date)
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    summary: Mapped[str] = mapped_column(Text, nullable=False)
    reason: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, nullable=False, server_default="proposed")
    source: Mapped[str] = mapped_column(Text, nullable=False, server_default="api")
    base_edition: Mapped[int] = mapped_column(Integer, nullable=False)
    # the contract's edition this approval made (conflict checks of later approvals read it)
    approved_edition: Mapped[int | None] = mapped_column(Integer)
    proposed_by: Mapped[str] = mapped_column(Text, nullable=False)
    proposed_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    decided_by: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    decision_note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("contract_id", "number"),
        Index("ix_contract_amendment_proposed", "proposed_at", postgresql_where=text("status = 'proposed'")),
        CheckConstraint(
            "kind IN ('header', 'configuration', 'term', 'activate', 'terminate', 'archive', 'expire', "
            "'escalation')",
            name="kind_known",
        ),
        CheckConstraint("status IN ('proposed', 'approved', 'rejected', 'withdrawn')", name="status_known"),
        CheckConstraint("source IN ('api', 'job')", name="source_known"),
        CheckConstraint("jsonb_typeof(changes) = 'object'", name="changes_object"),
        CheckConstraint("extract(day FROM first_service_period) = 1", name="period_first_day"),
        CheckConstraint(
            "kind NOT IN ('header', 'configuration') OR first_service_period IS NOT NULL", name="period_named"
        ),
        CheckConstraint(
            "(status = 'proposed') = (decided_by IS NULL AND decided_at IS NULL)", name="decided"
        ),
        CheckConstraint(
            "status <> 'approved' OR source = 'job' OR decided_by <> proposed_by", name="four_eyes"
        ),
        CheckConstraint("(status = 'approved') = (approved_edition IS NOT NULL)", name="approved_edition"),
        CheckConstraint("status <> 'withdrawn' OR decided_by = proposed_by", name="withdrawn_by_proposer"),
    )


class ContractHeaderHistory(Base):
    """A closed edition of a contract's header (§1.3 fields as JSON, the `contract` row's column names)."""

    __tablename__ = "contract_header_history"

    id: Mapped[uuid.UUID] = mapped_column(
        Uuid, primary_key=True, default=uuid.uuid4, server_default=text("gen_random_uuid()")
    )
    contract_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contract.id", ondelete="CASCADE"), nullable=False, index=True
    )
    from_period: Mapped[dt.date | None] = mapped_column(Date)
    to_period: Mapped[dt.date] = mapped_column(Date, nullable=False)
    header: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    amendment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("contract_amendment.id"))

    __table_args__ = (
        CheckConstraint("to_period >= from_period", name="periods_ordered"),
        CheckConstraint("jsonb_typeof(header) = 'object'", name="header_object"),
        ExcludeConstraint(
            ("contract_id", "="),
            (text("daterange(from_period, to_period, '[]')"), "&&"),
            name="no_overlapping_header_editions",
            using="gist",
        ),
    )


class InvoiceGroup(Edition, Base):
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
        CheckConstraint("group_number BETWEEN 1 AND 99", name="group_number_range"),
        *_edition_checks(),
        ExcludeConstraint(
            ("contract_id", "="),
            ("group_number", "="),
            (text("daterange(from_period, to_period, '[]')"), "&&"),
            name="no_overlapping_invoice_groups",
            using="gist",
        ),
    )


class FixedFeeService(Edition, Base):
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

    __table_args__ = (CheckConstraint("end_date >= start_date", name="dates_ordered"), *_edition_checks())


class LaborHourJob(Edition, Base):
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

    __table_args__ = (CheckConstraint("end_date >= start_date", name="dates_ordered"), *_edition_checks())


class RevenueShareThreshold(Edition, Base):
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
        ExcludeConstraint(
            ("contract_id", "="),
            ("position", "="),
            (text("daterange(from_period, to_period, '[]')"), "&&"),
            name="no_overlapping_threshold_positions",
            using="gist",
        ),
        *_edition_checks(),
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


class ContractComponent(Edition, Base):
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
            (text("daterange(from_period, to_period, '[]')"), "&&"),
            name="no_overlapping_component_versions",
            using="gist",
        ),
        *_edition_checks(),
    )
