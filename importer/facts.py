"""Operating facts: CSV import and deterministic synthetic generation (domain.md §1.7).

Towne Park's real revenue, timesheets and ledger are not public. `generate` makes **synthetic** facts for
the real sites, deterministic per (site, month) — the same call always gives the same rows, whatever range
it is part of — and plausible for each site: revenue scaled by parking spaces (or rooms), codes taken from
the contract's revenue-share structures, bell collections where Bell Service is billed, deposits where Towne
Park deposits revenue, occupied rooms for hotels, timesheets for the contract's job codes, ledger balances
for the billable accounts, and the month's forecast and ready-for-invoice comments. Every generated row has
`synthetic = true`; rows imported from CSV (`synthetic = false`) are never overwritten by generation.

CSV files (UTF-8, header row, one file per table, named after the table) are imported all-or-nothing: every
row is validated first and any error (reported with its line number) leaves the table untouched.
"""

from __future__ import annotations

import asyncio
import calendar
import csv
import datetime as dt
import gc
import hashlib
import random
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import delete, exists, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from billing.facts import MINUTE_CATEGORIES
from db.models import (
    Contract,
    ContractComponent,
    CustomerSite,
    ForecastInternalRevenue,
    LaborHourJob,
    LedgerBalance,
    OccupiedRoomsDaily,
    ReadyForInvoiceComment,
    RevenueDaily,
    RevenueShareThreshold,
    TimesheetMinutes,
)
from importer.issues import ImportIssue

# Generated rows hold numbers at their column's scale, exactly as PostgreSQL returns them once stored
# (numeric(14, 2) money and rooms, numeric(7, 5) tax rates), so they can be used without reading them back.
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
TAX_RATE_SCALE = Decimal("0.00001")
# US federal holidays of the years the demo covers (holiday minutes are billed at the overtime rate, §2.2)
HOLIDAYS = {
    dt.date(2024, 1, 1), dt.date(2024, 5, 27), dt.date(2024, 7, 4), dt.date(2024, 9, 2),
    dt.date(2024, 11, 28), dt.date(2024, 12, 25), dt.date(2025, 1, 1), dt.date(2025, 1, 20),
    dt.date(2025, 5, 26), dt.date(2025, 7, 4), dt.date(2025, 9, 1), dt.date(2025, 11, 27),
    dt.date(2025, 12, 25), dt.date(2026, 1, 1), dt.date(2026, 5, 25), dt.date(2026, 7, 4),
}  # fmt: skip
BELL_COLLECTION_TYPES = ("Bell Service Fee", "Porterage", "Bag Drops", "Gratuities")
DEFAULT_REVENUE_CODES = ("VD1", "VO1", "SD1", "SM1", "ADJ")
DEFAULT_JOB_CODES = ("VAL", "GSA")
PAYROLL_ACCOUNTS = ("6000", "6002", "6015", "6017")
PTEB_ACCOUNTS = ("6200", "6399", "6500")
EXPENSE_ACCOUNTS = ("7000", "7010", "7011", "7017", "7080", "7082", "7099")


def _rng(*parts: object) -> random.Random:
    # Python's hash() is salted per process: derive a stable seed instead.
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _money(value: float) -> Decimal:
    cents = Decimal(repr(value)).quantize(CENT, rounding=ROUND_HALF_UP)
    return cents if cents else ZERO  # not -0.00: PostgreSQL has no negative zero


def months(first: str, last: str) -> list[tuple[int, int]]:
    """Calendar months from `first` to `last` inclusive, both `YYYY-MM`; `ValueError` names a bad bound."""
    bounds = []
    for name, value in (("from", first), ("to", last)):
        match = re.fullmatch(r"(\d{4})-(0[1-9]|1[0-2])", value)
        if not match:
            raise ValueError(f"--{name} must be YYYY-MM, got {value!r}")
        bounds.append((int(match[1]), int(match[2])))
    (y, m), end = bounds[0], bounds[1]
    if (y, m) > end:
        raise ValueError(f"--from {first} is after --to {last}")
    out = []
    while (y, m) <= end:
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


@dataclass
class SiteProfile:
    """What the generator needs to know about one site and its contract."""

    site_id: uuid.UUID
    site_number: str
    state: str
    entity: str
    spaces: int
    rooms: int
    blocks: frozenset[str]
    revenue_codes: tuple[str, ...]
    job_codes: tuple[str, ...]
    payroll_accounts: tuple[str, ...]
    expense_accounts: tuple[str, ...]
    deposits: bool


async def site_profiles(
    session: AsyncSession, site_numbers: Sequence[str] | None = None
) -> list[SiteProfile]:
    """Profiles of all sites (or the given site numbers), from the sites, contracts and configuration."""
    statement = select(CustomerSite, Contract).outerjoin(Contract, Contract.site_id == CustomerSite.id)
    if site_numbers:
        statement = statement.where(CustomerSite.site_number.in_([n.zfill(4) for n in site_numbers]))
    rows = (await session.execute(statement.order_by(CustomerSite.site_number))).all()
    contract_ids = [c.id for _, c in rows if c is not None]
    codes: dict[uuid.UUID, list[str]] = {}
    for contract_id, revenue_codes in await session.execute(
        select(RevenueShareThreshold.contract_id, RevenueShareThreshold.revenue_codes).where(
            RevenueShareThreshold.contract_id.in_(contract_ids)
        )
    ):
        codes.setdefault(contract_id, []).extend(revenue_codes)
    jobs: dict[uuid.UUID, list[str]] = {}
    for contract_id, job_code in await session.execute(
        select(LaborHourJob.contract_id, LaborHourJob.job_code).where(
            LaborHourJob.contract_id.in_(contract_ids)
        )
    ):
        jobs.setdefault(contract_id, []).append(job_code)
    accounts: dict[uuid.UUID, dict[str, Any]] = {}
    for contract_id, block, settings in await session.execute(
        select(
            ContractComponent.contract_id, ContractComponent.building_block, ContractComponent.settings
        ).where(ContractComponent.contract_id.in_(contract_ids))
    ):
        if block == "BILLABLE_ACCOUNTS":
            accounts[contract_id] = settings
        if block == "MANAGEMENT_AGREEMENT":
            for job in settings.get("per_labor_hour_job_code_data") or []:
                jobs.setdefault(contract_id, []).append(job["code"])
    profiles = []
    for site, contract in rows:
        blocks = frozenset(contract.building_blocks) if contract else frozenset()
        spaces = site.parking_spaces or (site.rooms or 0) // 2 or 120 + int(site.site_number) % 200
        settings = accounts.get(contract.id) if contract else None
        payroll = tuple(
            a["code"] for a in (settings or {}).get("payroll_accounts_data", []) if a["is_enabled"]
        )
        expense = tuple(
            a["code"] for a in (settings or {}).get("payroll_expense_accounts_data", []) if a["is_enabled"]
        )
        profiles.append(
            SiteProfile(
                site_id=site.id,
                site_number=site.site_number,
                state=site.state,
                entity=site.gl_string[:2],
                spaces=spaces,
                rooms=site.rooms or 0,
                blocks=blocks,
                revenue_codes=tuple(dict.fromkeys(codes.get(contract.id, ()) if contract else ()))
                or DEFAULT_REVENUE_CODES,
                job_codes=tuple(dict.fromkeys(jobs.get(contract.id, ()) if contract else ()))
                or DEFAULT_JOB_CODES,
                payroll_accounts=payroll[:8] or PAYROLL_ACCOUNTS,
                expense_accounts=tuple(sorted(set(expense[:10]) | {"7080", "7099"}))
                if expense
                else EXPENSE_ACCOUNTS,
                deposits=bool(contract and (contract.deposits or "DEPOSITED_REVENUE" in blocks)),
            )
        )
    return profiles


def _category(code: str) -> str:
    return {"V": "Valet Parking", "S": "Self Parking", "O": "Other Revenue", "A": "Adjustments"}[code[0]]


def tax_rate_of(state: str) -> Decimal:
    """A fixed synthetic parking-tax rate per state, 0–12 %."""
    return Decimal(_rng("tax", state).randint(0, 12)) / 100


@dataclass
class GeneratedMonth:
    """Rows of one site and month per table, as tuples in `TABLES` column order."""

    revenue: list[tuple[Any, ...]] = field(default_factory=list)
    rooms: list[tuple[Any, ...]] = field(default_factory=list)
    timesheets: list[tuple[Any, ...]] = field(default_factory=list)
    ledger: list[tuple[Any, ...]] = field(default_factory=list)
    comments: list[tuple[Any, ...]] = field(default_factory=list)


def generate_month(profile: SiteProfile, year: int, month: int) -> GeneratedMonth:
    """Synthetic facts of one site and month (rows as tuples in the tables' column order, synthetic=True).

    The hot loop of `generate`: what does not change within the month is computed before the daily loop.
    """
    out = GeneratedMonth()
    revenue, rooms, timesheets = out.revenue, out.rooms, out.timesheets
    rng = _rng("facts", profile.site_number, year, month)
    days = calendar.monthrange(year, month)[1]
    tax_rate = tax_rate_of(profile.state)
    divisor = 1 + tax_rate
    tax = tax_rate.quantize(TAX_RATE_SCALE)
    ticket = 12 + (int(profile.site_number) % 7) * 3  # USD per car per day
    site_id, spaces, deposits = profile.site_id, profile.spaces, profile.deposits
    codes = profile.revenue_codes
    # up to four daily sales codes (valet, self, adjustments; not monthly passes) with their share of gross
    sales = [
        (code, _category(code), share, code == "ADJ")
        for code, share in zip(
            [c for c in codes if c[0] in "VSA" and c[1:2] != "M"], (0.55, 0.25, 0.15, 0.05), strict=False
        )
    ]
    passes = [(c, _category(c)) for c in codes if c[1:2] == "M"][:1]
    validation_code, validation_category = codes[0], _category(codes[0])
    bell = "BELL_SERVICE" in profile.blocks or "OR1" in codes
    bell_base = profile.rooms or spaces
    hotel_rooms = profile.rooms
    jobs = [(code, max(240, int(spaces * 12 / (index + 1)))) for index, code in enumerate(profile.job_codes)]
    labor_minutes_total = 0
    for day in range(1, days + 1):
        date = dt.date(year, month, day)
        occupancy = rng.uniform(0.45, 0.8) * (1.15 if date.weekday() >= 5 else 1.0)
        gross = spaces * occupancy * ticket
        for code, category, share, adjustment in sales:
            amount = gross * share * rng.uniform(0.85, 1.15)
            if adjustment:
                amount = -amount * 0.02
            flag = "Y" if deposits and rng.random() < 0.85 else "N"
            external = _money(amount)
            net = (external / divisor).quantize(CENT, rounding=ROUND_HALF_UP)
            revenue.append(
                (site_id, date, code, category, "Credit Card", flag, external, net, ZERO,
                 tax if flag == "N" else None, True)
            )  # fmt: skip
        if day == 1:  # monthly passes are sold on the 1st
            for code, category in passes:
                external = _money(spaces * 0.1 * rng.uniform(80, 160))
                revenue.append(
                    (site_id, date, code, category, "Monthly Pass", "N", external,
                     (external / divisor).quantize(CENT, rounding=ROUND_HALF_UP), ZERO, tax, True)
                )  # fmt: skip
        validation = _money(gross * rng.uniform(0.01, 0.04))
        revenue.append(
            (site_id, date, validation_code, validation_category, "Validation", "V", ZERO, ZERO, validation,
             None, True)
        )  # fmt: skip
        if bell:
            collection = BELL_COLLECTION_TYPES[day % len(BELL_COLLECTION_TYPES)]
            bell_amount = _money(bell_base * rng.uniform(0.15, 0.35))
            revenue.append(
                (site_id, date, "OR1", "Other Revenue", collection, "N", bell_amount, bell_amount, ZERO, tax,
                 True)
            )  # fmt: skip
        if hotel_rooms:
            occupied = round(hotel_rooms * rng.uniform(0.6, 0.92))
            rooms.append((site_id, date, Decimal(occupied).quantize(CENT), True))
        holiday_date = date in HOLIDAYS
        for job_code, staff_minutes in jobs:
            regular = int(staff_minutes * rng.uniform(0.8, 1.1))
            minutes = dict.fromkeys(MINUTE_CATEGORIES, 0)
            if holiday_date:
                minutes["holiday"] = regular // 3
                regular -= minutes["holiday"]
            minutes["regular"] = regular
            if rng.random() < 0.3:
                minutes["regular_next_day"] = rng.choice((15, 30, 45, 60))
            if rng.random() < 0.2:
                minutes["overtime"] = rng.randint(15, 240)
            if rng.random() < 0.03:
                minutes["double_overtime"] = rng.randint(15, 120)
            labor_minutes_total += sum(minutes.values())
            timesheets.append((site_id, date, job_code, *minutes.values(), True))
    period = f"{year:04d}{month:02d}"
    payroll = labor_minutes_total / 60 * rng.uniform(17, 23)
    weights = [rng.uniform(0.5, 1.5) for _ in profile.payroll_accounts]
    for account, weight in zip(profile.payroll_accounts, weights, strict=True):
        out.ledger.append(
            (profile.site_id, period, account, profile.entity, _money(payroll * weight / sum(weights)), True)
        )
    for account, share in zip(PTEB_ACCOUNTS, (0.6, 0.25, 0.15), strict=True):
        out.ledger.append(
            (profile.site_id, period, account, profile.entity, _money(payroll * 0.27 * share), True)
        )
    for account in profile.expense_accounts:
        if account.startswith("709") and rng.random() < 0.7:  # claims are occasional
            continue
        amount = payroll * (0.03 if account in ("7080", "7082", "7085") else rng.uniform(0.002, 0.02))
        out.ledger.append((profile.site_id, period, account, profile.entity, _money(amount), True))
    # a small intercompany balance on entity 06, which billing must ignore (§2.9)
    out.ledger.append((profile.site_id, period, "7010", "06", _money(payroll * 0.001), True))
    if rng.random() < 0.04:
        out.comments.append(
            (profile.site_id, period, "SYNTHETIC: hold for AR review (validation report late)", True)
        )
    return out


REVENUE_COLUMNS = (
    "site_id", "date", "revenue_code", "category", "collection_type", "deposit_flag", "external_revenue",
    "net_external_revenue", "billable_net_validation", "tax_rate", "synthetic",
)  # fmt: skip
TABLES: dict[str, tuple[Any, tuple[str, ...], tuple[str, ...]]] = {
    # table: (model, columns in tuple order, unique key)
    "revenue_daily": (
        RevenueDaily,
        REVENUE_COLUMNS,
        ("site_id", "date", "revenue_code", "category", "collection_type", "deposit_flag"),
    ),
    "occupied_rooms_daily": (
        OccupiedRoomsDaily,
        ("site_id", "date", "rooms", "synthetic"),
        ("site_id", "date"),
    ),
    "timesheet_minutes": (
        TimesheetMinutes,
        ("site_id", "date", "job_code", *MINUTE_CATEGORIES, "synthetic"),
        ("site_id", "date", "job_code"),
    ),
    "ledger_balance": (
        LedgerBalance,
        ("site_id", "period", "main_account", "entity", "balance", "synthetic"),
        ("site_id", "period", "main_account", "entity"),
    ),
    "forecast_internal_revenue": (
        ForecastInternalRevenue,
        ("site_id", "period", "amount", "synthetic"),
        ("site_id", "period"),
    ),
    "ready_for_invoice_comment": (
        ReadyForInvoiceComment,
        ("site_id", "period", "comment", "synthetic"),
        ("site_id", "period"),
    ),
}

# the tables the engine reads rows of (`db.repositories.facts.load_facts`), which the forecast takes from memory
FACT_ROW_TABLES = ("revenue_daily", "occupied_rooms_daily", "timesheet_minutes", "ledger_balance")
# (table, GeneratedMonth attribute) in the order `generate` writes them
WRITE_ORDER = (
    ("revenue_daily", "revenue"),
    ("occupied_rooms_daily", "rooms"),
    ("timesheet_minutes", "timesheets"),
    ("ledger_balance", "ledger"),
    ("ready_for_invoice_comment", "comments"),
)


async def copy_rows(session: AsyncSession, table: str, rows: Iterable[tuple[Any, ...]]) -> int:
    """Bulk-write rows with `COPY`; existing rows with the same key are kept (`ON CONFLICT DO NOTHING`), so
    generation never overwrites imported real rows. Returns rows written.

    The rows are first copied straight into the table inside a savepoint: when no key is taken (always on a
    fresh database) that is all. A key that is taken aborts that `COPY` (unique violation); the savepoint
    undoes it and the rows go through a temporary table and `INSERT … ON CONFLICT DO NOTHING` instead.
    """
    _, columns, key = TABLES[table]
    return await copy_records(session, table, columns, key, rows)


async def copy_records(
    session: AsyncSession,
    table: str,
    columns: Sequence[str],
    key: Sequence[str],
    rows: Iterable[tuple[Any, ...]],
) -> int:
    """`copy_rows` for any table: `rows` are tuples in `columns` order, `key` the columns of its unique key."""
    records = list(rows)
    if not records:
        return 0
    connection = await session.connection()
    raw = (await connection.get_raw_connection()).driver_connection
    assert raw is not None
    try:
        async with raw.transaction():  # nested in the session's transaction: a savepoint
            await raw.copy_records_to_table(table, records=records, columns=list(columns))
        return len(records)
    except asyncpg.UniqueViolationError:
        pass
    staging = f"staging_{table}"
    await raw.execute(f"CREATE TEMP TABLE {staging} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DROP")
    await raw.copy_records_to_table(staging, records=records, columns=list(columns))
    column_list = ", ".join(columns)
    status = await raw.execute(
        f"INSERT INTO {table} ({column_list}) SELECT {column_list} FROM {staging} "
        f"ON CONFLICT ({', '.join(key)}) DO NOTHING"
    )
    await raw.execute(f"DROP TABLE {staging}")
    return int(status.split()[-1])


@dataclass
class GenerateSummary:
    months: list[tuple[int, int]]
    sites: int
    rows: dict[str, int] = field(default_factory=dict)


async def delete_synthetic(
    session: AsyncSession, site_ids: Sequence[uuid.UUID], span: Sequence[tuple[int, int]]
) -> bool:
    """Delete the synthetic facts of the sites in the months of `span`. True when rows of these sites (real
    ones) are left in those months of a table whose rows the engine reads (`FACT_ROW_TABLES`)."""
    start = dt.date(span[0][0], span[0][1], 1)
    end = dt.date(span[-1][0], span[-1][1], calendar.monthrange(*span[-1])[1])
    periods = [f"{y:04d}{m:02d}" for y, m in span]
    left = False
    for table, (model, _, _) in TABLES.items():
        in_range = model.date.between(start, end) if hasattr(model, "date") else model.period.in_(periods)
        await session.execute(
            delete(model).where(model.site_id.in_(site_ids), model.synthetic.is_(True), in_range)
        )
        if table in FACT_ROW_TABLES and not left:
            left = bool(await session.scalar(select(exists().where(model.site_id.in_(site_ids), in_range))))
    return left


async def generate(
    session: AsyncSession,
    first: str,
    last: str,
    *,
    site_numbers: Sequence[str] | None = None,
    with_forecast: bool = True,
    progress: Callable[[str], None] | None = None,
) -> GenerateSummary:
    """Replace the synthetic facts of the sites for the months `first`..`last` (`YYYY-MM`), then (unless
    `with_forecast` is False) the synthetic forecast computed from them (`importer.forecast`)."""
    from importer.forecast import GeneratedForecast, forecast_rows  # the forecast runs the billing engine

    span = months(first, last)
    profiles = await site_profiles(session, site_numbers)
    summary = GenerateSummary(span, len(profiles))
    real_rows_left = await delete_synthetic(session, [p.site_id for p in profiles], span)
    # the forecast from the generated rows themselves, when the months hold no other row of these sites
    forecast = None
    if with_forecast and not real_rows_left:
        forecast = await GeneratedForecast.prepare(session, profiles, span)
    complete = True  # every generated row was written

    async def write(generated: dict[uuid.UUID, GeneratedMonth]) -> None:
        nonlocal complete
        for table, attribute in WRITE_ORDER:
            rows = [row for g in generated.values() for row in getattr(g, attribute)]
            written = await copy_rows(session, table, rows)
            summary.rows[table] = summary.rows.get(table, 0) + written
            complete = complete and written == len(rows)

    # A month is written (COPY: the server's work) while the next one is generated (Python's): generation
    # yields to the event loop after each site so that the COPY keeps streaming. The writes keep their
    # order (one month after the other, in the one transaction) and nothing else uses the connection
    # meanwhile: generation and `GeneratedForecast.add_month` do not touch the database.
    # The cyclic GC is off meanwhile: the rows kept until written are a million tuples it would scan again
    # and again, though they form no cycle: some 40 % of generate_month's CPU time (docs/benchmarks.md).
    writing: asyncio.Task[None] | None = None
    collecting = gc.isenabled()
    gc.disable()
    try:
        for year, month in span:
            if progress:
                progress(f"{year:04d}-{month:02d}")
            generated: dict[uuid.UUID, GeneratedMonth] = {}
            for profile in profiles:
                generated[profile.site_id] = generate_month(profile, year, month)
                await asyncio.sleep(0)
            if forecast is not None:
                await forecast.add_month(year, month, generated)
            if writing is not None:
                await writing
            writing = asyncio.create_task(write(generated))
        if writing is not None:
            await writing
    finally:  # on an error, stop a write in progress (the caller's rollback undoes the others)
        if writing is not None:
            writing.cancel()
            await asyncio.gather(writing, return_exceptions=True)
        if collecting:
            gc.enable()
    if with_forecast:
        if progress:
            progress("forecast")
        if forecast is not None and complete:
            rows = forecast.rows
        else:  # real rows in the months, or a generated row not written: the forecast reads the facts back
            rows = await forecast_rows(session, profiles, span)
        summary.rows["forecast_internal_revenue"] = await copy_rows(
            session, "forecast_internal_revenue", rows
        )
    await session.execute(text("ANALYZE revenue_daily, timesheet_minutes, ledger_balance"))
    return summary


# ---------------------------------------------------------------------------------------------------------
# CSV import


def _parse_decimal(value: str, column: str) -> Decimal:
    try:
        number = Decimal(value.strip())
    except InvalidOperation as exc:
        raise ValueError(f"{column} {value!r} is not a number") from exc
    if not number.is_finite():
        raise ValueError(f"{column} {value!r} is not a finite number")
    return number


def _parse_int(value: str, column: str) -> int:
    text_value = value.strip() or "0"
    if not re.fullmatch(r"\d+", text_value):
        raise ValueError(f"{column} {value!r} is not a whole number of minutes ≥ 0")
    return int(text_value)


def _parse_date(value: str, column: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError as exc:
        raise ValueError(f"{column} {value!r} is not a YYYY-MM-DD date") from exc


def _parse_period(value: str, column: str) -> str:
    if not re.fullmatch(r"\d{4}(0[1-9]|1[0-2])", value.strip()):
        raise ValueError(f"{column} {value!r} is not a YYYYMM period")
    return value.strip()


Parser = Callable[[dict[str, str], uuid.UUID], tuple[Any, ...]]


def _revenue(row: dict[str, str], site_id: uuid.UUID) -> tuple[Any, ...]:
    flag = row["deposit_flag"].strip().upper()
    if flag not in ("Y", "N", "V"):
        raise ValueError(f"deposit_flag {row['deposit_flag']!r} must be Y, N or V")
    tax = row.get("tax_rate", "").strip()
    tax_rate = _parse_decimal(tax, "tax_rate") if tax else None
    if tax_rate is not None and not 0 <= tax_rate < 1:
        raise ValueError(f"tax_rate {tax!r} must be a fraction in [0, 1) (0.10 = 10 %)")
    if not row["revenue_code"].strip() or not row["category"].strip():
        raise ValueError("revenue_code and category are required")
    return (
        site_id, _parse_date(row["date"], "date"), row["revenue_code"].strip(), row["category"].strip(),
        row.get("collection_type", "").strip() or None, flag,
        _parse_decimal(row.get("external_revenue", "0") or "0", "external_revenue"),
        _parse_decimal(row.get("net_external_revenue", "0") or "0", "net_external_revenue"),
        _parse_decimal(row.get("billable_net_validation", "0") or "0", "billable_net_validation"),
        tax_rate, False,
    )  # fmt: skip


def _rooms(row: dict[str, str], site_id: uuid.UUID) -> tuple[Any, ...]:
    rooms = _parse_decimal(row["rooms"], "rooms")
    if rooms < 0:
        raise ValueError(f"rooms {row['rooms']!r} must not be negative")
    return (site_id, _parse_date(row["date"], "date"), rooms, False)


def _timesheet(row: dict[str, str], site_id: uuid.UUID) -> tuple[Any, ...]:
    if not row["job_code"].strip():
        raise ValueError("job_code is required")
    minutes = [_parse_int(row.get(c, "0") or "0", c) for c in MINUTE_CATEGORIES]
    return (site_id, _parse_date(row["date"], "date"), row["job_code"].strip(), *minutes, False)


def _ledger(row: dict[str, str], site_id: uuid.UUID) -> tuple[Any, ...]:
    if not row["main_account"].strip() or not row["entity"].strip():
        raise ValueError("main_account and entity are required")
    return (
        site_id, _parse_period(row["period"], "period"), row["main_account"].strip(), row["entity"].strip(),
        _parse_decimal(row["balance"], "balance"), False,
    )  # fmt: skip


def _forecast(row: dict[str, str], site_id: uuid.UUID) -> tuple[Any, ...]:
    return (site_id, _parse_period(row["period"], "period"), _parse_decimal(row["amount"], "amount"), False)


def _comment(row: dict[str, str], site_id: uuid.UUID) -> tuple[Any, ...]:
    if not row["comment"].strip():
        raise ValueError("comment is empty")
    return (site_id, _parse_period(row["period"], "period"), row["comment"].strip(), False)


PARSERS: dict[str, tuple[Parser, tuple[str, ...]]] = {
    # table: (parser, required columns besides site_number)
    "revenue_daily": (_revenue, ("date", "revenue_code", "category", "deposit_flag")),
    "occupied_rooms_daily": (_rooms, ("date", "rooms")),
    "timesheet_minutes": (_timesheet, ("date", "job_code")),
    "ledger_balance": (_ledger, ("period", "main_account", "entity", "balance")),
    "forecast_internal_revenue": (_forecast, ("period", "amount")),
    "ready_for_invoice_comment": (_comment, ("period", "comment")),
}


class FactsFileError(ValueError):
    """A facts CSV had errors: nothing of it was written. `issues` lists every bad row with its line."""

    def __init__(self, path: Path, issues: list[ImportIssue]) -> None:
        shown = "\n".join(f"  {i}" for i in issues[:50])
        more = f"\n  … and {len(issues) - 50} more" if len(issues) > 50 else ""
        super().__init__(f"{path.name}: {len(issues)} error(s), nothing imported\n{shown}{more}")
        self.issues = issues


def table_of(path: Path) -> str:
    name = path.stem.lower()
    if name not in PARSERS:
        raise ValueError(
            f"{path.name}: the file name must be one of {', '.join(f'{t}.csv' for t in PARSERS)}"
        )
    return name


async def import_csv(session: AsyncSession, path: Path) -> int:
    """Import one facts CSV, all or nothing; existing rows with the same key get the file's values.

    Raises `FactsFileError` (with every bad line) or `ValueError` (unknown file name, missing columns).
    """
    table = table_of(path)
    parser, required = PARSERS[table]
    site_ids = dict((await session.execute(select(CustomerSite.site_number, CustomerSite.id))).all())
    issues: list[ImportIssue] = []
    rows: list[tuple[Any, ...]] = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in ("site_number", *required) if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path.name}: missing column(s) {', '.join(missing)}")
        for record in reader:
            number = (record.get("site_number") or "").strip().zfill(4)
            site_id = site_ids.get(number)
            try:
                if site_id is None:
                    raise ValueError(f"unknown site_number {record.get('site_number')!r}")
                rows.append(parser(record, site_id))
            except (ValueError, KeyError, TypeError) as exc:
                issues.append(ImportIssue(path.name, reader.line_num, str(exc), True))
    if issues:
        raise FactsFileError(path, issues)
    model, columns, key = TABLES[table]
    keys = [tuple(row[columns.index(k)] for k in key) for row in rows]
    duplicates = len(keys) - len(set(keys))
    if duplicates:
        raise FactsFileError(
            path, [ImportIssue(path.name, None, f"{duplicates} rows repeat a key ({', '.join(key)})", True)]
        )
    async with session.begin_nested():
        # replace rows with the same key, then insert: the file's values win, all in one savepoint
        for start in range(0, len(rows), 5000):
            chunk = rows[start : start + 5000]
            await session.execute(
                delete(model).where(
                    tuple_(*(getattr(model, k) for k in key)).in_(
                        [tuple(r[columns.index(k)] for k in key) for r in chunk]
                    )
                )
            )
        return await copy_rows(session, table, rows)
