"""Typed input for a contract's header and building-block configuration (issue 10 §2; domain.md §1.3, §1.5).

One input per building block; `resolvers.contract_changes` validates them with field paths and turns them into
an amendment's canonical changes. Amounts in USD are `Money`, rates (USD per hour or room) and percentages
(30 = 30 %, §0.1) are `Rate`.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

import strawberry

from billing.codes import (
    AccumulationType,
    ClaimsType,
    InsuranceType,
    ManagementAgreementType,
    MidMonthLineTitle,
    NonGlExpenseType,
    PayrollType,
    PtebBillingType,
    SupportServicesBillingType,
    ValidationThresholdType,
)
from billing.escalation import EscalationKind
from schema.common import register_enum
from schema.contracts import BillingType, BuildingBlock
from schema.scalars import Rate

register_enum(
    AccumulationType,
    name="AccumulationType",
    description="What revenue tiers apply to (§2.4, §2.10e).",
    values={
        "MONTHLY": "The service month's revenue.",
        "ANNUAL_CALENDAR": "Revenue since 1 January of the service year.",
        "ANNUAL_ANNIVERSARY": "Revenue since the last anniversary of the site's start date.",
    },
)
register_enum(
    ValidationThresholdType,
    name="ValidationThresholdType",
    description="How validated parking is charged (§2.5, §2.10d).",
    values={
        "VEHICLE_COUNT": "Every validation charged (the threshold is not read, §7 #19).",
        "REVENUE_PERCENTAGE": "Validations above a percentage of revenue.",
        "VALIDATION_AMOUNT": "Validations above an amount in USD.",
    },
)
register_enum(
    MidMonthLineTitle,
    name="MidMonthLineTitle",
    description="Title of the mid-month advance credit line (§2.7).",
    values={"MID_MONTH_BILLING": "“Mid-Month Billing”.", "PRE_BILL": "“Pre-Bill”."},
)
register_enum(
    PtebBillingType,
    name="PtebBillingType",
    description="How payroll taxes and employee benefits are billed (§2.9).",
    values={"ACTUAL": "Accounts 6200/6399/6500 as posted.", "PERCENTAGE": "A percentage of payroll."},
)
register_enum(
    SupportServicesBillingType,
    name="SupportServicesBillingType",
    description="How support services are billed (§2.9).",
    values={"FIXED": "A fixed amount in USD.", "PERCENTAGE": "A percentage of payroll."},
)
register_enum(
    PayrollType,
    name="PayrollType",
    description="Which payroll a percentage is of (§2.9, §2.10c).",
    values={"BILLABLE": "Billable payroll.", "TOTAL": "Payroll plus PTEB."},
)
register_enum(
    ManagementAgreementType,
    name="ManagementFeeType",
    description="How the management fee is computed (§2.10a).",
    values={
        "FIXED_FEE": "A fixed monthly amount.",
        "PER_LABOR_HOUR": "Hours × per-job rates.",
        "REVENUE_PERCENTAGE": "A percentage of revenue.",
    },
)
register_enum(
    InsuranceType,
    name="InsuranceType",
    description="How insurance is billed (§2.10b).",
    values={
        "BASED_ON_BILLABLE_ACCOUNTS": "Accounts 7080/7082/7085 marked up by a percentage.",
        "FIXED_FEE": "A fixed amount.",
    },
)
register_enum(
    ClaimsType,
    name="ClaimsType",
    description="How claims are billed (§2.10b).",
    values={
        "PER_CLAIM": "Each claim.",
        "ANNUAL_CALENDAR": "Up to a cap per calendar year.",
        "ANNUAL_ANNIVERSARY": "Up to a cap per contract year.",
    },
)
register_enum(
    NonGlExpenseType,
    name="NonGlExpenseType",
    description="What a non-GL billable expense amount means (§2.10c).",
    values={
        "FIXED_AMOUNT": "USD per month.",
        "PAYROLL": "A percentage of payroll.",
        "REVENUE": "A percentage of revenue.",
    },
)
register_enum(
    EscalationKind,
    name="EscalatorType",
    description="How an escalator raises a value each year (§2.14).",
    values={"PERCENTAGE": "By a percentage of it.", "FIXED_AMOUNT": "By an amount in its own unit."},
)


@strawberry.enum(description="A supporting report sent with the invoices (§1.3, §3.7).")
class SupportingReport(enum.Enum):
    MIX_OF_SALES = strawberry.enum_value("MIX_OF_SALES", description="Mix of sales.")
    HOURS_BACKUP_REPORT = strawberry.enum_value("HOURS_BACKUP_REPORT", description="Hours backup.")
    TAX_REPORT = strawberry.enum_value("TAX_REPORT", description="Tax report.")
    LABOR_DISTRIBUTION_REPORT = strawberry.enum_value(
        "LABOR_DISTRIBUTION_REPORT", description="Labor distribution."
    )
    OTHER_EXPENSES_REPORT = strawberry.enum_value("OTHER_EXPENSES_REPORT", description="Other expenses.")
    PARKING_DEPARTMENT_REPORT = strawberry.enum_value(
        "PARKING_DEPARTMENT_REPORT", description="Parking department."
    )
    VALIDATION_REPORT = strawberry.enum_value("VALIDATION_REPORT", description="Validations.")


_UNCHANGED = "Left out: unchanged."


@strawberry.input(
    description="Fields of the contract header to change (§1.3); a field left out is unchanged, null clears it."
)
class ContractHeaderInput:
    billing_type: BillingType | None = strawberry.field(
        default=strawberry.UNSET, description=f"Arrears or Advanced (§3.2). {_UNCHANGED}"
    )
    increment_percentage: Rate | None = strawberry.field(
        default=strawberry.UNSET,
        description=f"Yearly increment of fees and rates, percent 0–100 (§2.14). {_UNCHANGED}",
    )
    increment_month: int | None = strawberry.field(
        default=strawberry.UNSET, description=f"Month 1–12 of the increment. {_UNCHANGED}"
    )
    consumer_price_index: bool | None = strawberry.field(
        default=strawberry.UNSET, description=f"The CPI flag (stored, not computed, §2.14). {_UNCHANGED}"
    )
    deviation_amount: Decimal | None = strawberry.field(
        default=strawberry.UNSET, description=f"Forecast deviation threshold, USD (§3.6). {_UNCHANGED}"
    )
    deviation_percentage: Rate | None = strawberry.field(
        default=strawberry.UNSET, description=f"Forecast deviation threshold, percent (§3.6). {_UNCHANGED}"
    )
    payment_terms: str | None = strawberry.field(
        default=strawberry.UNSET, description=f"Printed on invoices. {_UNCHANGED}"
    )
    purchase_order: str | None = strawberry.field(
        default=strawberry.UNSET, description=f"Printed on invoices. {_UNCHANGED}"
    )
    notes: str | None = strawberry.field(
        default=strawberry.UNSET, description=f"Free text, at most 4000 characters. {_UNCHANGED}"
    )
    accounts_payable: str | None = strawberry.field(
        default=strawberry.UNSET, description=f"Free text. {_UNCHANGED}"
    )
    deposits: bool | None = strawberry.field(
        default=strawberry.UNSET, description=f"Towne Park deposits the revenue. {_UNCHANGED}"
    )
    hours_backup_report: bool | None = strawberry.field(
        default=strawberry.UNSET, description=f"Hours backup report. {_UNCHANGED}"
    )
    supporting_reports: list[SupportingReport] | None = strawberry.field(
        default=strawberry.UNSET, description=f"The supporting reports, the whole set (§3.7). {_UNCHANGED}"
    )


@strawberry.input(description="An invoice group (§1.5): one invoice per group and statement.")
class InvoiceGroupInput:
    group_number: int = strawberry.field(description="1–99: GG of the invoice number (§3.4).")
    title: str = strawberry.field(description="Invoice title (required, §1.5).")
    description: str | None = strawberry.field(default=None, description="Invoice description.")
    site_number_override: str | None = strawberry.field(
        default=None, description="Site number printed instead."
    )
    customer_name: str | None = strawberry.field(default=None, description="Addressee instead of the site's.")
    vendor_id: str | None = strawberry.field(default=None, description="Great Plains vendor id (§3.8).")


@strawberry.input(description="Invoice grouping: the contract's invoice groups.")
class InvoiceGroupingInput:
    groups: list[InvoiceGroupInput] = strawberry.field(description="Every group, replacing the current ones.")


@strawberry.input(description="A fixed-fee service row (§1.5, §2.1).")
class FixedFeeServiceInput:
    display_name: str = strawberry.field(description="Line title.")
    code: str = strawberry.field(description="GL revenue account, 4 digits (e.g. 4700).")
    fee: Decimal = strawberry.field(description="Monthly fee, USD (cents).")
    name: str | None = strawberry.field(default=None, description="Service type.")
    start_date: dt.date | None = strawberry.field(
        default=None, description="First day in force; null: always."
    )
    end_date: dt.date | None = strawberry.field(
        default=None, description="Last day in force; null: open-ended."
    )
    invoice_group: int | None = strawberry.field(default=None, description="Invoice group; null: group 1.")


@strawberry.input(description="Fixed fee: the service rows.")
class FixedFeeInput:
    services: list[FixedFeeServiceInput] = strawberry.field(
        description="Every row, replacing the current ones."
    )


@strawberry.input(description="A per-labor-hour job rate (§1.5, §2.2).")
class LaborHourJobInput:
    display_name: str = strawberry.field(description="Line title.")
    job_code: str = strawberry.field(description="Timesheet job code (WORK_ROLE), e.g. GSA.")
    rate: Rate = strawberry.field(description="USD per regular hour.")
    overtime_rate: Rate | None = strawberry.field(
        default=None, description="USD per overtime hour; null bills 0."
    )
    code: str | None = strawberry.field(default=None, description="GL account of the line, 4 digits.")
    name: str | None = strawberry.field(default=None, description="Job family.")
    is_salaried: bool = strawberry.field(
        default=False, description="Salaried job (not used in billing, §2.2)."
    )
    start_date: dt.date | None = strawberry.field(
        default=None, description="First day in force; null: always."
    )
    end_date: dt.date | None = strawberry.field(
        default=None, description="Last day in force; null: open-ended."
    )
    invoice_group: int | None = strawberry.field(default=None, description="Invoice group; null: group 1.")


@strawberry.input(description="Per labor hour: the job rates (at least one non-salaried, §1.5).")
class PerLaborHourInput:
    jobs: list[LaborHourJobInput] = strawberry.field(description="Every job, replacing the current ones.")
    hours_backup_report: bool | None = strawberry.field(
        default=None, description="Hours backup report; null: unchanged."
    )


@strawberry.input(description="Per occupied room (§2.3).")
class PerOccupiedRoomInput:
    room_rate: Rate = strawberry.field(description="USD per occupied room.")
    code: str | None = strawberry.field(default=None, description="GL account of the line (usually 4791).")
    invoice_group: int | None = strawberry.field(default=None, description="Invoice group; null: group 1.")


@strawberry.input(
    description="A revenue-share tier (§2.4): `amount` is the cumulative cap, 0 = unlimited (last)."
)
class TierInput:
    percentage: Rate = strawberry.field(description="Share of the tier's revenue, percent 0–100.")
    amount: Decimal = strawberry.field(description="Cumulative cap, USD; 0 = unlimited (only the last tier).")


@strawberry.input(description="A revenue-share threshold structure (§1.5, §2.4).")
class ThresholdStructureInput:
    revenue_codes: list[str] = strawberry.field(
        description="Revenue codes it shares (each in one structure only)."
    )
    tiers: list[TierInput] = strawberry.field(description="Tiers, caps ascending.")
    accumulation_type: AccumulationType = strawberry.field(
        default=AccumulationType.MONTHLY, description="What revenue the tiers apply to."
    )
    validation_threshold_type: ValidationThresholdType | None = strawberry.field(
        default=None, description="Validations (§2.5); only the first structure's are read."
    )
    validation_threshold_amount: Rate | None = strawberry.field(
        default=None, description="Percent of revenue or USD, by the type."
    )
    invoice_group: int | None = strawberry.field(
        default=None, description="Invoice group; the first structure's has no default (§2.0 gate 2)."
    )


@strawberry.input(description="Revenue share: the threshold structures, in order.")
class RevenueShareInput:
    thresholds: list[ThresholdStructureInput] = strawberry.field(
        description="Every structure, replacing the current ones."
    )


@strawberry.input(description="Bell service fee (§2.6).")
class BellServiceInput:
    invoice_group: int | None = strawberry.field(default=None, description="Invoice group (no default).")


@strawberry.input(description="Mid-month advance (§2.7).")
class MidMonthAdvanceInput:
    amount: Decimal = strawberry.field(description="USD billed mid-month, credited at month end.")
    line_title: MidMonthLineTitle = strawberry.field(
        default=MidMonthLineTitle.MID_MONTH_BILLING, description="Line title."
    )
    invoice_group: int | None = strawberry.field(default=None, description="Invoice group (no default).")


@strawberry.input(description="Deposited revenue and parking tax (§2.8).")
class DepositedRevenueInput:
    towne_park_responsible_for_parking_tax: bool = strawberry.field(
        default=False, description="TP pays the parking tax."
    )
    deposited_revenue_enabled: bool = strawberry.field(
        default=False, description="Credit the revenue TP deposited."
    )
    invoice_group: int | None = strawberry.field(default=None, description="Invoice group (no default).")


@strawberry.input(description="A ledger account of a billable-account list.")
class AccountInput:
    code: str = strawberry.field(
        description="Main account, 4 digits (6000-range payroll, 7000-range expense)."
    )
    title: str = strawberry.field(default="", description="Account title.")
    is_enabled: bool = strawberry.field(default=True, description="Billed.")


@strawberry.input(description="A yearly escalator (§2.14): applied by `towne escalate` on its date.")
class EscalatorInput:
    month: int = strawberry.field(description="Month 1–12 it escalates.")
    type: EscalationKind = strawberry.field(
        default=EscalationKind.PERCENTAGE, description="Percentage or amount."
    )
    value: Rate | None = strawberry.field(default=None, description="The percent or amount.")


@strawberry.input(description="Billable accounts (§2.9): payroll, expenses, PTEB, support services.")
class BillableAccountsInput:
    payroll_accounts: list[AccountInput] = strawberry.field(
        default_factory=list, description="6000-range accounts."
    )
    payroll_accounts_invoice_group: int | None = strawberry.field(
        default=None, description="Their invoice group (no default)."
    )
    payroll_accounts_line_title: str | None = strawberry.field(default=None, description="Their line title.")
    expense_accounts: list[AccountInput] = strawberry.field(
        default_factory=list, description="7000-range accounts."
    )
    expense_accounts_invoice_group: int | None = strawberry.field(
        default=None, description="Their invoice group (no default)."
    )
    expense_accounts_line_title: str | None = strawberry.field(default=None, description="Their line title.")
    payroll_taxes_enabled: bool = strawberry.field(default=False, description="Bill PTEB.")
    payroll_taxes_billing_type: PtebBillingType | None = strawberry.field(
        default=None, description="Actual or percentage."
    )
    payroll_taxes_line_title: str | None = strawberry.field(default=None, description="PTEB line title.")
    payroll_taxes_percentage: Rate | None = strawberry.field(
        default=None, description="PTEB percent of payroll."
    )
    payroll_taxes_escalator: EscalatorInput | None = strawberry.field(
        default=None, description="PTEB % escalator."
    )
    payroll_support_enabled: bool = strawberry.field(default=False, description="Bill support services.")
    payroll_support_amount: Rate | None = strawberry.field(
        default=None, description="USD (FIXED, cents) or percent (PERCENTAGE)."
    )
    payroll_support_billing_type: SupportServicesBillingType | None = strawberry.field(
        default=None, description="Fixed or percentage."
    )
    payroll_support_line_title: str | None = strawberry.field(default=None, description="Support line title.")
    payroll_support_payroll_type: PayrollType | None = strawberry.field(
        default=None, description="Of which payroll."
    )
    additional_payroll_amount: Decimal | None = strawberry.field(
        default=None, description="USD added to payroll."
    )


@strawberry.input(description="A management-fee job rate (§2.10a).")
class ManagementFeeJobInput:
    code: str = strawberry.field(description="Timesheet job code.")
    standard_rate: Rate = strawberry.field(description="USD per regular hour.")
    overtime_rate: Rate = strawberry.field(description="USD per overtime hour.")
    description: str | None = strawberry.field(default=None, description="Description.")
    standard_rate_escalator_value: Rate | None = strawberry.field(
        default=None, description="Its escalator value."
    )
    overtime_rate_escalator_value: Rate | None = strawberry.field(
        default=None, description="Its escalator value."
    )


@strawberry.input(description="Insurance (§2.10b); given: enabled.")
class InsuranceInput:
    type: InsuranceType = strawberry.field(description="Based on billable accounts or a fixed fee.")
    additional_percentage: Rate | None = strawberry.field(default=None, description="Markup, percent.")
    fixed_fee_amount: Decimal | None = strawberry.field(default=None, description="USD (FIXED_FEE).")
    line_title: str | None = strawberry.field(default=None, description="Line title.")


@strawberry.input(description="Claims (§2.10b); given: enabled.")
class ClaimsInput:
    type: ClaimsType = strawberry.field(description="Per claim or capped per year.")
    cap_amount: Decimal | None = strawberry.field(default=None, description="Annual cap, USD.")
    line_title: str | None = strawberry.field(default=None, description="Line title.")


@strawberry.input(description="Profit share (§2.10e); given: enabled.")
class ProfitShareInput:
    tiers: list[TierInput] = strawberry.field(description="Tiers, caps ascending (cap semantics as §2.4).")
    accumulation_type: AccumulationType | None = strawberry.field(default=None, description="Null: monthly.")
    escalator: EscalatorInput | None = strawberry.field(default=None, description="Tier escalator (§2.14).")


@strawberry.input(description="Validation threshold feeding profit share (§2.10d); given: enabled.")
class ValidationThresholdInput:
    type: ValidationThresholdType = strawberry.field(description="The threshold's kind.")
    amount: Rate | None = strawberry.field(default=None, description="Percent or USD, by the type.")


@strawberry.input(description="A non-GL billable expense (§2.10c).")
class NonGlExpenseInput:
    expense_type: NonGlExpenseType = strawberry.field(description="What the amount means.")
    expense_amount: Rate = strawberry.field(description="USD (FIXED_AMOUNT, cents) or percent.")
    payroll_type: PayrollType | None = strawberry.field(
        default=None, description="Of which payroll (PAYROLL)."
    )
    expense_title: str | None = strawberry.field(default=None, description="Line title.")
    final_period_billed: dt.date | None = strawberry.field(
        default=None, description="Bills while the month ≤ this."
    )
    sequence_number: int | None = strawberry.field(default=None, description="Order of the lines.")


@strawberry.input(description="Management agreement (§2.10).")
class ManagementAgreementInput:
    fee_type: ManagementAgreementType = strawberry.field(description="How the fee is computed.")
    invoice_group: int | None = strawberry.field(default=None, description="Invoice group (no default).")
    fixed_fee_amount: Decimal | None = strawberry.field(default=None, description="USD (FIXED_FEE).")
    jobs: list[ManagementFeeJobInput] | None = strawberry.field(
        default=None, description="Rates (PER_LABOR_HOUR)."
    )
    revenue_percentage: Rate | None = strawberry.field(
        default=None, description="Percent (REVENUE_PERCENTAGE)."
    )
    management_fee_escalator: EscalatorInput | None = strawberry.field(
        default=None, description="Fee escalator."
    )
    insurance: InsuranceInput | None = strawberry.field(default=None, description="Null: no insurance line.")
    claims: ClaimsInput | None = strawberry.field(default=None, description="Null: no claims line.")
    profit_share: ProfitShareInput | None = strawberry.field(
        default=None, description="Null: no profit share."
    )
    validation_threshold: ValidationThresholdInput | None = strawberry.field(
        default=None, description="Null: none."
    )
    non_gl_expenses: list[NonGlExpenseInput] | None = strawberry.field(
        default=None, description="Null: none billed."
    )
    non_gl_expense_code: str | None = strawberry.field(default=None, description="GL code of their lines.")


@strawberry.input(
    description="Building blocks to set (§1.5): each block given replaces that block's whole configuration; "
    "blocks left out stay as they are."
)
class ContractConfigurationInput:
    building_blocks: list[BuildingBlock] | None = strawberry.field(
        default=None, description="The enabled blocks; null: unchanged."
    )
    invoice_grouping: InvoiceGroupingInput | None = strawberry.field(
        default=None, description="Invoice groups."
    )
    fixed_fee: FixedFeeInput | None = strawberry.field(default=None, description="Fixed fee (§2.1).")
    per_labor_hour: PerLaborHourInput | None = strawberry.field(
        default=None, description="Per labor hour (§2.2)."
    )
    per_occupied_room: PerOccupiedRoomInput | None = strawberry.field(
        default=None, description="Per occupied room (§2.3)."
    )
    revenue_share: RevenueShareInput | None = strawberry.field(
        default=None, description="Revenue share (§2.4)."
    )
    bell_service: BellServiceInput | None = strawberry.field(
        default=None, description="Bell service fee (§2.6)."
    )
    mid_month_advance: MidMonthAdvanceInput | None = strawberry.field(
        default=None, description="Mid-month advance (§2.7)."
    )
    deposited_revenue: DepositedRevenueInput | None = strawberry.field(
        default=None, description="Deposits (§2.8)."
    )
    billable_accounts: BillableAccountsInput | None = strawberry.field(
        default=None, description="Billable accounts (§2.9)."
    )
    management_agreement: ManagementAgreementInput | None = strawberry.field(
        default=None, description="Management agreement (§2.10)."
    )
    remove_blocks: list[BuildingBlock] | None = strawberry.field(
        default=None, description="Single-row blocks whose configuration to remove."
    )


__all__ = ["ContractConfigurationInput", "ContractHeaderInput", "SupportingReport"]
