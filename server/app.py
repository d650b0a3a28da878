"""The Starlette application: `/graphql` (GraphiQL in the browser), `/healthz`, `/readyz`, the GL export, the
GIS reads (`server/gis.py`: GeoJSON, vector tiles, OGC API – Features).

The request path: `RequestLog` (one JSON line per request, server/observe.py) → CORS → GZip → `BodyLimit`
(413 above `TOWNE_MAX_BODY_BYTES`) → `TowneGraphQL` (its work a task, cancelled at the deadline or when the
client leaves; a request that is not a GraphQL request is a 400 with a JSON GraphQL error and a code) →
`get_context` (caller, database, loaders, request id) → the schema (`schema/`) → the service layer
(`resolvers/`) → repositories (`db/`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import gc
import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from cross_web import HTTPException
from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLRequestData

from db.database import Database, RequestDatabase, operation
from resolvers import statements as statement_service
from resolvers import territories as territory_service
from resolvers.compiled import CompiledData
from resolvers.context import ANONYMOUS, Caller, Context, bind_caller
from resolvers.errors import (
    BadRequest,
    BadUserInput,
    Forbidden,
    ImportRefused,
    Internal,
    MethodNotAllowed,
    NotFound,
    NotReady,
    PayloadTooLarge,
    RequestTimeout,
    TowneError,
    Unauthenticated,
    Unavailable,
    from_database,
)
from resolvers.validation import identifier
from schema import build_schema
from schema.problems import ERRORS, http_status
from server import observe
from server.persisted import Registry, with_document_id
from server.settings import REPO_ROOT, Settings, app_database_url, app_role_url, normalise_url
from server.tokens import TokenVerifier
from server.web import graphiql_response, vendor_mount

log = logging.getLogger("towne.http")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_OPERATION_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,199}")  # a GraphQL Name


def migrations_head() -> str:
    """The head revision of `migrations/` (what `/readyz` expects the database at)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(Config(str(REPO_ROOT / "alembic.ini"))).get_current_head()
    if head is None:
        raise RuntimeError("migrations/ has no head revision")
    return head


def request_id_of(request: Request) -> str:
    """The client's `X-Request-ID` when it is a plain token, else a new one."""
    given = request.headers.get("x-request-id", "")
    return given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex[:16]


class AsciiJSONResponse(JSONResponse):
    """JSON escaped to ASCII: a message that echoes client text (an operation name with a lone surrogate)
    still encodes."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def _note(error: TowneError) -> None:
    record = observe.current()
    if record is not None:
        record.note_codes([error.code])


def problem_response(error: TowneError, *, request_id: str | None = None) -> JSONResponse:
    """A REST problem body `{"code", "message", …}` with the status of the error table."""
    _note(error)
    headers = {"x-request-id": request_id} if request_id else {}
    headers.update(_unauthenticated_headers(error))
    return AsciiJSONResponse(
        {**error.as_extensions(), "message": error.message}, http_status(error), headers=headers
    )


def graphql_error_response(
    error: TowneError, status: int, *, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A GraphQL-shaped error body for a request that never reached execution."""
    _note(error)
    return AsciiJSONResponse(
        {"errors": [{"message": error.message, "extensions": error.as_extensions()}]}, status, headers=headers
    )


class _EnvelopeError(ValueError):
    pass


def _no_constants(name: str) -> Any:
    raise _EnvelopeError(f"{name} is not a JSON number; send numbers as digits (or amounts as strings)")


def _check_operation_name(name: object) -> None:
    if name is None:
        return
    if not isinstance(name, str) or not _OPERATION_NAME.fullmatch(name):
        raise HTTPException(400, "operationName must be the name of an operation of the document, or null")


async def caller_of(request: Request, door: RequestDatabase, verifier: TokenVerifier) -> Caller:
    """The caller a request's bearer token names, bound to its door; anonymous without a token.

    Raises `Unauthenticated` for a token that does not verify or names no active `app_user`."""
    subject = verifier.subject(request.headers.get("authorization"))
    if subject is None:
        return ANONYMOUS
    caller = await bind_caller(door, subject)
    if caller is None:
        raise Unauthenticated(f"the token's subject {subject[:200]!r} is not an active user of this service")
    return caller


def _unauthenticated_headers(error: TowneError) -> dict[str, str]:
    return {"www-authenticate": 'Bearer realm="towne-graph"'} if isinstance(error, Unauthenticated) else {}


_NAMED_OPERATION = re.compile(r"\s*(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]{0,199})")


def _operation_name(query: object) -> str | None:
    """The name of a document's first operation when it starts with one (for the log line)."""
    found = _NAMED_OPERATION.match(query) if isinstance(query, str) else None
    return found.group(1) if found else None


async def _disconnected(receive: Receive, body_read: asyncio.Event) -> None:
    """Returns when the client has gone (`http.disconnect`, or the server's receive failing), once the view
    has read the body."""
    await body_read.wait()
    with contextlib.suppress(Exception):
        while (await receive())["type"] != "http.disconnect":
            pass


async def _cancel(task: asyncio.Future[Any]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task


UNDEFINED_TABLE = "42P01"


def _sqlstate_in(error: BaseException) -> str | None:
    cause: BaseException | None = error
    for _ in range(6):
        if cause is None:
            return None
        if isinstance(getattr(cause, "sqlstate", None), str):
            return str(cause.sqlstate)  # type: ignore[attr-defined]
        cause = getattr(cause, "orig", None) or cause.__cause__
    return None


def _service_failure_status(response_data: Any) -> int | None:
    if not isinstance(response_data, dict):
        return None
    data = response_data.get("data")
    if data is not None and not (isinstance(data, dict) and all(v is None for v in data.values())):
        return None
    codes = {(e.get("extensions") or {}).get("code") for e in response_data.get("errors") or ()}
    statuses = {ERRORS[c].http_status for c in codes if c in ERRORS and c != Internal.code}
    if len(codes) == 1 and statuses and min(statuses) >= 500:
        return statuses.pop()
    return None


# ---- Read replica routing (DATABASE_READ_URL, docs/scaling.md "Reads from a replica") ----------------------
# A request without a mutation reads from the replica, unless its caller wrote within the last
# `TOWNE_READ_YOUR_WRITES_S` seconds: the response to a request that committed a write carries the moment
# until which that client's reads go to the primary, as a cookie (browsers, GraphiQL, HTTP clients with a
# cookie jar) and as a response header a client without cookies sends back as a request header. The value
# is a plain time, not a secret: a client that forges one only sends its own reads to the primary, and a
# time further ahead than the window is ignored.
PRIMARY_UNTIL = "towne-primary-until"


def _pinned_to_primary(request: Request, window_s: int) -> bool:
    """The request carries a read-your-writes mark that has not expired."""
    given = request.headers.get(PRIMARY_UNTIL) or request.cookies.get(PRIMARY_UNTIL) or ""
    if not given.isdigit() or len(given) > 16:
        return False
    until_ms, now_ms = int(given), time.time() * 1000
    return now_ms < until_ms <= now_ms + (window_s + 1) * 1000


SIGN_IN = "sign in: send `Authorization: Bearer <token>`"
# a route's work once the caller is known: (request, its door with the caller bound, the caller) → response
DoorHandler = Callable[[Request, RequestDatabase, Caller], Awaitable[Response]]


def door_route(
    database: Database,
    settings: Settings,
    verifier: TokenVerifier,
    handler: DoorHandler,
    *,
    what: str,
    logger: logging.Logger,
    public: bool = False,
    sign_in: str = SIGN_IN,
) -> Callable[[Request], Awaitable[Response]]:
    """A plain HTTP route (GIS, exports, the audit CSV) that reads through a request's door as `/graphql` does:
    the replica unless read-your-writes pins the primary, the caller identified (401 `UNAUTHENTICATED` with
    `sign_in` unless `public`), `TowneError`s and database errors as problem bodies, anything else logged
    (as `what`) and answered `INTERNAL` with the request id. The door closes when the handler is done, or,
    for a `StreamingResponse`, when its body has been sent (the body's own `finally`); `x-request-id` and
    `vary: Authorization` on every answer."""

    async def serve(request: Request) -> Response:
        door = database.request(replica=not _pinned_to_primary(request, settings.read_your_writes_s))
        request_id = request_id_of(request)
        streaming = False
        try:
            caller = await caller_of(request, door, verifier)
            if caller.is_anonymous and not public:
                raise Unauthenticated(sign_in)
            response = await handler(request, door, caller)
            streaming = isinstance(response, StreamingResponse)
        except TowneError as error:
            response = problem_response(error, request_id=request_id)
        except Exception as exc:
            known = from_database(exc)
            if known is None:
                logger.exception("%s failed (request %s)", what, request_id)
            response = problem_response(known or Internal(request_id), request_id=request_id)
        finally:
            if not streaming:
                await door.close()
        response.headers["x-request-id"] = request_id
        response.headers.setdefault("vary", "Authorization")
        return response

    return serve


def mark_own_write(response: Response, settings: Settings) -> None:
    """Send this client's reads to the primary for the next `read_your_writes_s` seconds."""
    until = str(int(time.time() * 1000) + settings.read_your_writes_s * 1000)
    response.headers[PRIMARY_UNTIL] = until
    response.set_cookie(
        PRIMARY_UNTIL,
        until,
        max_age=settings.read_your_writes_s,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.production,
    )


@functools.lru_cache(maxsize=1024)
def _has_mutation(document: str, max_tokens: int) -> bool:
    """The document defines a mutation (whichever operation runs); a document that does not parse, or is
    beyond the token limit, runs nothing and counts as none."""
    if "mutation" not in document:
        return False
    try:
        parsed = parse(document, no_location=True, max_tokens=max_tokens)
    except (GraphQLError, RecursionError):
        return False
    return any(
        isinstance(d, OperationDefinitionNode) and d.operation is OperationType.MUTATION
        for d in parsed.definitions
    )


def writes(request_data: Any, settings: Settings) -> bool:
    """A request that may write: a mutation in its document (or anything but one plain operation)."""
    if not isinstance(request_data, GraphQLRequestData):
        return True
    return isinstance(request_data.query, str) and _has_mutation(request_data.query, settings.max_tokens)


class TowneGraphQL(GraphQL[Context, None]):
    def __init__(self, db: Database, settings: Settings, verifier: TokenVerifier) -> None:
        super().__init__(
            build_schema(debug=settings.debug and not settings.production, settings=settings),
            graphql_ide=None if settings.production else "graphiql",  # production: GET text/html is 404
        )
        self.persisted = Registry.load(settings.persisted_operations, only=settings.persisted_only)
        self.db = db
        self.settings = settings
        self.verifier = verifier

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        body_read = asyncio.Event()

        async def watched_receive() -> Message:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_read.set()
            return message

        if scope.get("method") != "POST":
            body_read.set()  # the operation is in the query string: strawberry reads no body
        request = Request(scope=scope, receive=watched_receive)
        work = asyncio.ensure_future(self._respond(request))
        gone = asyncio.ensure_future(_disconnected(receive, body_read))
        try:
            async with asyncio.timeout(self.settings.request_timeout_ms / 1000):
                await asyncio.wait({work, gone}, return_when=asyncio.FIRST_COMPLETED)
        except TimeoutError:
            await _cancel(work)
            error = RequestTimeout(
                f"the request took longer than {self.settings.request_timeout_ms} ms and was stopped; ask "
                "for less (a mutation's unfinished transaction is rolled back: read before retrying it)"
            )
            log.warning("request stopped at its deadline (%s ms)", self.settings.request_timeout_ms)
            response: Response = graphql_error_response(error, http_status(error))
        else:
            if not work.done():  # the client went away: stop the work, nobody reads the answer
                await _cancel(work)
                record = observe.current()
                if record is not None:
                    record.disconnected = True
                return
            response = work.result()
        finally:
            gone.cancel()
        await response(scope, receive, send)

    async def _respond(self, request: Request) -> Response:
        try:
            if request.method == "POST" and not request.headers.get("content-type", "").startswith(
                "multipart/"
            ):
                # read (and cache) the body before the caller is identified: a request waiting for a
                # connection must still notice its client leaving (`_disconnected` waits for the body)
                await request.body()
            response = await self.run(request)
            door = getattr(request.state, "towne_door", None)
            if door is not None and door.wrote and self.db.read_bind is not None:
                mark_own_write(response, self.settings)
            return response
        except HTTPException as exc:
            # strawberry's own refusals of the envelope (method, content type, missing query, …)
            error: TowneError = (
                MethodNotAllowed(str(exc.reason))
                if exc.status_code == 405
                else NotFound("GraphiQL is off in production; POST operations to /graphql")
                if exc.status_code == 404
                else BadRequest(str(exc.reason))
            )
            return graphql_error_response(error, exc.status_code)
        except TowneError as refused:  # the bearer token (get_context), or a persisted operation refused
            return graphql_error_response(
                refused, http_status(refused), headers=_unauthenticated_headers(refused)
            )
        except _TooLarge:
            raise  # BodyLimit answers it
        except Exception as exc:  # outside any resolver (building the context, …): never a bare 500
            known = from_database(exc)
            request_id = request_id_of(request)
            if known is None:
                log.exception("request failed outside the schema (request %s)", request_id)
            error = known or Internal(request_id)
            response = graphql_error_response(error, http_status(error))
            response.headers["x-request-id"] = request_id
            return response
        finally:  # also when cancelled (deadline, disconnect): the read transaction ends with the request
            door = getattr(request.state, "towne_door", None)
            if door is not None:
                await door.close()

    async def execute_operation(
        self,
        request: Any,
        request_adapter: Any,
        request_data: Any,
        context: Context,
        root_value: Any,
        sub_response: Any,
    ) -> Any:
        """Notes the caller and the operation name in the request's log record, then runs it."""
        record = observe.current()
        if record is not None:
            caller = getattr(context, "caller", None)
            record.user = getattr(caller, "subject", None)
            record.request_id = getattr(context, "request_id", None)
            if not isinstance(request_data, list):
                record.operation = request_data.operation_name or _operation_name(request_data.query)
        door = getattr(context, "db", None)
        if isinstance(door, RequestDatabase) and door.replica and writes(request_data, self.settings):
            await door.use_primary()  # a request that writes reads on the primary, its own writes included
        return await super().execute_operation(
            request, request_adapter, request_data, context, root_value, sub_response
        )

    async def process_result(self, request: Any, result: Any) -> Any:
        processed = await super().process_result(request, result)
        record = observe.current()
        if record is not None and result.errors:
            record.note_codes([str((e.extensions or {}).get("code", "INTERNAL")) for e in result.errors])
        return processed

    async def parse_http_body(self, request: Any) -> Any:
        """The request's operation; a persisted operation's hash becomes its document (server/persisted.py)."""
        data = await super().parse_http_body(request)
        if isinstance(data, GraphQLRequestData):
            data.query = self.persisted.resolve(data.query, data.extensions)
        return data

    def parse_query_params(self, params: Any) -> dict[str, Any]:
        """A GET operation: `variables` and `extensions` as JSON objects, `documentId` as a persisted hash."""
        data: dict[str, Any] = dict(params)
        for key in ("variables", "extensions"):
            if data.get(key):
                data[key] = self._decode(data[key])
        return with_document_id(data)

    def decode_json(self, data: str | bytes) -> object:
        """A POST body (`_decode`), its `documentId` read as a persisted operation's hash."""
        parsed = self._decode(data)
        return with_document_id(parsed) if isinstance(parsed, dict) else parsed

    def _decode(self, data: str | bytes) -> object:
        """The body as JSON: strict UTF-8 (no UTF-16/32, no encoded surrogates), no NaN/Infinity, an object
        (one operation per request) whose `operationName` is a GraphQL name or null."""
        try:
            text = data.decode("utf-8") if isinstance(data, bytes) else data
        except UnicodeDecodeError as exc:
            raise HTTPException(400, f"the request body is not UTF-8 (byte {exc.start + 1})") from exc
        try:
            parsed = json.loads(text, parse_constant=_no_constants)
        except _EnvelopeError as exc:
            raise HTTPException(400, str(exc)) from exc
        except json.JSONDecodeError as exc:
            raise HTTPException(
                400, f"the request body is not JSON: {exc.msg} at character {exc.pos + 1}"
            ) from exc
        except ValueError as exc:  # e.g. an integer of more than 4300 digits
            raise HTTPException(400, "the request body holds a number too long to read") from exc
        except RecursionError as exc:
            raise HTTPException(400, "the request body is nested too deeply") from exc
        if not isinstance(parsed, dict):
            raise HTTPException(
                400, 'the request body must be a JSON object like {"query": "…", "variables": {…}}'
            )
        _check_operation_name(parsed.get("operationName"))
        return parsed

    async def get_context(self, request: Any, response: Any) -> Context:
        request_id = request_id_of(request)
        response.headers["x-request-id"] = request_id
        # the replica unless this client wrote just now; a mutation moves to the primary (execute_operation)
        door = self.db.request(replica=not _pinned_to_primary(request, self.settings.read_your_writes_s))
        request.state.towne_door = door  # closed by __call__ when the response is made
        caller = await caller_of(request, door, self.verifier)
        return Context(
            db=door, settings=self.settings, caller=caller, request_id=request_id, response=response
        )

    def encode_json(self, data: object) -> str | bytes:
        """A compiled answer's data goes out as PostgreSQL wrote it (`schema.compiled.CompiledData`)."""
        if isinstance(data, dict) and data.keys() == {"data"} and isinstance(data["data"], CompiledData):
            return '{"data":' + data["data"].text + "}"
        return super().encode_json(data)

    def create_response(self, response_data: Any, sub_response: Any) -> Response:
        """A result with no data (or only nulls) whose every error is the service's own failure (database unreachable,
        busy, timed out) carries that error's HTTP status (503), so load balancers and retries see it."""
        response = super().create_response(response_data, sub_response)
        status = _service_failure_status(response_data)
        if status is not None:
            response.status_code = status
        return response

    async def render_graphql_ide(self, request: Request) -> Response:
        return graphiql_response()  # assets from /static/vendor (web/vendor), not a CDN


# the one route that takes large bodies (a layer file); it enforces `TOWNE_MAX_IMPORT_BYTES` itself
LAYER_IMPORT_PATH = re.compile(r"/layers/[a-z0-9][a-z0-9-]{0,63}/import")


class BodyLimit:
    """413 for request bodies above `limit` bytes, by `Content-Length` or as the body streams in; a POST
    to `LAYER_IMPORT_PATH` is left to that route's own, larger limit."""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (
            scope.get("method") == "POST" and LAYER_IMPORT_PATH.fullmatch(scope.get("path", ""))
        ):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, receive, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = PayloadTooLarge(f"the request body is larger than {self.limit} bytes")
        await graphql_error_response(error, 413)(scope, receive, send)


class _TooLarge(Exception):
    pass


class Cors(CORSMiddleware):
    """Starlette's CORS, its refused preflight (plain text) in the error language: a BAD_REQUEST body."""

    def preflight_response(self, request_headers: Any) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code != 400:
            return response
        refused = graphql_error_response(BadRequest(bytes(response.body).decode("utf-8", "replace")), 400)
        for name in ("vary", "access-control-allow-methods", "access-control-max-age"):
            if name in response.headers:
                refused.headers[name] = response.headers[name]
        return refused


_heap_frozen = False


def freeze_startup_heap() -> None:
    """Move what the process holds once started (modules, the schema, caches) out of the cyclic collector's
    sight (`gc.freeze`), once per process. A full collection then scans only what requests allocate: during
    a 649-site portfolio preview its pauses, which stall every request on the event loop, drop from about
    100 ms to 10–25 ms (issue 8, `bench/billing_loop.py`). Frozen objects are still freed by reference
    counting; only cyclic garbage among them would stay."""
    global _heap_frozen
    if not _heap_frozen:
        _heap_frozen = True
        gc.collect()
        gc.freeze()


# the query parameters of POST /layers/{code}/import
IMPORT_PARAMETERS = ("mode", "kind", "name", "repair", "dryRun")


def create_app(
    settings: Settings, *, database_url: str | None = None, db: Database | None = None
) -> Starlette:
    """Build the app; nothing connects until the first request, and nothing is installed or started here
    (design.md §13): the CLI brings a development database up before it serves. Raises `ValueError` when
    neither `db`, `database_url` nor `DATABASE_URL` names a database."""
    if db is None:
        url = database_url or settings.database_url
        if not url:
            raise ValueError(
                "no database: set DATABASE_URL, or start the server with `towne run` / `towne serve`"
            )
        # the application role: row-level security applies to it (docs/security.md)
        read_url = settings.database_read_url
        db = Database.from_url(
            app_database_url(settings, url),
            read_url=app_role_url(settings, normalise_url(read_url)) if read_url else None,
            echo=settings.sql_echo,
            lock_timeout_ms=settings.lock_timeout_ms,
            statement_timeout_ms=settings.statement_timeout_ms,
            pool_size=settings.pool_size,
            max_overflow=settings.pool_max_overflow,
            pool_timeout=settings.pool_timeout_s,
        )
        owned = True
    else:
        owned = False
    database = db
    verifier = TokenVerifier(settings, allow_generated_secret=not settings.production)
    graphql = TowneGraphQL(database, settings, verifier)

    head = migrations_head()
    from server.audit import audit_routes  # these import this module's request helpers
    from server.documents import document_routes
    from server.exports import export_routes
    from server.gis import gis_routes

    async def healthz(request: Request) -> Response:
        """200 while the process serves; never touches the database (a liveness probe)."""
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        """200 `{"status": "ok", "migration": …}` when the database answers and its schema is at the
        migrations' head; else 503 with `SERVICE_UNAVAILABLE` or `NOT_READY` (a readiness probe)."""
        try:
            async with database.read() as session:
                current = (await session.execute(text("SELECT version_num FROM alembic_version"))).scalars()
                versions = set(current)
        except Exception as exc:
            if _sqlstate_in(exc) == UNDEFINED_TABLE:  # it answers, but no migration ever ran
                return problem_response(NotReady(f"the database has no migrations; the code needs {head}"))
            known = from_database(exc)
            if known is None:
                log.warning("readyz: the database does not answer as expected", exc_info=True)
            return problem_response(
                known if isinstance(known, Unavailable) else Unavailable("the database does not answer")
            )
        if versions != {head}:
            return problem_response(
                NotReady(f"the database schema is at {sorted(versions) or 'nothing'}, the code needs {head}")
            )
        return JSONResponse({"status": "ok", "migration": head})

    async def gl_export(request: Request) -> Response:
        """`GET /statements/{id}/gl-export.csv`: the Great Plains journal (§3.8) of a Sent version; the id of
        a statement exports its current version, the id of a version that version."""
        door = database.request(replica=not _pinned_to_primary(request, settings.read_your_writes_s))
        request_id = request_id_of(request)
        try:
            caller = await caller_of(request, door, verifier)
            if caller.is_anonymous:
                raise Unauthenticated("sign in: send `Authorization: Bearer <token>`")
            ctx = Context(db=door, settings=settings, caller=caller, request_id=request_id)
            any_id = identifier(request.path_params["statement_id"], argument="statementId")
            text = await statement_service.gl_export_csv(ctx, any_id=any_id)
        except TowneError as error:
            return problem_response(error, request_id=request_id)
        except Exception as exc:
            known = from_database(exc)
            if known is None:
                log.exception("GL export failed (request %s)", request_id)
            return problem_response(known or Internal(request_id), request_id=request_id)
        finally:
            await door.close()
        return Response(
            text,
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="gl-export-{any_id}.csv"',
                "x-request-id": ctx.request_id,
            },
        )

    async def layer_import(request: Request) -> Response:
        """`POST /layers/{code}/import`: a GeoJSON FeatureCollection as the body (up to
        `TOWNE_MAX_IMPORT_BYTES`), imported all or nothing as `importTerritoryLayer` does; query
        parameters `mode` (merge|replace), `kind` (partition|overlay, for a new layer), `name`, `repair`,
        `dryRun` (true|false). 200 with the report, or a problem body (422 IMPORT_REFUSED with `features`)."""
        door = database.request()
        request_id = request_id_of(request)
        try:
            caller = await caller_of(request, door, verifier)
            if caller.is_anonymous:
                raise Unauthenticated("sign in: send `Authorization: Bearer <token>`")
            if "gisEditor" not in caller.roles:
                raise Forbidden("importing a territory layer needs the role gisEditor")
            query = request.query_params
            # a misspelt dryRun must not run the import for real: every parameter is known or refused
            for key in query:
                if key not in IMPORT_PARAMETERS:
                    raise BadUserInput(
                        f"unknown parameter {key[:40]!r}; this route takes {', '.join(IMPORT_PARAMETERS)}",
                        argument=key[:40],
                    )
                if len(query.getlist(key)) > 1:
                    raise BadUserInput(f"{key} is given more than once", argument=key)
            flags = {k: query.get(k, "false") for k in ("repair", "dryRun")}
            mode, kind = query.get("mode", "merge").lower(), query.get("kind")
            if mode not in ("merge", "replace"):
                raise BadUserInput("mode must be merge or replace", argument="mode")
            if kind not in (None, "partition", "overlay"):
                raise BadUserInput("kind must be partition or overlay", argument="kind")
            if any(v not in ("true", "false") for v in flags.values()):
                raise BadUserInput("repair and dryRun must be true or false", argument="dryRun")
            body = bytearray()
            async for chunk in request.stream():
                body += chunk
                if len(body) > settings.max_import_bytes:
                    raise PayloadTooLarge(f"the layer file is larger than {settings.max_import_bytes} bytes")
            ctx = Context(db=door, settings=settings, caller=caller, request_id=request_id)
            with operation("POST /layers/{code}/import"):
                done = await territory_service.import_layer(
                    ctx,
                    layer_code=request.path_params["code"],
                    collection=bytes(body),
                    replace=mode == "replace",
                    layer_name=query.get("name"),
                    kind=kind,
                    repair=flags["repair"] == "true",
                    dry_run=flags["dryRun"] == "true",
                )
        except TowneError as error:
            response = problem_response(error, request_id=request_id)
            if isinstance(error, ImportRefused):
                body_out = {**error.as_extensions(), "message": error.message}
                body_out["features"] = [dataclasses.asdict(f) for f in error.features]
                response = AsciiJSONResponse(
                    body_out, http_status(error), headers={"x-request-id": request_id}
                )
            return response
        except Exception as exc:
            known = from_database(exc)
            if known is None:
                log.exception("layer import failed (request %s)", request_id)
            return problem_response(known or Internal(request_id), request_id=request_id)
        finally:
            await door.close()
        report = {
            "dryRun": done.dry_run,
            "layerCreated": done.layer_created,
            "features": [dataclasses.asdict(f) for f in done.features],
            "retired": done.retired,
            "sitesChanged": len(done.site_changes),
            "siteChanges": [dataclasses.asdict(c) for c in done.site_changes],
        }
        return AsciiJSONResponse(report, headers={"x-request-id": request_id})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        freeze_startup_heap()
        yield
        if owned:
            await database.dispose()

    async def http_error(request: Request, exc: Exception) -> Response:
        """Starlette's own 404 and 405 in the error language: GraphQL-shaped on /graphql, a problem body
        elsewhere."""
        status = getattr(exc, "status_code", 404)
        path = request.url.path[:200]
        error: TowneError = (
            MethodNotAllowed(f"{request.method} is not allowed on {path}")
            if status == 405
            else NotFound(f"no route {path}; the API is at /graphql")
        )
        if request.url.path == "/graphql":
            return graphql_error_response(error, http_status(error))
        return problem_response(error)

    app = Starlette(
        exception_handlers={StarletteHTTPException: http_error},
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/health", readyz),  # the earlier name of /readyz
            Route("/statements/{statement_id}/gl-export.csv", gl_export),
            Route("/layers/{code}/import", layer_import, methods=["POST"]),
            *gis_routes(database, settings, verifier),  # GeoJSON, vector tiles, OGC API – Features
            *audit_routes(database, settings, verifier),  # /audit-log.csv
            *export_routes(database, settings, verifier),  # /exports/….csv|.xlsx
            *document_routes(database, settings, verifier),  # /invoices/{id}.pdf
            vendor_mount(),
        ],
        lifespan=lifespan,
    )
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(GZipMiddleware, minimum_size=settings.gzip_minimum_bytes)
    if settings.cors_origins:
        app.add_middleware(
            Cors,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["authorization", "content-type", "x-request-id", PRIMARY_UNTIL],
            expose_headers=["x-request-id", PRIMARY_UNTIL],
            max_age=600,
        )
    app.add_middleware(observe.RequestLog)  # outermost: sees every request and its final status
    observe.count_statements(database.bind)
    if database.read_bind is not None:
        observe.count_statements(database.read_bind)
    observe.configure_logging()
    return app


def app_from_environment() -> Starlette:
    """The app of one worker process, its settings read from the environment (`towne serve --workers N`
    runs `uvicorn server.app:app_from_environment --factory`; the CLI puts the database URL there).

    Read afresh, not `get_settings()`: with one worker uvicorn builds the app in the CLI's own process,
    whose cached settings were read before the CLI put the database URL in the environment."""
    return create_app(Settings())
