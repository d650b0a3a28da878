"""Per-request context (design.md §5): the caller, the database, DataLoaders, settings. Built in `get_context`.

Identity and row scopes plug in here: `caller` is who is asking (anonymous until identity exists) and
`db` the `Database` this request's reads and writes go through.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from db.database import Database
from resolvers.loaders import Loaders
from server.settings import Settings


@dataclass(frozen=True, slots=True)
class Caller:
    """Who sends the request. `subject` is the token's subject once identity exists; None is anonymous."""

    subject: str | None = None
    roles: frozenset[str] = frozenset()

    @property
    def is_anonymous(self) -> bool:
        return self.subject is None


ANONYMOUS = Caller()


@dataclass
class Context:
    db: Database
    settings: Settings
    caller: Caller = ANONYMOUS
    # "today" for default service periods; injectable so tests are deterministic
    today: dt.date = field(default_factory=lambda: dt.datetime.now(dt.UTC).date())
    # quoted in INTERNAL errors and in the log line of the failure
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.db)
