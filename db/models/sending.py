"""Send jobs and their attempts (issue 12 §2; domain.md §3.5 send actions, §3.8; migration 0020).

One job per statement version and channel; the worker (`server.worker`) claims due jobs under a lease and
records each try. The states and the lease rules are the migration's docstring's.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base

SEND_CHANNELS = ("EMAIL", "GREAT_PLAINS")
SEND_STATES = ("QUEUED", "SUCCEEDED", "FAILED", "UNCERTAIN")
# RETRY: failed, tried again later; LOST: its worker died; UNCERTAIN: lost while the SMTP server had the message
ATTEMPT_OUTCOMES = ("SUCCEEDED", "RETRY", "FAILED", "LOST", "UNCERTAIN")


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class SendJob(Base):
    """Sending one statement version through one channel: QUEUED (due at `next_attempt_at`, leased while a
    worker works it), then SUCCEEDED or FAILED, or UNCERTAIN until a person settles it."""

    __tablename__ = "send_job"
    __table_args__ = (
        UniqueConstraint("statement_version_id", "channel", name="uq_send_job_statement_version_id_channel"),
        CheckConstraint(f"channel IN ({_in(SEND_CHANNELS)})", name="channel_known"),
        CheckConstraint(f"state IN ({_in(SEND_STATES)})", name="state_known"),
        CheckConstraint("max_attempts BETWEEN 1 AND 1000", name="max_attempts_range"),
        CheckConstraint("attempts BETWEEN 0 AND max_attempts", name="attempts_range"),
        CheckConstraint(
            "(lease_token IS NULL) = (lease_expires_at IS NULL) AND (lease_token IS NULL) = (lease_owner IS NULL)",
            name="lease_whole",
        ),
        CheckConstraint("state = 'QUEUED' OR lease_token IS NULL", name="lease_only_queued"),
        CheckConstraint(
            "(state IN ('SUCCEEDED', 'FAILED')) = (finished_at IS NOT NULL)", name="finished_when"
        ),
        CheckConstraint("handed_over_at IS NULL OR channel = 'EMAIL'", name="handed_over_email"),
        Index("ix_send_job_due", "next_attempt_at", postgresql_where=text("state = 'QUEUED'")),
        {"comment": "Send jobs of statement versions, one per channel (issue 12 §2, domain.md §3.5)"},
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    statement_version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("statement_version.id", ondelete="CASCADE"), nullable=False
    )
    channel: Mapped[str] = mapped_column(Text, nullable=False)
    state: Mapped[str] = mapped_column(Text, nullable=False, server_default="QUEUED")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    max_attempts: Mapped[int] = mapped_column(Integer, nullable=False)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    lease_token: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    lease_owner: Mapped[str | None] = mapped_column(Text, comment="the worker holding the lease")
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    handed_over_at: Mapped[dt.datetime | None] = mapped_column(
        DateTime(timezone=True),
        comment="e-mail: the message was being handed to the SMTP server (DATA) in the current attempt",
    )
    requested_by: Mapped[str] = mapped_column(Text, nullable=False, comment="subject of the billing manager")
    requested_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(Text, comment="what the channel answered on success")
    resolved_by: Mapped[str | None] = mapped_column(Text, comment="who settled an UNCERTAIN job")


class SendAttempt(Base):
    """One try of a send job: who, when, how it ended (NULL while it runs) and why."""

    __tablename__ = "send_attempt"
    __table_args__ = (
        UniqueConstraint("send_job_id", "attempt", name="uq_send_attempt_send_job_id_attempt"),
        CheckConstraint(f"outcome IN ({_in(ATTEMPT_OUTCOMES)})", name="outcome_known"),
        CheckConstraint("(outcome IS NULL) = (finished_at IS NULL)", name="finished_when"),
        {"comment": "Each try of a send job (issue 12 §2)"},
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    send_job_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("send_job.id", ondelete="CASCADE"), nullable=False
    )
    attempt: Mapped[int] = mapped_column(Integer, nullable=False)
    worker: Mapped[str] = mapped_column(Text, nullable=False)
    started_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str | None] = mapped_column(Text, comment="NULL while the attempt runs")
    detail: Mapped[str | None] = mapped_column(Text, comment="the reason or the channel's answer")
