"""Users of the API in the GraphQL contract (issue 7 §1, domain.md §4.4): `me`, `users` and the
administrators' mutations `saveUser`, `activateUser`, `deactivateUser`.

A token's subject names an `app_user`; its roles, explicit site links and territory scopes live in the
database, granted here. Expected failures are `Problem` members (`NOT_FOUND`, `SELF_LOCKOUT`); an unknown
role, site or territory is `BAD_USER_INPUT` naming the item, e.g. `input.siteNumbers[1]`.
"""

from __future__ import annotations

import enum
from typing import Annotated

import strawberry

from resolvers import users as service
from resolvers.errors import TowneError
from schema.access import USER_ADMINS, Requires
from schema.common import Ctx, register_enum
from schema.problems import NotFoundProblem, SelfLockoutProblem, problem


class RoleCode(enum.Enum):
    BILLING_ADMIN = "billingAdmin"
    BILLING_MANAGER = "billingManager"
    ACCOUNT_MANAGER = "accountManager"
    DISTRICT_MANAGER = "districtManager"
    REGIONAL_VP = "regionalVp"
    GIS_EDITOR = "gisEditor"
    REPORTING_READER = "reportingReader"
    AUDITOR = "auditor"


register_enum(
    RoleCode,
    name="Role",
    description="A role of a user (domain.md §3.9, §4.4); what it may do is in docs/security.md.",
    values={
        "BILLING_ADMIN": "Everything, user administration included; sees every site.",
        "BILLING_MANAGER": "Generates, reviews, edits and sends statements; sees every site.",
        "ACCOUNT_MANAGER": "Reads the sites linked to the user (siteNumbers).",
        "DISTRICT_MANAGER": "Reads the sites currently assigned to the districts the user manages.",
        "REGIONAL_VP": "Reads the sites currently assigned to the regions the user manages.",
        "GIS_EDITOR": "Edits territories; sees every site's identity and location, no contract or billing data.",
        "REPORTING_READER": "Reads every site's contract and billing data; writes nothing.",
        "AUDITOR": "Reads the whole audit trail (`auditLog`, `/audit-log.csv`); writes nothing.",
    },
)
Role = RoleCode
_BY_VALUE = {member.value: member for member in RoleCode}


@strawberry.type(description="A user of the API: the subject of its bearer tokens and what it was granted.")
class User:
    subject: str = strawberry.field(description="The `sub` claim of the user's tokens; unique.")
    email: str | None = strawberry.field(description="Contact address; null: not recorded.")
    display_name: str | None = strawberry.field(description="Name to show; null: not recorded.")
    active: bool = strawberry.field(
        description="False: deactivated; its tokens are refused with UNAUTHENTICATED."
    )
    roles: list[Role] = strawberry.field(description="Granted roles, by name.")
    site_numbers: list[str] = strawberry.field(
        description="Sites linked explicitly (4-digit numbers), in order."
    )
    territories: list[str] = strawberry.field(
        description="Territories managed, as `layer:code` (e.g. `districts:orlando`); their sites follow "
        "the current assignment."
    )

    @classmethod
    def from_view(cls, view: service.UserView) -> User:
        return cls(
            subject=view.subject,
            email=view.email,
            display_name=view.display_name,
            active=view.active,
            roles=[_BY_VALUE[r] for r in view.roles],
            site_numbers=list(view.site_numbers),
            territories=list(view.territories),
        )


@strawberry.type(description="The user as saved.")
class UserPayload:
    user: User = strawberry.field(description="Its current state and grants.")


UserResult = Annotated[
    UserPayload | NotFoundProblem | SelfLockoutProblem,
    strawberry.union("UserResult", description="The saved user, or why it was not changed."),
]


@strawberry.input(description="A user and the whole of its grants: saving replaces every earlier grant.")
class UserInput:
    subject: str = strawberry.field(description="The `sub` claim of its tokens: 1–200 characters, no spaces.")
    roles: list[Role] = strawberry.field(
        description="Its roles; an empty list leaves it signed in with none."
    )
    email: str | None = strawberry.field(
        default=None, description="Contact address; null: keep the recorded one."
    )
    display_name: str | None = strawberry.field(
        default=None, description="Name to show; null: keep the recorded one."
    )
    site_numbers: list[str] = strawberry.field(
        default_factory=list, description="Sites linked explicitly, by number (1–4 digits); each must exist."
    )
    territories: list[str] = strawberry.field(
        default_factory=list,
        description="Territories managed, as `layer:code` (e.g. `districts:orlando`); each must exist.",
    )


async def _payload(info: Ctx, subject: str) -> UserPayload:
    view = await service.by_subject(info.context, subject)
    assert view is not None
    return UserPayload(user=User.from_view(view))


@strawberry.type(description="Users: who is asking, and (administrators) everyone.")
class UserRoot:
    @strawberry.field(description="The caller's own user: its roles and scopes. Any signed-in caller.")
    async def me(self, info: Ctx) -> User | None:
        view = await service.me(info.context)
        return User.from_view(view) if view else None

    @strawberry.field(
        extensions=[Requires(USER_ADMINS, "users")],
        description="Every user, by subject, active or not.",
    )
    async def users(self, info: Ctx) -> list[User]:
        return [User.from_view(v) for v in await service.all_users(info.context)]


_SUBJECT = strawberry.argument(description="The user's subject (the `sub` claim of its tokens).")


@strawberry.type(description="User administration.")
class UserMutations:
    @strawberry.mutation(
        extensions=[Requires(USER_ADMINS, "saveUser")],
        description="Create a user or replace all of its grants (roles, site links, territories) in one "
        "transaction; saving also activates it. You may not remove your own billingAdmin role "
        "(SELF_LOCKOUT).",
    )
    async def save_user(
        self,
        info: Ctx,
        input: Annotated[UserInput, strawberry.argument(description="The user and its grants.")],
    ) -> UserResult | None:
        request = service.UserRequest(
            subject=input.subject,
            roles=service.roles_of([r.value for r in input.roles]),
            site_numbers=tuple(input.site_numbers),
            territories=tuple(input.territories),
            email=input.email,
            display_name=input.display_name,
        )
        try:
            subject = await service.save_user(info.context, request)
        except TowneError as error:
            return problem(error, UserResult)  # type: ignore[no-any-return]
        return await _payload(info, subject)

    @strawberry.mutation(
        extensions=[Requires(USER_ADMINS, "deactivateUser")],
        description="Deactivate a user: its tokens are refused (UNAUTHENTICATED) from its next request; its "
        "grants are kept. You may not deactivate yourself (SELF_LOCKOUT).",
    )
    async def deactivate_user(self, info: Ctx, subject: Annotated[str, _SUBJECT]) -> UserResult | None:
        try:
            done = await service.set_active(info.context, subject, active=False)
        except TowneError as error:
            return problem(error, UserResult)  # type: ignore[no-any-return]
        return await _payload(info, done)

    @strawberry.mutation(
        extensions=[Requires(USER_ADMINS, "activateUser")],
        description="Activate a deactivated user again, with the grants it had.",
    )
    async def activate_user(self, info: Ctx, subject: Annotated[str, _SUBJECT]) -> UserResult | None:
        try:
            done = await service.set_active(info.context, subject, active=True)
        except TowneError as error:
            return problem(error, UserResult)  # type: ignore[no-any-return]
        return await _payload(info, done)


__all__ = ["Role", "User", "UserInput", "UserMutations", "UserPayload", "UserRoot"]
