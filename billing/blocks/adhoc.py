"""Carried-over ad-hoc lines as invoice lines (domain.md §3.3, §3.4)."""

from __future__ import annotations

from ..codes import AdhocLineType
from ..lines import AdhocLine, InvoiceLine

__all__ = ["adhoc_invoice_line"]

_FORCED_NEGATIVE = (AdhocLineType.CLIENT_PAID_EXPENSE, AdhocLineType.NON_BILLABLE_EXPENSE)


def adhoc_invoice_line(adhoc: AdhocLine, *, entered: bool = False) -> InvoiceLine:
    """The invoice line of an ad-hoc line (§3.4): carried over from the previous version (§3.3), or
    ``entered`` now by a billing manager on an unsent invoice. The one place of the sign and flag rule.

    ``is_adhoc``; client-paid and non-billable expenses are forced negative (``−|amount|``) and flagged
    ``is_profit_deduction`` + ``is_client_paid_expense`` and ``is_non_billable_expense`` respectively; the
    other types keep their sign. ``building_block`` is ``None``: no block produces it.
    """
    kind = adhoc.adhoc_type
    forced = kind in _FORCED_NEGATIVE
    amount = -abs(adhoc.amount) if forced else adhoc.amount
    sign_note = (
        f" Forced negative (§3.4): −|{adhoc.amount}| = {amount}." if forced and amount != adhoc.amount else ""
    )
    return InvoiceLine(
        building_block=None,
        title=adhoc.title,
        code=adhoc.code,
        amount=amount,
        description=adhoc.description,
        explanation=(
            f"§3.4 ad-hoc line ({kind.label}) entered by a billing manager on invoice group "
            f"{adhoc.invoice_group}: amount {adhoc.amount} as entered.{sign_note}"
            if entered
            else f"§3.4 ad-hoc line ({kind.label}) carried over from the previous version of the statement "
            f"(§3.3), invoice group {adhoc.invoice_group}: amount {adhoc.amount} as entered.{sign_note}"
        ),
        is_adhoc=True,
        is_profit_deduction=kind is AdhocLineType.CLIENT_PAID_EXPENSE,
        is_client_paid_expense=kind is AdhocLineType.CLIENT_PAID_EXPENSE,
        is_non_billable_expense=kind is AdhocLineType.NON_BILLABLE_EXPENSE,
        adhoc_type=kind,
        line_item_id=adhoc.line_item_id,
    )
