"""Limits of a GraphQL document, each refused before any resolver runs (so before any SQL) with its own code:

* depth (`TOWNE_MAX_DEPTH`, QUERY_TOO_DEEP) and aliases (`TOWNE_MAX_ALIASES`, TOO_MANY_ALIASES): strawberry's
  `QueryDepthLimiter` / `MaxAliasesLimiter` validation rules, their errors re-coded;
* tokens (`TOWNE_MAX_TOKENS`, TOO_MANY_TOKENS): strawberry's `MaxTokensLimiter` stops the parser; its syntax
  error is re-coded;
* cost (`TOWNE_MAX_COST`, QUERY_TOO_COSTLY): `CostLimiter` below, on the validated document and the request's
  variables;
* introspection in production (INTROSPECTION_DISABLED): graphql-core's `NoSchemaIntrospectionCustomRule`.

The cost is the number of objects the document may make the server build: every field of an object type
counts once per instance (a billing preview `FIELD_WEIGHTS` times); a list multiplies the instances below
it by its size. A size is the field's
`first` (as given, literally or by variable, else its default): on a list field (`billingPreviews`) that is
the list's size, on a connection (`sites`, `statements`) the size of the connection's lists (`edges`). A
list without `first` counts `ASSUMED_LIST_SIZES`, else `DEFAULT_LIST_SIZE`. Scalars are free (columns of
rows already fetched), and so are introspection fields (in memory). Fragments count where they are spread;
the members of a union or interface count as if every one were returned (an upper bound).

Worked examples: `territoryLayer { territories { sites(first: 500) { edges { node { territories { territory
{ sites(first: 500) { edges { node { siteNumber } } } } } } } } } }` costs 50 · 500 · 10 · 500 ≈ 250 million,
far above the default 200,000; a page of 500 sites with their territories and billing previews (invoices and
lines) costs about 79,000; the portfolio, `billingPreviews(first: 1000)` with invoices and lines, 137,000;
the same page of 500 sites with 50 aliased billing previews each (one per period) 626,000 (refused).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    is_leaf_type,
)
from graphql.utilities import get_operation_ast
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)

from resolvers.errors import (
    IntrospectionDisabled,
    QueryTooCostly,
    QueryTooDeep,
    TooManyAliases,
    TooManyTokens,
    TowneError,
)

DEFAULT_LIST_SIZE = 10
# Lists without `first`, sized from the data (3 layers, at most 33 territories in one) with head room.
ASSUMED_LIST_SIZES: Mapping[tuple[str, str], int] = {
    ("Query", "territoryLayers"): 10,
    ("TerritoryLayer", "territories"): 50,
    ("Site", "territories"): 10,
}
# Objects that cost far more than a row: a billing preview runs the engine for one site and period (about
# 3 ms of CPU each, measured on the portfolio), so one counts as this many objects.
FIELD_WEIGHTS: Mapping[tuple[str, str], int] = {
    ("Site", "billingPreview"): 25,
    ("SiteBillingPreview", "preview"): 25,
    # a site's forecast runs the P&L engine for 12 months (issue 11 §4)
    ("Query", "forecast"): 12 * 25,
}
PAGE_ARGUMENT = "first"


class _Recoding:
    """A validation context whose reported errors carry a `TowneError` (so `ErrorLanguage` gives its code)."""

    def __init__(self, context: Any, error: type[TowneError]) -> None:
        self._context = context
        self._error = error

    def report_error(self, error: GraphQLError) -> None:
        self._context.report_error(
            GraphQLError(error.message, error.nodes, original_error=self._error(error.message))
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


def coded(rule: type[ASTValidationRule], error: type[TowneError]) -> type[ASTValidationRule]:
    """`rule`, its errors reported as `error` (its `extensions.code`)."""

    class Coded(rule):  # type: ignore[valid-type,misc]
        def __init__(self, context: Any) -> None:
            super().__init__(_Recoding(context, error))

    Coded.__name__ = f"Coded{rule.__name__}"
    return Coded


def _rules_of(extension: AddValidationRules) -> list[type[ASTValidationRule]]:
    return list(extension.validation_rules)


class TokenLimiter(MaxTokensLimiter):
    """strawberry's token limit, its parse error as TOO_MANY_TOKENS."""

    def on_parse(self) -> Iterator[None]:
        yield
        context = self.execution_context
        message = f"the document has more than {self.max_token_count} tokens; send a shorter one"
        for error in context.pre_execution_errors or ():
            if "tokens. Parsing aborted" in error.message:
                # the error itself (strawberry answers with another list holding it): ErrorLanguage reads
                # the code and message of its original error
                error.original_error = TooManyTokens(message)


class CostLimiter(SchemaExtension):
    """Refuses a document whose cost (module docstring) exceeds `max_cost` before it executes."""

    def __init__(self, *, max_cost: int) -> None:
        self.max_cost = max_cost

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and context.result is None:
            cost = document_cost(
                context.schema._schema, document, context.operation_name, context.variables or {}
            )
            if cost > self.max_cost:
                message = (
                    f"the query may ask for about {cost:,} objects, more than the {self.max_cost:,} allowed; "
                    "ask for smaller pages (first) or fewer nested lists"
                )
                context.result = GraphQLExecutionResult(
                    data=None, errors=[GraphQLError(message, original_error=QueryTooCostly(message))]
                )
        yield


def document_cost(
    schema: GraphQLSchema,
    document: Any,
    operation_name: str | None,
    variables: Mapping[str, Any],
) -> int:
    """The cost of the operation `operation_name` of `document` (module docstring); 0 when there is none."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return 0
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    return _Counter(schema, fragments, variables).selections(root, operation.selection_set, 1, None, ())


class _Counter:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables

    def selections(
        self,
        parent: Any,
        selection_set: SelectionSetNode | None,
        multiplier: int,
        page: int | None,
        spread: tuple[str, ...],
    ) -> int:
        if selection_set is None or parent is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field(parent, selection, multiplier, page, spread)
            elif isinstance(selection, InlineFragmentNode):
                target = (
                    self.schema.get_type(selection.type_condition.name.value)
                    if selection.type_condition
                    else parent
                )
                total += self.selections(target, selection.selection_set, multiplier, page, spread)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in spread:
                    continue
                target = self.schema.get_type(fragment.type_condition.name.value)
                total += self.selections(target, fragment.selection_set, multiplier, page, (*spread, name))
        return total

    def field(
        self, parent: Any, node: FieldNode, multiplier: int, page: int | None, spread: tuple[str, ...]
    ) -> int:
        name = node.name.value
        if name.startswith("__") or not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return 0
        definition: GraphQLField | None = parent.fields.get(name)
        if definition is None or is_leaf_type(get_named_type(definition.type)):
            return 0
        first = self.page_size(definition, node)
        child_page: int | None = None
        if _is_list(definition.type):
            size = (
                first
                if first is not None
                else page
                if page is not None
                else ASSUMED_LIST_SIZES.get((parent.name, name), DEFAULT_LIST_SIZE)
            )
        else:
            size, child_page = 1, first  # a connection: `first` sizes its lists (edges)
        count = multiplier * size
        return count * FIELD_WEIGHTS.get((parent.name, name), 1) + self.selections(
            get_named_type(definition.type), node.selection_set, count, child_page, spread
        )

    def page_size(self, definition: GraphQLField, node: FieldNode) -> int | None:
        argument = definition.args.get(PAGE_ARGUMENT)
        if argument is None:
            return None
        value: Any = argument.default_value
        for given in node.arguments or ():
            if given.name.value != PAGE_ARGUMENT:
                continue
            if isinstance(given.value, IntValueNode):
                value = int(given.value.value)
            elif isinstance(given.value, VariableNode):
                value = self.variables.get(given.value.name.value, value)
        return max(value, 0) if isinstance(value, int) and not isinstance(value, bool) else 0


def _is_list(type_: GraphQLOutputType) -> bool:
    inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    return isinstance(inner, GraphQLList)


def limit_extensions(
    *, max_depth: int, max_aliases: int, max_tokens: int, max_cost: int, introspection: bool
) -> list[Callable[[], SchemaExtension]]:
    """Factories of the schema extensions of the limits above (strawberry builds one per operation)."""
    rules = [
        *(coded(rule, QueryTooDeep) for rule in _rules_of(QueryDepthLimiter(max_depth=max_depth))),
        *(coded(rule, TooManyAliases) for rule in _rules_of(MaxAliasesLimiter(max_alias_count=max_aliases))),
    ]
    if not introspection:
        rules.append(coded(NoSchemaIntrospectionCustomRule, IntrospectionDisabled))
    return [
        lambda: AddValidationRules(rules),
        lambda: TokenLimiter(max_token_count=max_tokens),
        lambda: CostLimiter(max_cost=max_cost),
    ]


__all__ = ["CostLimiter", "TokenLimiter", "coded", "document_cost", "limit_extensions"]
