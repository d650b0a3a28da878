"""Inputs of the forecast (P&L) calculators: contract terms and the month facts they read.

These are the shapes the C# forecast calculators consume (``api/src/Services/Impl/Calculators/*.cs``,
domain.md §1.5, §1.7, §2.1–§2.13), as plain frozen values built by the caller. They are deliberately separate
from the invoice engine's ``billing.config``: the forecast reads the same stored data with other semantics
(e.g. revenue-share tier ``Amount`` = lower bound, §2.4 "Forecast"; §7 #1).

Units: money in USD, hours in hours, counts in units, percentages as whole numbers (30 = 30 %, §0.1), all as
finite ``decimal.Decimal`` (a ``float`` is refused with ``TypeError``, NaN/infinity with ``ValueError``).
Dates are ``datetime.date`` (a ``datetime`` is refused). Months are 1-based (the C# ``MonthValueDto.Month``
index is 0-based; ``month - 1`` maps one to the other).
"""

from __future__ import annotations

import datetime
import enum
import json
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from .. import codes as _codes
from ..codes import BuildingBlock
from ..escalation import EscalationKind
from ..money import ZERO, require_money
from ..period import ServicePeriod

__all__ = [
    "FORECASTABLE_ACCOUNTS",
    "BillableAccountRow",
    "BillableExpenseBudget",
    "BudgetEntry",
    "BudgetRow",
    "EscalatorType",
    "FixedFeeRow",
    "ForecastContract",
    "ForecastFacts",
    "ForecastTier",
    "LaborHourJobRow",
    "OtherExpenseForecast",
    "ParkingRate",
    "ParkingRateDetail",
    "PayrollDetail",
    "PtebBillingType",
    "RateCategory",
    "RevenueShareStructure",
    "SiteForecastInput",
    "SiteStatisticDetail",
    "StatisticType",
    "SupportBillingType",
    "SupportPayrollType",
    "parse_tiers",
]


def _require_decimals(obj: object) -> None:
    """Every non-None field annotated with ``Decimal`` must hold a finite ``Decimal`` (§0.1)."""
    for item in fields(obj):  # type: ignore[arg-type]
        if "Decimal" in str(item.type):
            value = getattr(obj, item.name)
            if value is not None:
                require_money(value, f"{type(obj).__name__}.{item.name}")


def _require_date(value: object, what: str) -> None:
    if value is not None and (isinstance(value, datetime.datetime) or not isinstance(value, datetime.date)):
        raise TypeError(f"{what} must be a datetime.date, got {value!r}")


def _require_month(value: object, what: str) -> None:
    if type(value) is not int or not 1 <= value <= 12:
        raise ValueError(f"{what} must be a month 1..12, got {value!r}")


def _active_on(start: datetime.date | None, end: datetime.date | None, day: datetime.date) -> bool:
    return (start is None or start <= day) and (end is None or end >= day)


# --- option sets -----------------------------------------------------------------------------------------


class StatisticType(enum.Enum):
    """``SiteStatisticDetail`` type (§1.7); the value is the Dataverse code."""

    BUDGET = 126840000
    FORECAST = 126840001
    ACTUAL = 126840002


class RateCategory(enum.Enum):
    """``ParkingRateDetail`` rate category (§1.7); the value is the Dataverse code."""

    VALET_OVERNIGHT = 126840000
    SELF_OVERNIGHT = 126840001
    VALET_DAILY = 126840002
    SELF_DAILY = 126840003
    VALET_MONTHLY = 126840004
    SELF_MONTHLY = 126840005
    VALET_AGGREGATOR = 126840006
    SELF_AGGREGATOR = 126840007


# The stored option sets are the invoice engine's; the forecast reads the same values (one definition each).
PtebBillingType = _codes.PtebBillingType
SupportBillingType = _codes.SupportServicesBillingType
SupportPayrollType = _codes.PayrollType
# PTEB escalator type (§1.5, §2.9). The C# calculator tests the name "Amount" while the stored enum name is
# "FixedAmount", so its fixed branch never fires; here FIXED_AMOUNT is additive (§7 #11).
EscalatorType = EscalationKind


class BudgetRow(enum.Enum):
    """Budget P&L rows the forecast falls back to (``PnlResponseDto.BudgetRows``, §2.2, §2.3, §2.9, §2.13).

    The value is the row's ``ColumnName``. ``OCCUPIED_ROOMS`` is the per-occupied-room budget room count, which
    the C# calculator reads positionally (``budgetRows[1]``, ``PerOccupiedRoom.BudgetRooms``).
    """

    INTERNAL_REVENUE = "InternalRevenue"
    EXTERNAL_REVENUE = "ExternalRevenue"
    PER_LABOR_HOUR = "PerLaborHour"
    PTEB = "Pteb"
    OCCUPIED_ROOMS = "BudgetRooms"


# --- contract terms --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FixedFeeRow:
    """``bs_fixedfeeservice`` row as the forecast reads it (§2.1): monthly ``fee`` (USD), active
    ``start_date``..``end_date`` inclusive (``end_date`` ``None`` = open). ``name`` only labels the breakdown."""

    fee: Decimal
    start_date: datetime.date
    end_date: datetime.date | None = None
    name: str = ""

    def __post_init__(self) -> None:
        _require_decimals(self)
        _require_date(self.start_date, "fixed-fee start date")
        _require_date(self.end_date, "fixed-fee end date")

    def is_active_on(self, day: datetime.date) -> bool:
        """``start ≤ day`` and (``end`` is None or ``end ≥ day``), as in ``FixedFeeCalculator``."""
        return _active_on(self.start_date, self.end_date, day)


@dataclass(frozen=True, slots=True)
class LaborHourJobRow:
    """``bs_laborhourjob`` row (§2.2): ``job_code`` matches the payroll detail's job code, ``rate`` USD/hour,
    active ``start_date``..``end_date`` inclusive. The overtime rate plays no part in the forecast (§7 #24)."""

    job_code: str
    rate: Decimal
    start_date: datetime.date
    end_date: datetime.date | None = None
    name: str = ""

    def __post_init__(self) -> None:
        _require_decimals(self)
        _require_date(self.start_date, "labor job start date")
        _require_date(self.end_date, "labor job end date")

    def is_active_on(self, day: datetime.date) -> bool:
        """Same activity test as :meth:`FixedFeeRow.is_active_on`."""
        return _active_on(self.start_date, self.end_date, day)


@dataclass(frozen=True, slots=True)
class ForecastTier:
    """One revenue-share tier as stored (``bs_tierdata`` item, §1.5) with the forecast's optional validity.

    ``share_percentage`` whole-number percent; ``amount`` USD — read by the forecast as the tier's **lower
    bound** (§2.4 "Forecast", §7 #1), unlike ``billing.tiers.Tier`` (cap). ``effective_from``/``effective_to``
    (inclusive, ``None`` = unbounded) select the tiers valid on the first day of the forecast month.
    """

    share_percentage: Decimal
    amount: Decimal
    effective_from: datetime.date | None = None
    effective_to: datetime.date | None = None

    def __post_init__(self) -> None:
        _require_decimals(self)
        _require_date(self.effective_from, "tier effective-from date")
        _require_date(self.effective_to, "tier effective-to date")

    def is_effective_on(self, day: datetime.date) -> bool:
        """``EffectiveFrom ≤ day ≤ EffectiveTo`` with missing bounds open, as in ``RevenueShareCalculator``."""
        return _active_on(self.effective_from, self.effective_to, day)


def _date_from_json(value: object, what: str) -> datetime.date | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{what} must be an ISO date string, got {value!r}")
    return datetime.date.fromisoformat(value[:10])


def parse_tiers(text: str) -> tuple[ForecastTier, ...]:
    """Parse a ``bs_tierdata`` JSON array ``[{"SharePercentage": p, "Amount": a, ...}]`` in stored order.

    Keys are matched case-insensitively (the store uses PascalCase, §2.10e); numbers become ``Decimal``
    exactly as written. Optional ``EffectiveFrom``/``EffectiveTo`` are ISO dates (a time part is ignored).
    ``EscalatorValue`` and unknown keys are ignored. A missing ``SharePercentage`` or ``Amount``, a
    non-array document or a ``NaN`` raises ``ValueError``.
    """
    data: Any = json.loads(text, parse_float=Decimal, parse_int=Decimal, parse_constant=Decimal)
    if not isinstance(data, list):
        raise ValueError(f"tier data must be a JSON array, got {text!r}")
    tiers: list[ForecastTier] = []
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            raise ValueError(f"tier {index} must be a JSON object, got {item!r}")
        keyed = {str(key).casefold(): value for key, value in item.items()}
        try:
            share, amount = keyed["sharepercentage"], keyed["amount"]
        except KeyError as missing:
            raise ValueError(f"tier {index} lacks {missing.args[0]!r}: {item!r}") from None
        if not isinstance(share, Decimal) or not isinstance(amount, Decimal):
            raise ValueError(f"tier {index} SharePercentage and Amount must be numbers: {item!r}")
        tiers.append(
            ForecastTier(
                share_percentage=share,
                amount=amount,
                effective_from=_date_from_json(keyed.get("effectivefrom"), f"tier {index} EffectiveFrom"),
                effective_to=_date_from_json(keyed.get("effectiveto"), f"tier {index} EffectiveTo"),
            )
        )
    return tuple(tiers)


@dataclass(frozen=True, slots=True)
class RevenueShareStructure:
    """A threshold structure ``bs_revenuesharethreshold`` (§1.5): its tiers in **stored** order."""

    tiers: tuple[ForecastTier, ...]
    name: str = ""


@dataclass(frozen=True, slots=True)
class BillableAccountRow:
    """``bs_billableaccount`` row as the forecast calculators read it (§1.5, §2.9 "Forecast").

    * ``additional_payroll_amount`` (USD, may be negative) is summed over rows with ``active`` True
      (``AdditionalPayrollAmountCalculator`` skips excluded/inactive rows).
    * PTEB and support settings are read from the **first** row only, active or not, as the C# calculators
      do (``BillableAccountsData.FirstOrDefault()``; §7 #21 makes BA 0..1 per contract anyway).
      PTEB: ``pteb_enabled``, ``pteb_billing_type``, ``pteb_percentage`` (whole %), escalator enabled / month
      (1..12) / type / value (whole % or USD). Support: ``support_enabled``, ``support_billing_type``,
      ``support_payroll_type``, ``support_amount`` (USD when Fixed, whole % when Percentage).
    """

    additional_payroll_amount: Decimal = ZERO
    active: bool = True
    pteb_enabled: bool = False
    pteb_billing_type: PtebBillingType | None = None
    pteb_percentage: Decimal | None = None
    pteb_escalator_enabled: bool = False
    pteb_escalator_month: int | None = None
    pteb_escalator_type: EscalatorType | None = None
    pteb_escalator_value: Decimal | None = None
    support_enabled: bool = False
    support_billing_type: SupportBillingType | None = None
    support_payroll_type: SupportPayrollType | None = None
    support_amount: Decimal | None = None

    def __post_init__(self) -> None:
        _require_decimals(self)
        if self.pteb_escalator_month is not None:
            _require_month(self.pteb_escalator_month, "PTEB escalator month")


@dataclass(frozen=True, slots=True)
class ForecastContract:
    """The contract terms the forecast reads (``InternalRevenueDataVo.Contract`` and its rows, §1.3, §1.5).

    ``site_number``: the site key of budget rows (e.g. ``"0170"``). ``building_blocks`` gate the calculators
    (§1.4). ``increment_month`` (1..12) and ``increment_amount`` (whole %) are the contract escalator that the
    fixed-fee and PLH forecasts compound (§2.1); it applies only when both are set and the amount is ≠ 0.
    ``occupied_room_rate`` USD/room. Row tuples keep stored order (it matters for the revenue-share tiers,
    §7 #1, and the first billable-account row).
    """

    site_number: str
    building_blocks: frozenset[BuildingBlock]
    increment_month: int | None = None
    increment_amount: Decimal | None = None
    occupied_room_rate: Decimal | None = None
    fixed_fees: tuple[FixedFeeRow, ...] = ()
    labor_jobs: tuple[LaborHourJobRow, ...] = ()
    revenue_share: tuple[RevenueShareStructure, ...] = ()
    billable_accounts: tuple[BillableAccountRow, ...] = ()

    def __post_init__(self) -> None:
        _require_decimals(self)
        if self.increment_month is not None:
            _require_month(self.increment_month, "contract increment month")

    @property
    def escalator(self) -> tuple[int, Decimal] | None:
        """``(increment_month, increment_amount)`` when the contract escalates, else ``None``.

        C# ``hasEscalatorRule``: ``IncrementMonth`` set and ``IncrementAmount`` set and ≠ 0.
        """
        if self.increment_month is None or self.increment_amount is None or self.increment_amount == 0:
            return None
        return self.increment_month, self.increment_amount

    def enables(self, block: BuildingBlock) -> bool:
        """Whether ``block`` is one of the contract's building blocks."""
        return block in self.building_blocks


# --- facts -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SiteStatisticDetail:
    """One ``SiteStatisticDetail`` (a day of a site's statistics, §1.7) of type Budget/Forecast/Actual.

    Counts (vehicles, rooms) per category; ``None`` = not entered (counts as 0 in sums, like LINQ ``Sum`` over
    nullable values).
    """

    date: datetime.date
    type: StatisticType
    occupied_rooms: Decimal | None = None
    valet_daily: Decimal | None = None
    valet_monthly: Decimal | None = None
    valet_overnight: Decimal | None = None
    valet_aggregator: Decimal | None = None
    self_daily: Decimal | None = None
    self_monthly: Decimal | None = None
    self_overnight: Decimal | None = None
    self_aggregator: Decimal | None = None

    def __post_init__(self) -> None:
        _require_decimals(self)
        _require_date(self.date, "site statistic date")

    def count(self, category: RateCategory) -> Decimal | None:
        """The count of ``category`` on this day."""
        return getattr(self, category.name.lower())  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class ParkingRateDetail:
    """``ParkingRateDetail`` (§1.7): the ``rate`` (USD per unit) of ``category`` in ``month`` (1..12)."""

    month: int
    category: RateCategory
    rate: Decimal | None

    def __post_init__(self) -> None:
        _require_decimals(self)
        _require_month(self.month, "parking rate month")


@dataclass(frozen=True, slots=True)
class ParkingRate:
    """``ParkingRate`` (site, year) with its details (§1.7)."""

    year: int
    details: tuple[ParkingRateDetail, ...]


@dataclass(frozen=True, slots=True)
class PayrollDetail:
    """``bs_payrolldetail`` of the forecast payroll of ``period`` (``bs_payroll.bs_period`` ``YYYY-MM``):
    ``regular_hours`` of ``job_code`` (``None`` = not entered, skipped). Only regular hours exist here (§7 #24).
    """

    period: ServicePeriod
    job_code: str
    regular_hours: Decimal | None

    def __post_init__(self) -> None:
        _require_decimals(self)


@dataclass(frozen=True, slots=True)
class BudgetEntry:
    """The site's budget value of ``row`` for ``period`` (one ``SiteDetails`` item of a budget P&L row)."""

    row: BudgetRow
    period: ServicePeriod
    value: Decimal

    def __post_init__(self) -> None:
        _require_decimals(self)


@dataclass(frozen=True, slots=True)
class BillableExpenseBudget:
    """``bs_billableexpense`` for (site, ``period``) (§1.7): budgets in USD. ``payroll_expense_budget`` is the
    payroll base of PTEB/support; ``billable_expense_budget`` the non-forecast expense accounts;
    ``other_expense_budget`` the fallback of the 12 forecastable accounts (§2.9 "Forecast")."""

    period: ServicePeriod
    payroll_expense_budget: Decimal = ZERO
    billable_expense_budget: Decimal = ZERO
    other_expense_budget: Decimal = ZERO

    def __post_init__(self) -> None:
        _require_decimals(self)


FORECASTABLE_ACCOUNTS: tuple[tuple[str, str], ...] = (
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
"""The 12 forecastable expense accounts of ``bs_otherexpensedetail`` (§2.9): (field name, legacy column)."""


@dataclass(frozen=True, slots=True)
class OtherExpenseForecast:
    """``bs_otherexpensedetail`` of ``period`` (``bs_monthyear`` ``YYYY-MM``): the 12 forecastable accounts
    in USD, ``None`` = not entered (counts 0)."""

    period: ServicePeriod
    employee_relations: Decimal | None = None
    fuel_vehicles: Decimal | None = None
    loss_and_damage_claims: Decimal | None = None
    office_supplies: Decimal | None = None
    outside_services: Decimal | None = None
    rents_parking: Decimal | None = None
    repairs_and_maintenance: Decimal | None = None
    repairs_and_maintenance_vehicle: Decimal | None = None
    signage: Decimal | None = None
    supplies_and_equipment: Decimal | None = None
    tickets_and_printed_material: Decimal | None = None
    uniforms: Decimal | None = None

    def __post_init__(self) -> None:
        _require_decimals(self)

    def accounts(self) -> tuple[tuple[str, Decimal | None], ...]:
        """``(legacy column, value)`` of the 12 accounts in the C# order."""
        return tuple((column, getattr(self, name)) for name, column in FORECASTABLE_ACCOUNTS)


@dataclass(frozen=True, slots=True)
class ForecastFacts:
    """A site's forecast facts for the forecast year (§1.7): statistics, parking rates, forecast payroll,
    budget values, billable-expense budgets and other-expense forecasts. Lookups take the first match."""

    statistics: tuple[SiteStatisticDetail, ...] = ()
    parking_rates: tuple[ParkingRate, ...] = ()
    payroll: tuple[PayrollDetail, ...] = ()
    budget: tuple[BudgetEntry, ...] = ()
    billable_expenses: tuple[BillableExpenseBudget, ...] = ()
    other_expenses: tuple[OtherExpenseForecast, ...] = ()

    def budget_value(self, row: BudgetRow, period: ServicePeriod) -> Decimal | None:
        """The site's budget value of ``row`` for ``period``, ``None`` if absent."""
        return next(
            (entry.value for entry in self.budget if entry.row is row and entry.period == period), None
        )

    def billable_expense(self, period: ServicePeriod) -> BillableExpenseBudget | None:
        """The ``bs_billableexpense`` record of ``period``, ``None`` if absent (the C# repository reads 0)."""
        return next((item for item in self.billable_expenses if item.period == period), None)

    def other_expense(self, period: ServicePeriod) -> OtherExpenseForecast | None:
        """The ``bs_otherexpensedetail`` row of ``period``, ``None`` if absent."""
        return next((item for item in self.other_expenses if item.period == period), None)


@dataclass(frozen=True, slots=True)
class SiteForecastInput:
    """Everything the P&L pipeline needs for one site: its contract terms and its facts."""

    contract: ForecastContract
    facts: ForecastFacts = ForecastFacts()
