"""The two doors to the database (design.md §4): `read()` for a short read, `transaction()` for a unit of work.

Strawberry resolves sibling fields concurrently and an `AsyncSession` is not safe across tasks, so every
call opens its own session. In tests the `Database` is bound to one connection holding an outer
transaction (rolled back at teardown); sessions then join it through savepoints and are serialised by a
lock, because one asyncpg connection runs one statement at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


class Database:
    def __init__(self, bind: AsyncEngine | AsyncConnection) -> None:
        self.bind = bind
        joined = isinstance(bind, AsyncConnection)
        self._sessions = (
            async_sessionmaker(
                bind=bind, expire_on_commit=False, autoflush=False, join_transaction_mode="create_savepoint"
            )
            if joined
            else async_sessionmaker(bind=bind, expire_on_commit=False, autoflush=False)
        )
        self._lock: asyncio.Lock | None = asyncio.Lock() if joined else None

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        echo: bool = False,
        pool_size: int = 10,
        max_overflow: int = 10,
        pool_timeout: float = 30.0,
        lock_timeout_ms: int | None = None,
        statement_timeout_ms: int | None = None,
    ) -> Database:
        """An engine over `url`; with `lock_timeout_ms`, a statement waiting longer for a lock fails
        (SQLSTATE 55P03, answered BUSY) instead of holding its connection, and a transaction left idle
        for five minutes is ended by the server, so a wedged client cannot pin rows or the pool. With
        `statement_timeout_ms` every statement ends after that long (57014, STATEMENT_TIMEOUT). A request
        waiting more than `pool_timeout` seconds for a connection fails (`sqlalchemy.exc.TimeoutError`,
        SERVICE_BUSY) instead of queueing for ever."""
        server_settings = (
            {"lock_timeout": str(lock_timeout_ms), "idle_in_transaction_session_timeout": "300000"}
            if lock_timeout_ms
            else {}
        )
        if statement_timeout_ms:
            server_settings["statement_timeout"] = str(statement_timeout_ms)
        engine = create_async_engine(
            url,
            echo=echo,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=pool_timeout,
            pool_pre_ping=True,
            connect_args={"server_settings": server_settings},
        )
        return cls(engine)

    @contextlib.asynccontextmanager
    async def _guard(self) -> AsyncIterator[None]:
        if self._lock is None:
            yield
        else:
            async with self._lock:
                yield

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reads; whatever it wrote is rolled back when it closes."""
        async with self._guard(), self._sessions() as session:
            yield session

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction that commits when the block ends and rolls back on error."""
        async with self._guard(), self._sessions() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        if isinstance(self.bind, AsyncEngine):
            await self.bind.dispose()


class StatementCounter:
    """Counts SQL statements sent through an engine (the N+1 test, design.md §2)."""

    def __init__(self, bind: AsyncEngine | AsyncConnection) -> None:
        self._target: Any = bind.sync_engine
        self.statements: list[str] = []

    def _on_execute(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)

    def __enter__(self) -> StatementCounter:
        event.listen(self._target, "before_cursor_execute", self._on_execute)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self._target, "before_cursor_execute", self._on_execute)

    @property
    def count(self) -> int:
        return len(self.statements)

    @property
    def queries(self) -> list[str]:
        """The statements other than savepoint bookkeeping (tests join sessions through savepoints)."""
        bookkeeping = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")
        return [s for s in self.statements if not s.lstrip().upper().startswith(bookkeeping)]
