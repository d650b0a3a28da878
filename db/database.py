"""The two doors to the database (design.md §4): `read()` for a short read, `transaction()` for a unit of work.

`Database` is the process's: an engine (or, in tests, one connection). A request goes through
`Database.request()`, a `RequestDatabase` that carries its caller into PostgreSQL, where the row-level
security policies of migration 0008 read it (`towne.user_id`, transaction-local, docs/security.md):

* reads share one transaction per request on one connection, begun with the caller bound, serialised by a
  lock (strawberry resolves sibling fields concurrently; one asyncpg connection runs one statement at a
  time); the transaction ends when the request does (`close()`);
* each unit of work is a transaction of its own on another connection, its first statement binding the
  same caller.

With a read replica (`read_bind`, `DATABASE_READ_URL`), a request's door may take its shared read
transaction from the replica's engine (`Database.request(replica=True)`); units of work always run on the
primary, and `use_primary()` moves a door's later reads there (a request that writes reads its own writes).
The replica's engine connects as the same application role and binds the caller the same way, so row
scopes apply there as on the primary (docs/scaling.md).

No pool pre-ping: a request's reads share one connection, and a ping per checkout was a BEGIN/SELECT/
ROLLBACK round trip per request. A pooled connection that died (a database restart, a cut TCP path) fails
its first statement instead; SQLAlchemy recognises the disconnect, invalidates that connection and marks
every older connection of the pool stale, and the door retries that first statement once on a fresh
connection (nothing of the request has run yet, so the retry is safe). Only when the database is really
away does the request fail, as SERVICE_UNAVAILABLE (503, retryable). `pool_recycle` additionally replaces
connections older than 30 minutes, before a firewall or pooler drops them while idle.

In tests the `Database` is bound to one connection holding an outer transaction (rolled back at
teardown); sessions join it through savepoints, and with `assume_role` each session of a request also
switches to the application role for its duration, so tests read as the application does.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import AsyncIterator, Iterator
from typing import Any, Protocol

from sqlalchemy import event, exc, text
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

# the schemas the migrations create, besides `public` (0015: the BI views)
MIGRATED_SCHEMAS = ("reporting",)


async def empty_database(conn: AsyncConnection) -> None:
    """Drop every schema the migrations create and `public` with them, and create `public` again: a database
    ready to migrate from nothing (tests and benches on their scratch databases; never the owner's data)."""
    for schema in (*MIGRATED_SCHEMAS, "public"):
        await conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    await conn.execute(text("CREATE SCHEMA public"))


class Door(Protocol):
    """What a request reads and writes through: `Database` or `RequestDatabase`."""

    def read(self) -> contextlib.AbstractAsyncContextManager[AsyncSession]: ...

    def transaction(self) -> contextlib.AbstractAsyncContextManager[AsyncSession]: ...


_BIND_CALLER = "SELECT set_config('towne.user_id', :user_id, true)"
_BIND_CALLER_AS = "SELECT set_config('towne.user_id', :user_id, true), set_config('role', :role, true)"
# a unit of work also names its operation for the audit trail (migration 0013), in the same round trip
_BIND_WORK = (
    "SELECT set_config('towne.user_id', :user_id, true), set_config('towne.operation', :operation, true)"
)
_BIND_WORK_AS = (
    "SELECT set_config('towne.user_id', :user_id, true), set_config('towne.operation', :operation, true),"
    " set_config('role', :role, true)"
)
_IDENTIFY = "SELECT user_id, roles FROM towne_begin_request(:subject)"
_UNBIND = (
    "SELECT set_config('towne.user_id', '', true), set_config('towne.operation', '', true),"
    " set_config('role', 'none', true)"
)

# The operation the units of work of this task belong to (a GraphQL mutation's field name, e.g. `saveUser`;
# `schema.audit.OperationName` sets it). The audit trail records it as `operation`; None: `sql:<command>`.
OPERATION: contextvars.ContextVar[str | None] = contextvars.ContextVar("towne_operation", default=None)


@contextlib.contextmanager
def operation(name: str) -> Iterator[None]:
    """Units of work begun inside this block record `name` as their operation in the audit trail."""
    token = OPERATION.set(name)
    try:
        yield
    finally:
        OPERATION.reset(token)


def _invalidated(error: BaseException) -> bool:
    """A statement failed because its pooled connection was dead (SQLAlchemy invalidated it)."""
    return isinstance(error, exc.DBAPIError) and error.connection_invalidated


class _Retry(Exception):
    """The first statement of a unit of work met a dead pooled connection: run it again on a fresh one."""


class Database:
    def __init__(
        self,
        bind: AsyncEngine | AsyncConnection,
        *,
        assume_role: str | None = None,
        read_bind: AsyncEngine | None = None,
    ) -> None:
        """`assume_role`: a role the sessions of a request switch to (tests, and an owner connection that
        serves requests); None when the engine already connects as the application role. `read_bind`: the
        engine of a streaming replica for requests that only read (None: everything on `bind`)."""
        self.bind = bind
        self.read_bind = read_bind
        self.assume_role = assume_role
        joined = isinstance(bind, AsyncConnection)
        self.joined = joined
        self._sessions = (
            async_sessionmaker(
                bind=bind, expire_on_commit=False, autoflush=False, join_transaction_mode="create_savepoint"
            )
            if joined
            else async_sessionmaker(bind=bind, expire_on_commit=False, autoflush=False)
        )
        self._lock: asyncio.Lock | None = asyncio.Lock() if joined else None

    def request(self, *, replica: bool = False) -> RequestDatabase:
        """The door of one request, with no caller bound yet (see `RequestDatabase.identify`); with
        `replica` (and a `read_bind`) its reads come from the replica until `use_primary()`."""
        return RequestDatabase(self, replica=replica and self.read_bind is not None)

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
        pool_recycle_s: int = 1800,
        read_url: str | None = None,
    ) -> Database:
        """An engine over `url`; with `lock_timeout_ms`, a statement waiting longer for a lock fails
        (SQLSTATE 55P03, answered BUSY) instead of holding its connection, and a transaction left idle
        for five minutes is ended by the server, so a wedged client cannot pin rows or the pool. With
        `statement_timeout_ms` every statement ends after that long (57014, STATEMENT_TIMEOUT). A request
        waiting more than `pool_timeout` seconds for a connection fails (`sqlalchemy.exc.TimeoutError`,
        SERVICE_BUSY) instead of queueing for ever. `read_url`: a streaming replica for read-only requests,
        its engine built with the same settings. JIT compilation is off on every connection (the comment)."""
        # jit off: row-level security multiplies the planner's cost estimates of the API's short statements
        # (a statement register of 60 ms was estimated at 2 million), and compiling them took 0.45 s
        server_settings = {"jit": "off"}
        if lock_timeout_ms:
            server_settings |= {
                "lock_timeout": str(lock_timeout_ms),
                "idle_in_transaction_session_timeout": "300000",
            }
        if statement_timeout_ms:
            server_settings["statement_timeout"] = str(statement_timeout_ms)

        def engine_of(target: str) -> AsyncEngine:
            # no pool_pre_ping: a dead connection is invalidated on its first error and retried (module doc)
            return create_async_engine(
                target,
                echo=echo,
                pool_size=pool_size,
                max_overflow=max_overflow,
                pool_timeout=pool_timeout,
                pool_recycle=pool_recycle_s,
                connect_args={"server_settings": server_settings},
            )

        return cls(engine_of(url), read_bind=engine_of(read_url) if read_url else None)

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
        if self.read_bind is not None:
            await self.read_bind.dispose()


class RequestDatabase:
    """One request's door: the same `read()` / `transaction()` as `Database`, each carrying the caller.

    Until `identify` binds a user, `towne.user_id` is empty and every policy that needs a caller shows no
    rows (fail closed). `close()` ends the shared read transaction and returns its connection.
    """

    def __init__(self, parent: Database, *, replica: bool = False) -> None:
        self.parent = parent
        self.user_id: int | None = None
        self.replica = replica
        self.wrote = False  # a unit of work of this request committed
        self._connection: AsyncConnection | None = None
        self._lock = asyncio.Lock()

    async def use_primary(self) -> None:
        """Later reads come from the primary (a request that writes; a caller who just wrote). A read
        transaction already open on the replica ends."""
        if not self.replica:
            return
        async with self._lock:
            self.replica = False
            await self.close()

    def _bind(self) -> tuple[Any, dict[str, str]]:
        user_id = "" if self.user_id is None else str(self.user_id)
        if self.parent.assume_role:
            return text(_BIND_CALLER_AS), {"user_id": user_id, "role": self.parent.assume_role}
        return text(_BIND_CALLER), {"user_id": user_id}

    def _bind_work(self) -> tuple[Any, dict[str, str]]:
        """The binding of a unit of work: the caller and the operation (`OPERATION`, empty for none)."""
        parameters = {
            "user_id": "" if self.user_id is None else str(self.user_id),
            "operation": OPERATION.get() or "",
        }
        if self.parent.assume_role:
            return text(_BIND_WORK_AS), {**parameters, "role": self.parent.assume_role}
        return text(_BIND_WORK), parameters

    async def identify(self, subject: str) -> tuple[int, tuple[str, ...]] | None:
        """Bind the active `app_user` with this token subject to the request; its id and roles, or None
        for an unknown or deactivated subject (migration 0008 `towne_begin_request`)."""
        identification = text(_IDENTIFY), {"subject": subject}
        if not self.parent.joined and not self.parent.assume_role:
            # the request's first statement is the identification itself, not an empty binding before
            # it: one round trip less per request (issue 8). Before it, `towne.user_id` is unset in the
            # new transaction, so every policy shows nothing (fail closed), as with the empty binding.
            async with self._lock:
                found = await self._read_connection(first=identification)
            if found is not None:
                return self._identified(found.first())
        async with self.read() as session:
            row = (await session.execute(*identification)).first()
        return self._identified(row)

    def _identified(self, row: Any) -> tuple[int, tuple[str, ...]] | None:
        if row is None:
            return None
        self.user_id = int(row.user_id)
        return self.user_id, tuple(row.roles)

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session in the request's read transaction; whatever it wrote is rolled back."""
        if self.parent.joined:
            # a savepoint of the test's transaction: its rollback at close undoes the role switch too
            async with self.parent.read() as session:
                statement, parameters = self._bind()
                await session.execute(statement, parameters)
                yield session
            return
        async with self._lock:
            connection = await self._read_connection()
            session = AsyncSession(
                bind=connection,
                join_transaction_mode="rollback_only",
                expire_on_commit=False,
                autoflush=False,
            )
            try:
                yield session
            except BaseException:
                # a failed statement aborts the shared transaction: the next read begins a fresh one
                with contextlib.suppress(Exception):
                    await session.close()
                    if connection.in_transaction():
                        await connection.rollback()
                raise
            else:
                await session.close()

    async def _read_connection(self, first: tuple[Any, dict[str, str]] | None = None) -> Any:
        """The request's read connection in its transaction, begun with the caller's binding, or with
        `first` instead: then the result of `first` (None when the transaction was already open)."""
        if self._connection is not None and self._connection.in_transaction():
            return self._connection if first is None else None
        engine = self.parent.read_bind if self.replica else self.parent.bind
        assert isinstance(engine, AsyncEngine)
        statement, parameters = first or self._bind()
        result: Any = None
        for attempt in (1, 2):
            if self._connection is None:
                self._connection = await engine.connect()
            try:
                await self._connection.begin()
                result = await self._connection.execute(statement, parameters)
            except Exception as error:
                # a dead pooled connection fails here first: once, take a fresh one (module docstring)
                connection, self._connection = self._connection, None
                with contextlib.suppress(Exception):
                    await connection.close()
                if attempt == 2 or not _invalidated(error):
                    raise
            else:
                break
        assert self._connection is not None
        return self._connection if first is None else result

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A unit of work in a transaction of its own, bound to the caller and to the operation of
        `OPERATION` (the audit trail's `operation`); commits when the block ends, rolls back on error."""
        statement, parameters = self._bind_work()
        for attempt in (1, 2):
            try:
                async with self.parent.transaction() as session:
                    try:
                        await session.execute(statement, parameters)
                    except Exception as error:
                        # a dead pooled connection fails its first statement: once, retry on a fresh one
                        if attempt == 1 and not self.parent.joined and _invalidated(error):
                            raise _Retry from error
                        raise
                    yield session
                    if self.parent.joined and self.parent.assume_role:
                        # the savepoint is released into the test's transaction: leave it as the owner again
                        await session.execute(text(_UNBIND))
            except _Retry:
                continue
            self.wrote = True
            return

    async def close(self) -> None:
        """End the read transaction (nothing in it is kept) and give its connection back to the pool."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            await connection.close()
        except Exception:
            with contextlib.suppress(Exception):
                await connection.invalidate()


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
        """The statements other than savepoint bookkeeping (tests join sessions through savepoints) and
        the binding of the caller (once per transaction in production, once per session in tests)."""
        bookkeeping = (
            "SAVEPOINT",
            "RELEASE SAVEPOINT",
            "ROLLBACK TO SAVEPOINT",
            "SELECT SET_CONFIG('TOWNE.USER_ID'",
        )
        return [s for s in self.statements if not s.lstrip().upper().startswith(bookkeeping)]
