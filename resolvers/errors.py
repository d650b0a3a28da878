"""The one error tree of the service layer (design.md §8, §17).

Every failure a client may see is a `TowneError` subclass with a stable `code`. `schema.problems.ERRORS`
maps each code to its `Problem` union member (expected mutation failures), its GraphQL `extensions.code`
and its HTTP status; the GraphQL layer and the REST routes (`/statements/{id}/gl-export.csv`) read that one
table, and `tests/test_errors.py` asserts every subclass here is in it. Anything that is not a `TowneError`
reaching the client is a bug: it is answered as `INTERNAL` with a request id, its detail only in the log.

Pure libraries of ours (`billing`, `spatial`) raise their own `ValueError`s; the resolvers convert them
here, at the boundary, with the argument they came from (`bad_input`).
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import socket
import uuid
from dataclasses import dataclass
from typing import Any, ClassVar

import sqlalchemy.exc as sqlalchemy_exc


class TowneError(Exception):
    """A failure with a stable machine `code`; `str()` is a message a person can act on.

    `argument` names the offending GraphQL argument (`filter.bbox`, `line.code`); `extensions` are extra
    machine-readable fields (e.g. `currentStatementId`), all JSON-serialisable.
    """

    code: ClassVar[str] = "INTERNAL"

    def __init__(self, message: str, *, argument: str | None = None, **extensions: Any) -> None:
        super().__init__(message)
        self.message = message
        self.argument = argument
        self.extensions: dict[str, Any] = extensions

    def as_extensions(self) -> dict[str, Any]:
        """`{"code": …, "argument": …, …}` for a GraphQL error or a REST problem body."""
        out: dict[str, Any] = {"code": self.code}
        if self.argument is not None:
            out["argument"] = self.argument
        out.update(self.extensions)
        return out


# ------------------------------------------------------------------------- request errors (GraphQL errors)


class BadUserInput(TowneError):
    """The request is well-formed GraphQL but an argument's value is unusable; nothing was written."""

    code = "BAD_USER_INPUT"


class BadRequest(TowneError):
    """The HTTP envelope is not a GraphQL request (body not JSON, not an object, no query…)."""

    code = "BAD_REQUEST"


class MethodNotAllowed(TowneError):
    """The route exists but not with this HTTP method."""

    code = "METHOD_NOT_ALLOWED"


class PayloadTooLarge(TowneError):
    """The request body exceeds `TOWNE_MAX_BODY_BYTES`."""

    code = "PAYLOAD_TOO_LARGE"


class Unauthenticated(TowneError):
    """No usable bearer token: missing where one is needed, or expired, not yet valid, for another
    audience or issuer, badly signed, unsigned (`alg: none`), or naming no active user. Nothing is
    answered but this error (docs/security.md)."""

    code = "UNAUTHENTICATED"


class Forbidden(TowneError):
    """The caller is known but its roles do not allow this operation or field (domain.md §3.9, §4.4);
    nothing was done. A site outside the caller's scope is NOT_FOUND, never this."""

    code = "FORBIDDEN"


class Internal(TowneError):
    """Something unexpected: the client gets this code and a request id, the log gets the detail."""

    code = "INTERNAL"

    def __init__(self, request_id: str) -> None:
        super().__init__(
            f"internal error; nothing was changed by the failing part. Quote request id {request_id}",
            requestId=request_id,
        )


# -------------------------------------------------------------------- domain errors (Problem union members)


class NotFound(TowneError):
    code = "NOT_FOUND"


class NoContract(TowneError):
    code = "NO_CONTRACT"


class GenerationInFlight(TowneError):
    code = "GENERATION_IN_FLIGHT"


class NoInvoiceProduced(TowneError):
    code = "NO_INVOICE"


class StatementAlreadySent(TowneError):
    code = "STATEMENT_SENT"


class StatementReplaced(TowneError):
    """The version a write targeted was replaced by a newer one; names the current version."""

    code = "STATEMENT_REPLACED"

    def __init__(self, message: str, *, statement_id: uuid.UUID, current_version_id: uuid.UUID) -> None:
        super().__init__(message, statementId=str(statement_id), currentVersionId=str(current_version_id))
        self.statement_id = statement_id
        self.current_version_id = current_version_id


class TransitionNotAllowed(TowneError):
    code = "TRANSITION_NOT_ALLOWED"


class SelfLockout(TowneError):
    """An administrator may not deactivate themselves nor take away their own billingAdmin role, so the
    last administrator cannot lock everyone out; another administrator must do it."""

    code = "SELF_LOCKOUT"


class InvalidAdhocLine(TowneError):
    code = "INVALID_ADHOC_LINE"


class IdempotencyKeyReused(TowneError):
    """The idempotency key was first sent with other arguments (Stripe's convention)."""

    code = "IDEMPOTENCY_KEY_REUSED"


class Busy(TowneError):
    """A lock the request needed stayed held longer than `TOWNE_LOCK_TIMEOUT_MS`: another request is
    changing the same statement. Nothing was written; retry."""

    code = "BUSY"


class Unavailable(TowneError):
    """A part the service needs (the database) does not answer, or is restarting; retry in a moment."""

    code = "SERVICE_UNAVAILABLE"


class ServiceBusy(TowneError):
    """Every database connection stayed in use longer than `TOWNE_POOL_TIMEOUT_S`; nothing was done,
    retry in a moment."""

    code = "SERVICE_BUSY"


class NotReady(TowneError):
    """The database answers but its schema is not at the migrations' head (`/readyz`)."""

    code = "NOT_READY"


class StatementTimeout(TowneError):
    """A statement ran longer than `TOWNE_STATEMENT_TIMEOUT_MS` and was cancelled; nothing was written.
    Ask for less (a smaller page, fewer sites)."""

    code = "STATEMENT_TIMEOUT"


class RequestTimeout(TowneError):
    """The request ran longer than `TOWNE_REQUEST_TIMEOUT_MS` and was cancelled (an unfinished transaction
    rolls back; one that had committed stays)."""

    code = "REQUEST_TIMEOUT"


# ----------------------------------------------------------- limits of a document (refused before it runs)


class QueryTooDeep(TowneError):
    """The document nests fields deeper than `TOWNE_MAX_DEPTH`."""

    code = "QUERY_TOO_DEEP"


class TooManyAliases(TowneError):
    """The document has more aliases than `TOWNE_MAX_ALIASES`."""

    code = "TOO_MANY_ALIASES"


class TooManyTokens(TowneError):
    """The document has more tokens than `TOWNE_MAX_TOKENS`."""

    code = "TOO_MANY_TOKENS"


class QueryTooCostly(TowneError):
    """The document asks for more objects than `TOWNE_MAX_COST` (list sizes times nested selections)."""

    code = "QUERY_TOO_COSTLY"


class PageTooLarge(BadUserInput):
    """A page size (`first`) above the field's maximum (stated in the argument's description)."""

    code = "PAGE_TOO_LARGE"


class IntrospectionDisabled(TowneError):
    """Introspection is off in production (`TOWNE_ENV=production`)."""

    code = "INTROSPECTION_DISABLED"


class PersistedQueryNotFound(TowneError):
    """The hash names no operation of the registry (`TOWNE_PERSISTED_OPERATIONS`)."""

    code = "PERSISTED_QUERY_NOT_FOUND"


class PersistedQueryRequired(TowneError):
    """With `TOWNE_PERSISTED_ONLY`, only operations of the registry run, named by their hash."""

    code = "PERSISTED_QUERY_REQUIRED"


class InvalidConfiguration(TowneError):
    """A stored contract configuration does not fit the engine (names the block and key)."""

    code = "INVALID_CONFIGURATION"


# ------------------------------------------------------------- territory editing (issue 9 §1, Problem members)


class GeometryError(TowneError):
    """A GeoJSON geometry argument refused before anything was written (`spatial.validation`); the
    subclass's code says which fault. `location` is `[lon, lat]` of the fault when one point names it;
    `part`, `ring`, `position` (0-based) the faulty position or ring."""

    code = "INVALID_GEOMETRY"

    def __init__(
        self,
        message: str,
        *,
        argument: str,
        location: tuple[float, float] | None = None,
        part: int | None = None,
        ring: int | None = None,
        position: int | None = None,
    ) -> None:
        extensions: dict[str, Any] = {}
        if location is not None:
            extensions["location"] = [location[0], location[1]]
        for name, value in (("part", part), ("ring", ring), ("position", position)):
            if value is not None:
                extensions[name] = value
        super().__init__(message, argument=argument, **extensions)
        self.location = location
        self.part, self.ring, self.position = part, ring, position


class GeometryNotParseable(GeometryError):
    code = "NOT_PARSEABLE"


class GeometryWrongType(GeometryError):
    code = "WRONG_TYPE"


class CoordinateOutOfRange(GeometryError):
    code = "COORDINATE_OUT_OF_RANGE"


class TooFewPoints(GeometryError):
    code = "TOO_FEW_POINTS"


class RingNotClosed(GeometryError):
    code = "RING_NOT_CLOSED"


class SelfIntersection(GeometryError):
    code = "SELF_INTERSECTION"


class UnsupportedCrs(GeometryError):
    code = "UNSUPPORTED_CRS"


class TerritoryOverlap(TowneError):
    """In a partition layer the geometry overlaps a current neighbour by more than the layer's
    `overlapToleranceM2` (geodesic m²)."""

    code = "OVERLAP"

    def __init__(
        self,
        message: str,
        *,
        argument: str | None,
        neighbour_code: str,
        neighbour_name: str,
        overlap_m2: float,
        tolerance_m2: float,
    ) -> None:
        super().__init__(
            message,
            argument=argument,
            neighbourCode=neighbour_code,
            neighbourName=neighbour_name,
            overlapM2=overlap_m2,
            toleranceM2=tolerance_m2,
        )
        self.neighbour_code, self.neighbour_name = neighbour_code, neighbour_name
        self.overlap_m2, self.tolerance_m2 = overlap_m2, tolerance_m2


class VersionConflict(TowneError):
    """The territory was changed since the version the edit names: read it again and redo the edit."""

    code = "VERSION_CONFLICT"

    def __init__(
        self,
        message: str,
        *,
        current_version: int,
        changed_by: str | None,
        changed_at: Any,
        argument: str = "expectedVersion",
    ) -> None:
        super().__init__(
            message,
            argument=argument,
            currentVersion=current_version,
            changedBy=changed_by,
            changedAt=changed_at.isoformat() if changed_at is not None else None,
        )
        self.current_version, self.changed_by, self.changed_at = current_version, changed_by, changed_at


class CodeInUse(TowneError):
    """A layer or territory code that is taken (a retired territory keeps its code)."""

    code = "CODE_IN_USE"


class TerritoryRetired(TowneError):
    """The territory is retired: revert it to a version to restore it before editing it."""

    code = "TERRITORY_RETIRED"


class TerritoryHasHistory(TowneError):
    """A territory that ever had a site assigned is retired, never deleted (its history is kept)."""

    code = "TERRITORY_HAS_HISTORY"


class SplitFailed(TowneError):
    """The line does not cut the territory into pieces on both of its sides."""

    code = "SPLIT_FAILED"


class ImportRefused(TowneError):
    """A layer import with at least one refused feature: nothing was written; `features` lists each."""

    code = "IMPORT_REFUSED"

    def __init__(self, message: str, *, features: list[Any]) -> None:
        super().__init__(message, argument="features")
        self.features = features


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One refused field of a contract input: its path in GraphQL names, a stable rule name, a message."""

    path: str
    rule: str
    message: str


class InvalidContractInput(TowneError):
    """Contract header or configuration input refused (issue 10 §2): `problems` lists every field, nothing
    was written."""

    code = "INVALID_CONTRACT_INPUT"

    def __init__(self, message: str, *, problems: list[FieldProblem]) -> None:
        super().__init__(
            message,
            argument=problems[0].path if problems else None,
            problems=[{"path": p.path, "rule": p.rule, "message": p.message} for p in problems],
        )
        self.problems = problems


class OwnAmendment(TowneError):
    """The caller proposed the amendment: another billing admin must approve or reject it (four eyes)."""

    code = "OWN_AMENDMENT"


class AmendmentDecided(TowneError):
    """The amendment is no longer proposed (approved, rejected or withdrawn): nothing changed."""

    code = "AMENDMENT_DECIDED"


class AmendmentConflict(TowneError):
    """Since the amendment was proposed, another approved amendment changed the same part of the contract:
    approving it would silently undo that change. Propose it again on the current configuration."""

    code = "AMENDMENT_CONFLICT"

    def __init__(self, message: str, *, other_amendment: int, argument: str | None = None) -> None:
        super().__init__(message, argument=argument, otherAmendment=other_amendment)
        self.other_amendment = other_amendment

    def problem_fields(self) -> dict[str, Any]:
        return {"other_amendment": self.other_amendment}


class AmendmentOutOfOrder(TowneError):
    """An approved amendment from a later service period changes the same part: an earlier-dated change
    would have to be merged into it. Propose from that period or later, or amend that amendment's period."""

    code = "AMENDMENT_OUT_OF_ORDER"

    def __init__(self, message: str, *, other_amendment: int, argument: str | None = None) -> None:
        super().__init__(message, argument=argument, otherAmendment=other_amendment)
        self.other_amendment = other_amendment

    def problem_fields(self) -> dict[str, Any]:
        return {"other_amendment": self.other_amendment}


class ContractArchived(TowneError):
    """An archived contract is read-only: no amendment, no statement."""

    code = "CONTRACT_ARCHIVED"


class ContractNotActive(TowneError):
    """The contract is a draft (not activated yet) or archived: it bills nothing."""

    code = "CONTRACT_NOT_ACTIVE"


class ContractEnded(TowneError):
    """The service period starts after the contract's termination date or the end of its term."""

    code = "CONTRACT_ENDED"


# ------------------------------------------------------------- site management (issue 10 §1, Problem members)


class SiteNumberInUse(TowneError):
    """The site number of a new site is taken (domain.md §1.2: the business key is unique)."""

    code = "SITE_NUMBER_IN_USE"

    def __init__(self, message: str, *, site_number: str, argument: str = "input.siteNumber") -> None:
        super().__init__(message, argument=argument, siteNumber=site_number)
        self.site_number = site_number


class ZipNotGeocodable(TowneError):
    """No point was given and the ZIP (nor its 3-digit prefix in the state) is in the offline gazetteer."""

    code = "ZIP_NOT_GEOCODABLE"

    def __init__(self, message: str, *, zip_code: str, state: str, argument: str = "input.zip") -> None:
        super().__init__(message, argument=argument, zip=zip_code, state=state)
        self.zip_code, self.state = zip_code, state


class SiteChanged(TowneError):
    """The site was changed since the `updatedAt` the caller read (`expectedUpdatedAt`): nothing was written."""

    code = "SITE_CHANGED"

    def __init__(self, message: str, *, current_updated_at: Any, argument: str = "expectedUpdatedAt") -> None:
        super().__init__(message, argument=argument, currentUpdatedAt=current_updated_at.isoformat())
        self.current_updated_at = current_updated_at


class SiteClosed(TowneError):
    """The service period starts after the site's close date: nothing is billed for it (the period that
    contains the close date still bills, whole, domain.md §0.1: no pro-ration)."""

    code = "SITE_CLOSED"

    def __init__(self, message: str, *, site_number: str, close_date: Any, service_period: str) -> None:
        super().__init__(
            message, siteNumber=site_number, closeDate=close_date.isoformat(), servicePeriod=service_period
        )
        self.site_number, self.close_date, self.service_period = site_number, close_date, service_period


# ----------------------------------------------------------------------------- sending (issue 12 §2)


class StatementSending(TowneError):
    """The statement's current version has a send queued, running or UNCERTAIN (`Statement.sendJobs`): it is
    not edited, confirmed, regenerated or marked Sent meanwhile, so what is sent is what was reviewed. Wait for
    the send to finish, or settle an UNCERTAIN e-mail with `resolveSendJob`."""

    code = "STATEMENT_SENDING"

    def __init__(self, message: str, *, statement_id: uuid.UUID, channels: list[str]) -> None:
        super().__init__(message, statementId=str(statement_id), channels=channels)
        self.statement_id, self.channels = statement_id, channels

    def problem_fields(self) -> dict[str, Any]:
        return {"channels": self.channels}


class NoRecipients(TowneError):
    """An e-mail send was asked for a site with no billing contact address (`Site.billingContactEmails`):
    set one with `updateCustomerSite`, then send again."""

    code = "NO_RECIPIENTS"

    def __init__(self, message: str, *, site_number: str) -> None:
        super().__init__(message, siteNumber=site_number)
        self.site_number = site_number

    def problem_fields(self) -> dict[str, Any]:
        return {"site_number": self.site_number}


# ------------------------------------------------------------ closed accounting periods (issue 12 §3)


class PeriodClosed(TowneError):
    """The statement's service period (the month of P_start, domain.md §3.8) is closed: nothing of its
    statements is generated, regenerated, edited, confirmed or sent. Names the period and who closed it
    when; a billing admin can request reopening (a second one approves)."""

    code = "PERIOD_CLOSED"

    def __init__(self, message: str, *, period: str, closed_by: str, closed_at: Any) -> None:
        super().__init__(
            message,
            period=period,
            closedBy=closed_by,
            closedAt=closed_at.isoformat() if hasattr(closed_at, "isoformat") else str(closed_at),
        )
        self.period, self.closed_by, self.closed_at = period, closed_by, closed_at

    @classmethod
    def of(cls, *, period: str, closed_by: str, closed_at: Any) -> PeriodClosed:
        """The refusal for a period (YYYYMM) closed by `closed_by` at `closed_at` (an aware datetime)."""
        day = (
            closed_at.astimezone(dt.UTC).date().isoformat() if hasattr(closed_at, "astimezone") else closed_at
        )
        return cls(
            f"service period {period[:4]}-{period[4:]} is closed (closed by {closed_by} on {day}); "
            "a billing admin can request reopening",
            period=period,
            closed_by=closed_by,
            closed_at=closed_at,
        )


class PeriodNotEnded(TowneError):
    """A period is closed once it has ended: this one is the current month or later."""

    code = "PERIOD_NOT_ENDED"


class PeriodAlreadyClosed(TowneError):
    """The period is closed already (by whom, when, in the message)."""

    code = "PERIOD_ALREADY_CLOSED"


class PeriodNotClosed(TowneError):
    """The period is open: there is nothing to reopen."""

    code = "PERIOD_NOT_CLOSED"


class ReopenAlreadyRequested(TowneError):
    """A reopening of the period is requested already: another billing admin approves it."""

    code = "REOPEN_ALREADY_REQUESTED"


class NoReopenRequest(TowneError):
    """No reopening of the period is requested: `requestPeriodReopen` first."""

    code = "NO_REOPEN_REQUEST"


class OwnReopenRequest(TowneError):
    """The caller requested the reopening: another billing admin must approve it (four eyes)."""

    code = "OWN_REOPEN_REQUEST"


def all_error_classes() -> list[type[TowneError]]:
    """Every `TowneError` class, the base included (the mapping test walks this)."""
    found: list[type[TowneError]] = []
    stack: list[type[TowneError]] = [TowneError]
    while stack:
        cls = stack.pop()
        found.append(cls)
        stack.extend(cls.__subclasses__())
    return found


LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE when lock_timeout expires
QUERY_CANCELED = "57014"  # statement_timeout (or a cancel request)
PERIOD_CLOSED_SQLSTATE = "TP001"  # migration 0019's triggers: a write into a closed accounting period
# the server is going away or not yet there: admin/crash shutdown, cannot connect now; class 08: connection
_SERVER_GONE = ("57P01", "57P02", "57P03")
_CONNECTION_LOST = (
    "ConnectionDoesNotExistError",  # asyncpg: the connection was closed in the middle of an operation
    "CannotConnectNowError",
    "ConnectionFailureError",
)


# errnos of a network that does not get through (asyncio's "Multiple exceptions" is a plain OSError)
_NETWORK_ERRNOS = frozenset(
    {errno.ECONNREFUSED, errno.ECONNRESET, errno.ECONNABORTED, errno.EHOSTUNREACH, errno.ENETUNREACH,
     errno.ETIMEDOUT, errno.EPIPE}
)  # fmt: skip


def _network_failure(cause: BaseException) -> bool:
    """Connection refused, reset, unreachable, a connect timeout, a name that does not resolve; not any
    other `OSError` (a missing file is a bug, INTERNAL)."""
    return isinstance(cause, ConnectionError | TimeoutError | socket.gaierror) or (
        type(cause) is OSError and cause.errno in _NETWORK_ERRNOS
    )


def _connection_lost(cause: BaseException) -> bool:
    if not type(cause).__module__.startswith("asyncpg"):
        return False
    name = type(cause).__name__
    return name in _CONNECTION_LOST or (name == "InterfaceError" and "connection is closed" in str(cause))


def from_database(error: BaseException) -> TowneError | None:
    """A database failure a client can act on, as its error; None for any other (an internal one).

    Reads the SQLSTATE through SQLAlchemy's and the driver's wrapping (`orig`, `__cause__`): a lock timeout
    is BUSY, a statement timeout STATEMENT_TIMEOUT, no free connection in the pool SERVICE_BUSY, a database
    that cannot be reached, shuts down or dropped the connection SERVICE_UNAVAILABLE.
    """
    cause: BaseException | None = error
    for _ in range(6):
        if cause is None:
            break
        sqlstate = getattr(cause, "sqlstate", None)
        if sqlstate == LOCK_NOT_AVAILABLE:
            return Busy("the statement is being changed by another request; retry in a moment")
        if sqlstate == PERIOD_CLOSED_SQLSTATE:
            return _period_closed(cause)
        if sqlstate == QUERY_CANCELED:
            return StatementTimeout(
                "the request took too long in the database and was cancelled; ask for less"
            )
        if isinstance(cause, sqlalchemy_exc.TimeoutError):  # the pool's, not the builtin
            return ServiceBusy("the service is busy: no database connection became free; retry in a moment")
        if (
            (isinstance(sqlstate, str) and (sqlstate in _SERVER_GONE or sqlstate.startswith("08")))
            or (isinstance(cause, sqlalchemy_exc.DBAPIError) and cause.connection_invalidated)
            or _connection_lost(cause)
            or _network_failure(cause)
        ):
            return Unavailable("the database is not reachable right now; retry in a moment")
        cause = getattr(cause, "orig", None) or cause.__cause__
    return None


def _period_closed(cause: BaseException) -> PeriodClosed:
    """The trigger's refusal (DETAIL: JSON with period, closedBy, closedAt) as PERIOD_CLOSED; the detail is
    on the driver's exception, under SQLAlchemy's."""
    found: BaseException | None = cause
    for _ in range(4):
        detail = getattr(found, "detail", None)
        if isinstance(detail, str):
            try:
                data = json.loads(detail)
                closed_at = dt.datetime.fromisoformat(str(data["closedAt"]))
                return PeriodClosed.of(
                    period=str(data["period"]), closed_by=str(data["closedBy"]), closed_at=closed_at
                )
            except (ValueError, KeyError, TypeError):
                break
        found = getattr(found, "orig", None) or (found.__cause__ if found else None)
    return PeriodClosed(
        "the statement's service period is closed; a billing admin can request reopening",
        period="",
        closed_by="",
        closed_at="",
    )


def bad_input(error: Exception, argument: str) -> BadUserInput:
    """A pure library's `ValueError` (period, geometry, …) as `BAD_USER_INPUT` for `argument`."""
    return BadUserInput(str(error), argument=argument)
