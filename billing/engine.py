"""The statement builder: contract configuration + period facts → invoices (domain.md §2.0, §2.11, §3)."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, replace

from .blocks import ADHOC_AFTER, BLOCKS, LINE_ORDER, BlockOptions
from .blocks.adhoc import adhoc_invoice_line
from .blocks.common import revenue_share_accumulation_start, service_year_accumulation_start
from .blocks.profit_share import profit_share_applies, settle_profit_share
from .codes import AccumulationStart, AccumulationType, BillingType, BuildingBlock, ClaimsType, RateSelection
from .config import ContractConfig, InvoiceGroup
from .facts import PeriodFacts
from .lines import (
    AdhocLine,
    BillingPreview,
    Invoice,
    InvoiceLine,
    ProfitShareSummary,
    RevenueShareItem,
    ValidationItem,
)
from .money import ZERO, round2
from .numbering import invoice_number, normalize_site_number
from .period import ServicePeriod

__all__ = [
    "FactNeeds",
    "earliest_fact_date",
    "fact_needs",
    "preview",
    "rate_selection_date",
    "statement_groups",
]


def rate_selection_date(
    billing_type: BillingType,
    period: ServicePeriod,
    rate_selection: RateSelection = RateSelection.NATURAL_GENERATION_DATE,
    now: datetime.date | None = None,
) -> datetime.date:
    """Day whose active rate/fee rows the statement of ``period`` bills (§2.15, §7 #15).

    ``NATURAL_GENERATION_DATE``: :meth:`ServicePeriod.natural_generation_date` (``now`` is ignored).
    ``LEGACY_NOW``: ``now``, which is then required (``ValueError`` if ``None``). A ``datetime`` is refused
    (``TypeError``): which calendar day it falls on depends on a time zone the engine does not know.
    """
    if rate_selection is RateSelection.NATURAL_GENERATION_DATE:
        return period.natural_generation_date(billing_type)
    if now is None:
        raise ValueError("rate selection LEGACY_NOW needs `now`, the generation date of the legacy run")
    if isinstance(now, datetime.datetime):
        raise TypeError(f"`now` must be a datetime.date, got datetime {now!r}; take its date in site time")
    return now


def statement_groups(config: ContractConfig) -> tuple[tuple[InvoiceGroup, ...], tuple[str, ...]]:
    """Invoice groups a statement loops over, by number, and warnings about them (§1.5, §2.0).

    The contract's groups when ``INVOICE_GROUPING`` is enabled and it has some; otherwise the implicit
    group ``InvoiceGroup(1)`` (no title, the contract's site number).
    """
    grouping = BuildingBlock.INVOICE_GROUPING in config.building_blocks
    configured = tuple(sorted(config.invoice_groups, key=lambda group: group.number))
    if grouping and configured:
        return configured, ()
    if grouping:
        warning = (
            f"{BuildingBlock.INVOICE_GROUPING.label} is enabled but the contract has no invoice groups: "
            "everything is billed on the implicit group 1"
        )
        return (InvoiceGroup(1),), (warning,)
    if configured:
        numbers = ", ".join(str(group.number) for group in configured)
        warning = (
            f"{BuildingBlock.INVOICE_GROUPING.label} is not enabled: the contract's invoice groups "
            f"({numbers}) are ignored and only the implicit group 1 is billed"
        )
        return (InvoiceGroup(1),), (warning,)
    return (InvoiceGroup(1),), ()


def preview(
    config: ContractConfig,
    period: ServicePeriod,
    facts: PeriodFacts | None = None,
    *,
    version: int = 1,
    rate_selection: RateSelection = RateSelection.NATURAL_GENERATION_DATE,
    now: datetime.date | None = None,
    adhoc_lines: Sequence[AdhocLine] = (),
    accumulation_start: AccumulationStart = AccumulationStart.INTENDED,
) -> BillingPreview:
    """Compute the statement of ``config``'s site for ``period`` without persisting anything (§2.0, §3).

    For each invoice group (:func:`statement_groups`) every enabled, implemented block runs in §2.11 order
    (gate 1 here, gate 2 in the block) with the rows active on :func:`rate_selection_date`; the
    carried-over ``adhoc_lines`` of the group follow the per-labor-hour slot (§2.11, §3.3; client-paid and
    non-billable ones forced negative, §3.4). Each line amount is stored at cents (``round2``, §0.1).
    On the management agreement's invoice the profit-share pass then runs on all its lines (§2.10e).
    Lines at 0.00 are dropped (§2.0 #5); a group gets an invoice only if a line remains, with amount =
    Σ its lines (non-MA rule, §2.11) or round2(Σ lines other than profit share + AmountDue) (MA rule,
    §2.10e), number per §3.4 and date per §3.2. ``facts`` defaults to ``PeriodFacts()``; ``version`` is the
    statement version (>= 1, §3.3); ``accumulation_start`` chooses the intended or the legacy revenue-share
    accumulation start (§7 #9).

    Raises ``ValueError`` for a version below 1 or ``LEGACY_NOW`` without ``now``, ``PeriodError`` for a
    period whose dates leave year 1..9999, ``TypeError`` for an ad-hoc line that is not an ``AdhocLine``.
    """
    if type(version) is not int or version < 1:
        raise ValueError(f"statement version must be an int >= 1, got {version!r}")
    for adhoc in adhoc_lines:
        if not isinstance(adhoc, AdhocLine):
            raise TypeError(f"ad-hoc lines must be AdhocLine values, got {adhoc!r}")
    selection_date = rate_selection_date(config.billing_type, period, rate_selection, now)
    facts = PeriodFacts() if facts is None else facts
    options = BlockOptions(accumulation_start=accumulation_start)
    groups, group_warnings = statement_groups(config)
    enabled = [block for block in LINE_ORDER if block in config.building_blocks]
    computed = [block for block in enabled if block in BLOCKS]
    invoice_date = period.invoice_date(config.billing_type)
    warnings = [*group_warnings]

    invoices: list[Invoice] = []
    share_items: list[RevenueShareItem] = []
    validation_items: list[ValidationItem] = []
    statement_profit_share: ProfitShareSummary | None = None
    for group in groups:
        raw: list[InvoiceLine] = []
        for block in LINE_ORDER:
            if block in computed:
                result = BLOCKS[block].calculate(config, group.number, period, facts, selection_date, options)
                raw.extend(result.lines)
                warnings.extend(result.warnings)
            if block is ADHOC_AFTER:
                raw.extend(adhoc_invoice_line(a) for a in adhoc_lines if a.invoice_group == group.number)
        lines = [_at_cents(line) for line in raw]
        for line in lines:
            share_items.extend(line.revenue_share_items)
            validation_items.extend(line.validation_items)
        profit_share: ProfitShareSummary | None = None
        if BuildingBlock.MANAGEMENT_AGREEMENT in computed and profit_share_applies(config, group.number):
            lines, profit_share = settle_profit_share(
                config, group.number, period, facts, lines, invoice_date
            )
            lines = [_at_cents(line) for line in lines]
            statement_profit_share = profit_share
        kept = tuple(line for line in lines if line.amount != 0)
        if not kept:
            continue
        if profit_share is None:
            amount = sum((line.amount for line in kept), ZERO)
        else:
            others = sum((line.amount for line in kept if not line.is_profit_share), ZERO)
            amount = round2(others + profit_share.amount_due)
        site = config.site_number if group.site_number is None else group.site_number
        invoices.append(
            Invoice(
                group_number=group.number,
                invoice_number=invoice_number(site, period, config.billing_type, group.number, version),
                invoice_date=invoice_date,
                title=group.title,
                description=group.description,
                payment_terms=config.payment_terms,
                purchase_order=config.purchase_order,
                lines=kept,
                amount=amount,
                profit_share=profit_share,
            )
        )

    group_numbers = frozenset(group.number for group in groups)
    for block in computed:
        warnings.extend(BLOCKS[block].diagnose(config, group_numbers, selection_date))
    warnings.extend(
        f"ad-hoc line {adhoc.title!r} ({adhoc.amount}) routes to invoice group {adhoc.invoice_group}, which "
        "the statement does not have: not billed"
        for adhoc in adhoc_lines
        if adhoc.invoice_group not in group_numbers
    )
    if not invoices:
        warnings.append(
            "no invoice: no invoice group has a non-zero line from the computed blocks "
            "(the legacy flow would mark the statement task Failed, §2.0 #6)"
        )
    return BillingPreview(
        site_number=normalize_site_number(config.site_number),
        service_period=period,
        billing_type=config.billing_type,
        version=version,
        rate_selection_date=selection_date,
        invoices=tuple(invoices),
        total=sum((invoice.amount for invoice in invoices), ZERO),
        not_computed=tuple(block for block in enabled if block not in BLOCKS),
        warnings=tuple(warnings),
        revenue_share_items=tuple(share_items),
        validation_items=tuple(validation_items),
        profit_share=statement_profit_share,
    )


def earliest_fact_date(
    config: ContractConfig,
    period: ServicePeriod,
    accumulation_start: AccumulationStart = AccumulationStart.INTENDED,
) -> datetime.date:
    """First day whose facts :func:`preview` reads for ``period``: ``P_start``, or an earlier accumulation
    start of an annual revenue-share structure (§2.4, per ``accumulation_start``), of annual claims
    (§2.10b) or of annual profit share (§2.10e, whose earlier invoices are dated after it). Load revenue,
    ledger and prior profit-share facts from this date (the legacy revenue-share rule can reach years back).
    """
    starts = [period.start]
    if BuildingBlock.REVENUE_SHARE in config.building_blocks:
        for structure in config.threshold_structures:
            if structure.accumulation_type.is_annual:
                anniversary = structure.accumulation_type is AccumulationType.ANNUAL_ANNIVERSARY
                start, _ = revenue_share_accumulation_start(
                    anniversary, config.site_start_date, period, accumulation_start
                )
                starts.append(start)
    agreement = config.management_agreement
    if BuildingBlock.MANAGEMENT_AGREEMENT in config.building_blocks and agreement is not None:
        if agreement.claims_enabled and agreement.claims_type in (
            ClaimsType.ANNUAL_CALENDAR,
            ClaimsType.ANNUAL_ANNIVERSARY,
        ):
            anniversary = agreement.claims_type is ClaimsType.ANNUAL_ANNIVERSARY
            starts.append(service_year_accumulation_start(anniversary, config.site_start_date, period)[0])
        accumulation = agreement.profit_share_accumulation_type
        if agreement.profit_share_enabled and accumulation is not None and accumulation.is_annual:
            anniversary = accumulation is AccumulationType.ANNUAL_ANNIVERSARY
            starts.append(service_year_accumulation_start(anniversary, config.site_start_date, period)[0])
    return min(starts)


@dataclass(frozen=True, slots=True)
class FactNeeds:
    """What :func:`preview` reads of a site's facts for one period, so that a loader fetches only that.

    ``start``: :func:`earliest_fact_date` (revenue, ledger and prior profit shares from then on; occupied
    rooms and timesheets are read in the service month only, §2.0 #3). ``job_codes``: the timesheet
    ``WORK_ROLE`` values any block reads (§2.2 per-labor-hour jobs, §2.10a management-fee jobs); timesheet
    rows of other job codes are never read. ``revenue``: whether a block reads revenue rows (§2.4–§2.6, §2.8,
    §2.10a/d/e); ``occupied_rooms`` (§2.3); ``ledger``: balances (§2.9, §2.10b/c); ``prior_profit_shares``:
    earlier statements' monthly profit (§2.10e).
    """

    start: datetime.date
    job_codes: frozenset[str] = frozenset()
    revenue: bool = True
    occupied_rooms: bool = True
    ledger: bool = True
    prior_profit_shares: bool = True


def fact_needs(
    config: ContractConfig,
    period: ServicePeriod,
    accumulation_start: AccumulationStart = AccumulationStart.INTENDED,
) -> FactNeeds:
    """The facts :func:`preview` of ``config`` for ``period`` reads (:class:`FactNeeds`), by gate 1 (§2.0):
    which enabled blocks read which facts. Job codes of every configured row of an enabled block are
    included, active on the rate-selection date or not, and of any invoice group: a superset of what gate 2
    and the rate-selection date (§2.15) let through is enough."""
    blocks = config.building_blocks
    codes: set[str] = set()
    if BuildingBlock.PER_LABOR_HOUR in blocks:
        codes.update(job.job_code for job in config.labor_hour_jobs)
    agreement = config.management_agreement
    if BuildingBlock.MANAGEMENT_AGREEMENT in blocks and agreement is not None:
        codes.update(job.code for job in agreement.per_labor_hour_job_code_data)
    return FactNeeds(
        start=earliest_fact_date(config, period, accumulation_start),
        job_codes=frozenset(codes),
        revenue=bool(blocks & _REVENUE_READERS),
        occupied_rooms=BuildingBlock.PER_OCCUPIED_ROOM in blocks,
        ledger=bool(blocks & _LEDGER_READERS),
        prior_profit_shares=BuildingBlock.MANAGEMENT_AGREEMENT in blocks,
    )


# Blocks whose calculation reads revenue rows or ledger balances (the management agreement reads both: fee
# revenue, validations and profit share; payroll, PTEB, insurance and claims).
_REVENUE_READERS = frozenset(
    {
        BuildingBlock.REVENUE_SHARE,
        BuildingBlock.BELL_SERVICE,
        BuildingBlock.DEPOSITED_REVENUE,
        BuildingBlock.MANAGEMENT_AGREEMENT,
    }
)
_LEDGER_READERS = frozenset({BuildingBlock.BILLABLE_ACCOUNTS, BuildingBlock.MANAGEMENT_AGREEMENT})


def _at_cents(line: InvoiceLine) -> InvoiceLine:
    # Invoice lines are persisted in 2-dp columns (§0.1); rounding here, once, keeps "invoice amount =
    # Σ lines" exact for every block, and the note keeps the pre-rounding figure checkable.
    cents = round2(line.amount)
    if cents == line.amount:
        return replace(line, amount=cents)
    note = f" Stored at cents (§0.1): round2({line.amount}) = {cents}."
    return replace(line, amount=cents, explanation=line.explanation + note)
