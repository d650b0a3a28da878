"""The statement builder: contract configuration + period facts → invoices (domain.md §2.0, §2.11, §3)."""

from __future__ import annotations

import datetime
from dataclasses import replace

from .blocks import BLOCKS, LINE_ORDER
from .codes import BillingType, BuildingBlock, RateSelection
from .config import ContractConfig, InvoiceGroup
from .facts import PeriodFacts
from .lines import BillingPreview, Invoice, InvoiceLine
from .money import ZERO, round2
from .numbering import invoice_number, normalize_site_number
from .period import ServicePeriod

__all__ = ["preview", "rate_selection_date", "statement_groups"]


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
) -> BillingPreview:
    """Compute the statement of ``config``'s site for ``period`` without persisting anything (§2.0, §3).

    For each invoice group (:func:`statement_groups`) every enabled, implemented block runs in §2.11 order
    (gate 1 here, gate 2 in the block) with the rows active on :func:`rate_selection_date`. Each line amount
    is stored at cents (``round2``, §0.1; a fee already in cents is unchanged); lines at 0.00 are dropped
    (§2.0 #5); a group gets an invoice only if a line remains, with amount = Σ its lines (non-MA rule, §2.11),
    number per §3.4 and date per §3.2. ``facts`` defaults to ``PeriodFacts()``; ``version`` is the statement
    version (>= 1, §3.3).

    Raises ``ValueError`` for a version below 1 or ``LEGACY_NOW`` without ``now``, ``PeriodError`` for a
    period whose dates leave year 1..9999.
    """
    if type(version) is not int or version < 1:
        raise ValueError(f"statement version must be an int >= 1, got {version!r}")
    selection_date = rate_selection_date(config.billing_type, period, rate_selection, now)
    facts = PeriodFacts() if facts is None else facts
    groups, group_warnings = statement_groups(config)
    enabled = [block for block in LINE_ORDER if block in config.building_blocks]
    specs = [BLOCKS[block] for block in enabled if block in BLOCKS]
    invoice_date = period.invoice_date(config.billing_type)

    invoices: list[Invoice] = []
    for group in groups:
        results = [spec.calculate(config, group.number, period, facts, selection_date) for spec in specs]
        lines = tuple(line for result in results for line in map(_at_cents, result.lines) if line.amount != 0)
        if not lines:
            continue
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
                lines=lines,
                amount=sum((line.amount for line in lines), ZERO),
            )
        )

    group_numbers = frozenset(group.number for group in groups)
    warnings = [*group_warnings]
    for spec in specs:
        warnings.extend(spec.diagnose(config, group_numbers, selection_date))
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
    )


def _at_cents(line: InvoiceLine) -> InvoiceLine:
    # Invoice lines are persisted in 2-dp columns (§0.1); rounding here, once, keeps "invoice amount =
    # Σ lines" exact for every block, and the note keeps the pre-rounding figure checkable.
    cents = round2(line.amount)
    if cents == line.amount:
        return replace(line, amount=cents)
    note = f" Stored at cents (§0.1): round2({line.amount}) = {cents}."
    return replace(line, amount=cents, explanation=line.explanation + note)
