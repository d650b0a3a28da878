"""The compiled read path (`resolvers.compiled`, issue 8) answers exactly as the resolver path does.

Each query runs twice in the same test transaction, as the same caller: once compiled into one SQL
statement, once field by field with `CompiledReads` switched off. The `data` must be equal, and the
compiled run must have issued exactly one data statement.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import graphql
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import queries
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from db.database import Database, RequestDatabase, StatementCounter
from db.repositories.compiled import COMPILED_FIELDS
from resolvers.context import Context, bind_caller
from resolvers.sites import encode_cursor
from schema.compiled import CompiledReads
from tests.conftest import APP_ROLE, TEST_SETTINGS, TODAY, GraphQLClient
from tests.test_fuzz_roles import SCALARS, SCHEMA, SDL, copy_url  # noqa: F401 (copy_url: the fixture)
from tests.test_role_matrix import ROLES, add_role_users

SITE_FIELDS = """
    __typename id siteNumber name address street city state zip sourceDistrict glString parkingSpaces rooms
    startDate closeDate isActive geocodeMethod vendorId location
"""
TERRITORY_FIELDS = "id code name sourceDistrict version areaKm2 layer { id code name kind description }"

DASHBOARD = f"""
query Dashboard($code: String!) {{
  territory(layer: "districts", code: $code) {{
    {TERRITORY_FIELDS}
    siteCount
    sites(first: 100) {{
      totalCount
      pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
      edges {{ cursor node {{
        siteNumber name state
        contract {{ billingType buildingBlocks }}
        territories {{ method validFrom validTo layer {{ code }} territory {{ code name }} }}
      }} }}
    }}
  }}
}}
"""

FIRST_BY_NAME = """
query {
  sites(first: 100, orderBy: NAME) {
    edges { cursor node { siteNumber name city state
      contract { id contractType billingType buildingBlocks incrementPercentage incrementMonth
        consumerPriceIndex deviationAmount deviationPercentage paymentTerms purchaseOrder deposits
        hoursBackupReport supportingReports configurationSource occupiedRoom { rate code invoiceGroup } }
    } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

NEAR = """
query Near($lon: Float!, $lat: Float!) {
  sites(filter: {near: {lon: $lon, lat: $lat, radiusMeters: 50000}}, orderBy: DISTANCE,
        distanceFrom: {lon: $lon, lat: $lat}, first: 50) {
    totalCount
    edges { distanceMeters node { siteNumber name location } }
  }
}
"""

ONE_SITE = f"""
query One($n: String!) {{
  site(siteNumber: $n) {{
    {SITE_FIELDS}
    territories {{ __typename method validFrom validTo layer {{ {"id code name kind description"} }}
      territory {{ {TERRITORY_FIELDS} siteCount }} }}
    contract {{ __typename id billingType buildingBlocks incrementPercentage deviationAmount
      occupiedRoom {{ rate }} site {{ siteNumber }}
      invoiceGroups {{ groupNumber title description siteNumberOverride customerName vendorId }}
      fixedFeeServices {{ name displayName code fee startDate endDate invoiceGroup }}
      laborHourJobs {{ name displayName jobCode code rate overtimeRate isSalaried startDate endDate invoiceGroup }}
      revenueShareThresholds {{ position revenueCodes accumulationType tiers {{ sharePercentage amount }}
        validationThresholdType validationThresholdAmount invoiceGroup }}
      blockSettings {{ buildingBlock invoiceGroup settings validFrom validTo }} }}
    district: territory(layer: "districts") {{ method validFrom territory {{ code }} }}
    territoryHistory(layer: "districts") {{ method validFrom validTo territory {{ code }} }}
  }}
  missing: site(siteNumber: "9999") {{ id }}
  bad: site(siteNumber: "x1") {{ id }}
}}
"""

FRAGMENTS = """
query Frag($withContract: Boolean!, $after: String) {
  __typename
  page: sites(first: 7, after: $after, filter: {state: "FL"}) { ...Page }
  again: sites(first: 3, orderBy: NAME, filter: {buildingBlock: FIXED_FEE}) { ...Page totalCount }
  territoryLayers { code kind territories { code siteCount } }
  regions: territoryLayer(code: "regions") { name territories { code geometry(simplifyTolerance: 0.5) } }
}
fragment Page on SiteConnection {
  edges { cursor node { ... on Site { siteNumber } ...More } }
  pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
}
fragment More on Site { name contract @include(if: $withContract) { billingType } }
"""


def first_difference(left: Any, right: Any, path: str = "data") -> str | None:
    """Where two JSON values first differ, e.g. `data.sites.edges[3].node.name: 'A' != 'B'`."""
    if isinstance(left, dict) and isinstance(right, dict):
        if list(left) != list(right):
            return f"{path}: keys {list(left)} != {list(right)}"
        for key in left:
            found = first_difference(left[key], right[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(left, list) and isinstance(right, list):
        if len(left) != len(right):
            return f"{path}: {len(left)} items != {len(right)}"
        for i, (a, b) in enumerate(zip(left, right, strict=True)):
            found = first_difference(a, b, f"{path}[{i}]")
            if found:
                return found
        return None
    if left != right or type(left) is not type(right):
        return f"{path}: {left!r} != {right!r}"
    return None


async def both(gql: GraphQLClient, query: str, **variables: Any) -> tuple[Any, Any, int]:
    """(compiled result, resolver result, data statements of the compiled run)."""
    door = gql.context.db
    assert isinstance(door, RequestDatabase)
    with StatementCounter(door.parent.bind) as counter:
        compiled = await gql.execute(query, **variables)
    statements = len([q for q in counter.queries if "towne_begin_request" not in q])
    CompiledReads.enabled = False
    try:
        resolved = await gql.execute(query, **variables)
    finally:
        CompiledReads.enabled = True
    return compiled, resolved, statements


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (DASHBOARD, {"code": "orlando"}),
        (FIRST_BY_NAME, {}),
        (NEAR, {"lon": -81.38, "lat": 28.54}),
        (ONE_SITE, {"n": "349"}),
        (ONE_SITE, {"n": "487"}),
        (ONE_SITE, {"n": "170"}),
        (FRAGMENTS, {"withContract": True}),
        # connections without an aggregate field: still one object, also for an empty page (review)
        ('{ sites(filter: {state: "ZZ"}) { totalCount } }', {}),
        ('{ sites(first: 3, filter: {search: "%"}) { totalCount __typename } }', {}),
        ('{ sites(filter: {state: "ZZ"}) { __typename pageInfo { hasPreviousPage } } }', {}),
        ('{ sites(first: 5, after: "b2Zmc2V0Ojk5OTk=") { totalCount } }', {}),
        (
            '{ territory(layer: "districts", code: "orlando") { code'
            ' sites(first: 5, after: "b2Zmc2V0Ojk5OTk=") { totalCount } } }',
            {},
        ),
        (FRAGMENTS, {"withContract": False, "after": "b2Zmc2V0OjI="}),
    ],
    ids=[
        "dashboard",
        "first-by-name",
        "near",
        "one-site",
        "one-site-487",
        "one-site-170",
        "fragments",
        "count-of-none",
        "count-alone",
        "typename-alone",
        "count-past-the-end",
        "territory-count-past-the-end",
        "fragments-after",
    ],
)
async def test_compiled_equals_resolved(gql: GraphQLClient, query: str, variables: dict[str, Any]) -> None:
    compiled, resolved, statements = await both(gql, query, **variables)
    assert resolved.errors is None, resolved.errors
    assert compiled.errors is None, compiled.errors
    assert first_difference(compiled.data, resolved.data) is None
    assert statements == 1


# ---- generated documents ---------------------------------------------------------------------------------
#
# Two generators, each run on both paths as a sampled role, on this module's own copy of the test database
# (as tests/test_fuzz_roles.py, for the same reason: a failing non-null field cancels its siblings, which
# discards the connection they ran on):
#
# * `hypothesis-graphql` over the part of the schema the planner compiles (`COMPILED_FIELDS`): any shape,
#   fragments, aliases and arguments, most of them values the data does not have;
# * `site_queries`: the shapes a dashboard sends, with values the data has (states, territory codes, points,
#   cursors of real pages), so that pages are full and nested objects present.


def compiled_subset_sdl() -> str:
    """The schema's SDL with only the fields `resolvers.compiled` compiles on each of its types."""
    document = graphql.parse(SDL)
    definitions: list[graphql.DefinitionNode] = []
    for definition in document.definitions:
        if isinstance(definition, graphql.ObjectTypeDefinitionNode):
            keep = COMPILED_FIELDS.get(definition.name.value)
            if keep is None:
                definitions.append(definition)  # unreachable from the kept fields of Query
                continue
            fields = tuple(f for f in definition.fields or () if f.name.value in keep)
            definition = graphql.ObjectTypeDefinitionNode(
                name=definition.name, fields=fields, interfaces=definition.interfaces, directives=()
            )
        definitions.append(definition)
    return graphql.print_ast(graphql.DocumentNode(definitions=tuple(definitions)))


SUBSET_SDL = compiled_subset_sdl()
ROLE_NAMES = sorted(ROLES)
GENERATED = settings(
    max_examples=40,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


@dataclass
class Copy:
    db: Database
    states: list[str]
    territories: list[tuple[str, str]]
    compiled: int = 0  # examples the planner answered (the test must exercise it, not only fall back)


@pytest.fixture(scope="module")
async def copy(copy_url: str) -> AsyncIterator[Copy]:  # noqa: F811
    owner = create_async_engine(copy_url)
    await add_role_users(Database(owner))
    async with owner.connect() as conn:
        states = sorted((await conn.execute(text("SELECT DISTINCT state FROM customer_site"))).scalars())
        territories = [
            (layer, code)
            for layer, code in await conn.execute(
                text("SELECT l.code, t.code FROM territory t JOIN territory_layer l ON l.id = t.layer_id")
            )
        ]
    await owner.dispose()
    db = Database(create_async_engine(copy_url, pool_size=2, max_overflow=2), assume_role=APP_ROLE)
    found = Copy(db, states, sorted(territories))
    yield found
    assert found.compiled > 0, "no generated document was compiled: the differential test compared nothing"
    await db.dispose()


def _outcome(result: Any) -> tuple[Any, list[tuple[Any, Any]]]:
    errors = [
        (e.formatted.get("extensions", {}).get("code"), e.formatted.get("path")) for e in result.errors or []
    ]
    return result.data, sorted(errors, key=repr)


async def run_both(copy: Copy, role: str, source: str, variables: dict[str, Any] | None = None) -> int:
    async def run(enabled: bool) -> tuple[Any, int]:
        door = copy.db.request()
        try:
            caller = await bind_caller(door, ROLES[role].subject)
            assert caller is not None
            context = Context(db=door, settings=TEST_SETTINGS, caller=caller, today=TODAY)
            CompiledReads.enabled = enabled
            with StatementCounter(copy.db.bind) as counter:
                result = await SCHEMA.execute(source, variable_values=variables, context_value=context)
            data_statements = [q for q in counter.queries if "towne_begin_request" not in q]
            return _outcome(result), len(data_statements)
        finally:
            CompiledReads.enabled = True
            await door.close()

    (compiled, statements), (resolved, _) = await run(True), await run(False)
    difference = first_difference(compiled, resolved, "outcome")
    assert difference is None, f"{role}: {difference}\n{source}\n{variables}"
    if statements == 1 and not compiled[1]:
        copy.compiled += 1
    return statements


@pytest.mark.parametrize("role", ["billingAdmin", "districtManager", "gisEditor"])
@GENERATED
@given(source=queries(SUBSET_SDL, custom_scalars=SCALARS))
async def test_generated_documents_agree(copy: Copy, role: str, source: str) -> None:
    await run_both(copy, role, source)


SITE_LEAVES = sorted(COMPILED_FIELDS["Site"] - {"territories", "contract", "territory", "territoryHistory"})
CONTRACT_LEAVES = sorted(
    COMPILED_FIELDS["Contract"]
    - {"occupiedRoom", "site", "invoiceGroups", "fixedFeeServices", "laborHourJobs", "revenueShareThresholds"}
    - {"blockSettings", "term"}
)


@st.composite
def site_queries(draw: st.DrawFn, copy: Copy) -> tuple[str, dict[str, Any]]:
    """A dashboard-shaped `sites` or `territory { sites }` query with values the data has."""
    leaves = draw(st.lists(st.sampled_from(SITE_LEAVES), min_size=1, max_size=8, unique=True))
    node = " ".join(leaves)
    if draw(st.booleans()):
        node += (
            " contract { "
            + " ".join(draw(st.lists(st.sampled_from(CONTRACT_LEAVES), min_size=1, unique=True)))
            + " }"
        )
    if draw(st.booleans()):
        node += " territories { method validFrom validTo layer { code kind } territory { code areaKm2 siteCount } }"
    page = (
        "edges { cursor distanceMeters node { "
        + node
        + " } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } totalCount"
    )
    first = draw(st.integers(0, 60))
    offset = draw(st.integers(0, 40))
    variables: dict[str, Any] = {"first": first, "after": encode_cursor(offset) if offset else None}
    order = draw(st.sampled_from(["SITE_NUMBER", "NAME"]))
    if draw(st.booleans()):
        layer, code = draw(st.sampled_from(copy.territories))
        variables |= {"layer": layer, "code": code}
        source = (
            "query($layer: String!, $code: String!, $first: Int!, $after: String) {"
            " territory(layer: $layer, code: $code) { code siteCount"
            f" sites(first: $first, after: $after, orderBy: {order}) {{ {page} }} }} }}"
        )
        return source, variables
    site_filter: dict[str, Any] = {}
    if draw(st.booleans()):
        site_filter["state"] = draw(st.sampled_from(copy.states))
    if draw(st.booleans()):
        layer, code = draw(st.sampled_from(copy.territories))
        site_filter["territory"] = {"layer": layer, "code": code}
    if draw(st.booleans()):
        site_filter["buildingBlock"] = draw(st.sampled_from(["FIXED_FEE", "PER_LABOR_HOUR", "REVENUE_SHARE"]))
    near = None
    if draw(st.booleans()):
        near = {"lon": draw(st.floats(-120, -72)), "lat": draw(st.floats(26, 47)), "radiusMeters": 300_000.0}
        site_filter["near"] = near
        order = draw(st.sampled_from(["SITE_NUMBER", "NAME", "DISTANCE"]))
    variables |= {"filter": site_filter}
    distance = ", distanceFrom: {lon: $lon, lat: $lat}" if near else ""
    if near:
        variables |= {"lon": near["lon"], "lat": near["lat"]}
    declared = ", $lon: Float!, $lat: Float!" if near else ""
    source = (
        f"query($filter: SiteFilter, $first: Int!, $after: String{declared}) {{"
        f" sites(filter: $filter, first: $first, after: $after, orderBy: {order}{distance}) {{ {page} }} }}"
    )
    return source, variables


@pytest.mark.parametrize("role", ["billingAdmin", "regionalVp", "accountManager", "gisEditor"])
@GENERATED
@given(data=st.data())
async def test_dashboard_queries_agree(copy: Copy, role: str, data: st.DataObject) -> None:
    source, variables = data.draw(site_queries(copy))
    # every dashboard shape compiles: one data statement whatever the page size and nesting
    assert await run_both(copy, role, source, variables) == 1


@pytest.mark.parametrize(
    ("query", "code"),
    [
        (
            '{ sites(filter: {territory: {layer: "districts", code: "atlantis"}}) { totalCount } }',
            "BAD_USER_INPUT",
        ),
        ('{ territory(layer: "districts", code: "atlantis") { id } }', "BAD_USER_INPUT"),
        ('{ territoryLayer(code: "nope") { id } }', "BAD_USER_INPUT"),
        ('{ site(siteNumber: "349") { territory(layer: "nope") { method } } }', "BAD_USER_INPUT"),
        ('{ site(siteNumber: "349") { territoryHistory(layer: "nope") { method } } }', "BAD_USER_INPUT"),
        ("{ sites(first: 501) { totalCount } }", "PAGE_TOO_LARGE"),
        ('{ sites(after: "bogus") { totalCount } }', "BAD_USER_INPUT"),
        ("{ sites(orderBy: DISTANCE) { totalCount } }", "BAD_USER_INPUT"),
        ('{ sites(filter: {state: "Florida"}) { totalCount } }', "BAD_USER_INPUT"),
        ('{ sites(filter: {search: "a\\u0000b"}) { totalCount } }', "BAD_USER_INPUT"),
    ],
)
async def test_refusals_are_the_resolver_paths(gql: GraphQLClient, query: str, code: str) -> None:
    """What the resolver path refuses is never answered by the planner: the same error, the same code."""
    compiled, resolved, _ = await both(gql, query)
    assert [e.formatted for e in compiled.errors or []] == [e.formatted for e in resolved.errors or []]
    assert compiled.errors and compiled.errors[0].extensions["code"] == code


async def test_over_http_the_data_is_passed_through(db: Database) -> None:
    """Over HTTP the compiled data goes out as PostgreSQL wrote it, not decoded and encoded again: the body
    decodes to what the resolver path sends (names with non-ASCII letters, GeoJSON)."""
    from tests.test_endpoint import client_of, headers

    query = (
        '{ sites(filter: {search: "Disney’s"}, first: 3) { edges { node { name location } } } '
        'territoryLayer(code: "regions") { territories { code geometry(simplifyTolerance: 0.1) } } }'
    )
    bodies = {}
    async with client_of(db, TEST_SETTINGS) as client:
        for enabled in (True, False):
            CompiledReads.enabled = enabled
            try:
                single = await client.post("/graphql", json={"query": query}, headers=headers())
            finally:
                CompiledReads.enabled = True
            assert single.status_code == 200
            bodies[enabled] = (single.text, single.json())
    compiled_text, compiled = bodies[True]
    resolved_text, resolved = bodies[False]
    assert "Disney’s" in compiled_text  # PostgreSQL's UTF-8, where json.dumps writes \u2019
    assert "\\u2019" in resolved_text
    assert compiled == resolved and len(compiled["data"]["sites"]["edges"]) == 3


async def test_a_document_too_large_to_compile_runs_on_the_resolver_path(gql: GraphQLClient) -> None:
    """Each selected field is a subquery: many aliases of a deep shape would make a statement whose planning
    and execution grow faster than the resolver path's work (review: 2,000 fields, 18 s). Above
    `MAX_COMPILED_FIELDS` the resolver path answers, the same data."""
    aliases = " ".join(
        f'a{i}: site(siteNumber: "{n}") {{ ...S }}' for i, n in enumerate(["349", "487", "170"] * 4)
    )
    query = (
        f"query {{ {aliases} }} fragment S on Site {{ {SITE_FIELDS} territories {{ method layer {{ code }}"
        f" territory {{ {TERRITORY_FIELDS} siteCount }} }} contract {{ id billingType buildingBlocks }} }}"
    )
    compiled, resolved, statements = await both(gql, query)
    assert resolved.errors is None and compiled.errors is None
    assert first_difference(compiled.data, resolved.data) is None
    assert statements > 1  # loaders, not one statement


async def test_undeclared_variables_do_not_make_new_plans(gql: GraphQLClient) -> None:
    """The plan cache is keyed by the variables the document declares, so junk variables (which GraphQL
    ignores) cannot fill it with copies of one plan."""
    from resolvers import compiled

    query = "query($n: String!) { site(siteNumber: $n) { name } }"
    await gql.data(query, n="349")
    before = len(compiled._PLANS)
    for junk in range(5):
        result = await gql.execute(query, n="349", junk=junk)
        assert result.errors is None
    assert len(compiled._PLANS) == before
