"""User administration (issue 7 §1): the caller's own user, the list of users and the admin writes.

Reads go through the request's read transaction, so row-level security decides what is visible (a user sees
its own row, a billing administrator every row). Each write is one transaction bound to the caller
(`ctx.db.transaction()`), recorded with `granted_by` = the caller's subject; the upsert locks the user row,
so two concurrent saves of one user serialise and the later one's grants win whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from db.repositories import users as repository
from db.repositories.users import Grants, UnknownGrant, UserView
from resolvers.context import Context
from resolvers.errors import BadUserInput, NotFound, SelfLockout

ADMIN_ROLE = "billingAdmin"

# the repository's argument names → the GraphQL input's
_ARGUMENTS = {"roles": "roles", "sites": "siteNumbers", "territories": "territories"}


@dataclass(frozen=True, slots=True)
class UserRequest:
    subject: str
    roles: tuple[str, ...]
    site_numbers: tuple[str, ...] = ()
    territories: tuple[str, ...] = ()
    email: str | None = None
    display_name: str | None = None


def _actor(ctx: Context) -> str:
    assert ctx.caller.subject is not None  # CallerRequired refused anonymous operations
    return ctx.caller.subject


async def me(ctx: Context) -> UserView | None:
    """The caller's own user (None only if it vanished since the request began)."""
    async with ctx.db.read() as session:
        found = await repository.users(session, subjects=[_actor(ctx)])
    return found[0] if found else None


async def all_users(ctx: Context) -> list[UserView]:
    """Every user the caller may see, by subject."""
    async with ctx.db.read() as session:
        return await repository.users(session)


async def by_subject(ctx: Context, subject: str) -> UserView | None:
    async with ctx.db.read() as session:
        found = await repository.users(session, subjects=[subject])
    return found[0] if found else None


def _check_subject(subject: str, argument: str) -> str:
    if not 1 <= len(subject) <= 200 or any(c.isspace() or not c.isprintable() for c in subject):
        raise BadUserInput(
            "a subject is 1–200 characters without spaces or control characters", argument=argument
        )
    return subject


async def save_user(ctx: Context, request: UserRequest, *, argument: str = "input") -> str:
    """Create the user of `request.subject` or replace its grants (and activate it); returns the subject.
    An administrator saving themselves must keep billingAdmin (`SelfLockout`)."""
    subject = _check_subject(request.subject, f"{argument}.subject")
    if subject == ctx.caller.subject and ADMIN_ROLE not in request.roles:
        raise SelfLockout(
            f"you may not remove your own {ADMIN_ROLE} role; another administrator must do it",
            argument=f"{argument}.roles",
        )
    grants = Grants(roles=request.roles, site_numbers=request.site_numbers, territories=request.territories)
    try:
        async with ctx.db.transaction() as session:
            await repository.upsert_user(
                session,
                subject=subject,
                grants=grants,
                granted_by=_actor(ctx),
                email=request.email,
                display_name=request.display_name,
            )
    except UnknownGrant as error:
        name = f"{argument}.{_ARGUMENTS.get(error.argument, error.argument)}"
        if error.index is not None:
            name += f"[{error.index}]"
        raise BadUserInput(str(error), argument=name) from error
    return subject


async def set_active(ctx: Context, subject: str, *, active: bool, argument: str = "subject") -> str:
    """Activate or deactivate a user; NOT_FOUND when there is none, SELF_LOCKOUT for the caller itself
    when deactivating. A deactivated user's next request is refused UNAUTHENTICATED."""
    _check_subject(subject, argument)
    if not active and subject == ctx.caller.subject:
        raise SelfLockout(
            "you may not deactivate yourself; another administrator must do it", argument=argument
        )
    async with ctx.db.transaction() as session:
        if not await repository.set_active(session, subject=subject, active=active):
            raise NotFound(f"no user with subject {subject!r}", argument=argument)
    return subject


def roles_of(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


__all__ = ["UserRequest", "UserView", "all_users", "by_subject", "me", "roles_of", "save_user", "set_active"]
