"""Who may call what (domain.md §3.9, §4.4; docs/security.md): role checks on fields.

Rows are scoped by PostgreSQL (row-level security, migration 0008); this module only decides which
*operations* and *fields* a role may use. `Requires` refuses with `FORBIDDEN` before the resolver runs and
names the roles in the field's description, so the contract says who may call it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterator
from typing import Any

from graphql import FieldNode, GraphQLError, OperationDefinitionNode
from strawberry.extensions import SchemaExtension
from strawberry.extensions.field_extension import (
    AsyncExtensionResolver,
    FieldExtension,
    SyncExtensionResolver,
)
from strawberry.types import Info
from strawberry.types.field import StrawberryField

from resolvers.context import BILLING_DETAIL
from resolvers.errors import Forbidden, Unauthenticated

# §3.9: billing managers generate, review, edit (ad hoc) and send; billing admins may do what they do
STATEMENT_WRITERS = frozenset({"billingAdmin", "billingManager"})
# user administration (issue 7 §1): billing admins only
USER_ADMINS = frozenset({"billingAdmin"})
# contract management (issue 10, §3.9): billing admins propose amendments and (another one) approve them
CONTRACT_ADMINS = frozenset({"billingAdmin"})
# territory editing (issue 9 §1): GIS editors; manual assignments also billing admins
GIS_EDITORS = frozenset({"gisEditor"})
MANUAL_ASSIGNERS = frozenset({"gisEditor", "billingAdmin"})
# site management (issue 10 §1; §3.9 "add customers, edit … site general info"): billing admins only
SITE_ADMINS = frozenset({"billingAdmin"})


def check(info: Info[Any, Any], roles: frozenset[str], action: str) -> None:
    """Raise `Forbidden` unless the caller holds one of `roles`."""
    caller = info.context.caller
    if not caller.has_any(roles):
        held = ", ".join(sorted(caller.roles)) or "no role"
        raise Forbidden(f"{action} needs one of the roles {', '.join(sorted(roles))}; you have {held}")


class Requires(FieldExtension):
    """Refuse the field with `FORBIDDEN` unless the caller holds one of `roles`."""

    def __init__(self, roles: frozenset[str], action: str) -> None:
        self.roles = roles
        self.action = action

    def apply(self, field: StrawberryField) -> None:
        note = f"Roles: {', '.join(sorted(self.roles))}."
        # the field object is the class's: every build_schema() applies again
        if field.description and field.description.endswith(note):
            return
        field.description = f"{field.description} {note}" if field.description else note

    def resolve(self, next_: SyncExtensionResolver, source: Any, info: Info[Any, Any], **kwargs: Any) -> Any:
        check(info, self.roles, self.action)
        return next_(source, info, **kwargs)

    async def resolve_async(
        self, next_: AsyncExtensionResolver, source: Any, info: Info[Any, Any], **kwargs: Any
    ) -> Any:
        check(info, self.roles, self.action)
        result: Awaitable[Any] | Any = next_(source, info, **kwargs)
        return await result if isinstance(result, Awaitable) else result


_PUBLIC_FIELDS = frozenset({"__schema", "__type", "__typename"})


def _introspection_only(document: Any, operation_name: str | None) -> bool:
    operations = [d for d in getattr(document, "definitions", ()) if isinstance(d, OperationDefinitionNode)]
    chosen = [o for o in operations if operation_name is None or (o.name and o.name.value == operation_name)]
    if len(chosen) != 1:
        return False
    selections = chosen[0].selection_set.selections
    return all(isinstance(s, FieldNode) and s.name.value in _PUBLIC_FIELDS for s in selections)


class CallerRequired(SchemaExtension):
    """Every operation needs a signed-in caller, except introspection (when the schema allows it at all):
    an anonymous request is refused with `UNAUTHENTICATED` (HTTP 401) before validation, so it learns
    nothing, not even whether its document is valid."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        caller = getattr(context.context, "caller", None)
        if not context.pre_execution_errors and (caller is None or caller.is_anonymous):
            name = getattr(context, "_provided_operation_name", None)
            if not _introspection_only(context.graphql_document, name):
                error = Unauthenticated(
                    "sign in: send `Authorization: Bearer <token>` (`towne token --role …` makes one for "
                    "development)"
                )
                context.pre_execution_errors = [GraphQLError(error.message, original_error=error)]
                response = getattr(context.context, "response", None)
                if response is not None:
                    response.status_code = 401
                    response.headers["www-authenticate"] = 'Bearer realm="towne-graph"'
        yield


def statement_writer(action: str) -> list[FieldExtension]:
    return [Requires(STATEMENT_WRITERS, action)]


def gis_editor(action: str) -> list[FieldExtension]:
    return [Requires(GIS_EDITORS, action)]


def manual_assigner(action: str) -> list[FieldExtension]:
    return [Requires(MANUAL_ASSIGNERS, action)]


def site_admin(action: str) -> list[FieldExtension]:
    return [Requires(SITE_ADMINS, action)]


__all__ = [
    "BILLING_DETAIL",
    "CONTRACT_ADMINS",
    "GIS_EDITORS",
    "MANUAL_ASSIGNERS",
    "SITE_ADMINS",
    "STATEMENT_WRITERS",
    "USER_ADMINS",
    "Requires",
    "check",
    "gis_editor",
    "manual_assigner",
    "site_admin",
    "statement_writer",
]
