"""A hostile, careless client against the ASGI app in-process: every bad request gets a clear error with a
stable code (a GraphQL error's `extensions.code`, a `Problem` member of a mutation payload, or a REST problem
body), naming the argument, with no partial write, never a 5xx, and never SQL, parameters, driver names,
paths or tracebacks in the response.

A case that fails for a known cause can be marked `xfail(strict=True)` with the cause as its reason (none is).

One module-scoped outer transaction holds the statements the cases act on (0349 unsent with a superseded
revision, 0170 Sent); every case runs in a savepoint rolled back after it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.database import Database
from importer.run import ImportSummary
from server.app import create_app
from server.settings import Settings
from tests.conftest import bearer

FORBIDDEN = (
    "SELECT",
    "INSERT",
    "UPDATE ",
    "asyncpg",
    "sqlalchemy",
    "psycopg",
    "Traceback",
    "/work/",
    ".py",
    "parameters:",
    "[SQL",
)
NIL = "00000000-0000-0000-0000-000000000000"
PERIOD = "2025-04"
JSON_TYPE = (("content-type", "application/json"),)

# --------------------------------------------------------------------------------------------- causes (xfail)


def xfail(reason: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=reason)


# ------------------------------------------------------------------------------------------------- requests


@dataclass(frozen=True)
class Req:
    """One HTTP request; `@NAME@` tokens in the path, the query and the variables are replaced by the ids of
    the module's statements before it is sent."""

    method: str = "POST"
    path: str = "/graphql"
    body: bytes | None = None
    payload: Any = None
    headers: tuple[tuple[str, str], ...] = JSON_TYPE
    params: tuple[tuple[str, str], ...] = ()
    chunked: bool = False


def q(query: str, variables: dict[str, Any] | None = None, **envelope: Any) -> Req:
    """A GraphQL POST; the JSON is ASCII (a lone surrogate travels as the escape `\\ud800`)."""
    payload: dict[str, Any] = {"query": query, **envelope}
    if variables is not None:
        payload["variables"] = variables
    return Req(payload=payload)


def raw(body: bytes, content_type: str | None = "application/json") -> Req:
    return Req(body=body, headers=(("content-type", content_type),) if content_type else ())


def get(accept: str = "application/json", **params: str) -> Req:
    return Req(method="GET", headers=(("accept", accept),), params=tuple(params.items()))


def b64(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode()


@dataclass(frozen=True)
class Expect:
    status: int | tuple[int, ...] = 200
    code: str | None = None  # GraphQL `extensions.code`, Problem `code` or REST problem `code`
    argument: str | None = None  # `extensions.argument` (and named in the message)
    problem: str | None = None  # the data field holding a `Problem` member (mutation payloads)
    rest: bool = False  # a REST problem body `{"code", "message", …}`
    clean: bool = False  # a success: no `errors` at all
    in_message: str | None = None
    leak_check: bool = True


def ok() -> Expect:
    return Expect(clean=True)


def bad_input(argument: str | None = None, *, in_message: str | None = None) -> Expect:
    return Expect(code="BAD_USER_INPUT", argument=argument, in_message=in_message)


def bad_request(status: int = 400) -> Expect:
    return Expect(status=status, code="BAD_REQUEST")


def method_not_allowed() -> Expect:
    return Expect(status=405, code="METHOD_NOT_ALLOWED")


def parse_failed() -> Expect:
    return Expect(code="GRAPHQL_PARSE_FAILED")


def validation_failed() -> Expect:
    return Expect(code="GRAPHQL_VALIDATION_FAILED")


def problem(field_name: str, code: str, argument: str | None = None) -> Expect:
    return Expect(code=code, problem=field_name, argument=argument)


def rest(status: int, code: str, argument: str | None = None) -> Expect:
    return Expect(status=status, code=code, rest=True, argument=argument)


# ---------------------------------------------------------------------------------------------- the world


@dataclass
class World:
    client: httpx.AsyncClient
    connection: AsyncConnection
    ids: dict[str, str] = field(default_factory=dict)

    def fill(self, value: Any) -> Any:
        if isinstance(value, str):
            for name, id_ in self.ids.items():
                value = value.replace(f"@{name}@", id_)
            return value
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        return value

    async def send(self, req: Req) -> httpx.Response:
        content: Any = req.body
        if content is None and req.payload is not None:
            content = json.dumps(self.fill(req.payload)).encode()  # ensure_ascii: surrogates as escapes
        if req.chunked and content is not None:
            data = content

            async def chunks() -> AsyncIterator[bytes]:
                for i in range(0, len(data), 65536):
                    yield data[i : i + 65536]

            content = chunks()
        return await self.client.request(
            req.method,
            self.fill(req.path),
            content=content,
            headers=dict(req.headers),
            params=dict(req.params) if req.params else None,
        )

    async def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        response = await self.send(q(query, variables))
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body
        return body

    async def scalar(self, sql: str) -> Any:
        return (await self.connection.execute(text(sql))).scalar_one()


STATEMENT_FIELDS = (
    "statement { id status currentVersion { id } invoices { id amount lines { id flags { isAdhoc } } } }"
)
GENERATE = (
    "mutation ($s: String!, $p: String) { generateStatement(siteNumber: $s, servicePeriod: $p) { __typename "
    f"... on StatementPayload {{ {STATEMENT_FIELDS} }} ... on Problem {{ code message }} }} }}"
)
CONFIRM = "mutation ($i: ID!) { confirmStatementReview(statementId: $i) { __typename } }"
SEND = "mutation ($i: ID!) { markStatementSent(statementId: $i) { __typename } }"


async def _generate(world: World, site: str) -> dict[str, Any]:
    result = (await world.graphql(GENERATE, s=site, p=PERIOD))["data"]["generateStatement"]
    assert result["__typename"] == "StatementPayload", result
    statement: dict[str, Any] = result["statement"]
    return statement


async def _ready(world: World, statement: dict[str, Any]) -> None:
    for _ in range(3):
        status = await world.graphql("query ($i: ID!) { statement(id: $i) { status } }", i=statement["id"])
        if status["data"]["statement"]["status"] == "READY_TO_SEND":
            return
        await world.graphql(CONFIRM, i=statement["id"])
    raise AssertionError(f"statement {statement['id']} did not reach READY_TO_SEND")


async def _build(world: World) -> None:
    first = await _generate(world, "0349")
    current = await _generate(world, "0349")  # replaces `first`: its version and invoice are superseded
    await _ready(world, current)
    sent = await _generate(world, "0170")
    await _ready(world, sent)
    await world.graphql(SEND, i=sent["id"])
    invoice = current["invoices"][0]
    world.ids.update(
        OLD_VERSION=first["currentVersion"]["id"],
        OLD_INVOICE=first["invoices"][0]["id"],
        STATEMENT=current["id"],
        VERSION=current["currentVersion"]["id"],
        INVOICE=invoice["id"],
        GEN_LINE=next(line["id"] for line in invoice["lines"] if not line["flags"]["isAdhoc"]),
        SENT_STATEMENT=sent["id"],
        SENT_VERSION=sent["currentVersion"]["id"],
        SENT_INVOICE=sent["invoices"][0]["id"],
        SENT_LINE=sent["invoices"][0]["lines"][0]["id"],
    )


@pytest.fixture(scope="module")
async def world(engine: AsyncEngine, imported: ImportSummary, settings: Settings) -> AsyncIterator[World]:
    async with engine.connect() as connection:
        outer = await connection.begin()
        try:
            app = create_app(settings, db=Database(connection))
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://test", headers=bearer(settings)
            ) as client:
                built = World(client, connection)
                await _build(built)
                yield built
        finally:
            await outer.rollback()


@pytest.fixture
async def w(world: World) -> AsyncIterator[World]:
    """The world, with whatever the case writes rolled back after it."""
    savepoint = await world.connection.begin_nested()
    try:
        yield world
    finally:
        if savepoint.is_active:
            await savepoint.rollback()


# ------------------------------------------------------------------------------------------------- checking


def _errors(body: Any) -> list[dict[str, Any]]:
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        return [e for e in body["errors"] if isinstance(e, dict)]
    return []


def verify(response: httpx.Response, expect: Expect) -> Any:
    """The universal checks (no 5xx, codes everywhere, no leaks, JSON on every refusal) and the case's own."""
    text_ = response.text
    shown = f"{response.status_code} {text_[:400]!r}"
    assert response.status_code < 500, shown
    if expect.leak_check:
        leaked = [bad for bad in FORBIDDEN if bad in text_]
        assert not leaked, f"leaks {leaked}: {shown}"
    allowed = expect.status if isinstance(expect.status, tuple) else (expect.status,)
    assert response.status_code in allowed, shown
    body: Any = None
    if text_:
        try:
            body = response.json()
        except ValueError:
            body = None
    if response.status_code >= 400 and response.request.method != "HEAD":
        assert isinstance(body, dict), f"a refusal without a JSON body: {shown}"
        assert body.get("code") or _errors(body), f"a refusal without a code: {shown}"
    for error in _errors(body):
        assert (error.get("extensions") or {}).get("code"), f"error without extensions.code: {error}"
    if expect.clean:
        assert isinstance(body, dict) and "errors" not in body, shown
    if expect.code is None:
        return body
    assert isinstance(body, dict), shown
    if expect.rest:
        assert body.get("code") == expect.code, shown
        if expect.argument is not None:
            assert body.get("argument") == expect.argument, shown
        return body
    if expect.problem is not None:
        member = (body.get("data") or {}).get(expect.problem)
        assert isinstance(member, dict) and member.get("code") == expect.code, shown
        if expect.argument is not None:
            assert expect.argument in member["message"], shown
        return body
    matching = [e for e in _errors(body) if e["extensions"]["code"] == expect.code]
    assert matching, f"expected {expect.code}: {shown}"
    if expect.argument is not None:
        named = [e for e in matching if e["extensions"].get("argument") == expect.argument]
        assert named, f"expected argument {expect.argument}: {shown}"
        assert expect.argument in named[0]["message"], shown
    if expect.in_message is not None:
        assert any(expect.in_message in e["message"] for e in matching), shown
    return body


Case = Any  # a pytest.param(Req, Expect, id=…)


def case(id_: str, req: Req, expect: Expect, *, xfail_reason: str | None = None) -> Case:
    marks = [xfail(xfail_reason)] if xfail_reason else []
    return pytest.param(req, expect, id=id_, marks=marks)


# ----------------------------------------------------------------------------------------------- envelopes

BIG = b'{"query": "{ __typename }", "pad": "' + b"x" * 1_100_000 + b'"}'
ALMOST = b'{"query": "{ __typename }", "pad": "' + b"x" * 990_000 + b'"}'
TYPENAME = '{"query": "{ __typename }"}'

ENVELOPES = [
    case("body-null", raw(b"null"), bad_request()),
    case("body-string", raw(b'"{ __typename }"'), bad_request()),
    case("body-number", raw(b"42"), bad_request()),
    case("body-true", raw(b"true"), bad_request()),
    case("body-empty-list", raw(b"[]"), bad_request()),
    case("body-batch-list", raw(b'[{"query": "{ __typename }"}]'), bad_request()),
    case("body-invalid-json", raw(b'{"query": '), bad_request()),
    case("body-empty", raw(b""), bad_request()),
    case("body-whitespace", raw(b"  \n "), bad_request()),
    case("body-not-utf8-ff", raw(b'{"query": "{ site(siteNumber: \\"\xff\\") { name } }"}'), bad_request()),
    case(
        "body-latin1",
        raw('{"query": "{ sites(filter: {search: \\"caf\u00e9\\"}) { totalCount } }"}'.encode("latin-1")),
        bad_request(),
    ),
    case(
        "body-latin1-declared",
        Req(
            body='{"query": "{ sites(filter: {search: \\"\u00e9\\"}) { totalCount } }"}'.encode("latin-1"),
            headers=(("content-type", "application/json; charset=latin-1"),),
        ),
        bad_request(),
    ),
    case("body-utf16", raw(TYPENAME.encode("utf-16")), bad_request()),
    case("body-utf32", raw(TYPENAME.encode("utf-32")), bad_request()),
    case(
        "body-cesu8-surrogate",
        raw(
            b'{"query": "query ($s: String!) { site(siteNumber: $s) { name } }", "variables": {"s": "\xed\xa0\x80"}}'
        ),
        bad_request(),
    ),
    case("missing-query", raw(b"{}"), bad_request()),
    case("query-null", raw(b'{"query": null}'), bad_request()),
    case("query-number", raw(b'{"query": 5}'), bad_request()),
    case("query-true", raw(b'{"query": true}'), bad_request()),
    case("query-list", raw(b'{"query": ["{ __typename }"]}'), bad_request()),
    case("query-object", raw(b'{"query": {"a": 1}}'), bad_request()),
    case("query-empty", raw(b'{"query": ""}'), bad_request()),
    case("variables-list", raw(b'{"query": "{ __typename }", "variables": []}'), bad_request()),
    case("variables-string", raw(b'{"query": "{ __typename }", "variables": "{}"}'), bad_request()),
    case("variables-number", raw(b'{"query": "{ __typename }", "variables": 1}'), bad_request()),
    case("variables-true", raw(b'{"query": "{ __typename }", "variables": true}'), bad_request()),
    case("variables-NaN", raw(b'{"query": "{ __typename }", "variables": {"r": NaN}}'), bad_request()),
    case(
        "variables-Infinity", raw(b'{"query": "{ __typename }", "variables": {"r": Infinity}}'), bad_request()
    ),
    case(
        "variables-minus-Infinity",
        raw(b'{"query": "{ __typename }", "variables": {"r": -Infinity}}'),
        bad_request(),
    ),
    case("body-NaN", raw(b"NaN"), bad_request()),
    case(
        "int-of-5000-digits",
        raw(b'{"query": "{ __typename }", "variables": {"n": ' + b"9" * 5000 + b"}}"),
        bad_request(),
    ),
    case(
        "json-nested-100000-deep",
        raw(b'{"query": "{ __typename }", "variables": {"v": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}"),
        bad_request(),
    ),
    case("extensions-list", raw(b'{"query": "{ __typename }", "extensions": []}'), bad_request()),
    case("operationName-number", raw(b'{"query": "{ __typename }", "operationName": 5}'), bad_request()),
    case(
        "operationName-unknown",
        raw(b'{"query": "query A { __typename }", "operationName": "B"}'),
        bad_request(),
    ),
    case(
        "operationName-lone-surrogate",
        q("{ __typename }", operationName="\ud800"),
        bad_request(),
    ),
    case(
        "operationName-cesu8-surrogate",
        raw(b'{"query": "{ __typename }", "operationName": "\xed\xa0\x80"}'),
        bad_request(),
    ),
    case(
        "two-operations-no-operationName",
        q("query A { __typename } query B { __typename }"),
        validation_failed(),
    ),
    case("content-type-text-plain", raw(TYPENAME.encode(), "text/plain"), bad_request()),
    case("content-type-missing", raw(TYPENAME.encode(), None), bad_request()),
    case(
        "content-type-form",
        raw(b"query=%7B__typename%7D", "application/x-www-form-urlencoded"),
        bad_request(),
    ),
    case(
        "content-type-multipart", raw(b"--x\r\n\r\n--x--", "multipart/form-data; boundary=x"), bad_request()
    ),
    case("content-type-application-graphql", raw(b"{ __typename }", "application/graphql"), bad_request()),
    case("body-over-1MB-content-length", raw(BIG), Expect(status=413, code="PAYLOAD_TOO_LARGE")),
    case("body-over-1MB-chunked", Req(body=BIG, chunked=True), Expect(status=413, code="PAYLOAD_TOO_LARGE")),
    case("body-small-chunked", Req(body=TYPENAME.encode(), chunked=True), ok()),
    case("body-just-under-1MB", raw(ALMOST), ok()),
    case(
        "health-body-over-1MB",
        Req(method="GET", path="/health", body=b"x" * 1_100_000, headers=()),
        Expect(status=413, code="PAYLOAD_TOO_LARGE"),
    ),
]


@pytest.mark.parametrize(("req", "expect"), ENVELOPES)
async def test_envelope(w: World, req: Req, expect: Expect) -> None:
    verify(await w.send(req), expect)


# ---------------------------------------------------------------------------------- methods, routes, GET

MUTATION_0349 = (
    f'mutation {{ generateStatement(siteNumber: "0349", servicePeriod: "{PERIOD}") {{ __typename }} }}'
)

METHODS = [
    case("GET-query", get(query="{ __typename }"), ok()),
    case("GET-mutation-refused", get(query=MUTATION_0349), bad_request()),
    case(
        "GET-mutation-named-second",
        get(
            query="query A { __typename } " + MUTATION_0349.replace("mutation", "mutation B"),
            operationName="B",
        ),
        bad_request(),
    ),
    case("GET-variables-not-json", get(query="{ __typename }", variables="{"), bad_request()),
    case("GET-variables-list", get(query="{ __typename }", variables="[1]"), bad_request()),
    case("GET-variables-NaN", get(query="{ __typename }", variables='{"a": NaN}'), bad_request()),
    case("GET-without-query", get(), bad_request()),
    case(
        "GET-NUL-escape-in-literal",
        get(query='{ site(siteNumber: "\\u0000") { name } }'),
        bad_input("siteNumber"),
    ),
    case("GET-raw-NUL-in-query", get(query="{ __typename \x00 }"), parse_failed()),
    case("GET-graphiql", get(accept="text/html"), Expect(leak_check=False)),
    case("HEAD-graphql", Req(method="HEAD", headers=()), Expect(status=405)),
    case(
        "PUT-graphql",
        Req(method="PUT", payload={"query": "{ __typename }"}),
        method_not_allowed(),
    ),
    case("DELETE-graphql", Req(method="DELETE", headers=()), method_not_allowed()),
    case(
        "PATCH-graphql",
        Req(method="PATCH", payload={"query": "{ __typename }"}),
        method_not_allowed(),
    ),
    case("OPTIONS-graphql", Req(method="OPTIONS", headers=()), method_not_allowed()),
    case("GET-healthz", Req(method="GET", path="/healthz", headers=()), ok()),
    case("GET-readyz", Req(method="GET", path="/readyz", headers=()), ok()),
    case("POST-readyz", Req(method="POST", path="/readyz", payload={}), rest(405, "METHOD_NOT_ALLOWED")),
    case("GET-health", Req(method="GET", path="/health", headers=()), ok()),
    case("HEAD-health", Req(method="HEAD", path="/health", headers=()), Expect(status=200)),
    case(
        "POST-health",
        Req(method="POST", path="/health", payload={}),
        rest(405, "METHOD_NOT_ALLOWED"),
    ),
    case(
        "GET-unknown-route",
        Req(method="GET", path="/nope", headers=()),
        Expect(status=404, code="NOT_FOUND", rest=True),
    ),
]


@pytest.mark.parametrize(("req", "expect"), METHODS)
async def test_methods_and_routes(w: World, req: Req, expect: Expect) -> None:
    verify(await w.send(req), expect)


# ------------------------------------------------------------------------------------ parse and validation

SITE_VAR = "query ($s: String!) { site(siteNumber: $s) { name } }"
FIRST_VAR = "query ($f: Int!) { sites(first: $f) { totalCount } }"

PARSE_AND_VALIDATION = [
    case("syntax-error", q("{ site(siteNumber: ) { name } }"), parse_failed()),
    case("query-whitespace-only", q("   "), parse_failed()),
    case("raw-NUL-outside-strings", q("{ __typename \u0000 }"), parse_failed()),
    case("raw-lone-surrogate-in-source", q("{ __typename \ud800 }"), parse_failed()),
    case("raw-lone-surrogate-in-string", q('{ site(siteNumber: "\ud800") { name } }'), parse_failed()),
    # GraphQL: an escaped lone surrogate is a syntax error, so a literal cannot reach the argument guard
    case("escaped-lone-surrogate-in-literal", q('{ site(siteNumber: "\\ud800") { name } }'), parse_failed()),
    case(
        "selection-nested-4000-deep",
        q('{ site(siteNumber: "0349") ' + "{ contract { site " * 4000 + "{ name }" + " } }" * 4000 + " }"),
        parse_failed(),
    ),
    case("braces-300000-deep", q("{" * 300_000), parse_failed()),
    case(
        "list-literal-100000-deep",
        q("{ sites(filter: {bbox: " + "[" * 100_000 + "]" * 100_000 + "}) { totalCount } }"),
        parse_failed(),
    ),
    case("unknown-field", q("{ nope }"), validation_failed()),
    case("unknown-argument", q('{ site(siteNumber: "0349", x: 1) { name } }'), validation_failed()),
    case(
        "fragment-cycle",
        q("fragment A on Query { ...B } fragment B on Query { ...A } { ...A }"),
        validation_failed(),
    ),
    case("undefined-variable", q("{ site(siteNumber: $x) { name } }"), validation_failed()),
    case("unused-variable", q("query ($x: String) { __typename }"), validation_failed()),
    case("unknown-directive", q("{ __typename @nope }"), validation_failed()),
    case("enum-literal-unknown", q("{ sites(orderBy: NOPE) { totalCount } }"), validation_failed()),
    case("int-literal-2^31", q("{ sites(first: 2147483648) { totalCount } }"), validation_failed()),
    case(
        "money-literal-abc",
        q(
            'mutation { addAdhocLine(invoiceId: "@INVOICE@", line: {type: MISCELLANEOUS_ITEM, title: "x", code: "7000", amount: "abc"}) { __typename } }'
        ),
        validation_failed(),
    ),
    case(
        "money-literal-1e400",
        q(
            'mutation { addAdhocLine(invoiceId: "@INVOICE@", line: {type: MISCELLANEOUS_ITEM, title: "x", code: "7000", amount: 1e400}) { __typename } }'
        ),
        validation_failed(),
    ),
    case(
        "datetime-literal-garbage",
        q('{ territory(layer: "districts", code: "orlando", asOf: "garbage") { name } }'),
        validation_failed(),
    ),
    case("subscription", q('subscription { site(siteNumber: "0349") { name } }'), validation_failed()),
    case("missing-required-variable", q(SITE_VAR, {}), bad_input(in_message="$s")),
    case(
        "variable-null-for-non-null",
        q(SITE_VAR, {"s": None}),
        bad_input(in_message="$s"),
    ),
    case(
        "int-variable-string",
        q(FIRST_VAR, {"f": "ten"}),
        bad_input(in_message="$f"),
    ),
    case(
        "int-variable-2^31",
        q(FIRST_VAR, {"f": 2**31}),
        bad_input(in_message="$f"),
    ),
    case(
        "int-variable-float",
        q(FIRST_VAR, {"f": 1.5}),
        bad_input(in_message="$f"),
    ),
    case(
        "int-variable-1e400",
        raw(b'{"query": "query ($f: Int!) { sites(first: $f) { totalCount } }", "variables": {"f": 1e400}}'),
        bad_input(in_message="$f"),
    ),
    case(
        "float-variable-1e400",
        raw(
            b'{"query": "query ($r: Float!) { sites(filter: {near: {lon: 0, lat: 0, radiusMeters: $r}}) { totalCount } }", "variables": {"r": 1e400}}'
        ),
        bad_input(in_message="$r"),
    ),
    case(
        "string-variable-number",
        q(SITE_VAR, {"s": 349}),
        bad_input(in_message="$s"),
    ),
    case(
        "enum-variable-unknown",
        q("query ($o: SiteOrderField!) { sites(orderBy: $o) { totalCount } }", {"o": "NOPE"}),
        bad_input(in_message="$o"),
    ),
    case(
        "input-variable-unknown-field",
        q("query ($f: SiteFilter) { sites(filter: $f) { totalCount } }", {"f": {"nope": 1}}),
        bad_input(in_message="$f"),
    ),
]


# the limits of schema/limits.py (defaults), and persisted-operation envelopes without a registry
PINNING = (
    '{ territoryLayer(code: "regions") { territories { sites(first: 500) { edges { node { territories {'
    " territory { sites(first: 500) { edges { node { siteNumber } } } } } } } } } } }"
)
DEEP = '{ site(siteNumber: "0349") { ' + "territories { layer { " * 7 + "code" + " } }" * 7 + " } }"
PARSE_AND_VALIDATION += [
    case("limit-cost-pinning-query", q(PINNING), Expect(code="QUERY_TOO_COSTLY")),
    case(
        "limit-cost-by-variable",
        q(
            "query ($f: Int!) { sites(first: $f) { edges { node { territories { territory {"
            " sites(first: $f) { edges { node { siteNumber } } } } } } } } }",
            {"f": 500},
        ),
        Expect(code="QUERY_TOO_COSTLY"),
    ),
    case(
        "limit-1000-aliases-of-billingPreview",
        q(
            '{ site(siteNumber: "0349") { '
            + " ".join(f'a{i}: billingPreview(servicePeriod: "{PERIOD}") {{ total }}' for i in range(1000))
            + " } }"
        ),
        Expect(code="TOO_MANY_ALIASES"),
    ),
    case("limit-depth", q(DEEP), Expect(code="QUERY_TOO_DEEP")),
    case("limit-tokens", q("{ " + "__typename " * 20_000 + "}"), Expect(code="TOO_MANY_TOKENS")),
    case(
        "persisted-unknown-hash",
        q("{ __typename }", extensions={"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}),
        bad_request(),
    ),
    case(
        "persisted-hash-only-unknown",
        Req(payload={"extensions": {"persistedQuery": {"sha256Hash": "0" * 64}}}),
        Expect(status=400, code="PERSISTED_QUERY_NOT_FOUND"),
    ),
    case("persisted-hash-not-hex", Req(payload={"documentId": "sha256:nope"}), bad_request()),
    case("persisted-hash-a-number", Req(payload={"documentId": 5}), bad_request()),
    case(
        "persisted-extension-a-string",
        Req(payload={"query": "{ __typename }", "extensions": {"persistedQuery": "x"}}),
        bad_request(),
    ),
]


@pytest.mark.parametrize(("req", "expect"), PARSE_AND_VALIDATION)
async def test_parse_and_validation(w: World, req: Req, expect: Expect) -> None:
    verify(await w.send(req), expect)


# -------------------------------------------------------------------------- NUL bytes and lone surrogates

SITES_FILTER = "query ($f: SiteFilter) { sites(filter: $f) { totalCount } }"
STATEMENTS_FILTER = "query ($f: StatementFilter) { statements(filter: $f) { totalCount } }"
GENERATE_ONE = (
    "mutation ($s: String!, $p: String, $k: String) { generateStatement(siteNumber: $s, servicePeriod: $p, "
    "idempotencyKey: $k) { __typename ... on Problem { code message } } }"
)
ADD_LINE = (
    "mutation ($i: ID!, $l: AdhocLineInput!) { addAdhocLine(invoiceId: $i, line: $l) { __typename "
    "... on Problem { code message } ... on InvoicePayload { lineId invoice { amount } } } }"
)
REMOVE_LINE = (
    "mutation ($i: ID!, $l: ID!) { removeAdhocLine(invoiceId: $i, lineId: $l) { __typename "
    "... on Problem { code message } } }"
)


def line(**fields: Any) -> dict[str, Any]:
    return {"type": "MISCELLANEOUS_ITEM", "title": "Valet tip", "code": "7000", "amount": "12.50", **fields}


STRINGS = [
    case("site-NUL-literal", q('{ site(siteNumber: "03\\u000049") { name } }'), bad_input("siteNumber")),
    case("site-NUL-variable", q(SITE_VAR, {"s": "\u0000"}), bad_input("siteNumber")),
    case("site-high-surrogate-variable", q(SITE_VAR, {"s": "\ud800"}), bad_input("siteNumber")),
    case("site-low-surrogate-variable", q(SITE_VAR, {"s": "0349\udfff"}), bad_input("siteNumber")),
    case("site-10001-chars", q(SITE_VAR, {"s": "1" * 10_001}), bad_input("siteNumber")),
    case("sites-search-NUL", q(SITES_FILTER, {"f": {"search": "ab\u0000c"}}), bad_input("filter.search")),
    case("sites-search-surrogate", q(SITES_FILTER, {"f": {"search": "\ud800"}}), bad_input("filter.search")),
    case(
        "sites-sourceDistrict-NUL",
        q(SITES_FILTER, {"f": {"sourceDistrict": "\u0000"}}),
        bad_input("filter.sourceDistrict"),
    ),
    case("sites-state-NUL", q(SITES_FILTER, {"f": {"state": "F\u0000"}}), bad_input("filter.state")),
    case(
        "sites-sourceDistrictMismatch-NUL",
        q(SITES_FILTER, {"f": {"sourceDistrictMismatch": "districts\u0000"}}),
        bad_input("filter.sourceDistrictMismatch"),
    ),
    case(
        "sites-territory-layer-NUL",
        q(SITES_FILTER, {"f": {"territory": {"layer": "\u0000", "code": "orlando"}}}),
        bad_input("filter.territory.layer"),
    ),
    case(
        "sites-territory-code-surrogate",
        q(SITES_FILTER, {"f": {"territory": {"layer": "districts", "code": "\udc00"}}}),
        bad_input("filter.territory.code"),
    ),
    case(
        "sites-after-NUL",
        q("query ($a: String) { sites(after: $a) { totalCount } }", {"a": "\u0000"}),
        bad_input("after"),
    ),
    case(
        "territory-layer-NUL",
        q('{ territory(layer: "\\u0000", code: "orlando") { name } }'),
        bad_input("layer"),
    ),
    case(
        "territory-code-NUL",
        q('{ territory(layer: "districts", code: "or\\u0000") { name } }'),
        bad_input("code"),
    ),
    case("territoryLayer-code-NUL", q('{ territoryLayer(code: "\\u0000") { name } }'), bad_input("code")),
    case(
        "site-territory-layer-NUL",
        q('{ site(siteNumber: "0349") { territory(layer: "\\u0000") { method } } }'),
        bad_input("layer"),
    ),
    case(
        "site-territoryHistory-layer-NUL",
        q('{ site(siteNumber: "0349") { territoryHistory(layer: "\\u0000") { method } } }'),
        bad_input("layer"),
    ),
    case(
        "billingPreview-period-NUL",
        q('{ site(siteNumber: "0349") { billingPreview(servicePeriod: "2025-04\\u0000") { total } } }'),
        bad_input("servicePeriod"),
    ),
    case(
        "billingPreviews-period-NUL",
        q('{ billingPreviews(servicePeriod: "\\u0000") { site { name } } }'),
        bad_input("servicePeriod"),
    ),
    case(
        "statements-siteNumber-NUL",
        q('{ statements(filter: {siteNumber: "\\u0000"}) { totalCount } }'),
        bad_input("filter.siteNumber"),
    ),
    case(
        "statements-servicePeriod-surrogate",
        q(STATEMENTS_FILTER, {"f": {"servicePeriod": "\ud800"}}),
        bad_input("filter.servicePeriod"),
    ),
    case(
        "statements-territoryLayer-NUL",
        q(STATEMENTS_FILTER, {"f": {"territoryLayer": "\u0000", "territoryCode": "orlando"}}),
        bad_input("filter.territoryLayer"),
    ),
    case("statements-after-NUL", q('{ statements(after: "\\u0000") { totalCount } }'), bad_input("after")),
    case("statement-id-NUL", q('{ statement(id: "\\u0000") { id } }'), bad_input("id")),
    case("statementVersion-id-NUL", q('{ statementVersion(id: "\\u0000") { id } }'), bad_input("id")),
    case("invoice-id-NUL", q('{ invoice(id: "\\u0000") { id } }'), bad_input("id")),
    case(
        "territory-sites-after-NUL",
        q('{ territory(layer: "districts", code: "orlando") { sites(after: "\\u0000") { totalCount } } }'),
        bad_input("after"),
    ),
    case(
        "nested-territory-layer-NUL-in-list",
        q('{ statements { edges { node { site { territory(layer: "\\u0000") { method } } } } } }'),
        bad_input("layer"),
    ),
    case("generateStatement-siteNumber-NUL", q(GENERATE_ONE, {"s": "0349\u0000"}), bad_input("siteNumber")),
    case(
        "generateStatement-period-NUL",
        q(GENERATE_ONE, {"s": "0349", "p": "\u0000"}),
        bad_input("servicePeriod"),
    ),
    case(
        "generateStatement-key-NUL",
        q(GENERATE_ONE, {"s": "0349", "p": PERIOD, "k": "k\u0000"}),
        bad_input("idempotencyKey"),
    ),
    case(
        "generateStatement-key-surrogate",
        q(GENERATE_ONE, {"s": "0349", "p": PERIOD, "k": "\ud83d"}),
        bad_input("idempotencyKey"),
    ),
    case(
        "generateStatements-territoryCode-NUL",
        q(
            'mutation { generateStatements(territoryLayer: "districts", territoryCode: "\\u0000") { generated } }'
        ),
        bad_input("territoryCode"),
    ),
    case(
        "regenerateStatement-id-NUL",
        q('mutation { regenerateStatement(statementId: "\\u0000") { __typename } }'),
        bad_input("statementId"),
    ),
    case(
        "regenerateStatement-key-NUL",
        q(
            'mutation ($i: ID!) { regenerateStatement(statementId: $i, idempotencyKey: "\\u0000") { __typename } }',
            {"i": "@SENT_STATEMENT@"},
        ),
        bad_input("idempotencyKey"),
    ),
    case(
        "confirmStatementReview-id-NUL",
        q('mutation { confirmStatementReview(statementId: "\\u0000") { __typename } }'),
        bad_input("statementId"),
    ),
    case(
        "markStatementSent-id-surrogate",
        q("mutation ($i: ID!) { markStatementSent(statementId: $i) { __typename } }", {"i": "\udfff"}),
        bad_input("statementId"),
    ),
    case(
        "addAdhocLine-title-NUL",
        q(ADD_LINE, {"i": "@INVOICE@", "l": line(title="a\u0000b")}),
        bad_input("line.title"),
    ),
    case(
        "addAdhocLine-description-surrogate",
        q(ADD_LINE, {"i": "@INVOICE@", "l": line(description="\ud800")}),
        bad_input("line.description"),
    ),
    case(
        "addAdhocLine-code-NUL",
        q(ADD_LINE, {"i": "@INVOICE@", "l": line(code="70\u000000")}),
        bad_input("line.code"),
    ),
    case("addAdhocLine-invoiceId-NUL", q(ADD_LINE, {"i": "\u0000", "l": line()}), bad_input("invoiceId")),
    case(
        "addAdhocLine-title-NUL-literal",
        q(
            'mutation { addAdhocLine(invoiceId: "@INVOICE@", line: {type: MISCELLANEOUS_ITEM, title: "\\u0000", code: "7000", amount: "1.00"}) { __typename } }'
        ),
        bad_input("line.title"),
    ),
    case(
        "addAdhocLine-amount-NUL",
        q(ADD_LINE, {"i": "@INVOICE@", "l": line(amount="1\u0000")}),
        bad_input(in_message="$l"),
    ),
    case(
        "removeAdhocLine-lineId-NUL", q(REMOVE_LINE, {"i": "@INVOICE@", "l": "\u0000"}), bad_input("lineId")
    ),
    case("removeAdhocLine-invoiceId-NUL", q(REMOVE_LINE, {"i": "\u0000", "l": NIL}), bad_input("invoiceId")),
    case(
        "generateStatements-siteNumbers[1]-NUL",
        q(
            f'mutation {{ generateStatements(siteNumbers: ["0349", "\\u0000"], servicePeriod: "{PERIOD}") {{ generated }} }}'
        ),
        bad_input("siteNumbers[1]"),
    ),
    case(
        "generateStatements-siteNumbers[2]-surrogate",
        q(
            "mutation ($s: [String!]) { generateStatements(siteNumbers: $s) { generated } }",
            {"s": ["0349", "0170", "\ud800"]},
        ),
        bad_input("siteNumbers[2]"),
    ),
    case("surrogate-pair-is-fine", q(SITE_VAR, {"s": "\ud83d\ude00"}), ok()),
]


@pytest.mark.parametrize(("req", "expect"), STRINGS)
async def test_strings_are_screened(w: World, req: Req, expect: Expect) -> None:
    verify(await w.send(req), expect)


async def test_alias_neighbour_of_a_bad_argument_still_resolves(w: World) -> None:
    body = verify(
        await w.send(q('{ a: site(siteNumber: "0349") { name } b: site(siteNumber: "\\u0000") { name } }')),
        bad_input("siteNumber"),
    )
    assert body["data"] == {"a": {"name": "Hilton Walt Disney World Resort"}, "b": None}
    [error] = body["errors"]
    assert error["path"] == ["b"]


async def test_bulk_with_a_nul_site_number_writes_nothing(w: World) -> None:
    before = await w.scalar("SELECT count(*) FROM statement_version")
    generations = await w.scalar("SELECT count(*) FROM statement_generation")
    verify(
        await w.send(
            q(
                f'mutation {{ generateStatements(siteNumbers: ["0349", "\\u0000"], servicePeriod: "{PERIOD}") {{ generated }} }}'
            )
        ),
        bad_input("siteNumbers[1]"),
    )
    assert await w.scalar("SELECT count(*) FROM statement_version") == before
    assert await w.scalar("SELECT count(*) FROM statement_generation") == generations


async def test_a_failing_mutation_alias_leaves_no_hidden_write(w: World) -> None:
    before = await w.scalar("SELECT count(*) FROM statement_version")
    body = verify(
        await w.send(
            q(
                f'mutation {{ a: generateStatement(siteNumber: "0349", servicePeriod: "{PERIOD}") {{ __typename }} '
                'b: generateStatement(siteNumber: "\\u0000") { __typename } }'
            )
        ),
        bad_input("siteNumber"),
    )
    written = await w.scalar("SELECT count(*) FROM statement_version") - before
    # either nothing was written, or the response shows what was
    assert written == 0 or (body.get("data") or {}).get("a"), f"data {body.get('data')} but {written} written"


# ------------------------------------------------------------------------- lengths, GL codes and amounts

LINES = [
    case("search-201-chars", q(SITES_FILTER, {"f": {"search": "a" * 201}}), bad_input("filter.search")),
    case("search-200-chars-ok", q(SITES_FILTER, {"f": {"search": "a" * 200}}), ok()),
    case("search-like-metacharacters-ok", q(SITES_FILTER, {"f": {"search": "\\%_\\"}}), ok()),
    case(
        "title-201-chars",
        q(ADD_LINE, {"i": "@INVOICE@", "l": line(title="t" * 201)}),
        problem("addAdhocLine", "INVALID_ADHOC_LINE", "line.title"),
    ),
    case(
        "title-blank",
        q(ADD_LINE, {"i": "@INVOICE@", "l": line(title="   ")}),
        problem("addAdhocLine", "INVALID_ADHOC_LINE", "line.title"),
    ),
    case(
        "title-empty",
        q(ADD_LINE, {"i": "@INVOICE@", "l": line(title="")}),
        problem("addAdhocLine", "INVALID_ADHOC_LINE", "line.title"),
    ),
    case(
        "description-2001-chars",
        q(ADD_LINE, {"i": "@INVOICE@", "l": line(description="d" * 2001)}),
        problem("addAdhocLine", "INVALID_ADHOC_LINE", "line.description"),
    ),
    case(
        "code-arabic-indic-7000",
        q(ADD_LINE, {"i": "@INVOICE@", "l": line(code="\u0667\u0660\u0660\u0660")}),
        problem("addAdhocLine", "INVALID_ADHOC_LINE", "line.code"),
    ),
    case(
        "code-fullwidth-7000",
        q(ADD_LINE, {"i": "@INVOICE@", "l": line(code="\uff17\uff10\uff10\uff10")}),
        problem("addAdhocLine", "INVALID_ADHOC_LINE", "line.code"),
    ),
    case(
        "code-5-digits",
        q(ADD_LINE, {"i": "@INVOICE@", "l": line(code="70000")}),
        problem("addAdhocLine", "INVALID_ADHOC_LINE", "line.code"),
    ),
    case(
        "code-letters",
        q(ADD_LINE, {"i": "@INVOICE@", "l": line(code="7a00")}),
        problem("addAdhocLine", "INVALID_ADHOC_LINE", "line.code"),
    ),
    case(
        "code-empty",
        q(ADD_LINE, {"i": "@INVOICE@", "l": line(code="")}),
        problem("addAdhocLine", "INVALID_ADHOC_LINE", "line.code"),
    ),
    case(
        "amount-1e15-string",
        q(ADD_LINE, {"i": "@INVOICE@", "l": line(amount="1e15")}),
        problem("addAdhocLine", "INVALID_ADHOC_LINE", "line.amount"),
    ),
    case(
        "amount-minus-1e15-string",
        q(ADD_LINE, {"i": "@INVOICE@", "l": line(amount="-1e15")}),
        problem("addAdhocLine", "INVALID_ADHOC_LINE", "line.amount"),
    ),
    case(
        "amount-1e15-number",
        q(ADD_LINE, {"i": "@INVOICE@", "l": line(amount=1e15)}),
        problem("addAdhocLine", "INVALID_ADHOC_LINE", "line.amount"),
    ),
    case(
        "amount-1e15-literal",
        q(
            'mutation { addAdhocLine(invoiceId: "@INVOICE@", line: {type: MISCELLANEOUS_ITEM, title: "x", code: "7000", amount: 1e15}) { __typename ... on Problem { code message } } }'
        ),
        problem("addAdhocLine", "INVALID_ADHOC_LINE", "line.amount"),
    ),
    case(
        "amount-1000000000000.00",
        q(ADD_LINE, {"i": "@INVOICE@", "l": line(amount="1000000000000.00")}),
        problem("addAdhocLine", "INVALID_ADHOC_LINE", "line.amount"),
    ),
    case(
        "amount-zero",
        q(ADD_LINE, {"i": "@INVOICE@", "l": line(amount="0")}),
        problem("addAdhocLine", "INVALID_ADHOC_LINE", "line.amount"),
    ),
    case(
        "amount-minus-zero",
        q(ADD_LINE, {"i": "@INVOICE@", "l": line(amount="-0.00")}),
        problem("addAdhocLine", "INVALID_ADHOC_LINE", "line.amount"),
    ),
    case(
        "amount-3-decimals",
        q(ADD_LINE, {"i": "@INVOICE@", "l": line(amount="0.001")}),
        problem("addAdhocLine", "INVALID_ADHOC_LINE", "line.amount"),
    ),
    case(
        "amount-1e-999999999",
        q(ADD_LINE, {"i": "@INVOICE@", "l": line(amount="1e-999999999")}),
        problem("addAdhocLine", "INVALID_ADHOC_LINE", "line.amount"),
    ),
    case(
        "amount-1e999999999",
        q(ADD_LINE, {"i": "@INVOICE@", "l": line(amount="1e999999999")}),
        problem("addAdhocLine", "INVALID_ADHOC_LINE", "line.amount"),
    ),
    case(
        "amount-minus-1e1000000",
        q(ADD_LINE, {"i": "@INVOICE@", "l": line(amount="-1e1000000")}),
        problem("addAdhocLine", "INVALID_ADHOC_LINE", "line.amount"),
    ),
    case(
        "amount-999999999999.99-on-positive-invoice",
        q(ADD_LINE, {"i": "@INVOICE@", "l": line(amount="999999999999.99")}),
        problem("addAdhocLine", "INVALID_ADHOC_LINE", "line.amount"),
    ),
    case(
        "amount-NaN",
        q(ADD_LINE, {"i": "@INVOICE@", "l": line(amount="NaN")}),
        bad_input(in_message="$l"),
    ),
    case(
        "amount-Infinity",
        q(ADD_LINE, {"i": "@INVOICE@", "l": line(amount="Infinity")}),
        bad_input(in_message="$l"),
    ),
    case(
        "amount-abc",
        q(ADD_LINE, {"i": "@INVOICE@", "l": line(amount="abc")}),
        bad_input(in_message="$l"),
    ),
    case(
        "amount-empty",
        q(ADD_LINE, {"i": "@INVOICE@", "l": line(amount="")}),
        bad_input(in_message="$l"),
    ),
    case(
        "amount-true",
        q(ADD_LINE, {"i": "@INVOICE@", "l": line(amount=True)}),
        bad_input(in_message="$l"),
    ),
    case(
        "amount-list",
        q(ADD_LINE, {"i": "@INVOICE@", "l": line(amount=[1])}),
        bad_input(in_message="$l"),
    ),
    case(
        "amount-thousands-comma",
        q(ADD_LINE, {"i": "@INVOICE@", "l": line(amount="1,000")}),
        bad_input(in_message="$l"),
    ),
    case(
        "type-unknown",
        q(ADD_LINE, {"i": "@INVOICE@", "l": line(type="BRIBE")}),
        bad_input(in_message="$l"),
    ),
    case(
        "line-missing-title",
        q(
            ADD_LINE,
            {"i": "@INVOICE@", "l": {"type": "MISCELLANEOUS_ITEM", "code": "7000", "amount": "1.00"}},
        ),
        bad_input(in_message="$l"),
    ),
    case(
        "valid-line-stripped",
        q(ADD_LINE, {"i": "@INVOICE@", "l": line(title="  Valet tip  ", code=" 7000 ")}),
        ok(),
    ),
]


@pytest.mark.parametrize(("req", "expect"), LINES)
async def test_lengths_codes_and_amounts(w: World, req: Req, expect: Expect) -> None:
    verify(await w.send(req), expect)


async def _lines_and_amount(w: World, invoice: str) -> tuple[int, Any]:
    count = await w.scalar(f"SELECT count(*) FROM invoice_line WHERE invoice_id = '{invoice}'")
    amount = await w.scalar(f"SELECT amount FROM invoice WHERE id = '{invoice}'")
    return count, amount


@pytest.mark.parametrize(
    "amounts",
    [
        pytest.param(["999999999999.99"], id="one-line-over-the-total"),
        pytest.param(["600000000000.00", "600000000000.00"], id="two-lines-over-the-total"),
        pytest.param(["-999999999999.99", "-999999999999.99"], id="two-negative-lines-under-the-total"),
    ],
)
async def test_adhoc_total_overflow_leaves_no_partial_write(w: World, amounts: list[str]) -> None:
    """Whatever the answer to the last line, nothing of it is kept and the response is not a 5xx or a leak."""
    invoice = w.ids["INVOICE"]
    for amount in amounts[:-1]:
        verify(await w.send(q(ADD_LINE, {"i": invoice, "l": line(amount=amount)})), ok())
    before = await _lines_and_amount(w, invoice)
    verify(await w.send(q(ADD_LINE, {"i": invoice, "l": line(amount=amounts[-1])})), Expect())
    assert await _lines_and_amount(w, invoice) == before


@pytest.mark.parametrize(
    "amounts",
    [
        pytest.param(["600000000000.00", "600000000000.00"], id="two-lines-over-the-total"),
        pytest.param(["-999999999999.99", "-999999999999.99"], id="two-negative-lines-under-the-total"),
    ],
)
async def test_adhoc_total_overflow_is_an_invalid_line(w: World, amounts: list[str]) -> None:
    invoice = w.ids["INVOICE"]
    for amount in amounts[:-1]:
        verify(await w.send(q(ADD_LINE, {"i": invoice, "l": line(amount=amount)})), ok())
    verify(
        await w.send(q(ADD_LINE, {"i": invoice, "l": line(amount=amounts[-1])})),
        problem("addAdhocLine", "INVALID_ADHOC_LINE", "line.amount"),
    )


# ---------------------------------------------------------------------- dates, periods, numbers, cursors

PREVIEW = 'query ($p: String) { site(siteNumber: "0349") { billingPreview(servicePeriod: $p) { total } } }'
TERRITORY_AS_OF = 'query ($t: DateTime) { territory(layer: "districts", code: "orlando", asOf: $t) { name } }'
SITE_AS_OF = (
    'query ($t: DateTime) { site(siteNumber: "0349") { territory(layer: "districts", asOf: $t) { method } } }'
)
SITES_AFTER = "query ($a: String) { sites(after: $a) { totalCount edges { cursor } } }"
BAD_PERIODS = [
    "9999-12",
    "0000-01",
    "1899-12",
    "1999-12",
    "2100-01",
    "2025-00",
    "2025-13",
    "\u0662\u0660\u0662\u0665-\u0660\u0664",
    "2025-04 ",
    "",
    "202504",
    "2025-4",
]
FAR_INSTANTS = [
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59.999999-14:00",
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+14:00",
    "2200-01-01T00:00:01Z",
    "1799-12-31T23:59:59Z",
]
BAD_INSTANTS: list[Any] = [
    "garbage",
    "2025-13-01T00:00:00Z",
    "2025-03-01T00:00:00+25:00",
    "10000-01-01T00:00:00Z",
    "",
    12345,
]
BAD_CURSORS = {
    "garbage": "nope",
    "percent": "%%%",
    "offset-11-digits": b64("offset:99999999999"),
    "offset-10^7+1": b64("offset:10000001"),
    "offset-minus-1": b64("offset:-1"),
    "offset-1e5": b64("offset:1e5"),
    "offset-10^20": b64("offset:" + "9" * 20),
    "offset-fullwidth-digit": b64("offset:\uff11"),
    "offset-empty": b64("offset:"),
    "not-utf8": base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    "10000-chars": "A" * 10_000,
}


def _numbers() -> Iterator[Case]:
    for period in BAD_PERIODS:
        yield case(f"billingPreview-period-{period!r}", q(PREVIEW, {"p": period}), bad_input("servicePeriod"))
    yield case("billingPreview-2000-01-ok", q(PREVIEW, {"p": "2000-01"}), ok())
    yield case("billingPreview-2099-12-ok", q(PREVIEW, {"p": "2099-12"}), ok())
    yield case(
        "billingPreviews-9999-12",
        q('{ billingPreviews(servicePeriod: "9999-12") { site { name } } }'),
        bad_input("servicePeriod"),
    )
    yield case(
        "statements-period-9999-12",
        q('{ statements(filter: {servicePeriod: "9999-12"}) { totalCount } }'),
        bad_input("filter.servicePeriod"),
    )
    yield case(
        "generateStatement-period-9999-12",
        q(GENERATE_ONE, {"s": "0349", "p": "9999-12"}),
        bad_input("servicePeriod"),
    )
    yield case(
        "generateStatement-period-0001-01",
        q(GENERATE_ONE, {"s": "0349", "p": "0001-01"}),
        bad_input("servicePeriod"),
    )
    yield case(
        "generateStatements-period-9999-12",
        q('mutation { generateStatements(siteNumbers: ["0349"], servicePeriod: "9999-12") { generated } }'),
        bad_input("servicePeriod"),
    )
    for instant in FAR_INSTANTS:
        yield case(f"territory-asOf-{instant}", q(TERRITORY_AS_OF, {"t": instant}), bad_input("asOf"))
        yield case(f"site-territory-asOf-{instant}", q(SITE_AS_OF, {"t": instant}), bad_input("asOf"))
    yield case(
        "territory-asOf-end-of-time-literal",
        q('{ territory(layer: "districts", code: "orlando", asOf: "9999-12-31T23:59:59Z") { name } }'),
        bad_input("asOf"),
    )
    yield case("territory-asOf-naive", q(TERRITORY_AS_OF, {"t": "2025-03-01T00:00:00"}), bad_input("asOf"))
    yield case("territory-asOf-date-only", q(TERRITORY_AS_OF, {"t": "2025-03-01"}), bad_input("asOf"))
    yield case(
        "site-territory-asOf-naive-literal",
        q(
            '{ site(siteNumber: "0349") { territory(layer: "districts", asOf: "2025-03-01T00:00:00") { method } } }'
        ),
        bad_input("asOf"),
    )
    yield case("territory-asOf-1800-ok", q(TERRITORY_AS_OF, {"t": "1800-01-01T00:00:00Z"}), ok())
    for instant in BAD_INSTANTS:
        yield case(
            f"territory-asOf-unparsable-{instant!r}",
            q(TERRITORY_AS_OF, {"t": instant}),
            bad_input(in_message="$t"),
        )
    for first in (-1, 501, 10**9, 2**31 - 1):
        refused = bad_input("first") if first < 0 else Expect(code="PAGE_TOO_LARGE", argument="first")
        yield case(f"sites-first-{first}", q(FIRST_VAR, {"f": first}), refused)
        yield case(
            f"statements-first-{first}",
            q("query ($f: Int!) { statements(first: $f) { totalCount } }", {"f": first}),
            refused,
        )
        yield case(
            f"territory-sites-first-{first}",
            q(
                'query ($f: Int!) { territory(layer: "districts", code: "orlando") { sites(first: $f) { totalCount } } }',
                {"f": first},
            ),
            refused,
        )
    yield case(
        "billingPreviews-first-1001",
        q(f'{{ billingPreviews(servicePeriod: "{PERIOD}", first: 1001) {{ site {{ name }} }} }}'),
        Expect(code="PAGE_TOO_LARGE", argument="first"),
    )
    yield case(
        "billingPreviews-first-minus-1",
        q(f'{{ billingPreviews(servicePeriod: "{PERIOD}", first: -1) {{ site {{ name }} }} }}'),
        bad_input("first"),
    )
    yield case("sites-first-0-ok", q(FIRST_VAR, {"f": 0}), ok())
    for name, cursor in BAD_CURSORS.items():
        yield case(f"sites-after-{name}", q(SITES_AFTER, {"a": cursor}), bad_input("after"))
    yield case("sites-after-offset-10^7-empty-page", q(SITES_AFTER, {"a": b64("offset:10000000")}), ok())
    yield case(
        "statements-after-garbage", q('{ statements(after: "nope") { totalCount } }'), bad_input("after")
    )
    yield case(
        "statements-after-huge",
        q("query ($a: String) { statements(after: $a) { totalCount } }", {"a": b64("offset:999999999999")}),
        bad_input("after"),
    )
    yield case(
        "territory-sites-after-garbage",
        q('{ territory(layer: "districts", code: "orlando") { sites(after: "nope") { totalCount } } }'),
        bad_input("after"),
    )
    yield case(
        "near-radius-1e400-literal",
        q("{ sites(filter: {near: {lon: -81, lat: 28, radiusMeters: 1e400}}) { totalCount } }"),
        bad_input("filter.near.radiusMeters"),
    )
    yield case(
        "near-radius-0",
        q("{ sites(filter: {near: {lon: -81, lat: 28, radiusMeters: 0}}) { totalCount } }"),
        bad_input("filter.near.radiusMeters"),
    )
    yield case(
        "near-radius-negative",
        q("{ sites(filter: {near: {lon: -81, lat: 28, radiusMeters: -5}}) { totalCount } }"),
        bad_input("filter.near.radiusMeters"),
    )
    yield case(
        "near-radius-1e308",
        q("{ sites(filter: {near: {lon: -81, lat: 28, radiusMeters: 1e308}}) { totalCount } }"),
        bad_input("filter.near.radiusMeters"),
    )
    yield case(
        "near-radius-half-the-earth-ok",
        q("{ sites(filter: {near: {lon: -81, lat: 28, radiusMeters: 20037509}}) { totalCount } }"),
        ok(),
    )
    yield case(
        "near-lat-1e400",
        q("{ sites(filter: {near: {lon: -81, lat: 1e400, radiusMeters: 10}}) { totalCount } }"),
        bad_input("filter.near"),
    )
    yield case(
        "near-lat-95",
        q("{ sites(filter: {near: {lon: -81, lat: 95, radiusMeters: 10}}) { totalCount } }"),
        bad_input("filter.near"),
    )
    yield case(
        "bbox-minus-1e400",
        q("{ sites(filter: {bbox: [-1e400, 0, 1, 1]}) { totalCount } }"),
        bad_input("filter.bbox"),
    )
    yield case(
        "bbox-5-numbers",
        q("{ sites(filter: {bbox: [0, 0, 1, 1, 1]}) { totalCount } }"),
        bad_input("filter.bbox"),
    )
    yield case("bbox-empty", q("{ sites(filter: {bbox: []}) { totalCount } }"), bad_input("filter.bbox"))
    yield case(
        "bbox-min-lat-over-max",
        q("{ sites(filter: {bbox: [-81, 26, -80, 25]}) { totalCount } }"),
        bad_input("filter.bbox"),
    )
    yield case(
        "distanceFrom-lon-1e400",
        q("{ sites(distanceFrom: {lon: 1e400, lat: 0}) { totalCount } }"),
        bad_input("distanceFrom"),
    )
    yield case(
        "distanceFrom-differs-from-near",
        q(
            "{ sites(distanceFrom: {lon: 0, lat: 0}, filter: {near: {lon: 1, lat: 1, radiusMeters: 5}}) { totalCount } }"
        ),
        bad_input("distanceFrom"),
    )
    yield case(
        "orderBy-DISTANCE-without-point",
        q("{ sites(orderBy: DISTANCE) { totalCount } }"),
        bad_input("orderBy"),
    )
    for tolerance in ("-1", "5", "1e400", "-1e400"):
        yield case(
            f"simplifyTolerance-{tolerance}",
            q(
                f'{{ territory(layer: "regions", code: "east") {{ geometry(simplifyTolerance: {tolerance}) }} }}'
            ),
            bad_input("simplifyTolerance"),
        )
    yield case("state-Florida", q(SITES_FILTER, {"f": {"state": "Florida"}}), bad_input("filter.state"))


@pytest.mark.parametrize(("req", "expect"), list(_numbers()))
async def test_dates_numbers_and_cursors(w: World, req: Req, expect: Expect) -> None:
    verify(await w.send(req), expect)


# ----------------------------------------------------------------------------------- unknown codes

CODES = [
    case(
        "sourceDistrictMismatch-nope",
        q('{ sites(filter: {sourceDistrictMismatch: "nope"}) { totalCount } }'),
        bad_input("filter.sourceDistrictMismatch", in_message="nope"),
    ),
    case(
        "filter-territory-code-nope",
        q('{ sites(filter: {territory: {layer: "districts", code: "nope"}}) { totalCount } }'),
        bad_input("filter.territory.code", in_message="nope"),
    ),
    case(
        "filter-territory-layer-nope",
        q('{ sites(filter: {territory: {layer: "nope", code: "orlando"}}) { totalCount } }'),
        bad_input("filter.territory.layer", in_message="nope"),
    ),
    case(
        "filter-territory-layer-upper-case",
        q('{ sites(filter: {territory: {layer: "DISTRICTS", code: "orlando"}}) { totalCount } }'),
        bad_input("filter.territory.layer", in_message="DISTRICTS"),
    ),
    case(
        "billingPreviews-territory-nope",
        q(
            f'{{ billingPreviews(servicePeriod: "{PERIOD}", filter: {{territory: {{layer: "districts", code: "nope"}}}}) {{ site {{ name }} }} }}'
        ),
        bad_input("filter.territory.code", in_message="nope"),
    ),
    case(
        "site-territory-layer-nope",
        q('{ site(siteNumber: "0349") { name territory(layer: "nope") { method } } }'),
        bad_input("layer", in_message="nope"),
    ),
    case(
        "site-territoryHistory-layer-nope",
        q('{ site(siteNumber: "0349") { name territoryHistory(layer: "nope") { method } } }'),
        bad_input("layer", in_message="nope"),
    ),
    case(
        "territory-x-y",
        q('{ territory(layer: "x", code: "y") { name } }'),
        bad_input("layer", in_message="'x'"),
    ),
    case(
        "territory-districts-y",
        q('{ territory(layer: "districts", code: "y") { name } }'),
        bad_input("code", in_message="'y'"),
    ),
    case(
        "territory-layer-10000-chars",
        q('query ($l: String!) { territory(layer: $l, code: "y") { name } }', {"l": "x" * 10_000}),
        bad_input("layer"),
    ),
    case(
        "territoryLayer-nope",
        q('{ territoryLayer(code: "nope") { name } }'),
        bad_input("code", in_message="nope"),
    ),
    case(
        "statements-territory-x-y",
        q('{ statements(filter: {territoryLayer: "x", territoryCode: "y"}) { totalCount } }'),
        bad_input("filter.territoryLayer", in_message="'x'"),
    ),
    case(
        "statements-territory-districts-nope",
        q('{ statements(filter: {territoryLayer: "districts", territoryCode: "nope"}) { totalCount } }'),
        bad_input("filter.territoryCode", in_message="nope"),
    ),
    case(
        "statements-territoryLayer-alone",
        q('{ statements(filter: {territoryLayer: "districts"}) { totalCount } }'),
        bad_input("filter.territoryCode"),
    ),
    case(
        "statements-siteNumber-arabic-indic",
        q('{ statements(filter: {siteNumber: "\u0663\u0664\u0669"}) { totalCount } }'),
        bad_input("filter.siteNumber"),
    ),
    case(
        "generateStatements-territory-x-y",
        q('mutation { generateStatements(territoryLayer: "x", territoryCode: "y") { generated } }'),
        bad_input("territoryLayer", in_message="'x'"),
    ),
    case(
        "generateStatements-territory-districts-nope",
        q(
            'mutation { generateStatements(territoryLayer: "districts", territoryCode: "nope") { generated } }'
        ),
        bad_input("territoryCode", in_message="nope"),
    ),
    case(
        "generateStatements-territoryCode-alone",
        q('mutation { generateStatements(territoryCode: "orlando") { generated } }'),
        bad_input("territoryCode"),
    ),
    case(
        "generateStatements-nothing",
        q("mutation { generateStatements { generated } }"),
        bad_input("siteNumbers"),
    ),
    case(
        "generateStatements-empty-list",
        q("mutation { generateStatements(siteNumbers: []) { generated } }"),
        bad_input("siteNumbers"),
    ),
    case(
        "generateStatements-1001-sites",
        q(
            "mutation ($s: [String!]) { generateStatements(siteNumbers: $s) { generated } }",
            {"s": [str(n) for n in range(1, 1002)]},
        ),
        bad_input("siteNumbers"),
    ),
    case(
        "generateStatements-siteNumbers[1]-garbage",
        q(
            f'mutation {{ generateStatements(siteNumbers: ["0349", "abc"], servicePeriod: "{PERIOD}") {{ generated }} }}'
        ),
        bad_input("siteNumbers[1]"),
    ),
    case(
        "generateStatements-key-201-chars",
        q(
            'mutation ($k: String) { generateStatements(siteNumbers: ["0349"], idempotencyKey: $k) { generated } }',
            {"k": "k" * 201},
        ),
        bad_input("idempotencyKey"),
    ),
]


@pytest.mark.parametrize(("req", "expect"), CODES)
async def test_unknown_codes(w: World, req: Req, expect: Expect) -> None:
    verify(await w.send(req), expect)


async def test_bulk_answers_each_site(w: World) -> None:
    body = verify(
        await w.send(
            q(
                f'mutation {{ generateStatements(siteNumbers: ["0349", "9999"], servicePeriod: "{PERIOD}") {{ '
                "generated failed items { siteNumber result { __typename ... on Problem { code } } } } }"
            )
        ),
        ok(),
    )
    payload = body["data"]["generateStatements"]
    assert (payload["generated"], payload["failed"]) == (1, 1)
    assert [
        (i["siteNumber"], i["result"]["__typename"], i["result"].get("code")) for i in payload["items"]
    ] == [
        ("0349", "StatementPayload", None),
        ("9999", "NotFoundProblem", "NOT_FOUND"),
    ]


# ------------------------------------------------------------------------------------ ids and mutations

TRANSITION = (
    "mutation ($i: ID!) {{ {m}(statementId: $i) {{ __typename ... on Problem {{ code message }} }} }}"
)
TRANSITIONS = ("regenerateStatement", "confirmStatementReview", "markStatementSent")


def _ids() -> Iterator[Case]:
    for m in TRANSITIONS:
        mutation = TRANSITION.format(m=m)
        yield case(f"{m}-garbage-id", q(mutation, {"i": "not-a-uuid"}), bad_input("statementId"))
        yield case(f"{m}-1e3-id", q(mutation, {"i": "1e3"}), bad_input("statementId"))
        yield case(f"{m}-nil-uuid", q(mutation, {"i": NIL}), problem(m, "NOT_FOUND"))
        yield case(f"{m}-invoice-id", q(mutation, {"i": "@INVOICE@"}), problem(m, "NOT_FOUND"))
        yield case(f"{m}-line-id", q(mutation, {"i": "@GEN_LINE@"}), problem(m, "NOT_FOUND"))
    transition = TRANSITION.format
    yield case(
        "regenerateStatement-unsent",
        q(transition(m="regenerateStatement"), {"i": "@STATEMENT@"}),
        problem("regenerateStatement", "TRANSITION_NOT_ALLOWED"),
    )
    yield case(
        "confirmStatementReview-ready-to-send",
        q(transition(m="confirmStatementReview"), {"i": "@STATEMENT@"}),
        problem("confirmStatementReview", "TRANSITION_NOT_ALLOWED"),
    )
    yield case(
        "confirmStatementReview-superseded-version",
        q(transition(m="confirmStatementReview"), {"i": "@OLD_VERSION@"}),
        problem("confirmStatementReview", "STATEMENT_REPLACED"),
    )
    yield case(
        "markStatementSent-superseded-version",
        q(transition(m="markStatementSent"), {"i": "@OLD_VERSION@"}),
        problem("markStatementSent", "STATEMENT_REPLACED"),
    )
    yield case(
        "markStatementSent-already-sent",
        q(transition(m="markStatementSent"), {"i": "@SENT_STATEMENT@"}),
        problem("markStatementSent", "TRANSITION_NOT_ALLOWED"),
    )
    yield case(
        "confirmStatementReview-sent",
        q(transition(m="confirmStatementReview"), {"i": "@SENT_VERSION@"}),
        problem("confirmStatementReview", "TRANSITION_NOT_ALLOWED"),
    )
    yield case("statement-garbage-id", q('{ statement(id: "nope") { id } }'), bad_input("id"))
    yield case("statementVersion-id-1", q('{ statementVersion(id: "1") { id } }'), bad_input("id"))
    yield case("invoice-int-literal-id", q("{ invoice(id: 123) { id } }"), bad_input("id"))
    for name, query in [
        ("statement-nil-uuid", f'{{ x: statement(id: "{NIL}") {{ id }} }}'),
        ("statement-by-invoice-id", '{ x: statement(id: "@INVOICE@") { id } }'),
        ("statementVersion-by-statement-id", '{ x: statementVersion(id: "@STATEMENT@") { id } }'),
        ("invoice-by-statement-id", '{ x: invoice(id: "@STATEMENT@") { id } }'),
        ("invoice-nil-uuid", f'{{ x: invoice(id: "{NIL}") {{ id }} }}'),
        ("site-arabic-indic-digits", '{ x: site(siteNumber: "\u0663\u0664\u0669") { name } }'),
        ("site-unknown", '{ x: site(siteNumber: "9999") { name } }'),
    ]:
        yield case(name, q(query), ok())
    yield case(
        "generateStatement-unknown-site",
        q(GENERATE_ONE, {"s": "9999", "p": PERIOD}),
        problem("generateStatement", "NOT_FOUND"),
    )
    for name, number in [
        ("abc", "abc"),
        ("12345", "12345"),
        ("empty", ""),
        ("arabic-indic", "\u0660\u0663\u0664\u0669"),
        ("minus", "-349"),
    ]:
        yield case(
            f"generateStatement-siteNumber-{name}", q(GENERATE_ONE, {"s": number}), bad_input("siteNumber")
        )
    yield case(
        "generateStatement-key-201-chars",
        q(GENERATE_ONE, {"s": "0349", "p": PERIOD, "k": "k" * 201}),
        bad_input("idempotencyKey"),
    )
    yield case(
        "generateStatement-key-blank",
        q(GENERATE_ONE, {"s": "0349", "p": PERIOD, "k": "   "}),
        bad_input("idempotencyKey"),
    )
    yield case(
        "addAdhocLine-garbage-invoiceId", q(ADD_LINE, {"i": "nope", "l": line()}), bad_input("invoiceId")
    )
    yield case(
        "addAdhocLine-nil-invoiceId",
        q(ADD_LINE, {"i": NIL, "l": line()}),
        problem("addAdhocLine", "NOT_FOUND"),
    )
    yield case(
        "addAdhocLine-statement-id",
        q(ADD_LINE, {"i": "@STATEMENT@", "l": line()}),
        problem("addAdhocLine", "NOT_FOUND"),
    )
    yield case(
        "addAdhocLine-version-id",
        q(ADD_LINE, {"i": "@VERSION@", "l": line()}),
        problem("addAdhocLine", "NOT_FOUND"),
    )
    yield case(
        "addAdhocLine-sent-invoice",
        q(ADD_LINE, {"i": "@SENT_INVOICE@", "l": line()}),
        problem("addAdhocLine", "STATEMENT_SENT"),
    )
    yield case(
        "addAdhocLine-superseded-invoice",
        q(ADD_LINE, {"i": "@OLD_INVOICE@", "l": line()}),
        problem("addAdhocLine", "STATEMENT_REPLACED"),
    )
    yield case(
        "removeAdhocLine-garbage-lineId", q(REMOVE_LINE, {"i": "@INVOICE@", "l": "nope"}), bad_input("lineId")
    )
    yield case(
        "removeAdhocLine-garbage-invoiceId", q(REMOVE_LINE, {"i": "x", "l": NIL}), bad_input("invoiceId")
    )
    yield case(
        "removeAdhocLine-nil-lineId",
        q(REMOVE_LINE, {"i": "@INVOICE@", "l": NIL}),
        problem("removeAdhocLine", "NOT_FOUND"),
    )
    yield case(
        "removeAdhocLine-generated-line",
        q(REMOVE_LINE, {"i": "@INVOICE@", "l": "@GEN_LINE@"}),
        problem("removeAdhocLine", "INVALID_ADHOC_LINE"),
    )
    yield case(
        "removeAdhocLine-line-of-another-invoice",
        q(REMOVE_LINE, {"i": "@INVOICE@", "l": "@SENT_LINE@"}),
        problem("removeAdhocLine", "NOT_FOUND"),
    )
    yield case(
        "removeAdhocLine-invoice-id-as-lineId",
        q(REMOVE_LINE, {"i": "@INVOICE@", "l": "@INVOICE@"}),
        problem("removeAdhocLine", "NOT_FOUND"),
    )
    yield case(
        "removeAdhocLine-nil-invoiceId",
        q(REMOVE_LINE, {"i": NIL, "l": NIL}),
        problem("removeAdhocLine", "NOT_FOUND"),
    )
    yield case(
        "removeAdhocLine-sent-invoice",
        q(REMOVE_LINE, {"i": "@SENT_INVOICE@", "l": "@SENT_LINE@"}),
        problem("removeAdhocLine", "STATEMENT_SENT"),
    )
    yield case(
        "removeAdhocLine-superseded-invoice",
        q(REMOVE_LINE, {"i": "@OLD_INVOICE@", "l": NIL}),
        problem("removeAdhocLine", "STATEMENT_REPLACED"),
    )


@pytest.mark.parametrize(("req", "expect"), list(_ids()))
async def test_ids_and_mutations(w: World, req: Req, expect: Expect) -> None:
    body = verify(await w.send(req), expect)
    if expect.clean and "x" in (body.get("data") or {}):
        assert body["data"]["x"] is None, body


async def test_idempotency_key_reuse(w: World) -> None:
    verify(await w.send(q(GENERATE_ONE, {"s": "0200", "p": PERIOD, "k": "hostile-1"})), ok())
    verify(
        await w.send(q(GENERATE_ONE, {"s": "0198", "p": PERIOD, "k": "hostile-1"})),
        problem("generateStatement", "IDEMPOTENCY_KEY_REUSED"),
    )
    bulk = 'mutation ($s: [String!], $k: String) { generateStatements(siteNumbers: $s, servicePeriod: "2025-04", idempotencyKey: $k) { generated failed } }'
    key = "K" * 200  # each site's key is 205 characters: `{key}:{siteNumber}`
    body = verify(await w.send(q(bulk, {"s": ["0208"], "k": key})), ok())
    assert body["data"]["generateStatements"] == {"generated": 1, "failed": 0}
    body = verify(
        await w.send(q(bulk, {"s": ["0212"], "k": key})),
        Expect(code="IDEMPOTENCY_KEY_REUSED", in_message="idempotency key"),
    )
    assert body["errors"][0]["extensions"]["argument"] == "idempotencyKey"


# -------------------------------------------------------------------------------------------- GL export


def gl(statement_id: str, method: str = "GET") -> Req:
    return Req(method=method, path=f"/statements/{statement_id}/gl-export.csv", headers=())


GL_EXPORTS = [
    case("garbage-id", gl("nope"), rest(400, "BAD_USER_INPUT", "statementId")),
    case("NUL-id", gl("%00"), rest(400, "BAD_USER_INPUT", "statementId")),
    case("5000-char-id", gl("a" * 5000), rest(400, "BAD_USER_INPUT", "statementId")),
    case("rtl-override-id", gl("%E2%80%AE"), rest(400, "BAD_USER_INPUT", "statementId")),
    case("invalid-utf8-id", gl("%FF%FE"), rest(400, "BAD_USER_INPUT", "statementId")),
    case("nil-uuid", gl(NIL), rest(404, "NOT_FOUND", "statementId")),
    case("invoice-id", gl("@INVOICE@"), rest(404, "NOT_FOUND", "statementId")),
    case("line-id", gl("@GEN_LINE@"), rest(404, "NOT_FOUND", "statementId")),
    case("unsent-statement", gl("@STATEMENT@"), rest(409, "TRANSITION_NOT_ALLOWED")),
    case("unsent-version", gl("@VERSION@"), rest(409, "TRANSITION_NOT_ALLOWED")),
    case("superseded-version", gl("@OLD_VERSION@"), rest(409, "STATEMENT_REPLACED")),
    case(
        "empty-id",
        Req(method="GET", path="/statements//gl-export.csv", headers=()),
        rest(404, "NOT_FOUND"),
    ),
    case("encoded-slash-id", gl("..%2F..%2Fetc"), rest(404, "NOT_FOUND")),
    case("POST", gl("@SENT_STATEMENT@", "POST"), rest(405, "METHOD_NOT_ALLOWED")),
]


@pytest.mark.parametrize(("req", "expect"), GL_EXPORTS)
async def test_gl_export_refusals(w: World, req: Req, expect: Expect) -> None:
    verify(await w.send(req), expect)


@pytest.mark.parametrize("name", ["SENT_STATEMENT", "SENT_VERSION"])
async def test_gl_export_of_a_sent_statement(w: World, name: str) -> None:
    response = await w.send(gl(f"@{name}@"))
    verify(response, Expect(leak_check=False))
    assert response.headers["content-type"].startswith("text/csv")
    assert response.text.startswith("batch_id,")


async def test_an_empty_site_number_filter_is_refused_not_ignored(gql: Any) -> None:
    error = await gql.error('{ statements(filter: {siteNumber: ""}) { totalCount } }')
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "filter.siteNumber"}
