"""The GraphQL contract: types, inputs, scalars and the root schema."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors
from strawberry.schema.config import StrawberryConfig

from resolvers.errors import TowneGraphQLError
from schema.query import Query
from schema.scalars import SCALARS
from schema.statements import Mutation


def _should_mask(error: GraphQLError) -> bool:
    # Our own errors and GraphQL validation errors speak to the client; anything else is internal.
    original = error.original_error
    if original is None:
        return False
    return not isinstance(original, TowneGraphQLError)


def build_schema(*, mask_errors: bool = False) -> strawberry.Schema:
    extensions: list[Any] = [lambda: MaskErrors(should_mask_error=_should_mask)] if mask_errors else []
    return strawberry.Schema(
        query=Query, mutation=Mutation, extensions=extensions, config=StrawberryConfig(scalar_map=SCALARS)
    )


__all__ = ["build_schema"]
