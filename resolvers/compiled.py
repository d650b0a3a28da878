"""Compiled reads (issue 8): a query operation whose every field maps to SQL is answered by one statement.

Field-by-field execution costs strawberry about 16 µs a resolved field before any database work, so a
dashboard of 45 sites × 19 fields cannot reach PostGraphile's speed that way. This module walks the
operation (graphql-core's own field collection: fragments, aliases, `@skip`/`@include`), checks and
normalises every argument exactly as the resolvers do (`resolvers.sites`, `schema.guard`), and hands the
selection to `db.repositories.compiled`, which builds the statement. Anything it does not know (a field, a
mutation, a value the resolvers would refuse) raises `Unsupported` and the operation runs on the resolver
path, which answers it as before, errors included. `tests/test_compiled_reads.py` proves over generated
queries that both paths give the same answer.

Planning builds a SQLAlchemy statement and compiles it (about 10 ms for a dashboard); the same document
with the same variables (a dashboard's refresh, a page reload) reuses its SQL text from a bounded cache.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from graphql import (
    FieldNode,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    get_named_type,
)
from graphql.execution.collect_fields import FieldDetailsList, collect_fields, collect_subfields
from graphql.execution.executor import Executor
from graphql.execution.values import get_argument_values

from db.repositories import compiled as repository
from db.repositories.compiled import COMPILED_FIELDS, Selected, Selection, SitePage, Unsupported
from db.repositories.sites import SiteQuery
from resolvers import sites as site_resolvers
from resolvers.context import BILLING_DETAIL, Context
from resolvers.errors import BadUserInput

log = logging.getLogger("towne.compiled")

PLAN_CACHE_SIZE = 512
# Selected fields of a compiled statement, all levels: the bench's largest document has about 110, a
# dashboard 20–60; above it the resolver path answers (a statement of 2,000 fields took 18 s to execute).
MAX_COMPILED_FIELDS = 300
_MAX_KEYED_VARIABLES = 4096  # longer variables are planned every time, not kept
_PLANS: OrderedDict[tuple[str, str | None, str, bool], repository.CompiledStatement | None] = OrderedDict()


class CompiledData:
    """The `data` of a compiled answer as PostgreSQL wrote it, for the HTTP layer to send as is
    (`server.app.TowneGraphQL.encode_json`): decoding and encoding again the 4 MB of a layer's GeoJSON
    costs about 0.1 s of the event loop for nothing. Callers without an HTTP response get the dict."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def decoded(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.text)
        return value


def forget_plans() -> None:
    """Empty the plan cache (tests that change the code a plan was made with)."""
    _PLANS.clear()


# ---- arguments, as the resolvers check them -------------------------------------------------------------


def _screen(value: Any, path: str) -> None:
    """The resolver path's argument guard (schema.guard): unusable strings are answered there."""
    from schema.guard import check_value

    if isinstance(value, dict):  # graphql-core's coerced input objects
        for key, item in value.items():
            _screen(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _screen(item, f"{path}[{index}]")
    else:
        try:
            check_value(value, path)
        except BadUserInput as exc:
            raise Unsupported(str(exc)) from exc


def _page(arguments: dict[str, Any], query: SiteQuery) -> dict[str, Any]:
    order = arguments["orderBy"].order
    first = arguments["first"]
    try:
        offset = site_resolvers.page_offset(query=query, order=order, first=first, after=arguments["after"])
    except BadUserInput as exc:
        raise Unsupported(str(exc)) from exc
    return {"page": SitePage(query, order, first, offset)}


def _sites_arguments(arguments: dict[str, Any]) -> dict[str, Any]:
    raw = arguments["filter"] or {}
    block = raw.get("buildingBlock")
    near = raw.get("near")
    territory = raw.get("territory")
    distance_from = arguments["distanceFrom"]
    filter_input = site_resolvers.FilterInput(
        territory=(territory["layer"], territory["code"]) if territory else None,
        source_district=raw.get("sourceDistrict"),
        state=raw.get("state"),
        building_block=block.name if block is not None else None,
        search=raw.get("search"),
        bbox=raw.get("bbox"),
        near=(near["lon"], near["lat"], near["radiusMeters"]) if near else None,
        source_district_mismatch=raw.get("sourceDistrictMismatch"),
    )
    try:
        query = site_resolvers.parse_query(
            filter_input,
            distance_from=(distance_from["lon"], distance_from["lat"]) if distance_from else None,
        )
    except BadUserInput as exc:
        raise Unsupported(str(exc)) from exc
    return _page(arguments, query)


def _not_as_of(arguments: dict[str, Any]) -> dict[str, Any]:
    if arguments.get("asOf") is not None:
        raise Unsupported("asOf")  # as-of reads stay on the resolver path
    return arguments


def _geometry(arguments: dict[str, Any]) -> dict[str, Any]:
    tolerance = arguments.get("simplifyTolerance")
    if tolerance is not None and not 0 <= tolerance <= 1:
        raise Unsupported("simplifyTolerance")  # the resolver path answers BAD_USER_INPUT
    return {"tolerance": tolerance or None}


_ARGUMENTS: dict[tuple[str, str], Callable[[dict[str, Any]], dict[str, Any]]] = {
    ("Query", "site"): lambda a: {"number": site_resolvers.normal_site_number(a["siteNumber"])},
    ("Query", "sites"): _sites_arguments,
    ("Query", "territory"): _not_as_of,
    ("Territory", "sites"): lambda a: _page(a, SiteQuery()),
    ("Territory", "geometry"): _geometry,
    ("Site", "territory"): _not_as_of,
    ("Site", "territoryHistory"): lambda a: a,
    ("Query", "territoryLayer"): lambda a: a,
}


# ---- the walk -------------------------------------------------------------------------------------------


class _Walk:
    def __init__(self, schema: GraphQLSchema, executor: Executor[Any]) -> None:
        self.schema = schema
        self.executor = executor

    def selection(self, parent: GraphQLObjectType, groups: dict[str, FieldDetailsList]) -> Selection:
        supported = COMPILED_FIELDS.get(parent.name)
        if supported is None:
            raise Unsupported(parent.name)
        fields: list[Selected] = []
        for key, group in groups.items():
            node: FieldNode = group[0].node
            name = node.name.value
            if name == "__typename":
                fields.append(Selected(key, name, {}))
                continue
            if name not in supported:
                raise Unsupported(f"{parent.name}.{name}")
            definition = parent.fields[name]
            arguments = get_argument_values(definition, node, self.executor.variable_values)
            _screen(arguments, name)
            normalise = _ARGUMENTS.get((parent.name, name))
            if normalise is not None:
                arguments = normalise(arguments)
            elif arguments:
                raise Unsupported(f"{parent.name}.{name} arguments")
            named = get_named_type(definition.type)
            child = None
            if isinstance(named, GraphQLObjectType):
                collected = collect_subfields(
                    self.schema,
                    self.executor.fragments,
                    self.executor.variable_values,
                    self.executor.operation,
                    named,
                    group,
                )
                child = self.selection(named, collected.grouped_field_set)
            fields.append(Selected(key, name, arguments, child))
        return Selection(parent.name, tuple(fields))


def plan(schema: GraphQLSchema, document: Any, *, operation_name: str | None, variables: Any) -> Selection:
    """The Query selection of an operation of `document` (already validated), or `Unsupported`."""
    executor = Executor.build(
        schema, document, raw_variable_values=variables or {}, operation_name=operation_name
    )
    if not isinstance(executor, Executor):  # variables that do not coerce: the resolver path answers
        raise Unsupported("variables")
    if executor.operation.operation is not OperationType.QUERY:
        raise Unsupported("not a query")
    root = schema.query_type
    assert root is not None
    collected = collect_fields(schema, executor.fragments, executor.variable_values, root, executor.operation)
    if collected.new_defer_usages:
        raise Unsupported("@defer")
    return _Walk(schema, executor).selection(root, collected.grouped_field_set)


def _declared_variables(document: Any) -> frozenset[str]:
    return frozenset(
        definition.variable.name.value
        for operation in document.definitions
        if isinstance(operation, OperationDefinitionNode)
        for definition in operation.variable_definitions or ()
    )


def _size(selection: Selection) -> int:
    return sum(1 + (_size(f.selection) if f.selection else 0) for f in selection.fields)


def _compiled(
    ctx: Context,
    session: Any,
    schema: GraphQLSchema,
    document: Any,
    query: str | None,
    operation_name: str | None,
    variables: Any,
) -> repository.CompiledStatement | None:
    detail = ctx.caller.has_any(BILLING_DETAIL)
    # only the variables the document declares: undeclared ones change nothing, and must not make a new
    # entry (a client could otherwise bypass the cache with junk variables)
    declared = _declared_variables(document)
    keyed = json.dumps(
        {k: v for k, v in (variables or {}).items() if k in declared}, sort_keys=True, default=str
    )
    key = (query or "", operation_name, keyed, detail)
    cacheable = bool(query) and len(keyed) <= _MAX_KEYED_VARIABLES
    if cacheable and key in _PLANS:
        _PLANS.move_to_end(key)
        return _PLANS[key]
    try:
        selection = plan(schema, document, operation_name=operation_name, variables=variables)
        if _size(selection) > MAX_COMPILED_FIELDS:
            # each selected field is a (correlated) subquery: a document of many aliases of a deep shape
            # makes a statement whose planning and execution grow faster than the resolver path's work
            raise Unsupported("too many fields to compile")
        found: repository.CompiledStatement | None = repository.compile_statement(
            session, repository.statement(selection, billing_detail=detail)
        )
    except Unsupported:
        found = None
    if cacheable:
        _PLANS[key] = found
        if len(_PLANS) > PLAN_CACHE_SIZE:
            _PLANS.popitem(last=False)
    return found


async def answer(
    ctx: Context,
    schema: GraphQLSchema,
    document: Any,
    *,
    query: str | None,
    operation_name: str | None,
    variables: Any,
) -> dict[str, Any] | CompiledData | None:
    """The `data` of a query operation answered by one statement, or None: the resolver path answers.

    Over HTTP (`ctx.response` set) the data is `CompiledData`, PostgreSQL's JSON text; else a dict. A
    statement that fails (a timeout, a lost connection) is logged and left to the resolver path, which
    meets the same failure and answers it in the error language."""
    try:
        async with ctx.db.read() as session:
            compiled = _compiled(ctx, session, schema, document, query, operation_name, variables)
            if compiled is None:
                return None
            data, ok = await repository.run(session, compiled)
    except Exception as exc:
        # the class only: SQLAlchemy's message carries the whole statement and its parameters
        log.warning("compiled read failed (%s); answering on the resolver path", type(exc).__name__)
        return None
    if not ok:
        return None  # a code that does not exist: the resolver path answers BAD_USER_INPUT
    return CompiledData(data) if ctx.response is not None else CompiledData(data).decoded()


__all__ = ["COMPILED_FIELDS", "CompiledData", "Unsupported", "answer", "forget_plans", "plan"]
