"""The schema as a contract with its clients: the committed SDL (`schema.graphql`) and what changed in it.

`towne schema` prints the SDL and `towne schema --write` regenerates the file; `tests/test_schema_contract.py`
fails when the schema and the file differ, listing the changes that break clients (graphql-core's
`find_breaking_changes`: removed types and fields, narrowed types, new required arguments) apart from the
ones that only may (`find_dangerous_changes`).
"""

from __future__ import annotations

from pathlib import Path

from graphql import build_schema as parse_sdl
from graphql import find_breaking_changes, find_dangerous_changes

SDL_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"


def sdl() -> str:
    """The SDL of the schema the server builds, with a trailing newline."""
    from schema import build_schema

    return str(build_schema()).rstrip("\n") + "\n"


def changes(old: str, new: str) -> tuple[list[str], list[str]]:
    """(breaking, dangerous) changes from SDL `old` to SDL `new`, each as `TYPE: description`."""
    before, after = parse_sdl(old), parse_sdl(new)
    breaking = [f"{c.type.name}: {c.description}" for c in find_breaking_changes(before, after)]
    dangerous = [f"{c.type.name}: {c.description}" for c in find_dangerous_changes(before, after)]
    return breaking, dangerous
