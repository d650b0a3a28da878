"""Contract configuration as the engine sees it (domain.md §1.3, §1.5).

Plain frozen values built by the caller (repository, importer, tests); the engine never reads storage.
"""

from __future__ import annotations

import datetime
import enum
from dataclasses import dataclass
from decimal import Decimal

from .codes import (
    AccumulationType,
    BillingType,
    BuildingBlock,
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
from .money import require_money
from .numbering import normalize_site_number
from .tiers import Tier

__all__ = [
    "AccountToggle",
    "BellService",
    "BillableAccount",
    "ContractConfig",
    "DepositedRevenue",
    "FixedFeeService",
    "InvoiceGroup",
    "LaborHourJob",
    "ManagementAgreement",
    "ManagementAgreementJob",
    "MidMonthAdvance",
    "NonGlExpense",
    "PerOccupiedRoom",
    "ThresholdStructure",
]


def _require_date(value: datetime.date | None, what: str) -> None:
    # A datetime is a date subclass, but comparing one with a date raises TypeError deep inside the engine.
    if value is not None and (isinstance(value, datetime.datetime) or not isinstance(value, datetime.date)):
        raise TypeError(f"{what} must be a datetime.date, got {value!r}")


def _require_group_number(value: object, what: str) -> None:
    if type(value) is not int or value < 1:
        raise ValueError(f"{what} must be an int >= 1, got {value!r}")


def _require_optional_group(value: int | None, what: str) -> None:
    if value is not None:
        _require_group_number(value, what)


def _require_optional_money(value: Decimal | None, what: str) -> None:
    if value is not None:
        require_money(value, what)


def _require_enum(value: object, kind: type[enum.Enum], what: str, *, optional: bool = False) -> None:
    # The lead maps stored UPPER_SNAKE labels to these enums; a raw label or code slipping through would
    # otherwise compare unequal everywhere and silently bill nothing.
    if value is None and optional:
        return
    if not isinstance(value, kind):
        raise TypeError(f"{what} must be a {kind.__name__}, got {value!r}")


def _require_tuple_of(value: object, kind: type, what: str) -> None:
    # Tuples, not lists: the configuration is frozen and hashable all the way down.
    if not isinstance(value, tuple):
        raise TypeError(f"{what} must be a tuple, got {type(value).__name__}")
    for item in value:
        if not isinstance(item, kind):
            raise TypeError(f"{what} must hold {kind.__name__} values, got {item!r}")


def _require_bool(value: object, what: str) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{what} must be a bool, got {value!r}")


def _require_tiers(tiers: object, what: str) -> None:
    _require_tuple_of(tiers, Tier, what)
    assert isinstance(tiers, tuple)
    for index, tier in enumerate(tiers, start=1):
        require_money(tier.share_percentage, f"{what}: share percentage of tier {index}")
        require_money(tier.amount, f"{what}: amount of tier {index}")
        if tier.amount < 0:
            raise ValueError(
                f"{what}: amount (cap) of tier {index} must be >= 0 (0 = unlimited), got {tier.amount}"
            )


def _active_on(start: datetime.date | None, end: datetime.date | None, d: datetime.date) -> bool:
    return (start is None or start <= d) and (end is None or d <= end)


@dataclass(frozen=True, slots=True)
class InvoiceGroup:
    """Invoice group ``bs_invoicegroup`` (§1.5): one invoice per group and statement.

    ``number`` (>= 1, else ``ValueError``) is the per-contract key that components route to.
    ``title`` and ``description`` become the invoice header; ``site_number`` overrides the site in the
    invoice number (§3.4); ``customer_name`` and ``vendor_id`` override the site's for the PDF and GP export.
    """

    number: int
    title: str | None = None
    description: str | None = None
    site_number: str | None = None
    customer_name: str | None = None
    vendor_id: str | None = None

    def __post_init__(self) -> None:
        _require_group_number(self.number, "invoice group number")
        if self.site_number is not None:
            normalize_site_number(self.site_number)


@dataclass(frozen=True, slots=True)
class FixedFeeService:
    """Fixed-fee service row ``bs_fixedfeeservice`` (§1.5, §2.1).

    ``display_name`` is the line title, ``code`` the GL revenue account (e.g. ``"4700"``), ``fee`` the monthly
    amount in USD (finite ``Decimal``, else ``TypeError``/``ValueError``), ``name`` the service type.
    ``start_date``/``end_date`` bound the days the row is active, both inclusive; ``None`` means unbounded on
    that side; a ``datetime`` is refused (``TypeError``). Escalation closes a row and adds a new one (§2.14),
    so several rows of one service coexist.
    ``invoice_group`` ``None`` routes to group 1 (§2.0 gate 2).
    """

    display_name: str
    code: str
    fee: Decimal
    name: str | None = None
    start_date: datetime.date | None = None
    end_date: datetime.date | None = None
    invoice_group: int | None = None

    def __post_init__(self) -> None:
        require_money(self.fee, f"fixed fee of {self.display_name!r}")
        _require_date(self.start_date, f"start date of fixed fee {self.display_name!r}")
        _require_date(self.end_date, f"end date of fixed fee {self.display_name!r}")
        if self.invoice_group is not None:
            _require_group_number(self.invoice_group, f"invoice group of fixed fee {self.display_name!r}")

    @property
    def group_number(self) -> int:
        """The invoice group the row bills on: ``invoice_group`` or 1 (§2.0 gate 2)."""
        return 1 if self.invoice_group is None else self.invoice_group

    def is_active_on(self, d: datetime.date) -> bool:
        """Whether the row is in force on ``d``: ``start ≤ d`` and (``end`` open or ``end ≥ d``) (§2.0 #4)."""
        return _active_on(self.start_date, self.end_date, d)


@dataclass(frozen=True, slots=True)
class LaborHourJob:
    """Per-labor-hour job row ``bs_laborhourjob`` (§1.5, §2.2).

    ``display_name`` is the line title; ``job_code`` matches the timesheet ``WORK_ROLE`` (e.g. ``"GSA"``);
    ``rate`` and ``overtime_rate`` are USD per hour (finite ``Decimal``; ``overtime_rate`` ``None`` bills
    overtime hours at 0, as ``coalesce(ot_rate, 0)`` does). ``code`` is the GL account printed on the line
    (``None`` prints an empty code, which the GP export books to 4790, §3.8). ``name`` is the job family;
    ``is_salaried`` is stored but not used in billing (§2.2). Dates and group as in :class:`FixedFeeService`
    (both bounds inclusive; ``invoice_group`` ``None`` ⇒ group 1).
    """

    display_name: str
    job_code: str
    rate: Decimal
    overtime_rate: Decimal | None = None
    code: str | None = None
    name: str | None = None
    start_date: datetime.date | None = None
    end_date: datetime.date | None = None
    invoice_group: int | None = None
    is_salaried: bool = False

    def __post_init__(self) -> None:
        what = f"labor-hour job {self.display_name!r}"
        require_money(self.rate, f"rate of {what}")
        _require_optional_money(self.overtime_rate, f"overtime rate of {what}")
        _require_date(self.start_date, f"start date of {what}")
        _require_date(self.end_date, f"end date of {what}")
        _require_optional_group(self.invoice_group, f"invoice group of {what}")

    @property
    def group_number(self) -> int:
        """The invoice group the job bills on: ``invoice_group`` or 1 (§2.0 gate 2)."""
        return 1 if self.invoice_group is None else self.invoice_group

    def is_active_on(self, d: datetime.date) -> bool:
        """Whether the row is in force on ``d`` (both bounds inclusive, §2.0 #4)."""
        return _active_on(self.start_date, self.end_date, d)


@dataclass(frozen=True, slots=True)
class PerOccupiedRoom:
    """Per-occupied-room settings, fields of ``bs_contract`` (§1.3, §2.3).

    ``room_rate`` USD per occupied room; ``code`` the GL account of the line (``bs_occupiedroomcode``,
    usually ``"4791"``); ``invoice_group`` ``None`` ⇒ group 1 (the one component besides fixed fee and PLH
    whose group defaults, §2.0 gate 2).
    """

    room_rate: Decimal = Decimal(0)
    code: str | None = None
    invoice_group: int | None = None

    def __post_init__(self) -> None:
        require_money(self.room_rate, "occupied room rate")
        _require_optional_group(self.invoice_group, "occupied room invoice group")

    @property
    def group_number(self) -> int:
        """``coalesce(occupiedroominvoicegroup, 1)`` (§2.0 gate 2)."""
        return 1 if self.invoice_group is None else self.invoice_group


@dataclass(frozen=True, slots=True)
class ThresholdStructure:
    """Revenue-share threshold structure ``bs_revenuesharethreshold`` (§1.5, §2.4, §2.5).

    ``revenue_codes`` are the revenue codes whose net external revenue it shares (``"VD1"``, ``"OR1"`` …);
    ``tiers`` (``billing.tiers.Tier``: whole-number share percent, cumulative cap USD with 0 = unlimited,
    cap ≥ 0 else ``ValueError``) are applied in stored order (§2.4, §7 #1). ``accumulation_type`` chooses
    monthly or annual accumulation. ``validation_threshold_type``/``_amount`` configure validations (§2.5):
    only the first structure's are read. ``invoice_group``: only the first structure's is read, with no
    default (``None`` ⇒ revenue share is never billed, §2.0 gate 2).
    """

    revenue_codes: tuple[str, ...]
    tiers: tuple[Tier, ...]
    accumulation_type: AccumulationType = AccumulationType.MONTHLY
    validation_threshold_type: ValidationThresholdType | None = None
    validation_threshold_amount: Decimal | None = None
    invoice_group: int | None = None

    def __post_init__(self) -> None:
        _require_tuple_of(self.revenue_codes, str, "threshold structure revenue codes")
        _require_tiers(self.tiers, "threshold structure tiers")
        _require_enum(self.accumulation_type, AccumulationType, "threshold structure accumulation type")
        _require_enum(
            self.validation_threshold_type,
            ValidationThresholdType,
            "threshold structure validation threshold type",
            optional=True,
        )
        _require_optional_money(self.validation_threshold_amount, "validation threshold amount")
        _require_optional_group(self.invoice_group, "invoice group of threshold structure")


@dataclass(frozen=True, slots=True)
class BellService:
    """Bell service row ``bs_bellservice`` (§1.5, §2.6): only its invoice group (no default, §2.0 gate 2)."""

    invoice_group: int | None = None

    def __post_init__(self) -> None:
        _require_optional_group(self.invoice_group, "bell service invoice group")


@dataclass(frozen=True, slots=True)
class MidMonthAdvance:
    """Mid-month advance row ``bs_midmonthadvance`` (§1.5, §2.7).

    ``amount`` USD billed earlier in the month (credited as ``−amount``); ``line_title`` gives the line's
    description; ``invoice_group`` has no default (``None`` ⇒ never billed).
    """

    amount: Decimal
    line_title: MidMonthLineTitle = MidMonthLineTitle.MID_MONTH_BILLING
    invoice_group: int | None = None

    def __post_init__(self) -> None:
        require_money(self.amount, "mid-month advance amount")
        _require_enum(self.line_title, MidMonthLineTitle, "mid-month advance line title")
        _require_optional_group(self.invoice_group, "mid-month advance invoice group")


@dataclass(frozen=True, slots=True)
class DepositedRevenue:
    """Deposited-revenue row ``bs_depositedrevenue`` (§1.5, §2.8).

    ``towne_park_responsible_for_parking_tax`` bills the client-collected parking tax and makes the deposit
    line net of tax; ``deposited_revenue_enabled`` credits the revenue Towne Park deposited.
    ``invoice_group`` has no default (``None`` ⇒ never billed).
    """

    towne_park_responsible_for_parking_tax: bool = False
    deposited_revenue_enabled: bool = False
    invoice_group: int | None = None

    def __post_init__(self) -> None:
        _require_bool(self.towne_park_responsible_for_parking_tax, "towne_park_responsible_for_parking_tax")
        _require_bool(self.deposited_revenue_enabled, "deposited_revenue_enabled")
        _require_optional_group(self.invoice_group, "deposited revenue invoice group")


@dataclass(frozen=True, slots=True)
class AccountToggle:
    """One ledger account of a billable-account list (``[{"code","title","isEnabled"}]``, §1.5)."""

    code: str
    title: str = ""
    is_enabled: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.code, str) or not self.code.strip():
            raise ValueError(f"account code must be a non-empty string, got {self.code!r}")
        _require_bool(self.is_enabled, f"is_enabled of account {self.code}")


@dataclass(frozen=True, slots=True)
class BillableAccount:
    """Billable-account row ``bs_billableaccount`` (§1.5, §2.9, §2.10b-c).

    ``payroll_accounts_data`` / ``payroll_expense_accounts_data``: the 6000-range payroll and 7000-range
    expense accounts, each with its own invoice group (no default: ``None`` ⇒ that part is never billed) and
    line title. PTEB (``payroll_taxes_*``): ``ACTUAL`` reads accounts 6200/6399/6500, ``PERCENTAGE`` bills
    ``payroll_taxes_percentage`` (whole-number percent) of payroll. Support services (``payroll_support_*``):
    ``FIXED`` bills ``payroll_support_amount`` USD, ``PERCENTAGE`` that percent of billable payroll or of
    payroll + PTEB (``payroll_support_payroll_type``). ``additional_payroll_amount`` USD is added to payroll
    when > 0. Money and percentages are finite ``Decimal`` (else ``TypeError``/``ValueError``).
    """

    payroll_accounts_data: tuple[AccountToggle, ...] = ()
    payroll_accounts_invoice_group: int | None = None
    payroll_accounts_line_title: str | None = None
    payroll_expense_accounts_data: tuple[AccountToggle, ...] = ()
    payroll_expense_accounts_invoice_group: int | None = None
    payroll_expense_accounts_line_title: str | None = None
    payroll_taxes_enabled: bool = False
    payroll_taxes_billing_type: PtebBillingType | None = None
    payroll_taxes_line_title: str | None = None
    payroll_taxes_percentage: Decimal | None = None
    payroll_support_enabled: bool = False
    payroll_support_amount: Decimal | None = None
    payroll_support_billing_type: SupportServicesBillingType | None = None
    payroll_support_line_title: str | None = None
    payroll_support_payroll_type: PayrollType | None = None
    additional_payroll_amount: Decimal | None = None

    def __post_init__(self) -> None:
        _require_tuple_of(self.payroll_accounts_data, AccountToggle, "payroll accounts")
        _require_tuple_of(self.payroll_expense_accounts_data, AccountToggle, "expense accounts")
        _require_optional_group(self.payroll_accounts_invoice_group, "payroll accounts invoice group")
        _require_optional_group(self.payroll_expense_accounts_invoice_group, "expense accounts invoice group")
        _require_bool(self.payroll_taxes_enabled, "payroll_taxes_enabled")
        _require_enum(self.payroll_taxes_billing_type, PtebBillingType, "PTEB billing type", optional=True)
        _require_optional_money(self.payroll_taxes_percentage, "PTEB percentage")
        _require_bool(self.payroll_support_enabled, "payroll_support_enabled")
        _require_optional_money(self.payroll_support_amount, "support services amount")
        _require_enum(
            self.payroll_support_billing_type,
            SupportServicesBillingType,
            "support services billing type",
            optional=True,
        )
        _require_enum(
            self.payroll_support_payroll_type, PayrollType, "support services payroll type", optional=True
        )
        _require_optional_money(self.additional_payroll_amount, "additional payroll amount")

    @property
    def enabled_payroll_codes(self) -> frozenset[str]:
        """Codes of the enabled payroll accounts."""
        return frozenset(account.code for account in self.payroll_accounts_data if account.is_enabled)

    @property
    def enabled_expense_codes(self) -> frozenset[str]:
        """Codes of the enabled expense accounts."""
        return frozenset(account.code for account in self.payroll_expense_accounts_data if account.is_enabled)


@dataclass(frozen=True, slots=True)
class ManagementAgreementJob:
    """One entry of ``bs_perlaborhourjobcodedata`` (§1.5, §2.10a): timesheet job ``code`` and its USD rates.

    The escalator values are stored for the escalation job (§2.14); billing does not apply them.
    """

    code: str
    standard_rate: Decimal
    overtime_rate: Decimal
    description: str | None = None
    standard_rate_escalator_value: Decimal | None = None
    overtime_rate_escalator_value: Decimal | None = None

    def __post_init__(self) -> None:
        require_money(self.standard_rate, f"standard rate of management-fee job {self.code!r}")
        require_money(self.overtime_rate, f"overtime rate of management-fee job {self.code!r}")
        _require_optional_money(self.standard_rate_escalator_value, "standard rate escalator value")
        _require_optional_money(self.overtime_rate_escalator_value, "overtime rate escalator value")


@dataclass(frozen=True, slots=True)
class NonGlExpense:
    """Non-GL billable expense row ``bs_nonglexpense`` (§1.5, §2.10c).

    ``expense_amount`` is USD for ``FIXED_AMOUNT`` and a whole-number percent for ``PAYROLL`` (of billable
    payroll, or payroll + actual PTEB when ``payroll_type`` is ``TOTAL``) and ``REVENUE``.
    ``final_period_billed``: the row bills while the service month ≤ that date's month (``None`` = open).
    Rows bill in ``sequence_number`` order (rows without one last, in configuration order).
    """

    expense_type: NonGlExpenseType
    expense_amount: Decimal
    payroll_type: PayrollType | None = None
    expense_title: str | None = None
    final_period_billed: datetime.date | None = None
    sequence_number: int | None = None

    def __post_init__(self) -> None:
        _require_enum(self.expense_type, NonGlExpenseType, "non-GL expense type")
        require_money(self.expense_amount, f"amount of non-GL expense {self.expense_title!r}")
        _require_enum(self.payroll_type, PayrollType, "non-GL expense payroll type", optional=True)
        _require_date(
            self.final_period_billed, f"final period billed of non-GL expense {self.expense_title!r}"
        )


@dataclass(frozen=True, slots=True)
class ManagementAgreement:
    """Management-agreement row ``bs_managementagreement`` (§1.5, §2.10). Field names follow the legacy DTO.

    * Management fee (§2.10a): ``management_agreement_type`` with ``fixed_fee_amount`` (USD),
      ``per_labor_hour_job_code_data`` or ``revenue_percentage_amount`` (whole-number percent).
    * Insurance (§2.10b): ``insurance_type`` ``BASED_ON_BILLABLE_ACCOUNTS`` (accounts 7080/7082/7085 marked
      up by ``insurance_additional_percentage``) or ``FIXED_FEE`` (``insurance_fixed_fee_amount`` USD).
    * Claims (§2.10b): ``claims_type`` ``PER_CLAIM`` or an annual cap ``claims_cap_amount`` USD.
    * Profit share (§2.10e): ``profit_share_accumulation_type`` (``None`` reads as monthly) and
      ``profit_share_tier_data`` (cap semantics as revenue share).
    * Validation threshold feeding profit share (§2.10d): ``validation_threshold_*``.
    * Non-GL billable expenses (§2.10c): ``non_gl_billable_expenses`` billed when
      ``non_gl_billable_expenses_enabled``; their line code is ``non_gl_billable_expense_code``, the code of
      the global GL-config row of type NonGLBillableExpense (copied here by the caller; ``None`` prints an
      empty code).

    ``invoice_group`` has no default (``None`` ⇒ nothing of the agreement is billed, §2.0 gate 2).
    """

    management_agreement_type: ManagementAgreementType = ManagementAgreementType.FIXED_FEE
    invoice_group: int | None = None
    fixed_fee_amount: Decimal | None = None
    per_labor_hour_job_code_data: tuple[ManagementAgreementJob, ...] = ()
    revenue_percentage_amount: Decimal | None = None
    insurance_enabled: bool = False
    insurance_type: InsuranceType | None = None
    insurance_additional_percentage: Decimal | None = None
    insurance_fixed_fee_amount: Decimal | None = None
    insurance_line_title: str | None = None
    claims_enabled: bool = False
    claims_type: ClaimsType | None = None
    claims_cap_amount: Decimal | None = None
    claims_line_title: str | None = None
    profit_share_enabled: bool = False
    profit_share_accumulation_type: AccumulationType | None = None
    profit_share_tier_data: tuple[Tier, ...] = ()
    validation_threshold_enabled: bool = False
    validation_threshold_type: ValidationThresholdType | None = None
    validation_threshold_amount: Decimal | None = None
    non_gl_billable_expenses_enabled: bool = False
    non_gl_billable_expenses: tuple[NonGlExpense, ...] = ()
    non_gl_billable_expense_code: str | None = None

    def __post_init__(self) -> None:
        _require_enum(self.management_agreement_type, ManagementAgreementType, "management agreement type")
        _require_optional_group(self.invoice_group, "management agreement invoice group")
        _require_optional_money(self.fixed_fee_amount, "management fee fixed amount")
        _require_tuple_of(self.per_labor_hour_job_code_data, ManagementAgreementJob, "management-fee jobs")
        _require_optional_money(self.revenue_percentage_amount, "management fee revenue percentage")
        for flag in (
            "insurance_enabled",
            "claims_enabled",
            "profit_share_enabled",
            "validation_threshold_enabled",
            "non_gl_billable_expenses_enabled",
        ):
            _require_bool(getattr(self, flag), flag)
        _require_enum(self.insurance_type, InsuranceType, "insurance type", optional=True)
        _require_optional_money(self.insurance_additional_percentage, "insurance additional percentage")
        _require_optional_money(self.insurance_fixed_fee_amount, "insurance fixed fee amount")
        _require_enum(self.claims_type, ClaimsType, "claims type", optional=True)
        _require_optional_money(self.claims_cap_amount, "claims cap amount")
        _require_enum(
            self.profit_share_accumulation_type,
            AccumulationType,
            "profit share accumulation type",
            optional=True,
        )
        _require_tiers(self.profit_share_tier_data, "profit share tiers")
        _require_enum(
            self.validation_threshold_type,
            ValidationThresholdType,
            "MA validation threshold type",
            optional=True,
        )
        _require_optional_money(self.validation_threshold_amount, "MA validation threshold amount")
        _require_tuple_of(self.non_gl_billable_expenses, NonGlExpense, "non-GL billable expenses")


@dataclass(frozen=True, slots=True)
class ContractConfig:
    """Billing configuration of one contract ``bs_contract`` and its component rows (§1.3, §1.5).

    ``site_number`` is the site's business key (digits; normalised to 4 digits where it is printed).
    ``building_blocks`` are the enabled blocks (§1.4, gate 1). ``invoice_groups`` must have distinct numbers
    (``ValueError``); they are used only when ``INVOICE_GROUPING`` is enabled, otherwise the engine bills the
    implicit group 1 (§1.5). ``payment_terms`` and ``purchase_order`` are copied onto each invoice (§3.4).
    ``increment_percentage`` is a whole-number percent (3 = 3 %) and ``increment_month`` 1..12 (§1.3, §2.14);
    billing does not apply them: escalation is stored as new dated rows.

    Component configuration (§1.5), all optional so a contract lists only what it has:
    ``labor_hour_jobs`` (§2.2), ``per_occupied_room`` (§2.3), ``threshold_structures`` in stored order (§2.4),
    and at most one each (§7 #21: the flows read only the first row) of ``bell_service`` (§2.6),
    ``mid_month_advance`` (§2.7), ``deposited_revenue`` (§2.8), ``billable_account`` (§2.9) and
    ``management_agreement`` (§2.10). ``site_start_date`` (the site's first-worked date, §1.2) anchors
    anniversary accumulations; a ``datetime`` is refused (``TypeError``).
    """

    site_number: str
    billing_type: BillingType
    building_blocks: frozenset[BuildingBlock]
    invoice_groups: tuple[InvoiceGroup, ...] = ()
    fixed_fee_services: tuple[FixedFeeService, ...] = ()
    payment_terms: str | None = None
    purchase_order: str | None = None
    increment_percentage: Decimal = Decimal(0)
    increment_month: int | None = None
    site_start_date: datetime.date | None = None
    labor_hour_jobs: tuple[LaborHourJob, ...] = ()
    per_occupied_room: PerOccupiedRoom = PerOccupiedRoom()
    threshold_structures: tuple[ThresholdStructure, ...] = ()
    bell_service: BellService | None = None
    mid_month_advance: MidMonthAdvance | None = None
    deposited_revenue: DepositedRevenue | None = None
    billable_account: BillableAccount | None = None
    management_agreement: ManagementAgreement | None = None

    def __post_init__(self) -> None:
        normalize_site_number(self.site_number)
        _require_date(self.site_start_date, "site start date")
        _require_tuple_of(self.fixed_fee_services, FixedFeeService, "fixed fee services")
        _require_tuple_of(self.labor_hour_jobs, LaborHourJob, "labor hour jobs")
        _require_tuple_of(self.threshold_structures, ThresholdStructure, "threshold structures")
        for value, kind in (
            (self.per_occupied_room, PerOccupiedRoom),
            (self.bell_service, BellService),
            (self.mid_month_advance, MidMonthAdvance),
            (self.deposited_revenue, DepositedRevenue),
            (self.billable_account, BillableAccount),
            (self.management_agreement, ManagementAgreement),
        ):
            if value is not None and not isinstance(value, kind):
                raise TypeError(f"{kind.__name__} configuration expected, got {value!r}")
        numbers = [group.number for group in self.invoice_groups]
        duplicates = sorted({number for number in numbers if numbers.count(number) > 1})
        if duplicates:
            raise ValueError(f"invoice group numbers must be distinct, got duplicates {duplicates}")
        require_money(self.increment_percentage, "increment percentage")
        if self.increment_month is not None and (
            type(self.increment_month) is not int or not 1 <= self.increment_month <= 12
        ):
            raise ValueError(f"increment month must be 1..12, got {self.increment_month!r}")
