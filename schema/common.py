"""What every schema module shares: the resolver `Info` type and Relay page information."""

from __future__ import annotations

import enum
from typing import Any, TypeVar

import strawberry
from strawberry.types import Info
from strawberry.types.base import get_object_definition

from resolvers.context import Context
from resolvers.records import SiteOrder

E = TypeVar("E", bound=enum.Enum)

Ctx = Info[Context, None]


@strawberry.type(description="Relay page information of a connection.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items follow this page.")
    has_previous_page: bool = strawberry.field(
        description="Items precede this page (it was asked `after` a cursor)."
    )
    start_cursor: str | None = strawberry.field(
        description="Cursor of the first item; null on an empty page."
    )
    end_cursor: str | None = strawberry.field(
        description="Cursor of the last item: pass it as `after` for the next page."
    )

    @classmethod
    def of(cls, cursors: list[str], *, offset: int, has_next: bool) -> PageInfo:
        return cls(
            has_next_page=has_next,
            has_previous_page=offset > 0,
            start_cursor=cursors[0] if cursors else None,
            end_cursor=cursors[-1] if cursors else None,
        )


@strawberry.enum(description="Sort order of a list of sites.")
class SiteOrderField(enum.Enum):
    SITE_NUMBER = strawberry.enum_value("site_number", description="By site number, ascending.")
    NAME = strawberry.enum_value("name", description="By name, then site number.")
    DISTANCE = strawberry.enum_value(
        "distance", description="By geodesic distance to `distanceFrom` / `filter.near`, nearest first."
    )

    @property
    def order(self) -> SiteOrder:
        return SiteOrder[self.name]


T = TypeVar("T")


def from_attributes(cls: type[T], source: object, **overrides: Any) -> T:
    """An instance of strawberry type `cls` whose fields are read from `source`'s same-named attributes
    (a stored configuration row shown as is), `overrides` taking precedence."""
    definition = get_object_definition(cls, strict=True)
    values = {
        f.python_name: getattr(source, f.python_name)
        for f in definition.fields
        if f.base_resolver is None and f.python_name not in overrides and not f.python_name.startswith("_")
    }
    return cls(**values, **overrides)


def register_enum(cls: type[E], *, name: str, description: str, values: dict[str, str]) -> type[E]:
    """Register an enum of ours (billing codes) as a GraphQL enum with a description for every value;
    `values` must name every member (a missing one fails at import)."""
    strawberry.enum(cls, name=name, description=description)
    missing = {member.name for member in cls} - set(values)
    if missing:
        raise ValueError(f"{name}: no description for {sorted(missing)}")
    for value in cls.__strawberry_definition__.values:  # type: ignore[attr-defined]
        value.description = values[value.name]
    return cls
