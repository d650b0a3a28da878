"""The one error table (design.md §17): each `TowneError` code → its `Problem` union member (expected failures
of mutations, returned as data), its GraphQL `extensions.code` (the code itself) and its HTTP status (REST
routes such as `/statements/{id}/gl-export.csv`). A code without a member is always a GraphQL error.

`tests/test_errors.py` asserts every class of `resolvers.errors` is in `ERRORS`.
"""

from __future__ import annotations

import datetime as dt
import typing
from dataclasses import dataclass
from typing import Any

import strawberry

from resolvers import errors


@strawberry.interface(
    description="An expected failure of a mutation: `code` is stable, `message` says what to do."
)
class Problem:
    code: str = strawberry.field(
        description="Stable machine code, e.g. `NOT_FOUND`; the same as `extensions.code`."
    )
    message: str = strawberry.field(description="What went wrong and what to do about it, in English.")


@strawberry.type(description="The site, statement, invoice or line named by an argument does not exist.")
class NotFoundProblem(Problem):
    pass


@strawberry.type(description="The site has no contract, so there is nothing to bill.")
class NoContractProblem(Problem):
    pass


@strawberry.type(
    description="A statement of the same contract is being generated now; retry when it has finished."
)
class GenerationInFlightProblem(Problem):
    pass


@strawberry.type(
    description="The contract produced no invoice line for the period (domain.md §2.0 #6); nothing was kept."
)
class NoInvoiceProblem(Problem):
    pass


@strawberry.type(description="The statement version is Sent (final, §3.5): regenerate it to change it.")
class StatementSentProblem(Problem):
    pass


@strawberry.type(description="The statement version was replaced by a newer one; act on the current version.")
class StatementReplacedProblem(Problem):
    statement_id: strawberry.ID = strawberry.field(description="The statement (stable id).")
    current_version_id: strawberry.ID = strawberry.field(description="Its current version.")


@strawberry.type(description="The status move is not allowed from the current status (§3.5).")
class TransitionNotAllowedProblem(Problem):
    pass


@strawberry.type(
    description="An administrator may not deactivate themselves nor remove their own billingAdmin role; "
    "another administrator must do it (so the last one cannot lock everyone out)."
)
class SelfLockoutProblem(Problem):
    pass


@strawberry.type(description="The ad-hoc line cannot be added or removed as asked (§3.4).")
class InvalidAdhocLineProblem(Problem):
    pass


@strawberry.type(
    description="The idempotency key was first sent with other arguments; a key names one request, so send "
    "this one with a new key."
)
class IdempotencyKeyReusedProblem(Problem):
    pass


@strawberry.type(
    description="The contract's stored configuration does not fit the engine (names block and key)."
)
class InvalidConfigurationProblem(Problem):
    pass


@strawberry.type(description="An unexpected failure of one item of a bulk request; the others went on.")
class InternalProblem(Problem):
    request_id: str = strawberry.field(description="Quote it to support: the log has the detail.")


@strawberry.type(
    description="A GeoJSON geometry refused before anything was written (RFC 7946, lon/lat EPSG:4326); "
    "`code` says which fault: NOT_PARSEABLE, WRONG_TYPE, COORDINATE_OUT_OF_RANGE, TOO_FEW_POINTS, "
    "RING_NOT_CLOSED, SELF_INTERSECTION, INVALID_GEOMETRY, UNSUPPORTED_CRS."
)
class GeometryProblem(Problem):
    argument: str | None = strawberry.field(description="The argument, e.g. `geometry`.")
    location: list[float] | None = strawberry.field(
        description="[lon, lat] of the fault when one point names it (a self-intersection, a ring's start)."
    )
    part: int | None = strawberry.field(description="0-based polygon of a MultiPolygon, when it is one.")
    ring: int | None = strawberry.field(description="0-based ring (0: the exterior), when it is one.")
    position: int | None = strawberry.field(description="0-based position in the ring, when it is one.")


@strawberry.type(
    description="In a partition layer the territory would overlap a current neighbour by more than the "
    "layer's `overlapToleranceM2` (geodesic area of the intersection)."
)
class OverlapProblem(Problem):
    neighbour_code: str = strawberry.field(description="The neighbour's code.")
    neighbour_name: str = strawberry.field(description="The neighbour's name.")
    overlap_m2: float = strawberry.field(description="Area of the overlap, m².")
    tolerance_m2: float = strawberry.field(description="The layer's tolerance, m².")


@strawberry.type(
    description="The territory changed since the version the edit names: nothing was written; read it "
    "again (`currentVersion`) and redo the edit."
)
class VersionConflictProblem(Problem):
    current_version: int = strawberry.field(description="The territory's version now.")
    changed_by: str | None = strawberry.field(description="Who made it (token subject or database login).")
    changed_at: dt.datetime | None = strawberry.field(description="When.")


@strawberry.type(description="The layer or territory code is taken (a retired territory keeps its code).")
class CodeInUseProblem(Problem):
    pass


@strawberry.type(
    description="The territory is retired: `revertTerritory` to one of its versions restores it."
)
class TerritoryRetiredProblem(Problem):
    pass


@strawberry.type(
    description="A territory that ever had a site assigned is retired, never deleted (its history stays)."
)
class TerritoryHasHistoryProblem(Problem):
    pass


@strawberry.type(description="The line does not cut the territory into pieces on both of its sides.")
class SplitFailedProblem(Problem):
    pass


@strawberry.type(description="Why one feature of a layer import was refused.")
class ImportFeatureProblem:
    index: int | None = strawberry.field(
        description="0-based index in `features`; null: the collection itself."
    )
    territory_code: str | None = strawberry.field(description="The feature's `properties.code`, if usable.")
    problem: str = strawberry.field(
        description="Stable code: a geometry code (e.g. SELF_INTERSECTION), OVERLAP, VERSION_CONFLICT, "
        "CODE_IN_USE (twice in the file), WRONG_TYPE or BAD_USER_INPUT (properties)."
    )
    message: str = strawberry.field(description="What is wrong with it, and where.")
    location: list[float] | None = strawberry.field(description="[lon, lat] of the fault, when known.")


@strawberry.type(
    description="A layer import with refused features: nothing was written (all features or none)."
)
class ImportRefusedProblem(Problem):
    features: list[ImportFeatureProblem] = strawberry.field(
        description="Each refused feature (at most 1000), by index."
    )


@strawberry.type(description="One refused field of a contract input.")
class FieldProblem:
    path: str = strawberry.field(
        description="The field, in GraphQL names from the argument, e.g. "
        "`configuration.revenueShare.thresholds[0].tiers[1].percentage`."
    )
    rule: str = strawberry.field(
        description="Stable rule name, e.g. `cents`, `range`, `required`, `revenue_code_allocated_once`, "
        "`non_salaried_job_required`, `group_title_required`, `unknown_invoice_group`, `caps_ascending`."
    )
    message: str = strawberry.field(description="What is wrong with it.")


@strawberry.type(
    description="Contract header or configuration input refused (issue 10 §2): every problem with its field "
    "path and rule; nothing was recorded."
)
class ContractInputProblem(Problem):
    problems: list[FieldProblem] = strawberry.field(description="Each refused field.")


@strawberry.type(
    description="An amendment cannot be decided as asked (issue 10 §3): `code` says why: OWN_AMENDMENT "
    "(another billing admin must decide it), AMENDMENT_DECIDED (no longer proposed), AMENDMENT_CONFLICT (an "
    "amendment approved since it was proposed changed the same part), AMENDMENT_OUT_OF_ORDER (an approved "
    "amendment from a later service period changes the same part)."
)
class AmendmentProblem(Problem):
    other_amendment: int | None = strawberry.field(
        default=None, description="Number of the amendment in the way, on the same contract."
    )


@strawberry.type(
    description="The contract's lifecycle does not allow it (issue 10 §4): CONTRACT_ARCHIVED (read-only), "
    "CONTRACT_NOT_ACTIVE (a draft or archived contract bills nothing), CONTRACT_ENDED (the service period "
    "starts after the termination date or the end of the term)."
)
class ContractStateProblem(Problem):
    pass


@strawberry.type(description="The site number is taken: site numbers are unique (domain.md §1.2).")
class SiteNumberInUseProblem(Problem):
    site_number: str = strawberry.field(description="The 4-digit site number that is taken.")


@strawberry.type(
    description="No point was given and the ZIP code cannot be geocoded offline (neither the ZIP nor its "
    "3-digit prefix in the state is known): give `location` (lon/lat) instead."
)
class ZipNotGeocodableProblem(Problem):
    zip: str = strawberry.field(description="The ZIP code given.")
    state: str = strawberry.field(description="The state given.")


@strawberry.type(
    description="The site changed since the `updatedAt` the caller read: nothing was written; read it again "
    "and redo the change."
)
class SiteChangedProblem(Problem):
    current_updated_at: dt.datetime = strawberry.field(description="The site's `updatedAt` now.")


@strawberry.type(
    description="The service period starts after the site's close date: nothing is billed for it (the "
    "period containing the close date still bills whole, domain.md §0.1)."
)
class SiteClosedProblem(Problem):
    site_number: str = strawberry.field(description="4-digit site number.")
    close_date: dt.date = strawberry.field(description="The site's close date.")
    service_period: str = strawberry.field(description="The refused period, YYYY-MM.")


@strawberry.type(
    description="The statement's service period (the month of its P_start, domain.md §3.8) is closed: "
    "nothing of it is generated, regenerated, edited, confirmed or sent. A billing admin can request "
    "reopening (`requestPeriodReopen`), another one approves it."
)
class PeriodClosedProblem(Problem):
    period: str = strawberry.field(description="The closed accounting period, YYYYMM.")
    closed_by: str = strawberry.field(description="Who closed it (subject).")
    closed_at: dt.datetime = strawberry.field(description="When.")


@strawberry.type(
    description="An accounting period cannot be closed or reopened as asked (issue 12 §3): `code` says why: "
    "PERIOD_NOT_ENDED (only a month that has ended is closed), PERIOD_ALREADY_CLOSED, PERIOD_NOT_CLOSED "
    "(nothing to reopen), REOPEN_ALREADY_REQUESTED, NO_REOPEN_REQUEST (request it first), OWN_REOPEN_REQUEST "
    "(another billing admin must approve your request)."
)
class PeriodProblem(Problem):
    period: str = strawberry.field(description="The accounting period, YYYYMM.")


@strawberry.type(
    description="The statement has a send queued, running or UNCERTAIN (`Statement.sendJobs`): it is not edited, "
    "confirmed, regenerated or marked Sent meanwhile. Wait for the send, or settle an UNCERTAIN e-mail with "
    "`resolveSendJob`."
)
class StatementSendingProblem(Problem):
    channels: list[str] = strawberry.field(description="The channels of the sends in progress.")


@strawberry.type(
    description="E-mail was asked for a site with no billing contact address: set `billingContactEmails` with "
    "`updateCustomerSite`, then send again."
)
class NoRecipientsProblem(Problem):
    site_number: str = strawberry.field(description="4-digit site number.")


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    problem: type[Problem] | None  # the payload-union member; None: only ever a GraphQL error
    http_status: int


ERRORS: dict[str, ErrorSpec] = {
    errors.BadUserInput.code: ErrorSpec(None, 400),
    errors.BadRequest.code: ErrorSpec(None, 400),
    errors.PayloadTooLarge.code: ErrorSpec(None, 413),
    errors.MethodNotAllowed.code: ErrorSpec(None, 405),
    errors.Unauthenticated.code: ErrorSpec(None, 401),
    errors.Forbidden.code: ErrorSpec(None, 403),
    errors.Internal.code: ErrorSpec(InternalProblem, 500),
    errors.NotFound.code: ErrorSpec(NotFoundProblem, 404),
    errors.NoContract.code: ErrorSpec(NoContractProblem, 409),
    errors.GenerationInFlight.code: ErrorSpec(GenerationInFlightProblem, 409),
    errors.NoInvoiceProduced.code: ErrorSpec(NoInvoiceProblem, 422),
    errors.StatementAlreadySent.code: ErrorSpec(StatementSentProblem, 409),
    errors.StatementReplaced.code: ErrorSpec(StatementReplacedProblem, 409),
    errors.TransitionNotAllowed.code: ErrorSpec(TransitionNotAllowedProblem, 409),
    errors.InvalidAdhocLine.code: ErrorSpec(InvalidAdhocLineProblem, 422),
    errors.IdempotencyKeyReused.code: ErrorSpec(IdempotencyKeyReusedProblem, 409),
    errors.InvalidConfiguration.code: ErrorSpec(InvalidConfigurationProblem, 422),
    errors.SelfLockout.code: ErrorSpec(SelfLockoutProblem, 409),
    errors.GeometryError.code: ErrorSpec(GeometryProblem, 422),
    errors.GeometryNotParseable.code: ErrorSpec(GeometryProblem, 422),
    errors.GeometryWrongType.code: ErrorSpec(GeometryProblem, 422),
    errors.CoordinateOutOfRange.code: ErrorSpec(GeometryProblem, 422),
    errors.TooFewPoints.code: ErrorSpec(GeometryProblem, 422),
    errors.RingNotClosed.code: ErrorSpec(GeometryProblem, 422),
    errors.SelfIntersection.code: ErrorSpec(GeometryProblem, 422),
    errors.UnsupportedCrs.code: ErrorSpec(GeometryProblem, 422),
    errors.TerritoryOverlap.code: ErrorSpec(OverlapProblem, 409),
    errors.VersionConflict.code: ErrorSpec(VersionConflictProblem, 409),
    errors.CodeInUse.code: ErrorSpec(CodeInUseProblem, 409),
    errors.TerritoryRetired.code: ErrorSpec(TerritoryRetiredProblem, 409),
    errors.TerritoryHasHistory.code: ErrorSpec(TerritoryHasHistoryProblem, 409),
    errors.SplitFailed.code: ErrorSpec(SplitFailedProblem, 422),
    errors.ImportRefused.code: ErrorSpec(ImportRefusedProblem, 422),
    errors.InvalidContractInput.code: ErrorSpec(ContractInputProblem, 422),
    errors.OwnAmendment.code: ErrorSpec(AmendmentProblem, 409),
    errors.AmendmentDecided.code: ErrorSpec(AmendmentProblem, 409),
    errors.AmendmentConflict.code: ErrorSpec(AmendmentProblem, 409),
    errors.AmendmentOutOfOrder.code: ErrorSpec(AmendmentProblem, 409),
    errors.ContractArchived.code: ErrorSpec(ContractStateProblem, 409),
    errors.ContractNotActive.code: ErrorSpec(ContractStateProblem, 409),
    errors.ContractEnded.code: ErrorSpec(ContractStateProblem, 409),
    errors.SiteNumberInUse.code: ErrorSpec(SiteNumberInUseProblem, 409),
    errors.ZipNotGeocodable.code: ErrorSpec(ZipNotGeocodableProblem, 422),
    errors.SiteChanged.code: ErrorSpec(SiteChangedProblem, 409),
    errors.SiteClosed.code: ErrorSpec(SiteClosedProblem, 409),
    errors.PeriodClosed.code: ErrorSpec(PeriodClosedProblem, 409),
    errors.StatementSending.code: ErrorSpec(StatementSendingProblem, 409),
    errors.NoRecipients.code: ErrorSpec(NoRecipientsProblem, 422),
    errors.PeriodNotEnded.code: ErrorSpec(PeriodProblem, 422),
    errors.PeriodAlreadyClosed.code: ErrorSpec(PeriodProblem, 409),
    errors.PeriodNotClosed.code: ErrorSpec(PeriodProblem, 409),
    errors.ReopenAlreadyRequested.code: ErrorSpec(PeriodProblem, 409),
    errors.NoReopenRequest.code: ErrorSpec(PeriodProblem, 409),
    errors.OwnReopenRequest.code: ErrorSpec(PeriodProblem, 409),
    errors.Busy.code: ErrorSpec(None, 503),
    errors.Unavailable.code: ErrorSpec(None, 503),
    errors.ServiceBusy.code: ErrorSpec(None, 503),
    errors.NotReady.code: ErrorSpec(None, 503),
    errors.StatementTimeout.code: ErrorSpec(None, 503),
    errors.RequestTimeout.code: ErrorSpec(None, 503),
    errors.QueryTooDeep.code: ErrorSpec(None, 400),
    errors.TooManyAliases.code: ErrorSpec(None, 400),
    errors.TooManyTokens.code: ErrorSpec(None, 400),
    errors.QueryTooCostly.code: ErrorSpec(None, 400),
    errors.PageTooLarge.code: ErrorSpec(None, 400),
    errors.IntrospectionDisabled.code: ErrorSpec(None, 400),
    errors.PersistedQueryNotFound.code: ErrorSpec(None, 400),
    errors.PersistedQueryRequired.code: ErrorSpec(None, 400),
}

# GraphQL's own failures, before any resolver runs (they have no `TowneError` class).
PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"


def http_status(error: errors.TowneError) -> int:
    return ERRORS[error.code].http_status


def members(union: Any) -> tuple[type, ...]:
    """The member types of an `Annotated[A | B, strawberry.union(...)]` result union."""
    return typing.get_args(typing.get_args(union)[0])


def problem(error: errors.TowneError, union: Any) -> Any:
    """`error` as its member of `union`; an error without a member there is re-raised (a GraphQL error)."""
    member = ERRORS[error.code].problem
    if member is None or member not in members(union):
        raise error
    extra: dict[str, Any] = {}
    if isinstance(error, errors.StatementReplaced):
        extra = {
            "statement_id": strawberry.ID(str(error.statement_id)),
            "current_version_id": strawberry.ID(str(error.current_version_id)),
        }
    elif isinstance(error, errors.GeometryError):
        extra = {
            "argument": error.argument,
            "location": list(error.location) if error.location else None,
            "part": error.part,
            "ring": error.ring,
            "position": error.position,
        }
    elif isinstance(error, errors.TerritoryOverlap):
        extra = {
            "neighbour_code": error.neighbour_code,
            "neighbour_name": error.neighbour_name,
            "overlap_m2": error.overlap_m2,
            "tolerance_m2": error.tolerance_m2,
        }
    elif isinstance(error, errors.VersionConflict):
        extra = {
            "current_version": error.current_version,
            "changed_by": error.changed_by,
            "changed_at": error.changed_at,
        }
    elif isinstance(error, errors.ImportRefused):
        extra = {
            "features": [
                ImportFeatureProblem(
                    index=f.index,
                    territory_code=f.code,
                    problem=f.problem,
                    message=f.message,
                    location=list(f.location) if f.location else None,
                )
                for f in error.features
            ]
        }
    elif isinstance(error, errors.InvalidContractInput):
        extra = {
            "problems": [FieldProblem(path=p.path, rule=p.rule, message=p.message) for p in error.problems]
        }
    elif hasattr(error, "problem_fields"):
        extra = error.problem_fields()
    elif isinstance(error, errors.SiteNumberInUse):
        extra = {"site_number": error.site_number}
    elif isinstance(error, errors.ZipNotGeocodable):
        extra = {"zip": error.zip_code, "state": error.state}
    elif isinstance(error, errors.SiteChanged):
        extra = {"current_updated_at": error.current_updated_at}
    elif isinstance(error, errors.SiteClosed):
        extra = {
            "site_number": error.site_number,
            "close_date": error.close_date,
            "service_period": error.service_period,
        }
    elif isinstance(error, errors.PeriodClosed):
        extra = {"period": error.period, "closed_by": error.closed_by, "closed_at": error.closed_at}
    elif member is PeriodProblem:
        extra = {"period": str(error.extensions.get("period", ""))}
    elif member is InternalProblem:
        extra = {"request_id": str(error.extensions.get("requestId", ""))}
    return member(code=error.code, message=error.message, **extra)
