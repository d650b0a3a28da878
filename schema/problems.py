"""The one error table (design.md §17): each `TowneError` code → its `Problem` union member (expected failures
of mutations, returned as data), its GraphQL `extensions.code` (the code itself) and its HTTP status (REST
routes such as `/statements/{id}/gl-export.csv`). A code without a member is always a GraphQL error.

`tests/test_errors.py` asserts every class of `resolvers.errors` is in `ERRORS`.
"""

from __future__ import annotations

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
    elif member is InternalProblem:
        extra = {"request_id": str(error.extensions.get("requestId", ""))}
    return member(code=error.code, message=error.message, **extra)
