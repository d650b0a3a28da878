"""The audit trail (issue 10 §5; migration 0013): one row per changed row of an audited table.

Written only by the database (`towne_audit()` triggers, in the writer's transaction), read through the
application role's row scopes; the application role may not write it and nobody but the owner may update or
delete it (docs/security.md).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Identity, Index, Text, Uuid
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base

AUDIT_ACTIONS = ("INSERT", "UPDATE", "DELETE")
# who may read a row (migration 0013): site: who sees the site; contract/statement: who sees its contract;
# company: every signed-in caller; users: auditors and billing admins
AUDIT_SCOPES = ("site", "contract", "statement", "company", "users")


class AuditLog(Base):
    __tablename__ = "audit_log"
    __table_args__ = (
        CheckConstraint(
            "action IN (" + ", ".join(f"'{a}'" for a in AUDIT_ACTIONS) + ")", name="action_known"
        ),
        CheckConstraint("scope IN (" + ", ".join(f"'{s}'" for s in AUDIT_SCOPES) + ")", name="scope_known"),
        Index("ix_audit_log_entity", "entity_type", "entity_id", "at"),
        Index("ix_audit_log_site", "site_id", "at"),
        Index("ix_audit_log_at", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    actor: Mapped[str] = mapped_column(Text, nullable=False)
    operation: Mapped[str] = mapped_column(Text, nullable=False)
    entity_type: Mapped[str] = mapped_column(Text, nullable=False)
    entity_id: Mapped[str] = mapped_column(Text, nullable=False)
    # no foreign key: the trail outlives what it describes
    site_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    scope: Mapped[str] = mapped_column(Text, nullable=False)
    action: Mapped[str] = mapped_column(Text, nullable=False)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    changed: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False)
    txid: Mapped[int] = mapped_column(BigInteger, nullable=False)
