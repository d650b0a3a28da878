"""`towne`: the command line of the product.

towne run [--port 8000]        database up → migrations → import if empty → serve (what `make run` does)
towne migrate                   alembic upgrade head
towne import [--data-dir DIR]   import the real data (idempotent) and print a summary
towne assign [--layer CODE]     point-in-polygon assignment, one statement per layer
towne serve [--port 8000] [--workers N]   serve the GraphQL API (N worker processes, default the CPU count)
towne facts generate --from 2025-01 --to 2025-06 [--site 0349 …]   SYNTHETIC operating facts
towne facts import FILE.csv …   operating facts from CSV named after the table (all or nothing per file)
towne escalate [--date D | --from D --to D]   apply the increments and escalators due (§2.14); renew or
                                              expire ended terms and report renewal notices due
towne demo-terms [--date D]                   SYNTHETIC contract terms for the demo (term_synthetic)
towne demo-forecast [--year 2025] [--site 0349 …]   SYNTHETIC forecast facts (statistics, rates, budgets …)
towne schema [--write]          print the GraphQL SDL, or regenerate schema.graphql (the committed contract)
towne db up|stop|url            the embedded PostgreSQL cluster (when DATABASE_URL is unset)
towne token --role ROLE [--sites 0349,0212] [--territories districts:orlando] [--ttl 8h] [--subject S]
                                upsert a development user with these grants; print a bearer token (only)
towne user add SUBJECT --role billingAdmin [--email E]   create or update a user (production bootstrap)
towne user list | towne user disable SUBJECT
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console

from server.settings import REPO_ROOT, Settings, app_role_url, get_settings, normalise_url

console = Console(stderr=True)


def database_url(settings: Settings) -> str:
    """`DATABASE_URL`, or the embedded development cluster, brought up (and installed) when needed."""
    if settings.database_url:
        return normalise_url(settings.database_url)
    from server import devdb

    return devdb.ensure_database(settings.database_name)


# `towne db url --role`: who connects (migration 0008 creates the application role, 0009 the GIS editors')
DB_ROLES = ("owner", "app", "gis-editor")
GIS_EDITOR_ROLE = "towne_gis_editor"


def role_url(settings: Settings, owner_url: str, *, role: str, libpq: bool) -> str:
    """`owner_url` as `role` connects: the owner as it is, else with that role as the user and no password
    (the embedded cluster trusts loopback; on a supplied server QGIS or psql asks for the password the DBA
    set). `libpq`: `postgresql://…` without SQLAlchemy's driver suffix, for psql, QGIS and libpq."""
    from sqlalchemy.engine import make_url

    url = make_url(owner_url)
    if role == "app":
        url = make_url(app_role_url(settings, owner_url))
    elif role == "gis-editor":
        url = url.set(username=GIS_EDITOR_ROLE)._replace(password=None)
    if libpq:
        url = url.set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def migrate(url: str) -> None:
    """Bring the schema to `head` (migrations are the only way the schema is built)."""
    from alembic import command
    from alembic.config import Config

    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "head")


async def _import(url: str, data_dir: Path, *, only_if_empty: bool) -> None:
    from sqlalchemy import func, select

    from db.database import Database
    from db.models import CustomerSite
    from importer.run import import_all, print_summary

    database = Database.from_url(url)
    try:
        if only_if_empty:
            async with database.read() as session:
                count = (await session.execute(select(func.count()).select_from(CustomerSite))).scalar_one()
            if count:
                console.print(f"Database holds {count} sites: nothing to import.")
                return
        started = time.perf_counter()
        async with database.transaction() as session:
            summary = await import_all(session, data_dir, console=console)
        print_summary(summary, console)
        console.print(f"Imported in {time.perf_counter() - started:.1f} s.")
    finally:
        await database.dispose()


async def _assign(url: str, layer: str | None, cluster: bool = False) -> int:
    from sqlalchemy import select

    from db.database import Database
    from db.models import TerritoryLayer
    from db.repositories.assignments import UnknownLayerError, assign_layer, cluster_sites

    database = Database.from_url(url)
    try:
        if cluster:
            async with database.transaction() as session:
                await cluster_sites(session)
            console.print("customer_site clustered on its location index.")
        async with database.transaction() as session:
            codes = (
                [layer]
                if layer
                else list(
                    (await session.execute(select(TerritoryLayer.code).order_by(TerritoryLayer.id))).scalars()
                )
            )
            for code in codes:
                try:
                    result = await assign_layer(session, layer_code=code)
                except UnknownLayerError as exc:
                    console.print(f"[red]{exc}[/red]")
                    return 2
                console.print(f"Layer {code}: {result}")
    finally:
        await database.dispose()
    return 0


async def _facts_generate(url: str, first: str, last: str, sites: list[str] | None) -> int:
    from db.database import Database
    from importer.facts import generate

    database = Database.from_url(url)
    started = time.perf_counter()
    try:
        async with database.transaction() as session:
            with console.status("Generating synthetic operating facts") as status:
                summary = await generate(
                    session,
                    first,
                    last,
                    site_numbers=sites,
                    progress=lambda m: status.update(f"Generating {m}"),
                )
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        return 2
    finally:
        await database.dispose()
    span = f"{summary.months[0][0]}-{summary.months[0][1]:02d}..{summary.months[-1][0]}-{summary.months[-1][1]:02d}"
    console.print(
        f"SYNTHETIC facts for {summary.sites} sites, {span} ({time.perf_counter() - started:.1f} s):"
    )
    for table, count in summary.rows.items():
        console.print(f"  {table}: {count} rows")
    return 0


DEMO_MONTHS = ("2025-01", "2025-06")


async def _has_rows(url: str, table: str) -> bool:
    """Whether `table` (a fixed name of ours) holds any row."""
    from sqlalchemy import text

    from db.database import Database

    database = Database.from_url(url)
    try:
        async with database.read() as session:
            return bool((await session.execute(text(f"SELECT EXISTS (SELECT 1 FROM {table})"))).scalar_one())
    finally:
        await database.dispose()


async def _facts_if_empty(url: str) -> None:
    """`make run` on an empty database: SYNTHETIC operating facts for the demo months."""
    if not await _has_rows(url, "revenue_daily"):
        await _facts_generate(url, *DEMO_MONTHS, None)
        await _demo_terms(url, dt.datetime.now(dt.UTC).date())


DEMO_FORECAST_YEAR = 2025


async def _forecast_inputs_if_empty(url: str) -> None:
    """`make run`: SYNTHETIC forecast facts of the demo year when the database has none (also on a database
    made before migration 0016, whose operating facts exist already)."""
    if not await _has_rows(url, "budget_value"):
        await _demo_forecast(url, DEMO_FORECAST_YEAR, None)


async def _contacts_if_empty(url: str) -> None:
    """`make run`: SYNTHETIC billing contacts (`importer.contacts`) for sites without any, so the demo's
    statements can be e-mailed (to the development mail sink)."""
    from db.database import Database
    from importer.contacts import give_demo_contacts

    database = Database.from_url(url)
    try:
        async with database.transaction() as session:
            given = await give_demo_contacts(session)
    finally:
        await database.dispose()
    if given:
        console.print(f"SYNTHETIC billing contacts given to {given} sites (ap-NNNN@example.com)")


async def _demo_forecast(url: str, year: int, sites: list[str] | None) -> int:
    """SYNTHETIC forecast facts (`importer.forecast_inputs`) for `year`, so `forecast(siteNumber, year)` has
    statistics, rates, payroll hours and budgets to read."""
    from db.database import Database
    from importer.forecast_inputs import generate_forecast_inputs

    database = Database.from_url(url)
    started = time.perf_counter()
    try:
        async with database.transaction() as session:
            summary = await generate_forecast_inputs(session, year, site_numbers=sites)
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        return 2
    finally:
        await database.dispose()
    console.print(
        f"SYNTHETIC forecast facts of {summary.year} for {summary.sites} sites "
        f"({time.perf_counter() - started:.1f} s):"
    )
    for table, count in summary.rows.items():
        console.print(f"  {table}: {count} rows")
    return 0


async def _demo_terms(url: str, anchor: dt.date) -> int:
    """SYNTHETIC contract terms (the PROD export has none), so the renewal queries show something."""
    from db.database import Database
    from importer.terms import generate_terms

    database = Database.from_url(url)
    try:
        async with database.transaction() as session:
            given = await generate_terms(session, anchor=anchor)
    finally:
        await database.dispose()
    console.print(f"SYNTHETIC terms given to {given} evergreen contracts (contract.term_synthetic)")
    return 0


async def _facts_import(url: str, paths: list[Path]) -> int:
    from db.database import Database
    from importer.facts import FactsFileError, import_csv

    database = Database.from_url(url)
    failed = 0
    try:
        for path in paths:
            try:
                async with database.transaction() as session:
                    count = await import_csv(session, path)
            except (FactsFileError, ValueError, OSError) as exc:
                failed += 1
                console.print(f"[red]{exc}[/red]", markup=True, highlight=False)
                continue
            console.print(f"{path.name}: {count} rows imported")
    finally:
        await database.dispose()
    return 1 if failed else 0


async def _escalate(url: str, first: dt.date, last: dt.date) -> int:
    from sqlalchemy import text

    from db.database import Database
    from resolvers.amendments import run_term_job
    from resolvers.escalations import run_escalations

    database = Database.from_url(url)
    changes = 0
    try:
        day = first
        while day <= last:
            async with database.transaction() as session:
                # the audit trail's operation (migration 0013): the job, not `sql:UPDATE`
                await session.execute(text("SELECT set_config('towne.operation', 'towne escalate', true)"))
                report = await run_escalations(session, on=day)
                # terms: renewals, expiries and notices due (issue 10 §4)
                terms = await run_term_job(session, on=day)
            for change in [*report.changes, *terms]:
                console.print(f"{day}: {change}", markup=False)
            changes += len(report.changes) + len(terms)
            day += dt.timedelta(days=1)
    finally:
        await database.dispose()
    console.print(f"Escalation job {first}..{last}: {changes} change(s).")
    return 0


def _schema(*, write: bool) -> int:
    from schema.contract import SDL_FILE, changes, sdl

    text = sdl()
    if not write:
        sys.stdout.write(text)
        return 0
    if SDL_FILE.exists():
        breaking, dangerous = changes(SDL_FILE.read_text(encoding="utf-8"), text)
        for change in breaking:
            console.print(f"[red]breaking[/red] {change}", markup=True, highlight=False)
        for change in dangerous:
            console.print(f"[yellow]dangerous[/yellow] {change}", markup=True, highlight=False)
    SDL_FILE.write_text(text, encoding="utf-8")
    console.print(f"wrote {SDL_FILE.name}")
    return 0


def serve(url: str, host: str, port: int, workers: int) -> None:
    """uvicorn with `workers` processes behind one port; each builds its app from the environment
    (`server.app:app_from_environment`), so the database URL (the embedded cluster's included) goes there.
    Workers share nothing but the database: any of them may answer any request."""
    import os

    import uvicorn

    os.environ["DATABASE_URL"] = url
    console.print(f"GraphQL API:  http://{host}:{port}/graphql  (GraphiQL in the browser)")
    console.print(f"Ready check: http://{host}:{port}/readyz  ·  a token: towne token --role billingManager")
    console.print(f"{workers} worker process{'es' if workers > 1 else ''}")
    uvicorn.run(
        "server.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        # every request already has its JSON line from server.observe (with status, duration, statements)
        access_log=False,
    )


def default_workers(settings: Settings) -> int:
    """`TOWNE_WORKERS`, else the CPU count this process may use."""
    import os

    if settings.workers:
        return settings.workers
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


async def _grant(url: str, subject: str, grants: object, granted_by: str, email: str | None = None) -> int:
    from db.database import Database
    from db.repositories.users import Grants, upsert_user

    assert isinstance(grants, Grants)
    database = Database.from_url(url)
    try:
        async with database.transaction() as session:
            return await upsert_user(
                session, subject=subject, grants=grants, granted_by=granted_by, email=email
            )
    finally:
        await database.dispose()


def _token(settings: Settings, url: str, args: argparse.Namespace) -> int:
    """`towne token`: the user is upserted with exactly these grants (replacing earlier ones), then a token
    naming its subject is printed bare on stdout, so `TOKEN=$(towne token --role …)` works."""
    from db.repositories.users import Grants, UnknownGrant
    from server.tokens import issue, parse_ttl

    try:
        ttl = parse_ttl(args.ttl)
        grants = Grants(
            roles=_split(args.role), site_numbers=_split(args.sites), territories=_split(args.territories)
        )
        subject = args.subject or "dev-" + "-".join(grants.roles or ("nobody",)).lower()
        asyncio.run(_grant(url, subject, grants, granted_by="cli"))
    except (ValueError, UnknownGrant) as exc:
        console.print(f"[red]{exc}[/red]")
        return 2
    print(issue(settings, subject, ttl=ttl))
    console.print(f"token for {subject} ({', '.join(grants.roles) or 'no role'}), valid {args.ttl}")
    return 0


async def _users(url: str, args: argparse.Namespace) -> int:
    from db.database import Database
    from db.repositories.users import Grants, UnknownGrant, set_active, upsert_user, users

    database = Database.from_url(url)
    try:
        async with database.transaction() as session:
            if args.user_command == "add":
                grants = Grants(
                    roles=_split(args.role),
                    site_numbers=_split(args.sites),
                    territories=_split(args.territories),
                )
                try:
                    await upsert_user(
                        session, subject=args.subject, grants=grants, granted_by="cli", email=args.email
                    )
                except UnknownGrant as exc:
                    console.print(f"[red]{exc}[/red]")
                    return 2
                console.print(f"user {args.subject}: {', '.join(grants.roles) or 'no role'}")
            elif args.user_command == "disable":
                if not await set_active(session, subject=args.subject, active=False):
                    console.print(f"[red]no user {args.subject}[/red]")
                    return 1
                console.print(f"user {args.subject} deactivated: its tokens are refused from now on")
            else:
                for user in await users(session):
                    scope = ", ".join((*user.site_numbers, *user.territories)) or "-"
                    state = "" if user.active else " (inactive)"
                    print(f"{user.subject}{state}\t{','.join(user.roles) or '-'}\t{scope}")
    finally:
        await database.dispose()
    return 0


def _add_grant_options(parser: argparse.ArgumentParser, *, role_required: bool) -> None:
    parser.add_argument(
        "--role", required=role_required, default=None, help="role(s), comma-separated, e.g. districtManager"
    )
    parser.add_argument("--sites", default=None, help="explicit site links, comma-separated site numbers")
    parser.add_argument(
        "--territories",
        default=None,
        help="territories managed, comma-separated layer:code (districts:orlando)",
    )


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number")
    return number


def build_parser() -> argparse.ArgumentParser:
    """The `towne` command line; every subcommand and option has help text (tests/test_cli.py checks)."""
    parser = argparse.ArgumentParser(
        prog="towne", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="database, migrations, data, server")
    serve_parser = sub.add_parser("serve", help="serve the GraphQL API")
    for p in (run, serve_parser):
        p.add_argument("--host", default=None, help="address to listen on (default TOWNE_HOST, 127.0.0.1)")
        p.add_argument("--port", type=int, default=None, help="port to listen on (default TOWNE_PORT, 8000)")
    serve_parser.add_argument(
        "--workers",
        type=_positive,
        default=None,
        help="worker processes behind the one port (default TOWNE_WORKERS, else the CPU count)",
    )
    run.add_argument(
        "--workers", type=_positive, default=1, help="worker processes (default 1: a developer's machine)"
    )
    sub.add_parser("migrate", help="alembic upgrade head")
    imp = sub.add_parser("import", help="import the real data")
    imp.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="folder with towne-park/ and us/ (default TOWNE_DATA_DIR, ./data)",
    )
    assign = sub.add_parser("assign", help="point-in-polygon assignment")
    assign.add_argument("--layer", default=None, help="layer code, e.g. districts (default: every layer)")
    assign.add_argument(
        "--cluster", action="store_true", help="first rewrite the sites in spatial order (large site tables)"
    )
    facts = sub.add_parser("facts", help="operating facts (revenue, timesheets, ledger, …)")
    facts_sub = facts.add_subparsers(dest="facts_command", required=True)
    gen = facts_sub.add_parser("generate", help="deterministic SYNTHETIC facts for the real sites")
    gen.add_argument("--from", dest="first", required=True, help="first month, YYYY-MM")
    gen.add_argument("--to", dest="last", required=True, help="last month, YYYY-MM")
    gen.add_argument("--site", dest="sites", action="append", help="site number (repeatable; default all)")
    facts_import = facts_sub.add_parser("import", help="facts from CSV files named after their table")
    facts_import.add_argument(
        "files",
        nargs="+",
        type=Path,
        help="CSV files named after their table, e.g. revenue_daily.csv (docs/facts.md)",
    )
    terms = sub.add_parser("demo-terms", help="SYNTHETIC contract terms for the demo (issue 10 §4)")
    terms.add_argument(
        "--date", type=dt.date.fromisoformat, default=None, help="anchor day of the terms (default today)"
    )
    forecast = sub.add_parser("demo-forecast", help="SYNTHETIC forecast facts for the demo (issue 11 §4)")
    forecast.add_argument("--year", type=int, default=DEMO_FORECAST_YEAR, help="calendar year (default 2025)")
    forecast.add_argument(
        "--site", dest="sites", action="append", default=None, help="only this site number (repeatable)"
    )
    escalate = sub.add_parser("escalate", help="apply the increments and escalators due (domain.md §2.14)")
    escalate.add_argument("--date", type=dt.date.fromisoformat, default=None, help="one day (default today)")
    escalate.add_argument(
        "--from",
        dest="first",
        type=dt.date.fromisoformat,
        default=None,
        help="first day of a range, YYYY-MM-DD",
    )
    escalate.add_argument(
        "--to", dest="last", type=dt.date.fromisoformat, default=None, help="last day of a range, YYYY-MM-DD"
    )
    sub.add_parser("worker", help="deliver the send jobs of sendStatements (e-mail, Great Plains)")
    sub.add_parser("mail-sink", help="the development SMTP server: messages into .data/mailbox")
    schema_parser = sub.add_parser("schema", help="print the GraphQL SDL (no database needed)")
    schema_parser.add_argument(
        "--write", action="store_true", help="regenerate schema.graphql and list breaking changes against it"
    )
    sample = sub.add_parser(
        "sample-invoice",
        help="render the SYNTHETIC sample invoice PDF (domain.md §5 F-1; no database needed)",
    )
    sample.add_argument("--out", type=Path, default=Path("docs/sample-invoice.pdf"), help="where to write it")
    db = sub.add_parser("db", help="embedded PostgreSQL cluster")
    db.add_argument(
        "action", choices=["up", "stop", "url"], help="up: start (installing when needed) and print the URL"
    )
    db.add_argument(
        "--role",
        choices=list(DB_ROLES),
        default="owner",
        help="url: connect as the owner (migrations, towne commands), the application role, or the GIS "
        "editors' role (QGIS, psql; docs/gis-editing.md)",
    )
    db.add_argument(
        "--libpq",
        action="store_true",
        help="url: a plain postgresql:// URL that psql, QGIS and libpq accept (not SQLAlchemy's +asyncpg)",
    )
    token = sub.add_parser("token", help="a development user with these grants, and a bearer token for it")
    _add_grant_options(token, role_required=True)
    token.add_argument("--ttl", default="8h", help="how long the token is valid: 30m, 8h, 2d (default 8h)")
    token.add_argument("--subject", default=None, help="the user's subject (default dev-<roles>)")
    user = sub.add_parser("user", help="users and their grants (as the database owner)")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    user_add = user_sub.add_parser("add", help="create or update a user, replacing its grants")
    user_add.add_argument("subject", help="the `sub` its tokens carry (e.g. an e-mail or IdP id)")
    _add_grant_options(user_add, role_required=True)
    user_add.add_argument("--email", default=None, help="contact e-mail")
    user_sub.add_parser("list", help="every user with roles and scopes")
    user_disable = user_sub.add_parser("disable", help="deactivate a user: its tokens are refused")
    user_disable.add_argument("subject", help="the user's subject")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = get_settings()

    if args.command == "schema":
        return _schema(write=args.write)

    if args.command == "sample-invoice":
        from server.invoice_pdf import render, sample_figures

        args.out.write_bytes(render(sample_figures()))
        console.print(f"wrote {args.out}")
        return 0

    if args.command == "db":
        from server import devdb

        if args.action == "stop":
            devdb.stop_cluster()
        elif args.action == "up":
            print(devdb.ensure_database(settings.database_name))
        else:
            owner = normalise_url(settings.database_url or devdb.database_url(settings.database_name))
            print(role_url(settings, owner, role=args.role, libpq=args.libpq))
        return 0

    url = database_url(settings)
    data_dir = getattr(args, "data_dir", None) or settings.data_dir
    if args.command == "migrate":
        migrate(url)
    elif args.command == "import":
        asyncio.run(_import(url, data_dir, only_if_empty=False))
    elif args.command == "facts":
        if args.facts_command == "generate":
            return asyncio.run(_facts_generate(url, args.first, args.last, args.sites))
        return asyncio.run(_facts_import(url, args.files))
    elif args.command == "demo-terms":
        return asyncio.run(_demo_terms(url, args.date or dt.datetime.now(dt.UTC).date()))
    elif args.command == "demo-forecast":
        return asyncio.run(_demo_forecast(url, args.year, args.sites))
    elif args.command == "escalate":
        day = args.date or dt.datetime.now(dt.UTC).date()
        first, last = (args.first or day), (args.last or args.first or day)
        if first > last:
            console.print("[red]--from must not be after --to[/red]")
            return 2
        return asyncio.run(_escalate(url, first, last))
    elif args.command == "assign":
        return asyncio.run(_assign(url, args.layer, args.cluster))
    elif args.command == "token":
        return _token(settings, url, args)
    elif args.command == "user":
        return asyncio.run(_users(url, args))
    elif args.command == "serve":
        workers = args.workers or default_workers(settings)
        serve(url, args.host or settings.host, args.port or settings.port, workers)
    elif args.command == "run":
        started = time.perf_counter()
        migrate(url)
        asyncio.run(_import(url, data_dir, only_if_empty=True))
        asyncio.run(_facts_if_empty(url))
        asyncio.run(_forecast_inputs_if_empty(url))
        asyncio.run(_contacts_if_empty(url))
        console.print(f"Ready in {time.perf_counter() - started:.1f} s.")
        with _beside_the_server(url, settings):
            serve(url, args.host or settings.host, args.port or settings.port, args.workers)
    elif args.command == "worker":
        from server.worker import run_worker

        return asyncio.run(run_worker(url, settings))
    elif args.command == "mail-sink":
        return _mail_sink(settings)
    return 0


LOOPBACK = ("127.0.0.1", "localhost", "::1")


@contextlib.contextmanager
def _beside_the_server(url: str, settings: Settings) -> Iterator[None]:
    """What `towne run` starts beside the API: the development mail sink (when the SMTP host is this machine
    and its port is free) and one `towne worker` process; both stop with the server."""
    import os
    import subprocess

    sink = None
    if settings.smtp_host in LOOPBACK:
        from server import mailsink

        try:
            sink = mailsink.start(settings.smtp_host, settings.smtp_port, settings.mailbox_dir)
            console.print(
                f"Mail sink:   smtp://{settings.smtp_host}:{settings.smtp_port} → {settings.mailbox_dir}"
            )
        except OSError as error:
            console.print(f"[yellow]no mail sink[/yellow] on port {settings.smtp_port}: {error}", markup=True)
    worker = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "worker"], env={**os.environ, "DATABASE_URL": url}
    )
    console.print(f"Send worker: pid {worker.pid} (towne worker)")
    try:
        yield
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()
        if sink is not None:
            sink.stop()


def _mail_sink(settings: Settings) -> int:
    """`towne mail-sink`: the development SMTP server in the foreground until Ctrl-C."""
    from server import mailsink

    sink = mailsink.start(settings.smtp_host, settings.smtp_port, settings.mailbox_dir)
    console.print(f"Mail sink: smtp://{settings.smtp_host}:{settings.smtp_port} → {settings.mailbox_dir}")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        sink.stop()


if __name__ == "__main__":
    sys.exit(main())
