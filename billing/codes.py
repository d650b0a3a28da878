"""Option-set codes and switches shared by the engine (domain.md §1.3, §1.4, §2.15)."""

from __future__ import annotations

import enum

__all__ = [
    "AccumulationStart",
    "AccumulationType",
    "AdhocLineType",
    "BillingType",
    "BuildingBlock",
    "ClaimsType",
    "InsuranceType",
    "ManagementAgreementType",
    "MidMonthLineTitle",
    "NonGlExpenseType",
    "PayrollType",
    "PtebBillingType",
    "RateSelection",
    "SupportServicesBillingType",
    "ValidationThresholdType",
]


class BillingType(enum.Enum):
    """Contract billing type, ``bs_contract.bs_billingtype`` (§1.3); the value is the Dataverse code.

    Arrears bills the month just ended, Advanced the month ahead (§3.2).
    """

    ADVANCED = 126840000
    ARREARS = 126840001

    @property
    def label(self) -> str:
        """``"Arrears"`` or ``"Advanced"``, as in column ``billing_type`` of the PROD ``contracts.csv``."""
        return self.name.capitalize()

    @classmethod
    def from_label(cls, label: str) -> BillingType:
        """Parse ``"Arrears"`` / ``"Advanced"`` (case-insensitive, surrounding blanks ignored).

        Raises ``ValueError`` naming the label otherwise.
        """
        try:
            return cls[label.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown billing type {label!r}; expected 'Arrears' or 'Advanced'") from None


class BuildingBlock(enum.Enum):
    """Building block (contract type) of ``bs_contract.bs_contracttype`` (§1.4); the value is the code.

    A contract enables any subset; a "hybrid" contract is one with several (§2.11).
    """

    FIXED_FEE = 126840000
    PER_LABOR_HOUR = 126840001
    PER_OCCUPIED_ROOM = 126840002
    INVOICE_GROUPING = 126840003
    REVENUE_SHARE = 126840004
    BELL_SERVICE = 126840005
    MID_MONTH_ADVANCE = 126840006
    DEPOSITED_REVENUE = 126840007
    BILLABLE_ACCOUNTS = 126840008
    MANAGEMENT_AGREEMENT = 126840009

    @property
    def label(self) -> str:
        """Label in the ``contract_components`` column of the PROD ``contracts.csv``, e.g. ``"Fixed Fee"``.

        Note that Billable Accounts is exported as ``"Billing Account"``.
        """
        return _BLOCK_LABELS[self]

    @classmethod
    def from_label(cls, label: str) -> BuildingBlock:
        """Inverse of :attr:`label`: case-insensitive, surrounding blanks ignored.

        Raises ``ValueError`` naming the label otherwise.
        """
        block = _BLOCKS_BY_LABEL.get(label.strip().casefold())
        if block is None:
            known = ", ".join(repr(text) for text in _BLOCK_LABELS.values())
            raise ValueError(f"unknown building block {label!r}; expected one of {known}")
        return block


_BLOCK_LABELS: dict[BuildingBlock, str] = {
    BuildingBlock.FIXED_FEE: "Fixed Fee",
    BuildingBlock.PER_LABOR_HOUR: "Per Labor Hour",
    BuildingBlock.PER_OCCUPIED_ROOM: "Per Occupied Room",
    BuildingBlock.INVOICE_GROUPING: "Invoice Grouping",
    BuildingBlock.REVENUE_SHARE: "Revenue Share",
    BuildingBlock.BELL_SERVICE: "Bell Service",
    BuildingBlock.MID_MONTH_ADVANCE: "Mid Month Advance",
    BuildingBlock.DEPOSITED_REVENUE: "Deposited Revenue",
    BuildingBlock.BILLABLE_ACCOUNTS: "Billing Account",
    BuildingBlock.MANAGEMENT_AGREEMENT: "Management Agreement",
}
_BLOCKS_BY_LABEL: dict[str, BuildingBlock] = {text.casefold(): block for block, text in _BLOCK_LABELS.items()}


class RateSelection(enum.Enum):
    """Which dated rate/fee rows a statement bills (§2.0 #4, §2.15, §7 #15).

    ``NATURAL_GENERATION_DATE`` (default): rows active on the date an on-time legacy run would have happened
    (:meth:`ServicePeriod.natural_generation_date`), so regenerating an old period is reproducible.
    ``LEGACY_NOW``: rows active on the ``now`` the caller passes, like the legacy flows (parity tests).
    """

    NATURAL_GENERATION_DATE = "natural"
    LEGACY_NOW = "legacy_now"


# --- component option sets (§1.5); member names are the UPPER_SNAKE labels the importer stores -------------


class AccumulationType(enum.Enum):
    """Revenue / profit accumulation of a threshold structure or profit share (§1.5, §2.4, §2.10e).

    ``MONTHLY`` applies the tiers to the month alone; the annual types add what accumulated since the
    accumulation start (Jan 1, or the site's anniversary) before the tiers are applied.
    """

    MONTHLY = 126840000
    ANNUAL_CALENDAR = 126840001
    ANNUAL_ANNIVERSARY = 126840002

    @property
    def is_annual(self) -> bool:
        """Whether earlier months of the accumulation year count (``Prior``, §2.4 step 2)."""
        return self is not AccumulationType.MONTHLY


class ValidationThresholdType(enum.Enum):
    """How validations above a threshold are measured (§2.5, §2.10d).

    ``VEHICLE_COUNT`` ignores the threshold and charges all validation revenue, as the flows do (§7 #19).
    """

    VEHICLE_COUNT = 126840000
    REVENUE_PERCENTAGE = 126840001
    VALIDATION_AMOUNT = 126840002


class MidMonthLineTitle(enum.Enum):
    """``bs_midmonthadvance.bs_linetitle`` (§1.5, §2.7); the value is the DTO label."""

    MID_MONTH_BILLING = "MidMonthBilling"
    PRE_BILL = "PreBill"

    @property
    def label(self) -> str:
        """Printed description of the advance line: ``"Mid Month Billing"`` or ``"Pre Bill"`` (§2.7)."""
        return "Mid Month Billing" if self is MidMonthLineTitle.MID_MONTH_BILLING else "Pre Bill"


class PtebBillingType(enum.Enum):
    """Payroll taxes & employee benefits billing (§2.9): ledger accounts 6200/6399/6500, or a % of payroll."""

    ACTUAL = 126840000
    PERCENTAGE = 126840001


class SupportServicesBillingType(enum.Enum):
    """Support services billing (§2.9): a fixed amount or a percentage of payroll."""

    FIXED = 126840000
    PERCENTAGE = 126840001


class PayrollType(enum.Enum):
    """Payroll base of a percentage (§2.9, §2.10c): billable payroll, or payroll + PTEB (``TOTAL``)."""

    BILLABLE = 126840000
    TOTAL = 126840001


class ManagementAgreementType(enum.Enum):
    """How the management fee is computed (§2.10a)."""

    FIXED_FEE = 126840000
    PER_LABOR_HOUR = 126840001
    REVENUE_PERCENTAGE = 126840002


class InsuranceType(enum.Enum):
    """Management-agreement insurance (§2.10b)."""

    BASED_ON_BILLABLE_ACCOUNTS = 126840000
    FIXED_FEE = 126840001


class ClaimsType(enum.Enum):
    """Management-agreement claims (§2.10b): uncapped per claim, or capped per accumulation year."""

    PER_CLAIM = 126840000
    ANNUAL_CALENDAR = 126840001
    ANNUAL_ANNIVERSARY = 126840002


class NonGlExpenseType(enum.Enum):
    """Non-GL billable expense (§1.5, §2.10c)."""

    FIXED_AMOUNT = 126840000
    PAYROLL = 126840001
    REVENUE = 126840002


class AdhocLineType(enum.Enum):
    """GL code type of an ad-hoc line (§1.7 GL code config, §3.4); the value is the GL config type code.

    ``CLIENT_PAID_EXPENSE`` and ``NON_BILLABLE_EXPENSE`` lines are forced negative (§3.4).
    """

    CLIENT_PAID_EXPENSE = 126840002
    REIMBURSABLE_EXPENSE = 126840003
    MISCELLANEOUS_ITEM = 126840004
    NON_BILLABLE_EXPENSE = 126840014

    @property
    def label(self) -> str:
        """``"ClientPaidExpense"`` etc., the legacy label of the type."""
        return "".join(word.capitalize() for word in self.name.split("_"))


class AccumulationStart(enum.Enum):
    """Start of a revenue-share annual accumulation (§2.4, §7 #9).

    ``INTENDED`` (default, the §7 #9 decision): calendar = Jan 1 of the service year; anniversary = the most
    recent anniversary of the site start date on or before ``P_start``.
    ``LEGACY``: what the flow computes: calendar = Jan 1 of the site start-date year; anniversary = the site
    start date itself (for parity tests with legacy invoices).
    """

    INTENDED = "intended"
    LEGACY = "legacy"
