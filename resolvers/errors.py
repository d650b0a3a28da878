"""Errors with stable machine codes (design.md §8), mapped to GraphQL in one place.

`extensions.code` is the contract clients rely on; `extensions.argument` names the offending argument.
"""

from __future__ import annotations

from graphql import GraphQLError

BAD_USER_INPUT = "BAD_USER_INPUT"
NOT_FOUND = "NOT_FOUND"


class TowneGraphQLError(GraphQLError):
    code: str = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str, *, argument: str | None = None) -> None:
        extensions: dict[str, object] = {"code": self.code}
        if argument is not None:
            extensions["argument"] = argument
        super().__init__(message, extensions=extensions)


class BadUserInput(TowneGraphQLError):
    """The request is well-formed GraphQL but an argument's value is unusable; nothing was written."""

    code = BAD_USER_INPUT


class NotFound(TowneGraphQLError):
    code = NOT_FOUND
