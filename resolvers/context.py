"""Per-request context (design.md §5): database, DataLoaders, settings. Built in `get_context`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from db.database import Database
from resolvers.loaders import Loaders
from server.settings import Settings


@dataclass
class Context:
    db: Database
    settings: Settings
    loaders: Loaders = field(init=False)
    # "today" for default service periods; injectable so tests are deterministic
    today: dt.date = field(default_factory=lambda: dt.datetime.now(dt.UTC).date())

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.db)
