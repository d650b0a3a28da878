"""Generated documents against the schema, for every role (issue 7 §4; domain.md §3.9, §4.4; docs/security.md).

`hypothesis-graphql` builds valid queries, and mutations, from the schema. Each one goes over HTTP through the
real app (`server.app.create_app`) with the role's bearer token, and every answer is checked by `check`:

* no response is a 5xx; every error carries a stable `extensions.code` and no SQL or file path;
* no site outside the caller's scope appears anywhere in the answer. The visible set is computed here in SQL,
  independently of the policies, and the answer is walked with the document and the schema, so aliased
  fields and fragments count too;
* roles without billing (gisEditor, no role) get no contract, billing preview, statement or invoice object;
  vendor ids are null for roles without billing details;
* a document over a limit (depth, aliases, tokens, cost) is refused with that limit's code and no data; one
  within the limits is not refused for one;
* a mutation the role may not make is refused, and no row of the statement or user tables changes.

The app runs with tighter limits than the defaults, so generated documents hit both sides of each limit.

The module runs on its own copy of the test database, through a production-like engine with its own pool,
not the shared joined test connection. Why: when a non-null field's error nulls its parent, graphql-core
(3.3) cancels the sibling fields still running. SQLAlchemy then discards the connection whose statement was
cancelled. In production that costs the request its connection, and the pool replaces it. On the single
joined test connection it would end every later test. Committed writes stay in the copy, which is dropped
at the end.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import graphql
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, mutations, nodes, queries
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from db.database import Database
from resolvers.errors import TowneError
from schema import build_schema
from schema.limits import document_cost
from schema.problems import PARSE_FAILED, VALIDATION_FAILED
from server.app import create_app
from server.settings import Settings
from tests.conftest import APP_ROLE, TEST_JWT_SECRET, bearer
from tests.test_role_matrix import ROLES, Role, _scoped_sites, add_role_users, sent_statements

# Tighter than the defaults (12, 50, 15,000, 200,000), so both sides of every limit are generated.
LIMITS = {"max_depth": 5, "max_aliases": 2, "max_tokens": 400, "max_cost": 2_000}
FUZZ_SETTINGS = Settings(
    DATABASE_URL="postgresql+asyncpg://unused/unused",
    TOWNE_JWT_SECRET=TEST_JWT_SECRET,
    TOWNE_MAX_DEPTH=LIMITS["max_depth"],
    TOWNE_MAX_ALIASES=LIMITS["max_aliases"],
    TOWNE_MAX_TOKENS=LIMITS["max_tokens"],
    TOWNE_MAX_COST=LIMITS["max_cost"],
)

SCHEMA = build_schema()
CORE: graphql.GraphQLSchema = SCHEMA._schema
SDL = SCHEMA.as_str()


def _codes(cls: type[TowneError]) -> Iterator[str]:
    yield cls.code
    for sub in cls.__subclasses__():
        yield from _codes(sub)


DOCUMENT_ERRORS = {PARSE_FAILED, VALIDATION_FAILED}
KNOWN_CODES = set(_codes(TowneError)) | DOCUMENT_ERRORS
LIMIT_CODES = {"QUERY_TOO_DEEP", "TOO_MANY_ALIASES", "TOO_MANY_TOKENS", "QUERY_TOO_COSTLY"}
# Object types that carry contract, fact or statement data (§4.4: not for gisEditor or a user with no role).
BILLING_TYPES = {
    "Contract",
    "InvoiceGroup",
    "BillingPreview",
    "Invoice",
    "InvoiceLine",
    "Statement",
    "StatementVersion",
    "StatementEvent",
    "ForecastComparison",
}
# Text that must never reach a client: SQL, Python frames, file paths.
INTERNALS = (
    "SELECT ",
    "INSERT ",
    "UPDATE ",
    "psycopg",
    "asyncpg",
    "sqlalchemy",
    "Traceback",
    ".py",
    "/work/",
)

STATEMENT_MUTATIONS = [
    "generateStatement",
    "generateStatements",
    "regenerateStatement",
    "confirmStatementReview",
    "markStatementSent",
    "addAdhocLine",
    "removeAdhocLine",
]
USER_MUTATIONS = ["saveUser", "deactivateUser", "activateUser"]
# territory edits: gisEditor only; manual assignments: gisEditor and billingAdmin
TERRITORY_MUTATIONS = [
    "createTerritoryLayer",
    "createTerritory",
    "updateTerritory",
    "revertTerritory",
    "retireTerritory",
    "mergeTerritories",
    "splitTerritory",
    "importTerritoryLayer",
]
MANUAL_ASSIGNMENT_MUTATIONS = ["setManualAssignment", "clearManualAssignment"]
# Every table a mutation writes; a refused mutation changes none of them.
WRITTEN_TABLES = (
    "statement_generation",
    "generation_batch",
    "billing_statement",
    "statement_version",
    "statement_event",
    "invoice",
    "invoice_line",
    "app_user",
    "app_user_role",
    "app_user_site",
    "app_user_territory",
    "territory_layer",
    "territory",
    "territory_version",
    "site_territory_assignment",
)

# Values of the custom scalars that arguments take; real site numbers and periods so some documents find rows.
SCALARS = {
    "Date": st.dates().map(lambda d: nodes.String(d.isoformat())),
    "DateTime": st.datetimes(timezones=st.just(dt.UTC)).map(lambda d: nodes.String(d.isoformat())),
    "Money": st.decimals(-(10**6), 10**6, places=2).map(nodes.String),
    "Rate": st.decimals(-100, 100, places=4).map(nodes.String),
    "JSON": st.just(nodes.String("{}")),
    "GeoJSON": st.just(nodes.String('{"type": "Point", "coordinates": [-81.4, 28.5]}')),
}


@dataclass
class Harvest:
    """What an answer reveals: site numbers and site ids, object types and vendor ids."""

    site_numbers: set[str] = field(default_factory=set)
    site_ids: set[str] = field(default_factory=set)
    types: set[str] = field(default_factory=set)
    vendor_ids: set[str] = field(default_factory=set)


def harvest(document: graphql.DocumentNode, data: Any) -> Harvest:
    """Walk `data` along the operation of `document` with the schema's types, so aliases and fragments are
    read as the fields they are."""
    found = Harvest()
    operation = graphql.get_operation_ast(document)
    assert operation is not None
    root = CORE.get_root_type(operation.operation)
    assert root is not None
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, graphql.FragmentDefinitionNode)
    }

    def walk(parent: graphql.GraphQLNamedType, selections: graphql.SelectionSetNode, value: Any) -> None:
        if isinstance(value, list):
            for item in value:
                walk(parent, selections, item)
            return
        if not isinstance(value, dict):
            return
        found.types.add(parent.name)
        for selection in selections.selections:
            if isinstance(selection, graphql.InlineFragmentNode):
                on = selection.type_condition
                walk(CORE.get_type(on.name.value) if on else parent, selection.selection_set, value)  # type: ignore[arg-type]
                continue
            if isinstance(selection, graphql.FragmentSpreadNode):
                fragment = fragments[selection.name.value]
                walk(CORE.get_type(fragment.type_condition.name.value), fragment.selection_set, value)  # type: ignore[arg-type]
                continue
            assert isinstance(selection, graphql.FieldNode)
            name = selection.name.value
            key = selection.alias.value if selection.alias else name
            if key not in value or name.startswith("__"):
                continue
            fields = getattr(parent, "fields", {})
            if name not in fields:  # a member's field read through another member's fragment
                continue
            child = value[key]
            if selection.selection_set is not None:
                walk(graphql.get_named_type(fields[name].type), selection.selection_set, child)
            elif name == "siteNumber" and isinstance(child, str):
                found.site_numbers.add(child)
            elif name == "siteNumbers" and isinstance(child, list):
                found.site_numbers |= {n for n in child if isinstance(n, str)}
            elif parent.name == "Site" and name == "id" and isinstance(child, str):
                found.site_ids.add(child)
            elif name == "vendorId" and child is not None:
                found.vendor_ids.add(str(child))

    walk(root, operation.selection_set, data)
    return found


def depth(document: graphql.DocumentNode) -> int:
    """The most fields enclosing one field (a root field is at 0), fragments inlined and introspection
    left out: what `QueryDepthLimiter` limits."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, graphql.FragmentDefinitionNode)
    }

    def of(selections: graphql.SelectionSetNode, level: int) -> int:
        deepest = 0
        for s in selections.selections:
            if isinstance(s, graphql.FieldNode):
                if s.name.value.startswith("__"):
                    continue
                deepest = max(deepest, level)
                if s.selection_set is not None:
                    deepest = max(deepest, of(s.selection_set, level + 1))
            elif isinstance(s, graphql.InlineFragmentNode):
                deepest = max(deepest, of(s.selection_set, level))
            elif isinstance(s, graphql.FragmentSpreadNode):
                deepest = max(deepest, of(fragments[s.name.value].selection_set, level))
        return deepest

    operation = graphql.get_operation_ast(document)
    assert operation is not None
    return of(operation.selection_set, 0)


def aliases(document: graphql.DocumentNode) -> int:
    count = 0

    class Visitor(graphql.Visitor):
        def enter_field(self, node: graphql.FieldNode, *_: Any) -> None:
            nonlocal count
            count += node.alias is not None

    graphql.visit(document, Visitor())
    return count


def tokens(source: str) -> int:
    lexer = graphql.language.Lexer(graphql.Source(source))
    count = 0
    while lexer.advance().kind is not graphql.language.TokenKind.EOF:
        count += 1
    return count


def over_limits(source: str) -> set[str]:
    """The limit codes `source` must be refused with, measured here."""
    if tokens(source) > LIMITS["max_tokens"]:
        return {"TOO_MANY_TOKENS"}  # the parser stops: nothing else is measured
    document = graphql.parse(source)
    over = set()
    if depth(document) > LIMITS["max_depth"]:
        over.add("QUERY_TOO_DEEP")
    if aliases(document) > LIMITS["max_aliases"]:
        over.add("TOO_MANY_ALIASES")
    if not over and document_cost(CORE, document, None, {}) > LIMITS["max_cost"]:
        over.add("QUERY_TOO_COSTLY")  # cost is measured only on a document that passed validation
    return over


@dataclass
class Scope:
    role: Role | None  # None: anonymous
    site_numbers: set[str]
    site_ids: set[str]


@dataclass
class World:
    client: httpx.AsyncClient
    owner: AsyncEngine
    scopes: dict[str, Scope]
    stats: dict[str, dict[str, int]] = field(default_factory=dict)

    def _repr_pretty_(
        self, printer: Any, cycle: bool
    ) -> None:  # hypothesis prints a failing example's arguments
        printer.text(f"World({', '.join(self.scopes)})")


@pytest.fixture(scope="module")
async def copy_url(engine: AsyncEngine, imported: Any, database_url: str) -> AsyncIterator[str]:
    """A copy of the imported test database for this module (module docstring: why)."""
    await engine.dispose()  # CREATE DATABASE … TEMPLATE needs the template without connections
    source = make_url(database_url)
    name = f"{source.database}_fuzz"
    admin = create_async_engine(source.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await conn.execute(
                text(f'CREATE DATABASE "{name}" TEMPLATE "{source.database}" STRATEGY FILE_COPY')
            )
        yield source.set(database=name).render_as_string(hide_password=False)
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


@pytest.fixture(scope="module")
async def world(copy_url: str) -> AsyncIterator[World]:
    owner = create_async_engine(copy_url)
    owned = Database(owner)
    await add_role_users(owned)
    app_db = Database(create_async_engine(copy_url, pool_size=3, max_overflow=2), assume_role=APP_ROLE)
    await sent_statements(app_db, FUZZ_SETTINGS)
    scopes: dict[str, Scope] = {"anonymous": Scope(None, set(), set())}
    async with owner.connect() as conn:
        ids = {n: str(i) for n, i in (await conn.execute(text("SELECT site_number, id FROM customer_site")))}
    for name, role in ROLES.items():
        visible = await _scoped_sites(owned, role)
        scopes[name] = Scope(role, visible, {ids[n] for n in visible})
    app = create_app(FUZZ_SETTINGS, db=app_db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield World(client, owner, scopes)
    await app_db.bind.dispose()  # type: ignore[union-attr]
    await owner.dispose()


async def fingerprint(owner: AsyncEngine) -> str:
    """A digest of every row of the tables a mutation may write."""
    digest = hashlib.sha256()
    async with owner.connect() as conn:
        for table in WRITTEN_TABLES:
            rows = await conn.execute(text(f"SELECT t::text FROM {table} t ORDER BY 1"))
            for (row,) in rows:
                digest.update(row.encode())
            digest.update(b"|")
    return digest.hexdigest()


async def check(world: World, role_name: str, source: str) -> dict[str, Any]:
    """Send `source` as the role and assert every property of the module docstring; returns the body."""
    scope = world.scopes[role_name]
    headers = bearer(FUZZ_SETTINGS, scope.role.subject) if scope.role else {}
    response = await world.client.post("/graphql", json={"query": source}, headers=headers)
    assert response.status_code < 500, (response.status_code, response.text, source)
    body: dict[str, Any] = response.json()
    errors = body.get("errors") or []
    codes = {e.get("extensions", {}).get("code") for e in errors}
    assert codes <= KNOWN_CODES, (codes, body, source)
    for error in errors:
        assert not any(word in error["message"] for word in INTERNALS), (error, source)
    stats = world.stats.setdefault(role_name, {})
    for code in codes:
        stats[code] = stats.get(code, 0) + 1

    if scope.role is None:
        assert codes == {"UNAUTHENTICATED"} and body.get("data") is None, (body, source)
        return body
    over = over_limits(source)
    if over:
        assert codes & over and body.get("data") is None, (over, body, source)
        return body
    assert not codes & LIMIT_CODES, (body, source)
    assert codes.isdisjoint(DOCUMENT_ERRORS), (body, source)  # the generated documents are valid

    data = body.get("data")
    if data is None:
        return body
    document = graphql.parse(source)
    seen = harvest(document, data)
    stats["answers"] = stats.get("answers", 0) + 1
    stats["sites"] = stats.get("sites", 0) + len(seen.site_numbers | seen.site_ids)
    assert seen.site_numbers <= scope.site_numbers, (seen.site_numbers - scope.site_numbers, source)
    assert seen.site_ids <= scope.site_ids, (seen.site_ids - scope.site_ids, source)
    if not scope.role.sees_billing:
        assert not seen.types & BILLING_TYPES, (seen.types & BILLING_TYPES, source)
    if not scope.role.billing_detail:
        assert not seen.vendor_ids, (seen.vendor_ids, source)
    return body


ROLE_NAMES = ["anonymous", *ROLES]
FUZZ = settings(
    max_examples=20,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


@pytest.mark.parametrize("role_name", ROLE_NAMES)
@FUZZ
@given(source=queries(SDL, custom_scalars=SCALARS))
async def test_generated_queries(role_name: str, world: World, source: str) -> None:
    await check(world, role_name, source)


def _refused(role: Role | None) -> list[str]:
    """The mutations `role` may not make (§3.9)."""
    if role is None:
        return STATEMENT_MUTATIONS + USER_MUTATIONS + TERRITORY_MUTATIONS + MANUAL_ASSIGNMENT_MUTATIONS
    refused = [] if role.writes_statements else list(STATEMENT_MUTATIONS)
    if "billingAdmin" not in role.grants.roles:
        refused += USER_MUTATIONS
    if "gisEditor" not in role.grants.roles:
        refused += TERRITORY_MUTATIONS
        if "billingAdmin" not in role.grants.roles:
            refused += MANUAL_ASSIGNMENT_MUTATIONS
    return refused


# A non-writer's mutation can also stop before the role check: argument coercion and the guard's screen of
# strings (schema.guard) run first, so what it answers depends only on the document, never on data.
REFUSALS = {"FORBIDDEN", "BAD_USER_INPUT", "PAGE_TOO_LARGE"} | LIMIT_CODES


@pytest.mark.parametrize("role_name", [n for n in ROLE_NAMES if n != "billingAdmin"])
@settings(parent=FUZZ, max_examples=12)
@given(draw=st.data())
async def test_generated_mutations_the_role_may_not_make(
    role_name: str, world: World, draw: st.DataObject
) -> None:
    role = world.scopes[role_name].role
    refused = _refused(role)
    source = draw.draw(mutations(SDL, fields=refused, custom_scalars=SCALARS), label="mutation")
    before = await fingerprint(world.owner)
    body = await check(world, role_name, source)
    codes = {e["extensions"]["code"] for e in body.get("errors") or []}
    allowed = REFUSALS if role else {"UNAUTHENTICATED"}
    assert not any((body.get("data") or {}).values()) and codes and codes <= allowed, (body, source)
    assert await fingerprint(world.owner) == before, source


@settings(parent=FUZZ, max_examples=15)
@given(source=mutations(SDL, fields=STATEMENT_MUTATIONS, custom_scalars=SCALARS))
async def test_generated_statement_mutations_of_a_billing_manager(world: World, source: str) -> None:
    """The writers' side: whatever a generated mutation does, its answer keeps every property of `check`."""
    await check(world, "billingManager", source)


@settings(parent=FUZZ, max_examples=20)
@given(source=queries(SDL, custom_scalars=SCALARS, mode=Mode.NEGATIVE))
async def test_an_invalid_document_is_refused_with_a_code(world: World, source: str) -> None:
    """Documents with one schema violation each (a wrong argument type, an unknown field …)."""
    response = await world.client.post(
        "/graphql", json={"query": source}, headers=bearer(FUZZ_SETTINGS, "m-dm")
    )
    assert response.status_code < 500, (response.text, source)
    body = response.json()
    codes = {e.get("extensions", {}).get("code") for e in body.get("errors") or []}
    assert codes and codes <= KNOWN_CODES and not body.get("data"), (body, source)
    assert not any(word in e["message"] for e in body["errors"] for word in INTERNALS), (body, source)


# Every way the schema leads to a site, aliased and through fragments, each inside the fuzz limits.
PROBES = {
    "sites": "{ sites(first: 100) { totalCount edges { node { id n: siteNumber vendorId contract { billingType } } } } }",
    "site": '{ a: site(siteNumber: "0349") { siteNumber } b: site(siteNumber: "1078") { ...S } } fragment S on Site { id siteNumber }',
    "territory": '{ territory(layer: "districts", code: "orlando") { siteCount sites(first: 60) { edges { node { siteNumber } } } } }',
    "previews": '{ billingPreviews(servicePeriod: "2025-04", first: 40) { site { id siteNumber } preview { total } } }',
    "statements": "{ statements(first: 10) { edges { node { status site { siteNumber } } } } }",
}


def _sites_of(body: dict[str, Any], source: str) -> set[str]:
    data = body.get("data")
    return harvest(graphql.parse(source), data).site_numbers if data else set()


@pytest.mark.parametrize("role_name", list(ROLES))
async def test_every_path_to_a_site_keeps_the_scope(role_name: str, world: World) -> None:
    """Hand-written probes through `check`, so the leak checks meet real site data on every path (the
    generated documents reach it only now and then)."""
    scope = world.scopes[role_name]
    found: set[str] = set()
    for name, source in PROBES.items():
        body = await check(world, role_name, source)
        assert not body.get("errors"), (name, body)
        found |= _sites_of(body, source)
    assert found <= scope.site_numbers
    # the probes do see the sites in scope: 0349 (Orlando, East, linked to the account manager) …
    assert ("0349" in found) == ("0349" in scope.site_numbers)
    # … and every Orlando site the role may see
    orlando = await check(world, role_name, PROBES["territory"])
    orlando_sites = _sites_of(orlando, PROBES["territory"])
    assert orlando["data"]["territory"]["siteCount"] == len(orlando_sites)
    if scope.role is not None and scope.role.sees_all_sites:
        assert len(orlando_sites) == 45


async def test_the_checks_catch_a_leak(world: World) -> None:
    """`check` fails on an answer beyond the scope it is given: a site number behind an alias, a site id
    through a fragment, a contract for a role without billing, a vendor id without billing details."""
    manager = world.scopes["billingManager"]
    assert manager.role is not None
    narrowed = World(
        world.client,
        world.owner,
        {
            "narrow": Scope(manager.role, manager.site_numbers - {"0349"}, manager.site_ids),
            "no ids": Scope(manager.role, manager.site_numbers, set()),
            "no billing": Scope(
                replace(manager.role, sees_billing=False), manager.site_numbers, manager.site_ids
            ),
            "no detail": Scope(
                replace(manager.role, billing_detail=False), manager.site_numbers, manager.site_ids
            ),
        },
    )
    leaks = {
        "narrow": '{ x: site(siteNumber: "0349") { y: siteNumber } }',
        "no ids": '{ site(siteNumber: "0349") { ... on Site { id } } }',
        "no billing": '{ site(siteNumber: "0349") { contract { billingType } } }',
        "no detail": '{ site(siteNumber: "0170") { v: vendorId } }',  # OPRYLA
    }
    for name, source in leaks.items():
        with pytest.raises(AssertionError):
            await check(narrowed, name, source)
    await check(world, "billingManager", leaks["narrow"])  # the same answer in the real scope passes


# One document just over each limit (the generated ones rarely carry aliases or many tokens).
OVER = {
    "QUERY_TOO_DEEP": '{ statement(id: "x") { versions { statement { versions { statement { forecast { exceeded } } } } } } }',
    "TOO_MANY_ALIASES": "{ a: me { subject } b: me { subject } c: me { subject } }",
    "TOO_MANY_TOKENS": "{ me { " + "subject " * LIMITS["max_tokens"] + "} }",
    "QUERY_TOO_COSTLY": "{ sites(first: 500) { edges { node { siteNumber territories { method } } } } }",
}


@pytest.mark.parametrize("code", OVER)
async def test_a_document_over_a_limit_is_refused(code: str, world: World) -> None:
    assert over_limits(OVER[code]) == {code}  # the measure of this module agrees with the document's intent
    body = await check(world, "districtManager", OVER[code])
    assert {e["extensions"]["code"] for e in body["errors"]} == {code}


def test_the_fuzz_met_the_limits_and_refusals(world: World) -> None:
    """The generated documents were not all trivially fine: limits refused some, the role check refused
    mutations, and every signed-in role got answers (only when the module ran whole)."""
    if len(world.stats) < len(ROLE_NAMES):
        pytest.skip("only part of the module ran")
    codes = {code for counts in world.stats.values() for code in counts}
    assert {"QUERY_TOO_DEEP", "QUERY_TOO_COSTLY", "FORBIDDEN", "UNAUTHENTICATED"} <= codes, codes
    assert all(world.stats[name].get("answers", 0) > 0 for name in ROLES), world.stats
