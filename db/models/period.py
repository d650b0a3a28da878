"""Closed accounting periods (issue 12 §3; migration 0019).

The accounting period of a statement is the month of its service period start, P_start (the `yyyyMM` of the
GL batch id, domain.md §3.8). A period without a row is open; a row is written by its first close and kept:
`state` closed or open (reopened by a second billing admin on another's request, four eyes as contract
amendments, §3.9). `journal_sha256` is the SHA-256 of the period's GL journal CSV (`/exports/gl-journal.csv`)
at the close. `AccountingPeriodEvent` is the history.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Identity, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base

PERIOD_STATES = ("closed", "open")
PERIOD_EVENT_KINDS = ("closed", "reopen_requested", "reopened")


class AccountingPeriod(Base):
    __tablename__ = "accounting_period"
    __table_args__ = (
        CheckConstraint("period ~ '^[0-9]{4}(0[1-9]|1[0-2])$'", name="period_format"),
        CheckConstraint("state IN ('closed', 'open')", name="state_known"),
        CheckConstraint("journal_sha256 ~ '^[0-9a-f]{64}$'", name="journal_sha256_hex"),
        CheckConstraint(
            "state <> 'closed' OR (journal_sha256 IS NOT NULL AND reopened_by IS NULL AND reopened_at IS NULL)",
            name="closed_complete",
        ),
        CheckConstraint(
            "state <> 'open' OR (reopened_by IS NOT NULL AND reopened_at IS NOT NULL"
            " AND reopen_requested_by IS NOT NULL AND journal_sha256 IS NULL)",
            name="reopened_complete",
        ),
        CheckConstraint(
            "(reopen_requested_by IS NULL) = (reopen_requested_at IS NULL)", name="request_complete"
        ),
        CheckConstraint("reopened_by IS NULL OR reopened_by <> reopen_requested_by", name="four_eyes"),
    )

    period: Mapped[str] = mapped_column(String(6), primary_key=True)  # YYYYMM of P_start
    state: Mapped[str] = mapped_column(Text, nullable=False)
    closed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    closed_by: Mapped[str] = mapped_column(Text, nullable=False)  # subject of the closing billing admin
    journal_sha256: Mapped[str | None] = mapped_column(Text)  # hex; null once reopened
    reopen_requested_by: Mapped[str | None] = mapped_column(Text)
    reopen_requested_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    reopen_reason: Mapped[str | None] = mapped_column(Text)
    reopened_by: Mapped[str | None] = mapped_column(Text)
    reopened_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class AccountingPeriodEvent(Base):
    __tablename__ = "accounting_period_event"
    __table_args__ = (
        CheckConstraint("kind IN ('closed', 'reopen_requested', 'reopened')", name="kind_known"),
        CheckConstraint("(kind = 'closed') = (journal_sha256 IS NOT NULL)", name="closed_hash"),
        CheckConstraint(
            "kind <> 'reopened' OR (requested_by IS NOT NULL AND requested_by <> actor)", name="four_eyes"
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    period: Mapped[str] = mapped_column(
        String(6), ForeignKey("accounting_period.period", ondelete="CASCADE"), nullable=False, index=True
    )
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    actor: Mapped[str] = mapped_column(Text, nullable=False)
    at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    reason: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str | None] = mapped_column(Text)  # reopened: whose request it approved
    journal_sha256: Mapped[str | None] = mapped_column(Text)  # closed: the journal's hash at that close
