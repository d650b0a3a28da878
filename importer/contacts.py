"""SYNTHETIC billing contacts for the demo (issue 12 §2): the PROD export carries no `bs_invoicerecipient` /
`bs_billingcontactemail` (domain.md §1.2), so `make run` gives every site without contacts an addressee
labelled SYNTHETIC and one address at `example.com` (RFC 2606: never a real mailbox). Deterministic: the
address is derived from the site number. Sites that have contacts keep them.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

DEMO_RECIPIENT = "Accounts Payable (SYNTHETIC demo contact)"


async def give_demo_contacts(session: AsyncSession) -> int:
    """Set the demo contacts on every site without billing contact e-mails; returns how many sites."""
    result = await session.execute(
        text(
            "UPDATE customer_site SET invoice_recipient = coalesce(invoice_recipient, :recipient),"
            " billing_contact_emails = ARRAY['ap-' || site_number || '@example.com']"
            " WHERE cardinality(billing_contact_emails) = 0"
        ),
        {"recipient": DEMO_RECIPIENT},
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
