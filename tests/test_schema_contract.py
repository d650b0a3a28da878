"""The GraphQL schema as a contract: documented everywhere, committed as SDL, reached through one door."""

from __future__ import annotations

import ast
from pathlib import Path

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
)

from schema import build_schema
from schema.contract import SDL_FILE, changes, sdl
from tests.conftest import REPO_ROOT

BUILT_IN = {"String", "Int", "Float", "Boolean", "ID"}


def _undocumented(graphql_schema: GraphQLSchema) -> list[str]:
    missing: list[str] = []
    for name, kind in graphql_schema.type_map.items():
        if name.startswith("__") or name in BUILT_IN:
            continue
        if not kind.description:
            missing.append(name)
        if isinstance(kind, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType):
            for field_name, field in kind.fields.items():
                if not field.description:
                    missing.append(f"{name}.{field_name}")
                for arg_name, arg in getattr(field, "args", {}).items():
                    if not arg.description:
                        missing.append(f"{name}.{field_name}({arg_name})")
        if isinstance(kind, GraphQLEnumType):
            missing.extend(f"{name}.{v}" for v, value in kind.values.items() if not value.description)
    return missing


def test_every_type_field_argument_and_enum_value_is_described() -> None:
    assert _undocumented(build_schema()._schema) == []


def test_the_check_finds_an_undocumented_field() -> None:
    from graphql import build_schema as parse_sdl

    assert _undocumented(parse_sdl('"""Q"""\ntype Query { a: Int }')) == ["Query.a"]


def test_the_committed_sdl_is_the_schema() -> None:
    committed = SDL_FILE.read_text(encoding="utf-8")
    current = sdl()
    if committed != current:
        breaking, dangerous = changes(committed, current)
        raise AssertionError(
            "schema.graphql is out of date: run `towne schema --write` and commit it.\n"
            f"Breaking for clients: {breaking or 'none'}\nDangerous: {dangerous or 'none'}"
        )


def test_changes_name_what_breaks_clients() -> None:
    old = "type Query { site(n: String): Site, count: Int }\ntype Site { name: String!, rooms: Int }"
    new = "type Query { site(n: String!): Site, count: Int }\ntype Site { name: String }"
    breaking, dangerous = changes(old, new)
    assert "FIELD_REMOVED: Field Site.rooms was removed." in breaking
    assert "FIELD_CHANGED_KIND: Field Site.name changed type from String! to String." in breaking
    assert any(b.startswith("ARG_CHANGED_KIND") and "Query.site" in b for b in breaking)
    assert dangerous == []


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_schema_never_imports_db_nor_opens_a_session() -> None:
    for path in sorted((REPO_ROOT / "schema").glob("*.py")):
        assert not {n for n in _imports(path) if n == "db" or n.startswith("db.")}, path.name
        source = path.read_text(encoding="utf-8")
        assert ".read()" not in source and ".transaction()" not in source, path.name


def test_no_sql_outside_the_repositories() -> None:
    """`sqlalchemy` is imported by the repositories, models, migrations and infrastructure, not by the
    schema or the service layer (resolvers hold no SQL, design.md §3)."""
    allowed_in_resolvers = {"sqlalchemy.exc", "sqlalchemy.ext.asyncio"}  # errors to catch, session type
    for folder in ("schema", "resolvers"):
        for path in sorted((REPO_ROOT / folder).glob("*.py")):
            used = {n for n in _imports(path) if n == "sqlalchemy" or n.startswith("sqlalchemy.")}
            assert used <= allowed_in_resolvers, (path.name, used)
