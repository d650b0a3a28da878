"""The amendment of a contract as the GraphQL contract shows it (issue 10 §3; domain.md §3.9)."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import strawberry

from resolvers.records import ContractAmendmentRecord
from schema.scalars import JSON


@strawberry.enum(description="Where an amendment stands (issue 10 §3).")
class AmendmentStatus(enum.Enum):
    PROPOSED = strawberry.enum_value("proposed", description="Waiting for another billing admin.")
    APPROVED = strawberry.enum_value("approved", description="In force from its first service period.")
    REJECTED = strawberry.enum_value("rejected", description="Refused by another billing admin; not applied.")
    WITHDRAWN = strawberry.enum_value("withdrawn", description="Taken back by its proposer; not applied.")


@strawberry.enum(description="What an amendment changes (issue 10 §2–§4).")
class AmendmentKind(enum.Enum):
    HEADER = strawberry.enum_value("header", description="Contract header fields (§1.3): updateContract.")
    CONFIGURATION = strawberry.enum_value(
        "configuration",
        description="Building blocks and their configuration (§1.5): setContractConfiguration.",
    )
    TERM = strawberry.enum_value("term", description="A new term or renewal: renewContract.")
    ACTIVATE = strawberry.enum_value(
        "activate", description="Draft → active with its term: activateContract."
    )
    TERMINATE = strawberry.enum_value("terminate", description="Ends the contract: terminateContract.")
    ARCHIVE = strawberry.enum_value("archive", description="Expired or terminated → archived (read-only).")
    EXPIRE = strawberry.enum_value("expire", description="The daily job: a term ended without renewal.")
    ESCALATION = strawberry.enum_value(
        "escalation", description="The daily escalation job's new dated rates (§2.14), approved by the job."
    )


@strawberry.type(description="A proposed change of a contract and its decision (issue 10 §3).")
class Amendment:
    id: strawberry.ID = strawberry.field(description="Amendment id.")
    number: int = strawberry.field(description="Its number on the contract, from 1.")
    site_number: str = strawberry.field(description="Site of the contract (4 digits).")
    kind: AmendmentKind = strawberry.field(description="What it changes.")
    status: AmendmentStatus = strawberry.field(description="Where it stands.")
    first_service_period: str | None = strawberry.field(
        description="`YYYY-MM`: the first service period (statement) it applies to, whatever the billing type; "
        "null for lifecycle moves, applied when approved."
    )
    summary: str = strawberry.field(description="What it changes, in words.")
    reason: str | None = strawberry.field(description="Why, as its proposer said.")
    changes: JSON = strawberry.field(
        description="The changes, canonical: database column names, decimals as strings, dates ISO."
    )
    source: str = strawberry.field(description="`api` (a person) or `job` (the daily jobs).")
    proposed_by: str = strawberry.field(description="Who proposed it (token subject, or the job).")
    proposed_at: dt.datetime = strawberry.field(description="When.")
    decided_by: str | None = strawberry.field(description="Who approved, rejected or withdrew it.")
    decided_at: dt.datetime | None = strawberry.field(description="When.")
    decision_note: str | None = strawberry.field(description="The decider's note.")

    @classmethod
    def from_row(
        cls, row: ContractAmendmentRecord, site_number: str, *, billing_detail: bool = True
    ) -> Amendment:
        """`billing_detail` False hides what InvoiceGroup hides from roles without a need (§4.4): the
        customer names and vendor ids inside the changes."""
        return cls(
            id=strawberry.ID(str(row.id)),
            number=row.number,
            site_number=site_number,
            kind=AmendmentKind(row.kind),
            status=AmendmentStatus(row.status),
            first_service_period=row.first_service_period.strftime("%Y-%m")
            if row.first_service_period
            else None,
            summary=row.summary,
            reason=row.reason,
            changes=JSON(row.changes if billing_detail else _redacted(row.changes)),
            source=row.source,
            proposed_by=row.proposed_by,
            proposed_at=row.proposed_at,
            decided_by=row.decided_by,
            decided_at=row.decided_at,
            decision_note=row.decision_note,
        )


@strawberry.type(description="The amendment as recorded.")
class AmendmentPayload:
    amendment: Amendment = strawberry.field(description="Its current state.")


_PERSONAL = frozenset({"customer_name", "vendor_id"})


def _redacted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (None if k in _PERSONAL else _redacted(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    return value


__all__ = ["Amendment", "AmendmentKind", "AmendmentPayload", "AmendmentStatus"]
