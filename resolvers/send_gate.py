"""Is a statement version being sent? One refusal for every write that would change it (issue 12 §2).

While a send job of the current version is QUEUED (waiting or running) or UNCERTAIN, the version is what
the customer and Great Plains receive: it is not edited (ad hoc), regenerated, replaced or marked Sent by
hand. `resolvers.statements` calls `require_not_sending` under the version's lock, after the period check;
`sendStatements` queues under the same lock, so a queue and an edit never interleave.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from db.repositories import sending as repo
from resolvers.errors import StatementSending


async def require_not_sending(
    session: AsyncSession, *, statement_id: uuid.UUID, version_id: uuid.UUID
) -> None:
    """Raise `StatementSending` (naming the channels) when the (locked) version has a send in progress."""
    channels = await repo.in_progress(session, version_id=version_id)
    if channels:
        raise StatementSending(
            f"statement {statement_id} is being sent ({', '.join(channels)}): it cannot change until the send "
            "has finished; an UNCERTAIN e-mail is settled with resolveSendJob",
            statement_id=statement_id,
            channels=channels,
        )
