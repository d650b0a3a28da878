"""Invoice numbers (domain.md §3.4) and the canonical site-number form (§0.1)."""

from __future__ import annotations

from .codes import BillingType
from .period import ServicePeriod

__all__ = ["invoice_number", "normalize_site_number"]


def normalize_site_number(site_number: str) -> str:
    """Canonical site number: ASCII digits, zero padded to 4 (``"349"`` → ``"0349"``, §0.1).

    The markdown export lost leading zeros, hence the padding. Raises ``ValueError`` for an empty or
    non-numeric value.
    """
    text = site_number.strip()
    if not (text.isascii() and text.isdigit()):
        raise ValueError(f"site number must be digits, got {site_number!r}")
    return text.zfill(4)


def invoice_number(
    site_number: str, period: ServicePeriod, billing_type: BillingType, group_number: int, version: int
) -> str:
    """Invoice number ``{site}-{yyyyMM}-{GG}-{VV}`` (§3.4), e.g. ``"0349-202504-01-01"``.

    ``site_number`` is the invoice group's override or the contract's site (normalised as in
    :func:`normalize_site_number`); ``yyyyMM`` is the generation month
    (:meth:`ServicePeriod.generation_period`: the period itself for Arrears, the month before for Advanced);
    ``GG`` the invoice group and ``VV`` the
    statement version, each zero padded to at least two digits (100 stays ``100``; the ad-hoc UI splits on
    ``-``, not on width).

    Raises ``ValueError`` for a bad site number or a group/version below 1.
    """
    for name, value in (("group number", group_number), ("version", version)):
        if type(value) is not int or value < 1:
            raise ValueError(f"invoice {name} must be an int >= 1, got {value!r}")
    month = period.generation_period(billing_type).yyyymm
    return f"{normalize_site_number(site_number)}-{month}-{group_number:02d}-{version:02d}"
