"""Users of the API and what they may see (domain.md §4.4, decision 18).

A bearer token names a `subject`; the grants live here, not in the token: roles, explicit site links (the
legacy `bs_customersitesbyuser`) and territories managed (a district manager's district, a regional VP's
region), whose sites follow the current assignment. Row-level security reads these through
`towne_begin_request` / `towne_scoped_site_ids` (migration 0008).
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Integer,
    Text,
    Uuid,
    func,
)
from sqlalchemy import true as sql_true
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, Timestamped

ROLES = (
    "billingAdmin",
    "billingManager",
    "accountManager",
    "districtManager",
    "regionalVp",
    "gisEditor",
    "reportingReader",
    "auditor",
)


class Granted:
    """When and by whom a grant was given (the audit question "who gave her access")."""

    granted_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    granted_by: Mapped[str | None] = mapped_column(Text)  # subject of the administrator, or "cli"


class AppUser(Timestamped, Base):
    __tablename__ = "app_user"
    __table_args__ = (CheckConstraint("subject ~ '^[^[:space:][:cntrl:]]{1,200}$'", name="subject_shape"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    subject: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    email: Mapped[str | None] = mapped_column(Text)
    display_name: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=sql_true())
    created_by: Mapped[str | None] = mapped_column(Text)


class AppUserRole(Granted, Base):
    __tablename__ = "app_user_role"
    __table_args__ = (CheckConstraint("role IN (" + ", ".join(f"'{r}'" for r in ROLES) + ")", name="known"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(Text, primary_key=True)


class AppUserSite(Granted, Base):
    __tablename__ = "app_user_site"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    site_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("customer_site.id", ondelete="CASCADE"), primary_key=True
    )


class AppUserTerritory(Granted, Base):
    __tablename__ = "app_user_territory"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    territory_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("territory.id", ondelete="CASCADE"), primary_key=True
    )
