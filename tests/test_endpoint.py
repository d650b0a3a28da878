"""An endpoint that holds up (issue 7 §3): timeouts, a full pool and a database that goes away answer coded
errors quickly, and the server serves again as soon as the database is back.

These tests use engines of their own over the committed imported data (not the per-test transaction): a
statement timeout, a pool and a lost connection only exist on real connections. The database "restart" is
a TCP proxy between the engine and the shared cluster that the test cuts and restores; the cluster itself
is never stopped (other suites run on it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from pythonjsonlogger.json import JsonFormatter
from sqlalchemy import text
from sqlalchemy.engine import make_url
from starlette.types import Message

from db.database import Database, StatementCounter
from importer.run import ImportSummary
from server.app import create_app
from server.settings import Settings
from tests.conftest import ADMIN, TEST_JWT_SECRET, TEST_SETTINGS, bearer

SITE = '{ site(siteNumber: "0170") { name } }'
HEAVY = '{ billingPreviews(servicePeriod: "2025-04", first: 1000) { site { siteNumber } preview { total } } }'


def headers(**extra: str) -> dict[str, str]:
    """The headers of every request of this module (the one place to add an `Authorization`)."""
    return {"content-type": "application/json", **bearer(TEST_SETTINGS), **extra}


def client_of(database: Database, settings: Settings) -> httpx.AsyncClient:
    app = create_app(settings, db=database)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://test"
    )


async def post(client: httpx.AsyncClient, query: str) -> httpx.Response:
    return await client.post("/graphql", json={"query": query}, headers=headers())


def codes(response: httpx.Response) -> list[str]:
    return [e["extensions"]["code"] for e in response.json().get("errors", [])]


@pytest.fixture
def own_url(database_url: str, imported: ImportSummary) -> str:
    """The test database's URL, its data imported and committed."""
    return database_url


async def test_a_statement_beyond_the_statement_timeout_is_statement_timeout(
    own_url: str, settings: Settings
) -> None:
    database = Database.from_url(own_url, statement_timeout_ms=1)
    try:
        async with client_of(database, settings) as client:
            response = await post(client, HEAVY)
    finally:
        await database.dispose()
    assert "STATEMENT_TIMEOUT" in codes(response), response.text
    assert response.status_code == 503


async def test_a_full_pool_answers_service_busy_instead_of_waiting(own_url: str, settings: Settings) -> None:
    database = Database.from_url(own_url, pool_size=1, max_overflow=0, pool_timeout=0.2)
    try:
        async with client_of(database, settings) as client, database.read() as held:
            await held.execute(text("SELECT 1"))  # the pool's only connection stays checked out
            response = await post(client, SITE)
    finally:
        await database.dispose()
    assert codes(response) == ["SERVICE_BUSY"], response.text
    assert response.status_code == 503


class Proxy:
    """A TCP proxy on 127.0.0.1 to the database; `cut()` drops every connection and refuses new ones (as a
    stopped server does), `restore()` listens again on the same port."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self.server: asyncio.Server | None = None
        self.transports: set[asyncio.WriteTransport] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self.transports |= {writer.transport, up_writer.transport}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for transport in self.transports:
            transport.abort()
        self.transports.clear()
        await self.server.wait_closed()

    async def restore(self) -> None:
        await self.start()


@pytest.fixture
async def proxy(own_url: str) -> AsyncIterator[tuple[Proxy, str]]:
    url = make_url(own_url)
    proxy = Proxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    try:
        yield proxy, url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    finally:
        await proxy.cut()


async def test_a_database_restart_is_service_unavailable_then_serves_again(
    proxy: tuple[Proxy, str], settings: Settings
) -> None:
    gate, url = proxy
    database = Database.from_url(url, pool_timeout=1)
    try:
        async with client_of(database, settings) as client:
            before = await post(client, SITE)
            await gate.cut()  # the pooled connection dies, and nothing answers on the port
            during = [await post(client, SITE) for _ in range(2)]
            ready_during = await client.get("/readyz")
            live_during = await client.get("/healthz")
            await gate.restore()
            after = await post(client, SITE)  # the first request after the restart is served
            ready_after = await client.get("/readyz")
    finally:
        await database.dispose()
    assert before.json() == {"data": {"site": {"name": "Gaylord Opryland Hotel"}}}
    for response in during:
        assert response.status_code == 503 and codes(response) == ["SERVICE_UNAVAILABLE"], response.text
        for leak in ("Connect call", "asyncpg", "127.0.0.1"):
            assert leak not in response.text
    assert ready_during.status_code == 503 and ready_during.json()["code"] == "SERVICE_UNAVAILABLE"
    assert live_during.status_code == 200
    assert after.status_code == 200 and after.json() == before.json()
    assert ready_after.status_code == 200


async def test_a_connection_that_died_in_the_pool_is_replaced_without_an_error(
    proxy: tuple[Proxy, str], settings: Settings
) -> None:
    """No pre-ping: the dead connection's first statement fails, is recognised as a disconnect, and the
    request's first statement runs again on a fresh connection (reads and a unit of work alike)."""
    gate, url = proxy
    database = Database.from_url(url, pool_size=1, max_overflow=0, pool_timeout=1)
    try:
        async with client_of(database, settings) as client:
            before = await post(client, SITE)
            await gate.cut()
            await gate.restore()  # the database is back; the pool still holds the dead connection
            after = await post(client, SITE)
            await gate.cut()
            await gate.restore()
            door = database.request()
            async with door.transaction() as session:
                written = (await session.execute(text("SELECT 1"))).scalar_one()
            await door.close()
    finally:
        await database.dispose()
    assert after.status_code == 200 and after.json() == before.json(), after.text
    assert written == 1 and door.wrote


class Lines(logging.Handler):
    """Collects the `towne.request` lines, rendered by the JSON formatter of `server.observe`."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter("%(message)s"))
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def request_log() -> Iterator[Lines]:
    lines = Lines()
    logger = logging.getLogger("towne.request")
    logger.addHandler(lines)
    try:
        yield lines
    finally:
        logger.removeHandler(lines)


async def test_one_json_line_per_request(db: Database, settings: Settings, request_log: Lines) -> None:
    query = (
        "query Page { sites(first: 3) { edges { node { siteNumber territories { territory { name } } } } } }"
    )
    async with client_of(db, settings) as client:
        with StatementCounter(db.bind) as counter:
            ok = await post(client, query)
        bad = await post(client, "{ sites(first: -1) { totalCount } }")
        live = await client.get("/healthz")
    assert ok.status_code == 200 and "errors" not in ok.json()
    assert bad.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    first, second, third = request_log.lines
    assert first["request_id"] == ok.headers["x-request-id"]
    assert first["user"] == ADMIN and first["operation"] == "Page" and first["status"] == 200
    assert first["outcome"] == "ok" and first["sql_statements"] == counter.count > 0
    assert isinstance(first["duration_ms"], float) and first["path"] == "/graphql"
    assert second["outcome"] == "BAD_USER_INPUT" and second["operation"] is None
    assert third == {**third, "path": "/healthz", "status": 200, "sql_statements": 0, "outcome": "ok"}
    assert live.status_code == 200


def _scope(body: bytes) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"authorization", bearer(TEST_SETTINGS)["authorization"].encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("test", 80),
    }


@pytest.fixture
async def starved(own_url: str) -> AsyncIterator[Database]:
    """A database whose only connection is held by the test: a request waits for it (up to 30 s)."""
    database = Database.from_url(own_url, pool_size=1, max_overflow=0, pool_timeout=30)
    try:
        async with database.read() as held:
            await held.execute(text("SELECT 1"))
            yield database
    finally:
        await database.dispose()


async def test_a_client_that_leaves_stops_its_request(
    starved: Database, settings: Settings, request_log: Lines
) -> None:
    app = create_app(settings, db=starved)
    body = json.dumps({"query": SITE}).encode()
    incoming: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[Message] = []

    async def receive() -> Message:
        if incoming:
            return incoming.pop(0)
        await asyncio.sleep(0.05)  # the client gives up while the request waits for a connection
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await asyncio.wait_for(app(_scope(body), receive, send), timeout=10)  # returns long before 30 s
    assert sent == []  # nobody to answer
    [line] = request_log.lines
    assert line["outcome"] == "disconnected"


async def test_a_request_beyond_its_deadline_is_request_timeout(
    starved: Database, request_log: Lines
) -> None:
    settings = Settings.model_validate(
        {
            "DATABASE_URL": "postgresql+asyncpg://unused/unused",
            "TOWNE_REQUEST_TIMEOUT_MS": 200,
            "TOWNE_JWT_SECRET": TEST_JWT_SECRET,
        }
    )
    async with client_of(starved, settings) as client:
        response = await asyncio.wait_for(post(client, SITE), timeout=10)
    assert response.status_code == 503 and codes(response) == ["REQUEST_TIMEOUT"]
    assert request_log.lines[-1]["outcome"] == "REQUEST_TIMEOUT"


async def test_large_responses_are_gzipped(db: Database, settings: Settings) -> None:
    page = "{ sites(first: 100) { edges { node { siteNumber name } } } }"
    async with client_of(db, settings) as client:
        large = await client.post(
            "/graphql", json={"query": page}, headers=headers(**{"accept-encoding": "gzip"})
        )
        small = await client.post(
            "/graphql", json={"query": "{ __typename }"}, headers=headers(**{"accept-encoding": "gzip"})
        )
    assert (
        large.headers.get("content-encoding") == "gzip" and len(large.json()["data"]["sites"]["edges"]) == 100
    )
    assert "content-encoding" not in small.headers


PREFLIGHT = {"origin": "https://map.towne.example", "access-control-request-method": "POST"}


async def test_cors_preflight_for_a_configured_origin(db: Database) -> None:
    settings = Settings.model_validate(
        {
            "DATABASE_URL": "postgresql+asyncpg://unused/unused",
            "TOWNE_CORS_ORIGINS": ["https://map.towne.example"],
        }
    )
    async with client_of(db, settings) as client:
        allowed = await client.options(
            "/graphql", headers={**PREFLIGHT, "access-control-request-headers": "authorization, content-type"}
        )
        other = await client.options("/graphql", headers={**PREFLIGHT, "origin": "https://evil.example"})
        simple = await client.post(
            "/graphql", json={"query": "{ __typename }"}, headers=headers(origin=PREFLIGHT["origin"])
        )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://map.towne.example"
    assert "POST" in allowed.headers["access-control-allow-methods"]
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-origin" not in other.headers
    assert other.status_code == 400 and other.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert simple.headers["access-control-allow-origin"] == "https://map.towne.example"


async def test_without_configured_origins_there_is_no_cors(db: Database, settings: Settings) -> None:
    async with client_of(db, settings) as client:
        preflight = await client.options("/graphql", headers=PREFLIGHT)
    assert (
        preflight.status_code == 405
        and preflight.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    )
    assert "access-control-allow-origin" not in preflight.headers


async def test_a_failure_outside_the_schema_is_internal_in_the_error_language(
    db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from server.app import TowneGraphQL

    async def broken(self: Any, request: Any, response: Any) -> Any:
        raise RuntimeError("SELECT secret FROM /work/x.py")

    monkeypatch.setattr(TowneGraphQL, "get_context", broken)
    async with client_of(db, settings) as client:
        response = await post(client, SITE)
    assert response.status_code == 500 and codes(response) == ["INTERNAL"]
    assert response.json()["errors"][0]["extensions"]["requestId"] == response.headers["x-request-id"]
    assert "SELECT" not in response.text and "RuntimeError" not in response.text
