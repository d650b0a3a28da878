"""Per-request context (design.md §5): the caller, the database, DataLoaders, settings. Built in `get_context`.

`caller` is who is asking: the `app_user` a verified bearer token names, with its roles from the
database (anonymous only for the public set: introspection in development). `db` is the request's door
to PostgreSQL (`db.database.RequestDatabase`), which carries the caller into every transaction, where
row-level security decides which sites it sees (docs/security.md).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from db.database import Door, RequestDatabase
from resolvers.loaders import Loaders
from server.settings import Settings


@dataclass(frozen=True, slots=True)
class Caller:
    """Who sends the request: the token's subject, its `app_user` id and roles (domain.md §4.4)."""

    subject: str | None = None
    user_id: int | None = None
    roles: frozenset[str] = frozenset()

    @property
    def is_anonymous(self) -> bool:
        return self.subject is None

    def has_any(self, roles: frozenset[str]) -> bool:
        return not self.roles.isdisjoint(roles)


ANONYMOUS = Caller()

# §4.4 "hide personal columns from roles without a need": billing contacts, vendor ids
BILLING_DETAIL = frozenset({"billingAdmin", "billingManager"})


async def bind_caller(door: RequestDatabase, subject: str) -> Caller | None:
    """The active `app_user` of `subject`, bound to the request's door (row scopes apply from now on), as
    the `Caller` of the request; None for an unknown or deactivated subject."""
    found = await door.identify(subject)
    if found is None:
        return None
    user_id, roles = found
    return Caller(subject=subject, user_id=user_id, roles=frozenset(roles))


@dataclass
class Context:
    db: Door
    settings: Settings
    caller: Caller = ANONYMOUS
    # "today" for default service periods; injectable so tests are deterministic
    today: dt.date = field(default_factory=lambda: dt.datetime.now(dt.UTC).date())
    # quoted in INTERNAL errors and in the log line of the failure
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    # the HTTP sub-response (status, headers) when served over HTTP; None in tests and scripts
    response: Any = None
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.db)


__all__ = ["ANONYMOUS", "Caller", "Context", "Door"]
