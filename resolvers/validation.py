"""Argument checks at the API boundary: every value is checked here before any work, and a bad one is a
`BadUserInput` naming the argument and saying what would be accepted (nothing is written).

Strings in any argument are screened for NUL bytes and lone surrogates by `schema.guard` before a
resolver runs; the checks here are per kind of value.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from decimal import Decimal

from email_validator import EmailNotValidError, validate_email

import billing
from billing.money import round2
from resolvers.errors import BadUserInput, PageTooLarge

# Free text that is stored or searched (titles, descriptions, search strings): a limit a person can see.
TITLE_MAX = 200
DESCRIPTION_MAX = 2000
SEARCH_MAX = 200
CODE_MAX = 64
# The widest amount a numeric(14,2) column holds is 999,999,999,999.99.
AMOUNT_LIMIT = Decimal("1000000000000")
# Service periods the API bills or lists; beyond them date arithmetic of a period (next month, the
# accumulation year before it) leaves the range a business record can mean.
FIRST_PERIOD = billing.ServicePeriod(2000, 1)
LAST_PERIOD = billing.ServicePeriod(2099, 12)
# As-of instants: the history covers these (earlier instants read the first assignment, "since the start").
EARLIEST_AS_OF = dt.datetime(1800, 1, 1, tzinfo=dt.UTC)
LATEST_AS_OF = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)
# Offsets of cursors: far beyond any page a client reaches, far below PostgreSQL's bigint.
MAX_OFFSET = 10_000_000

_SITE_NUMBER = re.compile(r"[0-9]{1,4}")
_GL_CODE = re.compile(r"[0-9]{4}")
_LAYER_OR_TERRITORY_CODE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


def text(value: str, *, argument: str, max_length: int, required: bool = True) -> str:
    """`value` stripped; empty (when required) or longer than `max_length` characters is refused."""
    stripped = value.strip()
    if required and not stripped:
        raise BadUserInput(f"{argument} must not be empty", argument=argument)
    if len(stripped) > max_length:
        raise BadUserInput(
            f"{argument} is {len(stripped)} characters long; at most {max_length} are accepted",
            argument=argument,
        )
    return stripped


MAX_ADDRESSES = 10


def email_addresses(values: list[str] | None, *, argument: str) -> list[str]:
    """E-mail addresses, each checked as an address by email-validator (syntax only: no DNS lookup at the
    API boundary) and normalised (domain lower-cased, IDNA); at most `MAX_ADDRESSES`, no duplicates.
    None → []. The database holds the same invariant in a CHECK (migration 0017)."""
    if not values:
        return []
    if len(values) > MAX_ADDRESSES:
        raise BadUserInput(
            f"{argument}: at most {MAX_ADDRESSES} addresses, got {len(values)}", argument=argument
        )
    found: list[str] = []
    for index, value in enumerate(values):
        try:
            address = validate_email(value.strip(), check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise BadUserInput(
                f"{argument}[{index}]: {_show(value)} is not an e-mail address ({exc})", argument=argument
            ) from None
        if address.lower() in (a.lower() for a in found):
            raise BadUserInput(f"{argument}[{index}]: {address} is given twice", argument=argument)
        found.append(address)
    return found


def site_number(value: str, *, argument: str = "siteNumber") -> str:
    """A site number of 1–4 ASCII digits, returned zero-padded to 4 (domain.md §0.1)."""
    stripped = value.strip()
    if not _SITE_NUMBER.fullmatch(stripped):
        raise BadUserInput(
            f"{argument} must be a site number of 1 to 4 digits, e.g. 0349, got {_show(value)}",
            argument=argument,
        )
    return stripped.zfill(4)


def gl_code(value: str, *, argument: str) -> str:
    """A GL main account: exactly 4 ASCII digits, e.g. 4790 or 7000 (§3.8)."""
    stripped = value.strip()
    if not _GL_CODE.fullmatch(stripped):
        raise BadUserInput(
            f"{argument} must be a GL main account of 4 digits 0-9, e.g. 7000, got {_show(value)}",
            argument=argument,
        )
    return stripped


def code(value: str, *, argument: str) -> str:
    """A layer or territory code (lower-case letters, digits, `-`, `_`); existence is checked by the caller."""
    if not _LAYER_OR_TERRITORY_CODE.fullmatch(value):
        raise BadUserInput(
            f"{argument}: no layer or territory has the code {_show(value)}", argument=argument
        )
    return value


def amount(value: Decimal, *, argument: str, allow_zero: bool = False) -> Decimal:
    """A USD amount: finite, at most 2 decimals, within what the amount columns hold (±999,999,999,999.99)."""
    if not value.is_finite():
        raise BadUserInput(f"{argument} must be a number of dollars, got {value}", argument=argument)
    if not allow_zero and value == 0:
        raise BadUserInput(f"{argument} must not be zero", argument=argument)
    # adjusted(): the power of ten of the leading digit, read without arithmetic (1e999999999 stays cheap)
    if value.adjusted() >= 12:
        raise BadUserInput(
            f"{argument} must be less than 1,000,000,000,000.00 in absolute value, got {_show(str(value))}",
            argument=argument,
        )
    if value != round2(value):
        raise BadUserInput(
            f"{argument} must have at most two decimals (cents), got {value}", argument=argument
        )
    return round2(value)  # exact here: the value has cents at most


def service_period(value: str, *, argument: str = "servicePeriod") -> billing.ServicePeriod:
    """`YYYY-MM` between 2000-01 and 2099-12."""
    try:
        period = billing.ServicePeriod.parse(value)
    except billing.PeriodError as exc:
        raise BadUserInput(str(exc).replace("servicePeriod", argument, 1), argument=argument) from exc
    if not FIRST_PERIOD <= period <= LAST_PERIOD:
        raise BadUserInput(
            f"{argument} must be between {FIRST_PERIOD.key} and {LAST_PERIOD.key}, got {value!r}",
            argument=argument,
        )
    return period


def optional_period(value: str | None, *, argument: str = "servicePeriod") -> billing.ServicePeriod | None:
    return None if value is None else service_period(value, argument=argument)


def as_of(value: dt.datetime | None, *, argument: str = "asOf") -> dt.datetime | None:
    """An instant with a time-zone offset, 1800-01-01 … 2200-01-01 UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise BadUserInput(
            f"{argument} must carry a time zone offset, e.g. 2025-03-15T00:00:00Z", argument=argument
        )
    if not EARLIEST_AS_OF <= value <= LATEST_AS_OF:
        raise BadUserInput(
            f"{argument} must be between 1800-01-01 and 2200-01-01, got {value.isoformat()}",
            argument=argument,
        )
    return value


def page_size(value: int, *, argument: str = "first", maximum: int) -> int:
    """`value` when 0 ≤ value ≤ maximum; BAD_USER_INPUT below 0, PAGE_TOO_LARGE above `maximum`."""
    if value > maximum:
        raise PageTooLarge(f"{argument} must be between 0 and {maximum}, got {value}", argument=argument)
    if value < 0:
        raise BadUserInput(f"{argument} must be between 0 and {maximum}, got {value}", argument=argument)
    return value


def offset(value: int, *, argument: str) -> int:
    if not 0 <= value <= MAX_OFFSET:
        raise BadUserInput(
            f"{argument}: the cursor is beyond the last page this API serves", argument=argument
        )
    return value


def within_amount_limit(value: Decimal) -> bool:
    """Whether a total fits the amount columns, numeric(14,2)."""
    return abs(value) < AMOUNT_LIMIT


def identifier(value: str, *, argument: str) -> uuid.UUID:
    """An id this API returned (a UUID in ASCII hex)."""
    try:
        if not str(value).isascii():
            raise ValueError("not ASCII")
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise BadUserInput(
            f"{argument} must be an id returned by this API, got {_show(value)}", argument=argument
        ) from exc


def _show(value: str, limit: int = 40) -> str:
    """`repr` of a value, shortened so a long one does not flood the message."""
    return repr(value if len(value) <= limit else value[:limit] + "…")
