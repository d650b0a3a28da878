"""Every string argument is screened before its resolver runs: NUL bytes and lone surrogates (which PostgreSQL
refuses with an internal error, or stores as text no client can read back) and strings longer than
`MAX_STRING` are `BAD_USER_INPUT` naming the argument path (`line.title`, `siteNumbers[1]`).

`InputGuard` only hooks into strawberry's argument conversion (`map_arguments`), so a field without
arguments, the large majority of a response, pays nothing; a failing field fails alone (its aliases and
neighbours still resolve where the schema lets the field be null).
"""

from __future__ import annotations

import re
from typing import Any

import strawberry
from strawberry.extensions.field_extension import FieldExtension
from strawberry.types.base import has_object_definition
from strawberry.types.field import StrawberryField
from strawberry.utils.str_converters import to_camel_case

from resolvers.errors import BadUserInput

# Far above every free-text limit of the API (resolvers.validation), below what could hurt the server.
MAX_STRING = 10_000
_BAD_CHARACTER = re.compile("[\x00\ud800-\udfff]")


def check_value(value: Any, path: str) -> None:
    """Raise `BadUserInput` for the first unusable string inside `value` (lists and input objects walked)."""
    if isinstance(value, str):
        bad = _BAD_CHARACTER.search(value)
        if bad is not None:
            what = "a NUL byte" if bad.group() == "\x00" else "an unpaired UTF-16 surrogate"
            raise BadUserInput(
                f"{path} contains {what} at character {bad.start() + 1}; send text without control characters",
                argument=path,
            )
        if len(value) > MAX_STRING:
            raise BadUserInput(
                f"{path} is {len(value)} characters long; no argument accepts more than {MAX_STRING}",
                argument=path,
            )
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            check_value(item, f"{path}[{index}]")
    elif has_object_definition(value):
        for field in value.__strawberry_definition__.fields:
            check_value(getattr(value, field.python_name, None), f"{path}.{_name(field)}")


def _name(field: Any) -> str:
    return str(field.graphql_name or to_camel_case(field.python_name))


class InputGuard(FieldExtension):
    def apply(self, field: StrawberryField) -> None:
        self.names = {argument.python_name: _name(argument) for argument in field.arguments}

    def map_arguments(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        for name, value in kwargs.items():
            check_value(value, self.names.get(name, name))
        return kwargs


def guard_arguments(schema: strawberry.Schema) -> int:
    """Attach an `InputGuard` to every field with arguments of every object type; returns how many."""
    guarded = 0
    for concrete in schema.schema_converter.type_map.values():
        definition = concrete.definition
        for field in getattr(definition, "fields", ()):
            if (
                isinstance(field, StrawberryField)
                and field.arguments
                and not any(isinstance(e, InputGuard) for e in field.extensions)
            ):
                guard = InputGuard()
                guard.apply(field)
                field.extensions.append(guard)
                guarded += 1
    return guarded
