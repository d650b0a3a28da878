"""Parsing and validation of a document done once, not per request (issue 8: about 17 % of a dashboard
request's profile was re-parsing and re-validating the same text).

strawberry's own `ParserCache` and `ValidationCache` (bounded LRU caches shared by every request) with two
adjustments for our limits:

* a document the parser refuses (a syntax error, more than `TOWNE_MAX_TOKENS` tokens) is left to strawberry's
  own parse, which raises the same error inside the handler that answers it (`GRAPHQL_PARSE_FAILED`,
  `TOO_MANY_TOKENS`). `ParserCache` would raise it from the extension hook, outside that handler. A refused
  parse is never cached (`lru_cache` keeps no exceptions), so refusing costs as before.
* each request gets its own list of the cached validation errors, so nothing a request does to its list
  reaches the next one.

The caches are keyed by the query text and parse options (the token limit among them), and by the schema,
the document and the validation rules (the depth and alias limits, and no introspection in production).
So a cached answer is the answer the same request would get uncached. Both are bounded (`CACHE_SIZE`
entries), so unique texts cannot grow memory. The cost limit depends on the variables and is measured on
every request (`schema.limits.CostLimiter`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import ParserCache, ValidationCache

# Distinct documents kept; a client's persisted set is far smaller. A document is at most TOWNE_MAX_TOKENS
# tokens, so the caches stay within a few MB.
CACHE_SIZE = 512


class DocumentCache(ParserCache):
    """`ParserCache` that leaves a refused document to strawberry's own parse (module docstring)."""

    def __init__(self) -> None:
        super().__init__(maxsize=CACHE_SIZE)

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is None and context.query:
            # A refused document is parsed again, uncached, where strawberry answers the error.
            with contextlib.suppress(GraphQLError):
                context.graphql_document = self.cached_parse_document(context.query, **context.parse_options)
        yield


class ValidationResultCache(ValidationCache):
    """`ValidationCache` that hands each request its own list of the cached errors."""

    def __init__(self) -> None:
        super().__init__(maxsize=CACHE_SIZE)

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None and context.pre_execution_errors is None:
            errors = self.cached_validate_document(
                context.schema._schema, context.graphql_document, context.validation_rules
            )
            context.pre_execution_errors = list(errors)
        yield


__all__ = ["CACHE_SIZE", "DocumentCache", "ValidationResultCache"]
