"""SYNTHETIC contract terms for the demo (issue 10 §4): the PROD export has no term data, so every imported
contract is active and evergreen; `make run` gives some of them a term so that the renewal and expiry queries
show something. Deterministic (by site number and the anchor day) and labelled: `contract.term_synthetic`.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Contract, CustomerSite


def _draw(site_number: str) -> int:
    return int.from_bytes(hashlib.sha256(f"term:{site_number}".encode()).digest()[:4], "big")


async def generate_terms(session: AsyncSession, *, anchor: dt.date, every: int = 8) -> int:
    """Give every `every`-th evergreen active contract (by a hash of its site number) a synthetic term: it
    started on the site's start date (else three years before `anchor`) and ends 0–540 days after `anchor`;
    half renew themselves by 12 months; notice 30, 60 or 90 days. Contracts that already have a term are left
    alone. Returns the number of contracts given a term."""
    rows = await session.execute(
        select(Contract, CustomerSite.site_number, CustomerSite.start_date)
        .join(CustomerSite, CustomerSite.id == Contract.site_id)
        .where(Contract.status == "active", Contract.term_end.is_(None), Contract.term_start.is_(None))
        .order_by(CustomerSite.site_number)
        .with_for_update(of=Contract)
    )
    given = 0
    for contract, number, start in rows.all():
        draw = _draw(number)
        if draw % every:
            continue
        term_start = start or anchor.replace(year=anchor.year - 3)
        term_end = max(anchor + dt.timedelta(days=(draw >> 8) % 541), term_start)
        contract.term_start = term_start
        contract.term_end = term_end
        contract.auto_renew_months = 12 if (draw >> 4) % 2 else None
        contract.notice_days = (30, 60, 90)[(draw >> 12) % 3]
        contract.term_synthetic = True
        given += 1
    await session.flush()
    return given
