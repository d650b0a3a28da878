"""Every GraphQL error speaks one language: a stable `extensions.code`, a message a person can act on, and
never SQL, parameters, paths or tracebacks (design.md §8).

* a `TowneError` raised by a resolver: its message, `extensions` from `as_extensions()` (code, argument, …);
* a syntax error: `GRAPHQL_PARSE_FAILED`; a document the schema rejects: `GRAPHQL_VALIDATION_FAILED`;
* a variable whose value does not fit its type: `BAD_USER_INPUT`;
* anything else: `INTERNAL` with the request id; the detail (with traceback) only in the log, unless
  `TOWNE_DEBUG` is on, when the exception's type and message are added for the developer.

Logging: one line per error; `BAD_USER_INPUT` and the other expected codes without a traceback, long
values cut; `INTERNAL` with its traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError, OperationDefinitionNode
from strawberry.extensions import SchemaExtension

from resolvers.errors import BadUserInput, Internal, TowneError, from_database
from schema.problems import PARSE_FAILED, VALIDATION_FAILED

log = logging.getLogger("towne.graphql")
_LOGGED_VALUE = 300


def _cut(text: str) -> str:
    return text if len(text) <= _LOGGED_VALUE else text[:_LOGGED_VALUE] + f"… ({len(text)} characters)"


class ErrorLanguage(SchemaExtension):
    def __init__(self, *, debug: bool = False) -> None:
        self.debug = debug
        self._phase: str | None = None

    def on_operation(self) -> Iterator[None]:
        self._phase = None
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = [self._translate(error) for error in errors]  # type: ignore[union-attr]

    def on_parse(self) -> Iterator[None]:
        yield
        context = self.execution_context
        if context.pre_execution_errors:
            self._phase = PARSE_FAILED
            return
        operations = [
            d
            for d in getattr(context.graphql_document, "definitions", ())
            if isinstance(d, OperationDefinitionNode)
        ]
        # `operation_name` falls back to the first operation's name: read what the client sent
        if len(operations) > 1 and getattr(context, "_provided_operation_name", None) is None:
            # the spec's request error; strawberry alone would run the first operation
            self._phase = VALIDATION_FAILED
            context.pre_execution_errors = [
                GraphQLError(
                    f"the document has {len(operations)} operations: give operationName to say which to run"
                )
            ]

    def on_validate(self) -> Iterator[None]:
        yield
        if self.execution_context.pre_execution_errors and self._phase is None:
            self._phase = VALIDATION_FAILED

    def _request_id(self) -> str:
        return str(getattr(self.execution_context.context, "request_id", "-"))

    def _translate(self, error: GraphQLError) -> GraphQLError:
        original = _root_cause(error)
        if isinstance(original, TowneError):
            return self._expected(error, original.message, original.as_extensions())
        if self._phase is not None:
            return self._expected(error, error.message, {"code": self._phase})
        if error.path is None and (
            original is None or isinstance(original, GraphQLError | ValueError | TypeError | ArithmeticError)
        ):
            # graphql-core's coercion of a variable's value (`Variable '$x' got invalid value …`), before any
            # resolver ran: the type or a scalar's parse refused it
            return self._expected(error, error.message, {"code": BadUserInput.code})
        known = from_database(original) if original is not None else None
        if known is not None:
            return self._expected(error, known.message, known.as_extensions())
        internal = Internal(self._request_id())
        log.error(
            "INTERNAL request=%s path=%s: %s",
            self._request_id(),
            ".".join(str(p) for p in error.path or ()),
            _cut(f"{type(original).__name__}: {original}" if original else error.message),
            exc_info=(type(original), original, original.__traceback__) if original else None,
        )
        extensions = internal.as_extensions()
        if self.debug:
            extensions["exception"] = {
                "type": type(original).__name__ if original else "GraphQLError",
                "message": str(original or error.message),
            }
        return GraphQLError(
            internal.message, nodes=error.nodes, path=error.path, extensions=extensions, original_error=None
        )

    def _expected(self, error: GraphQLError, message: str, extensions: dict[str, Any]) -> GraphQLError:
        log.info(
            "%s request=%s argument=%s path=%s: %s",
            extensions["code"],
            self._request_id(),
            extensions.get("argument", "-"),
            ".".join(str(p) for p in error.path or ()) or "-",
            _cut(message),
        )
        return GraphQLError(
            message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions=extensions,
            original_error=None,
        )


def _root_cause(error: GraphQLError) -> BaseException | None:
    """The exception behind a GraphQL error, through graphql-core's own wrapping of coercion errors."""
    cause: BaseException | None = error.original_error
    while isinstance(cause, GraphQLError) and cause.original_error is not None:
        cause = cause.original_error
    return cause
