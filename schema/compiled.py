"""`CompiledReads`: a query operation answered by one SQL statement where every field it selects compiles
(`resolvers.compiled`, issue 8); every other operation executes field by field as before.

It runs after parsing, validation and the limits (depth, aliases, tokens, cost, introspection, the caller
check), so a compiled answer is only ever given to a request the resolver path would execute. It sets the
operation's result before execution; strawberry then skips its own (`Schema._execute_operation`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from graphql import ExecutionResult
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from resolvers.compiled import answer


class CompiledReads(SchemaExtension):
    """Answer a query operation with one statement when every field it selects compiles to SQL."""

    enabled = True  # tests switch it off to compare both paths (tests/test_compiled_reads.py)

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context
        if (
            type(self).enabled
            and context.result is None
            and context.graphql_document is not None
            and not context.pre_execution_errors
            and context.operation_type is OperationType.QUERY
        ):
            data = await answer(
                context.context,
                context.schema._schema,
                context.graphql_document,
                query=context.query,
                operation_name=context.operation_name,
                variables=context.variables,
            )
            if data is not None:
                # CompiledData stands in for the dict until the HTTP layer writes it (its docstring)
                context.result = ExecutionResult(data=data)  # type: ignore[arg-type]
        yield


__all__ = ["CompiledReads"]
