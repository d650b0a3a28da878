"""Users and their grants (migration 0008; domain.md §4.4): what `towne token`, `towne user add` and the
admin mutations write. Site numbers and `layer:code` territory names are resolved here; unknown ones are
refused by name (`UnknownGrant`), so a typo never becomes a silently empty scope."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    ROLES,
    AppUser,
    AppUserRole,
    AppUserSite,
    AppUserTerritory,
    CustomerSite,
    Territory,
    TerritoryLayer,
)


class UnknownGrant(ValueError):
    """A role, site number or territory that does not exist; `argument` names where it came from and
    `index` its position in that list (None: not one item)."""

    def __init__(self, message: str, argument: str, index: int | None = None) -> None:
        super().__init__(message)
        self.argument = argument
        self.index = index


@dataclass(frozen=True, slots=True)
class Grants:
    roles: tuple[str, ...] = ()
    site_numbers: tuple[str, ...] = ()
    territories: tuple[str, ...] = ()  # "layer:code", e.g. "districts:orlando"


@dataclass(frozen=True, slots=True)
class UserView:
    id: int
    subject: str
    email: str | None
    display_name: str | None
    active: bool
    roles: tuple[str, ...]
    site_numbers: tuple[str, ...]
    territories: tuple[str, ...]


def check_roles(roles: Sequence[str], argument: str = "roles") -> tuple[str, ...]:
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise UnknownGrant(
            f"unknown role {unknown[0]!r}; roles are {', '.join(ROLES)}",
            argument,
            list(roles).index(unknown[0]),
        )
    return tuple(dict.fromkeys(roles))


async def _site_ids(session: AsyncSession, numbers: Sequence[str], argument: str) -> list[uuid.UUID]:
    padded = [n.zfill(4) for n in numbers]
    found = dict(
        (
            await session.execute(
                select(CustomerSite.site_number, CustomerSite.id).where(CustomerSite.site_number.in_(padded))
            )
        ).all()
    )
    missing = [n for n in padded if n not in found]
    if missing:
        raise UnknownGrant(f"no site {missing[0]}", argument, padded.index(missing[0]))
    return [found[n] for n in dict.fromkeys(padded)]


async def _territory_ids(session: AsyncSession, names: Sequence[str], argument: str) -> list[int]:
    pairs: list[tuple[str, str]] = []
    for index, name in enumerate(names):
        layer, _, code = name.partition(":")
        if not layer or not code:
            raise UnknownGrant(
                f"territory {name!r}: write layer:code, e.g. districts:orlando", argument, index
            )
        pairs.append((layer, code))
    rows = (
        await session.execute(
            select(TerritoryLayer.code, Territory.code, Territory.id)
            .join(TerritoryLayer, TerritoryLayer.id == Territory.layer_id)
            .where(tuple_(TerritoryLayer.code, Territory.code).in_(pairs))
        )
    ).all()
    found = {(layer, code): tid for layer, code, tid in rows}
    missing = [p for p in pairs if p not in found]
    if missing:
        raise UnknownGrant(f"no territory {missing[0][0]}:{missing[0][1]}", argument, pairs.index(missing[0]))
    return [found[p] for p in dict.fromkeys(pairs)]


async def upsert_user(
    session: AsyncSession,
    *,
    subject: str,
    grants: Grants,
    granted_by: str,
    email: str | None = None,
    display_name: str | None = None,
) -> int:
    """Create or update the user of `subject` (active) and replace its roles, site links and territory
    scopes with `grants`; returns its id. Locks the user row, so two grants to one user serialise."""
    roles = check_roles(grants.roles)
    site_ids = await _site_ids(session, grants.site_numbers, "sites")
    territory_ids = await _territory_ids(session, grants.territories, "territories")
    statement = insert(AppUser).values(
        subject=subject, email=email, display_name=display_name, active=True, created_by=granted_by
    )
    user_id = (
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[AppUser.subject],
                set_={
                    "active": True,
                    "email": func.coalesce(statement.excluded.email, AppUser.email),
                    "display_name": func.coalesce(statement.excluded.display_name, AppUser.display_name),
                    "updated_at": func.now(),
                },
            ).returning(AppUser.id)
        )
    ).scalar_one()
    # roles still granted are kept (with their original grant): an administrator re-saving themselves never
    # loses billingAdmin mid-transaction, which the row-level security of the inserts below depends on
    await session.execute(
        delete(AppUserRole).where(AppUserRole.user_id == user_id, AppUserRole.role.not_in(roles))
    )
    for model in (AppUserSite, AppUserTerritory):
        await session.execute(delete(model).where(model.user_id == user_id))
    if roles:
        await session.execute(
            insert(AppUserRole)
            .values([{"user_id": user_id, "role": r, "granted_by": granted_by} for r in roles])
            .on_conflict_do_nothing()
        )
    if site_ids:
        await session.execute(
            insert(AppUserSite).values(
                [{"user_id": user_id, "site_id": s, "granted_by": granted_by} for s in site_ids]
            )
        )
    if territory_ids:
        await session.execute(
            insert(AppUserTerritory).values(
                [{"user_id": user_id, "territory_id": t, "granted_by": granted_by} for t in territory_ids]
            )
        )
    return int(user_id)


async def set_active(session: AsyncSession, *, subject: str, active: bool) -> bool:
    """Activate or deactivate; False when no such user (or not visible to the caller)."""
    row = (
        await session.execute(
            update(AppUser)
            .where(AppUser.subject == subject)
            .values(active=active, updated_at=func.now())
            .returning(AppUser.id)
        )
    ).first()
    return row is not None


async def users(session: AsyncSession, *, subjects: Sequence[str] | None = None) -> list[UserView]:
    """Users with their grants, by subject (what the caller may see of them: RLS)."""
    query = select(AppUser).order_by(AppUser.subject)
    if subjects is not None:
        query = query.where(AppUser.subject.in_(list(subjects)))
    found = list((await session.execute(query)).scalars())
    ids = [u.id for u in found]
    roles: dict[int, list[str]] = {}
    for uid, role in await session.execute(
        select(AppUserRole.user_id, AppUserRole.role)
        .where(AppUserRole.user_id.in_(ids))
        .order_by(AppUserRole.role)
    ):
        roles.setdefault(uid, []).append(role)
    sites: dict[int, list[str]] = {}
    for uid, number in await session.execute(
        select(AppUserSite.user_id, CustomerSite.site_number)
        .join(CustomerSite, CustomerSite.id == AppUserSite.site_id)
        .where(AppUserSite.user_id.in_(ids))
        .order_by(CustomerSite.site_number)
    ):
        sites.setdefault(uid, []).append(number)
    territories: dict[int, list[str]] = {}
    for uid, layer, code in await session.execute(
        select(AppUserTerritory.user_id, TerritoryLayer.code, Territory.code)
        .join(Territory, Territory.id == AppUserTerritory.territory_id)
        .join(TerritoryLayer, TerritoryLayer.id == Territory.layer_id)
        .where(AppUserTerritory.user_id.in_(ids))
        .order_by(TerritoryLayer.code, Territory.code)
    ):
        territories.setdefault(uid, []).append(f"{layer}:{code}")
    return [
        UserView(
            id=u.id,
            subject=u.subject,
            email=u.email,
            display_name=u.display_name,
            active=u.active,
            roles=tuple(roles.get(u.id, ())),
            site_numbers=tuple(sites.get(u.id, ())),
            territories=tuple(territories.get(u.id, ())),
        )
        for u in found
    ]
