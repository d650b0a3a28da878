"""`PlainReads`: reporting answers written out without graphql-core's field-by-field execution (issue 11 §5).

A billing summary of 12 periods × 33 districts × building blocks has some 3,000 groups of 15–20 fields: field by
field, strawberry and graphql-core spend about 16 µs on each, over a second, for values that are already
computed. The reporting roots (`PLAIN_ROOTS`) return plain objects (every field of every type below them is
an attribute, no resolver), so once the root has run the rest is serialisation. This extension answers a
query whose every root field is one of them: arguments are coerced by graphql-core and converted by
strawberry exactly as for execution (`get_argument_values`, `convert_arguments`), screened by the argument
guard, the root's own function computes the value, and the selection (fragments, aliases, `@skip`/`@include`,
`__typename`) is written out with each leaf type's own `serialize`.

Anything else, and any failure (a refused argument, a `TowneError`, a null where the schema says non-null),
leaves the operation to normal execution, which answers it with its errors as before: the fast path never
produces an error of its own. It runs after the limits and the caller check, like `CompiledReads`.
`tests/test_billing_summary.py` compares both paths over many documents.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from graphql import (
    ExecutionResult,
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    OperationType,
)
from graphql.execution.collect_fields import FieldDetailsList, collect_fields, collect_subfields
from graphql.execution.executor import Executor
from graphql.execution.values import get_argument_values
from strawberry.extensions import SchemaExtension
from strawberry.types.arguments import convert_arguments
from strawberry.types.field import StrawberryField
from strawberry.types.graphql import OperationType as StrawberryOperationType

from resolvers.context import Context
from schema.guard import check_value

log = logging.getLogger("towne.plain")

# A root's computation: (request context, whether the selection names a field, converted arguments) → value
PlainRoot = Callable[..., Awaitable[Any]]
PLAIN_ROOTS: dict[str, PlainRoot] = {}


F = TypeVar("F", bound=PlainRoot)


def plain_root(name: str) -> Callable[[F], F]:
    """Register the computation of root field `name` (GraphQL name) for the fast path; the root resolver
    calls the same function, so both paths compute the same value."""

    def register(function: F) -> F:
        PLAIN_ROOTS[name] = function
        return function

    return register


class _Fallback(Exception):
    """The document is not one the fast path answers: normal execution does."""


def _constant(value: str) -> Callable[[Any], str]:
    return lambda _: value


class _Writer:
    """Writes values out along a selection; each (type, field group) is compiled once into a function, so the
    3,000 groups of a summary share one plan instead of walking the types again for each."""

    def __init__(self, schema: GraphQLSchema, executor: Executor[Any]) -> None:
        self.schema = schema
        self.executor = executor

    def subfields(self, parent: GraphQLObjectType, group: FieldDetailsList) -> dict[str, FieldDetailsList]:
        collected = collect_subfields(
            self.schema,
            self.executor.fragments,
            self.executor.variable_values,
            self.executor.operation,
            parent,
            group,
        )
        if collected.new_defer_usages:
            raise _Fallback("@defer")
        return dict(collected.grouped_field_set)

    def compile(self, type_: GraphQLOutputType, group: FieldDetailsList) -> Callable[[Any], Any]:
        """The function writing a value of `type_` selected by `group` (raises `_Fallback` for a null where
        the schema says non-null, and for abstract types, which the reporting roots do not return)."""
        if isinstance(type_, GraphQLNonNull):
            inner = self.compile(type_.of_type, group)

            def required(value: Any) -> Any:
                out = inner(value)
                if out is None:
                    raise _Fallback("null in a non-null field")
                return out

            return required
        if isinstance(type_, GraphQLList):
            item = self.compile(type_.of_type, group)
            return lambda value: None if value is None else [item(v) for v in value]
        if isinstance(type_, GraphQLScalarType | GraphQLEnumType):
            serialize = type_.serialize
            return lambda value: None if value is None else serialize(value)
        if isinstance(type_, GraphQLObjectType):
            entries: list[tuple[str, str, Callable[[Any], Any]]] = []
            for key, sub in self.subfields(type_, group).items():
                name = sub[0].node.name.value
                if name == "__typename":
                    entries.append((key, "__class__", _constant(type_.name)))
                    continue
                definition = type_.fields[name]
                field = definition.extensions["strawberry-definition"]
                entries.append((key, field.python_name, self.compile(definition.type, sub)))

            def write(value: Any) -> Any:
                if value is None:
                    return None
                return {key: fn(getattr(value, attr)) for key, attr, fn in entries}

            return write
        raise _Fallback(f"abstract type {type_}")


def _mentions(executor: Executor[Any], group: FieldDetailsList, name: str) -> bool:
    """Whether the selection below `group` names field `name` anywhere (fragments included)."""
    fragments = executor.fragments

    def walk(selection_set: Any, seen: frozenset[str]) -> bool:
        for selection in selection_set.selections if selection_set else ():
            kind = selection.kind
            if kind == "field":
                if selection.name.value == name or walk(selection.selection_set, seen):
                    return True
            elif kind == "inline_fragment":
                if walk(selection.selection_set, seen):
                    return True
            elif kind == "fragment_spread":
                spread = selection.name.value
                if (
                    spread not in seen
                    and spread in fragments
                    and walk(fragments[spread].definition.selection_set, seen | {spread})
                ):
                    return True
        return False

    return any(walk(details.node.selection_set, frozenset()) for details in group)


def _plain(type_: Any, seen: set[str]) -> bool:
    """Every field of every object type below `type_` is a plain attribute (no resolver, no extension)."""
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        type_ = type_.of_type
    if isinstance(type_, GraphQLScalarType | GraphQLEnumType) or type_.name in seen:
        return True
    if not isinstance(type_, GraphQLObjectType):
        return False
    seen.add(type_.name)
    for definition in type_.fields.values():
        field = definition.extensions.get("strawberry-definition")
        if not isinstance(field, StrawberryField) or field.base_resolver is not None or field.extensions:
            return False
        if definition.args or not _plain(definition.type, seen):
            return False
    return True


def check_plain_roots(schema: GraphQLSchema) -> None:
    """Refuse to build a schema where a registered root returns anything but plain objects (a resolver added
    below one would be skipped by the fast path)."""
    root = schema.query_type
    assert root is not None
    for name in PLAIN_ROOTS:
        if name not in root.fields or not _plain(root.fields[name].type, set()):
            raise TypeError(f"Query.{name} is registered as a plain read but its type has resolvers")


async def answer(strawberry_schema: Any, context: Context, document: Any, *, operation_name: str | None,
                 variables: dict[str, Any] | None) -> dict[str, Any] | None:  # fmt: skip
    """The `data` of the operation, or None when normal execution must answer it."""
    schema: GraphQLSchema = strawberry_schema._schema
    executor = Executor.build(
        schema, document, raw_variable_values=variables or {}, operation_name=operation_name
    )
    if not isinstance(executor, Executor) or executor.operation.operation is not OperationType.QUERY:
        return None
    root = schema.query_type
    assert root is not None
    collected = collect_fields(schema, executor.fragments, executor.variable_values, root, executor.operation)
    if collected.new_defer_usages:
        return None
    groups = dict(collected.grouped_field_set)
    names = {group[0].node.name.value for group in groups.values()}
    if not names - {"__typename"} or not names <= set(PLAIN_ROOTS) | {"__typename"}:
        return None
    writer = _Writer(schema, executor)
    data: dict[str, Any] = {}
    try:
        for key, group in groups.items():
            name = group[0].node.name.value
            if name == "__typename":
                data[key] = root.name
                continue
            definition = root.fields[name]
            field: StrawberryField = definition.extensions["strawberry-definition"]
            raw = get_argument_values(definition, group[0].node, executor.variable_values)
            for argument, value in raw.items():
                check_value(value, argument)
            arguments = convert_arguments(
                raw,
                field.arguments,
                scalar_registry=strawberry_schema.schema_converter.scalar_registry,
                config=strawberry_schema.config,
            )
            value = await PLAIN_ROOTS[name](
                context, lambda n, g=group: _mentions(executor, g, n), **arguments
            )
            data[key] = writer.compile(definition.type, group)(value)
    except Exception as exc:  # normal execution answers, with its own errors
        log.debug("plain read falls back: %s", exc)
        return None
    return data


class PlainReads(SchemaExtension):
    """Answer a query of plain reporting roots without field-by-field execution (the module docstring)."""

    enabled = True  # tests switch it off to compare both paths

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context
        if (
            type(self).enabled
            and context.result is None
            and context.graphql_document is not None
            and not context.pre_execution_errors
            and context.operation_type is StrawberryOperationType.QUERY
        ):
            data = await answer(
                context.schema,
                context.context,
                context.graphql_document,
                operation_name=context.operation_name,
                variables=context.variables,
            )
            if data is not None:
                context.result = ExecutionResult(data=data)
        yield


__all__ = ["PLAIN_ROOTS", "PlainReads", "answer", "check_plain_roots", "plain_root"]
