"""Option-set codes and switches shared by the engine (domain.md §1.3, §1.4, §2.15)."""

from __future__ import annotations

import enum

__all__ = ["BillingType", "BuildingBlock", "RateSelection"]


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
