"""Revenue Share and its validations, code 126840004 (domain.md §2.4, §2.5; flows ``RevenueSharing``,
``Validations``)."""

from __future__ import annotations

import datetime
import itertools
from collections import Counter
from decimal import Decimal

from ..codes import AccumulationType, BuildingBlock, ValidationThresholdType
from ..config import ContractConfig, ThresholdStructure
from ..facts import PeriodFacts, RevenueRow
from ..lines import InvoiceLine, RevenueShareItem, ValidationItem
from ..money import HUNDRED, ZERO, format_amount
from ..period import ServicePeriod
from ..tiers import Tier, cap_tiers
from .base import DEFAULT_OPTIONS, EMPTY, BlockOptions, BlockResult, BlockSpec
from .common import (
    CODE_TP_FEES,
    PER_MAN_HOUR,
    flag,
    gate_2_warning,
    month_revenue,
    revenue_share_accumulation_start,
    row_count,
)

__all__ = ["REVENUE_SHARE", "calculate", "diagnose", "validation_over_threshold"]

_LABEL = BuildingBlock.REVENUE_SHARE.label
_BELL_CODES = frozenset({"OR1", "OR2"})


def _shareable(row: RevenueRow, codes: frozenset[str]) -> bool:
    return flag(row) != "V" and row.category != PER_MAN_HOUR and row.revenue_code in codes


def tier_text(tiers: tuple[Tier, ...]) -> str:
    """``[cap 45000 @ 0 %, cap ∞ @ 25 %]``: tiers as the explanation prints them."""
    parts = [f"cap {'∞' if tier.amount == 0 else tier.amount} @ {tier.share_percentage} %" for tier in tiers]
    return "[" + ", ".join(parts) + "]"


def _structure(
    number: int,
    structure: ThresholdStructure,
    config: ContractConfig,
    period: ServicePeriod,
    facts: PeriodFacts,
    options: BlockOptions,
) -> tuple[Decimal, tuple[RevenueShareItem, ...], str]:
    codes = frozenset(structure.revenue_codes)
    bell = BuildingBlock.BELL_SERVICE in config.building_blocks
    month_codes = codes - _BELL_CODES if bell else codes
    month_rows = [row for row in month_revenue(facts, period) if _shareable(row, month_codes)]
    month_amount = sum((row.net_external_revenue for row in month_rows), ZERO)
    bell_note = (
        " OR1/OR2 excluded because Bell Service is enabled (§2.6)." if bell and codes & _BELL_CODES else ""
    )

    if structure.accumulation_type.is_annual:
        anniversary = structure.accumulation_type is AccumulationType.ANNUAL_ANNIVERSARY
        start, rule = revenue_share_accumulation_start(
            anniversary, config.site_start_date, period, options.accumulation_start
        )
        prior_rows = [
            row for row in facts.revenue if start <= row.date < period.start and _shareable(row, codes)
        ]
        prior = sum((row.net_external_revenue for row in prior_rows), ZERO)
        prior_text = (
            f"{structure.accumulation_type.name}: Prior = Σ net revenue of {row_count(prior_rows)} rows dated "
            f"{start.isoformat()}..{period.start.isoformat()} (exclusive; same filters, OR1/OR2 not excluded, "
            f"as the flow) = {prior}; accumulation start by the {rule}."
        )
    else:
        prior = ZERO
        prior_text = "MONTHLY: Prior = 0 (reset for every structure, §7 #20)."

    shares = cap_tiers(month_amount, prior, structure.tiers)
    items = tuple(
        RevenueShareItem(
            threshold_structure=number,
            tier_index=share.tier_index,
            revenue_amount=share.revenue_amount,
            share_percentage=share.share_percentage,
            amount_due=share.amount_due,
            tier_limit=share.tier_limit,
        )
        for share in shares
    )
    tier_lines = "; ".join(
        f"tier {share.tier_index + 1} (cap {'∞' if share.tier_limit == 0 else share.tier_limit}): "
        f"{share.revenue_amount} × {share.share_percentage} % = {share.amount_due}"
        for share in shares
    )
    skipped = len(structure.tiers) - len(shares)
    skipped_text = f" {skipped} tier(s) skipped, already consumed by Prior." if skipped else ""
    text = (
        f"Structure {number}: codes {', '.join(structure.revenue_codes) or 'none'}; Rm = Σ net external "
        f"revenue of {row_count(month_rows)} rows in {period.key} (flag ≠ 'V', category ≠ 'Per Man Hour') = "
        f"{month_amount}.{bell_note} {prior_text} Tiers {tier_text(structure.tiers)} on T = Rm + Prior = "
        f"{month_amount + prior}: {tier_lines or 'no tier'}.{skipped_text}"
    )
    return month_amount, items, text


def calculate(
    config: ContractConfig,
    group_number: int,
    period: ServicePeriod,
    facts: PeriodFacts,
    selection_date: datetime.date,
    options: BlockOptions = DEFAULT_OPTIONS,
) -> BlockResult:
    """Revenue-share line and validation line (code 4790) of invoice group ``group_number`` (§2.4, §2.5).

    Gate: the first threshold structure's group (no default); all structures then feed one line. Per
    structure k in stored order: ``Rm_k`` = Σ NETEXTERNALREVENUE of the month's rows with DEPOSIT_FLAG ≠ 'V',
    category ≠ 'Per Man Hour', code in the structure's codes (minus OR1/OR2 when Bell Service is enabled);
    annual structures add ``Prior_k`` (same filters, OR1/OR2 kept, dates ``[acc_start, P_start)``; start per
    ``options.accumulation_start``, §7 #9), monthly ones use 0 (§7 #20); tiers via
    :func:`billing.tiers.cap_tiers`. Line "Towne Park Fees for Services" = Σ due (USD, unrounded),
    description "Total Base for Fee Calculation: $" + Σ Rm_k; its ``revenue_share_items`` are the
    distribution items. Then the validation line (:func:`_validations`).
    """
    structures = config.threshold_structures
    if not structures or structures[0].invoice_group != group_number:
        return EMPTY
    base = ZERO
    items: list[RevenueShareItem] = []
    texts: list[str] = []
    for number, structure in enumerate(structures, start=1):
        month_amount, structure_items, text = _structure(number, structure, config, period, facts, options)
        base += month_amount
        items.extend(structure_items)
        texts.append(text)
    due = sum((item.amount_due for item in items), ZERO)
    share_line = InvoiceLine(
        building_block=BuildingBlock.REVENUE_SHARE,
        title="Towne Park Fees for Services",
        code=CODE_TP_FEES,
        amount=due,
        description=f"Total Base for Fee Calculation: ${format_amount(base)}",
        explanation=(
            f"§2.4 Revenue Share (cap tiers in stored order, 0 = unlimited, §7 #1): amount = Σ due over all "
            f"structures and tiers = {due} (unrounded); base printed = Σ Rm = {base}. " + " ".join(texts)
        ),
        revenue_share_items=tuple(items),
    )
    validation_line, warnings = _validations(structures[0], tuple(items), period, facts)
    lines = (share_line,) if validation_line is None else (share_line, validation_line)
    return BlockResult.of(lines, warnings)


def validation_over_threshold(
    threshold_type: ValidationThresholdType, validations: Decimal, revenue: Decimal, threshold: Decimal
) -> tuple[Decimal, str]:
    """Validation value over the threshold, O (§2.5) or ``over`` (§2.10d), never negative, with its formula.

    ``VEHICLE_COUNT``: all validations, threshold ignored (§7 #19). ``REVENUE_PERCENTAGE``: above
    ``revenue × threshold/100``. ``VALIDATION_AMOUNT``: above ``threshold`` USD.
    """
    if threshold_type is ValidationThresholdType.VEHICLE_COUNT:
        over = max(validations, ZERO)
        return over, (
            f"VehicleCount: over = all validations = {over} — the threshold is IGNORED and all validation "
            "revenue is charged, as the flow does despite the name (§7 #19)"
        )
    if threshold_type is ValidationThresholdType.REVENUE_PERCENTAGE:
        limit = revenue * threshold / HUNDRED
        over = max(validations - limit, ZERO)
        return over, (
            f"RevenuePercentage: limit = revenue {revenue} × {threshold}/100 = {limit}; over = max(validations "
            f"{validations} − limit, 0) = {over}"
        )
    over = max(validations - threshold, ZERO)
    return (
        over,
        f"ValidationAmount: over = max(validations {validations} − threshold {threshold}, 0) = {over}",
    )


def _validations(
    first: ThresholdStructure, items: tuple[RevenueShareItem, ...], period: ServicePeriod, facts: PeriodFacts
) -> tuple[InvoiceLine | None, tuple[str, ...]]:
    threshold_type = first.validation_threshold_type
    if threshold_type is None:
        return None, ()
    rows = [row for row in month_revenue(facts, period) if flag(row) == "V"]
    validations = sum((row.billable_net_validation for row in rows), ZERO)
    total_revenue = sum((item.revenue_amount for item in items), ZERO)
    threshold = ZERO if first.validation_threshold_amount is None else first.validation_threshold_amount
    over, over_text = validation_over_threshold(threshold_type, validations, total_revenue, threshold)
    first_items = [item for item in items if item.threshold_structure == 1]
    weight_base = sum((item.revenue_amount for item in first_items), ZERO)
    inputs = (
        f"V = Σ billable net validation of {row_count(rows)} validation rows (flag 'V', all codes) in {period.key} "
        f"= {validations}; revenue = Σ revenue of all distribution items = {total_revenue}; threshold "
        f"{'unset ⇒ 0' if first.validation_threshold_amount is None else threshold}; {over_text}."
    )
    if over <= 0:
        return None, ()
    if weight_base == 0:
        warning = (
            f"{_LABEL} validations: {over} over the threshold, but structure 1 has no revenue to weight the "
            "tiers by (W = 0): validation fee 0 (the flow divides by zero, §7 #22)"
        )
        return None, (warning,)
    validation_items = tuple(
        ValidationItem(
            tier_index=item.tier_index,
            revenue_amount=item.revenue_amount,
            share_percentage=item.share_percentage,
            weight=item.revenue_amount / weight_base,
            amount_over_threshold=over,
            amount_due=item.share_percentage * item.revenue_amount * over / (HUNDRED * weight_base),
        )
        for item in first_items
    )
    amount = sum((item.amount_due for item in validation_items), ZERO)
    allocation = "; ".join(
        f"tier {item.tier_index + 1}: {item.share_percentage} % × {item.revenue_amount}/{weight_base} × {over} "
        f"= {item.amount_due}"
        for item in validation_items
    )
    line = InvoiceLine(
        building_block=BuildingBlock.REVENUE_SHARE,
        title="Towne Park Fees for Validated Parking",
        code=CODE_TP_FEES,
        amount=amount,
        explanation=(
            f"§2.5 Validations (a separate positive line, §7 #2): amount = Σ over the structure-1 tiers of "
            f"p_i/100 × rev_i/W × over = {amount}, W = Σ structure-1 tier revenue = {weight_base}. {inputs} "
            f"Allocation: {allocation}."
        ),
        validation_items=validation_items,
    )
    return line, ()


def diagnose(
    config: ContractConfig, group_numbers: frozenset[int], selection_date: datetime.date
) -> tuple[str, ...]:
    """Missing structures or group, tier-order and code-allocation problems, fallbacks (§2.4, §2.5)."""
    structures = config.threshold_structures
    if not structures:
        return (f"{_LABEL} is enabled but the contract has no threshold structures: not billed",)
    warnings: list[str] = []
    first = structures[0]
    gate = gate_2_warning(
        _LABEL, first.invoice_group, group_numbers, unset_subject=f"{_LABEL}: the first threshold structure"
    )
    if gate:
        warnings.append(gate)
    for number, structure in enumerate(structures, start=1):
        if structure.invoice_group != first.invoice_group:
            warnings.append(
                f"{_LABEL} structure {number} names invoice group {structure.invoice_group}, but every "
                f"structure bills with the first one's group ({first.invoice_group}) (§2.4)"
            )
        if not structure.tiers:
            warnings.append(f"{_LABEL} structure {number} has no tiers: it bills nothing")
        caps = [tier.amount for tier in structure.tiers]
        limited = [cap for cap in caps if cap != 0]
        if any(cap == 0 for cap in caps[:-1]) or any(
            low >= high for low, high in itertools.pairwise(limited)
        ):
            warnings.append(
                f"{_LABEL} structure {number} tiers {tier_text(structure.tiers)} are not ascending caps with the "
                "unlimited (0) tier last: the flow's reading double-counts (§2.4, §5 T-2)"
            )
        if (
            structure.accumulation_type is AccumulationType.ANNUAL_ANNIVERSARY
            and config.site_start_date is None
        ):
            warnings.append(
                f"{_LABEL} structure {number} accumulates from the site anniversary but the contract has no "
                "site start date: accumulating from Jan 1 of the service year instead"
            )
    counts = Counter(code for structure in structures for code in structure.revenue_codes)
    repeated = sorted(code for code, count in counts.items() if count > 1)
    if repeated:
        warnings.append(
            f"{_LABEL}: revenue codes {', '.join(repeated)} are allocated to more than one structure (the UI "
            "requires exactly once, §1.5): their revenue is shared more than once"
        )
    if (
        first.validation_threshold_type
        in (
            ValidationThresholdType.REVENUE_PERCENTAGE,
            ValidationThresholdType.VALIDATION_AMOUNT,
        )
        and first.validation_threshold_amount is None
    ):
        warnings.append(f"{_LABEL} validation threshold amount is unset: read as 0")
    return tuple(warnings)


REVENUE_SHARE = BlockSpec(calculate=calculate, diagnose=diagnose)
