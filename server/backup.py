"""Logical backups of the Towne Graph database: `pg_dump -Fc` and `pg_restore` (docs/operations.md).

CLI::

    python -m server.backup dump [FILE] [--database NAME]        # default FILE: .data/backups/NAME-<UTC>.dump
    python -m server.backup restore FILE [--database NAME] [--clean]
    python -m server.backup verify FILE                          # read it through, no server needed

The server is the one of `DATABASE_URL` (`--database` replaces its database name), else the embedded cluster
of `server.devdb` (started when it is stopped; database `TOWNE_DATABASE`, default `towne`).

* `dump(url, path)` writes a custom-format archive (compressed, restorable table by table) next to `path`
  and renames it into place only once `pg_restore` has read it back completely (`verify`), so a failed
  dump never leaves a truncated file that looks like a backup.
* `verify(tools, path)` reads a dump through without a server (`python -m server.backup verify FILE`).
* `restore(path, url)` restores into a fresh database: created (from `template0`) when missing, refused
  when it already holds objects unless `clean=True` (`pg_restore --clean --if-exists`), in one transaction
  (`--single-transaction`: a failed restore leaves the target as it was), then `ANALYZE` (a dump carries no
  planner statistics). The database's own settings and privileges (`ALTER DATABASE … SET`, `GRANT CONNECT
  ON DATABASE`), which pg_restore applies only with `--create` (under the dumped name), are applied to the
  target. The schema comes with the data: the dump's `alembic_version` is compared with the migrations' head.

Ownership and GRANTs are restored as dumped (no `--no-owner`): who owns a table decides whether row-level
security applies to a role, so a restore must not quietly make the restoring user the owner of everything.
Roles are cluster-wide and never in a dump; `restore` checks first that every role the archive names
(owners, grantees, policy roles) exists on the target server and says which are missing.

The client tools come from the embedded cluster's PostgreSQL installation (`devdb.installations()`), then
from the other installations and `PATH`; the first whose major version is at least the server's is used
(an older `pg_dump` refuses a newer server).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from server import devdb

REPO_ROOT = Path(__file__).resolve().parent.parent
BACKUP_DIR = devdb.DATA_DIR / "backups"
MAINTENANCE_DB = "postgres"
TIMEOUT_S = 3600  # a dump or restore of this database takes seconds; this only stops a hang

# libpq connection parameters that may pass from a URL's query string to the tools; SQLAlchemy/asyncpg-only
# parameters (e.g. `prepared_statement_cache_size`) are dropped, asyncpg's `ssl` becomes `sslmode`.
_LIBPQ_PARAMS = frozenset(
    {
        "host", "hostaddr", "port", "sslmode", "sslrootcert", "sslcert", "sslkey", "sslcrl", "sslpassword",
        "application_name", "connect_timeout", "options", "target_session_attrs", "gssencmode", "passfile",
        "service", "channel_binding", "krbsrvname", "keepalives", "keepalives_idle",
    }
)  # fmt: skip
_PSEUDO_ROLES = frozenset({"public", "current_user", "session_user", "current_role"})
_IDENT = r'(?:"(?:[^"]|"")+"|[^\s",;()]+)'


class BackupError(RuntimeError):
    """A dump or restore could not be made; the message says why and what to do."""


def _say(message: str) -> None:
    print(f"backup: {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------ connections


@dataclass(frozen=True)
class Target:
    """One database as the libpq tools see it: a URI without the password (that goes in PGPASSWORD)."""

    uri: str
    database: str
    password: str | None = field(default=None, repr=False)

    @classmethod
    def from_url(cls, url: str) -> Target:
        """From an SQLAlchemy URL (`postgresql+asyncpg://user:pw@host:port/db?…`) or a libpq URI."""
        parts = urlsplit(url)
        if parts.scheme.split("+")[0] not in ("postgresql", "postgres"):
            raise BackupError(f"not a PostgreSQL URL: {parts.scheme}://…")
        database = unquote(parts.path.lstrip("/"))
        if not database:
            raise BackupError("the database URL names no database")
        netloc = parts.netloc.rpartition("@")[2]
        user = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password is not None else None
        query: list[tuple[str, str]] = []
        for key, value in parse_qsl(parts.query):
            if key == "ssl":  # asyncpg spells sslmode `ssl`
                key = "sslmode"
            if key in _LIBPQ_PARAMS:
                query.append((key, value))
        userinfo = f"{quote(user, safe='')}@" if user else ""
        tail = f"?{urlencode(query)}" if query else ""
        return cls(f"postgresql://{userinfo}{netloc}/{quote(database, safe='')}{tail}", database, password)

    def with_database(self, name: str) -> Target:
        parts = urlsplit(self.uri)
        uri = parts._replace(path="/" + quote(name, safe="")).geturl()
        return Target(uri, name, self.password)

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["LC_MESSAGES"] = "C"  # the errors we translate are matched in English
        env.setdefault("PGCONNECT_TIMEOUT", "10")
        if self.password is not None:
            env["PGPASSWORD"] = self.password
        return env


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# ------------------------------------------------------------------------------------------------ tools


@dataclass(frozen=True)
class Tools:
    """`pg_dump`, `pg_restore` and `psql` of one PostgreSQL version."""

    bindir: Path
    major: int

    def path(self, name: str) -> str:
        return str(self.bindir / name)


def _tool_major(executable: Path) -> int | None:
    try:
        out = subprocess.run(
            [str(executable), "--version"], capture_output=True, text=True, check=False, timeout=30
        ).stdout
    except OSError:
        return None
    match = re.search(r"\(PostgreSQL\)\s+(\d+)", out)
    return int(match.group(1)) if match else None


def candidate_bindirs() -> list[Path]:
    """Where to look for the client tools, preferred first: the embedded cluster's installation, the other
    PostgreSQL installations devdb knows (highest first), then the directory of `pg_dump` on PATH."""
    found = devdb.installations()
    picked = devdb._pick_installation(found)
    dirs = [picked.bindir] if picked else []
    dirs += [inst.bindir for inst in found if inst != picked]
    on_path = shutil.which("pg_dump")
    if on_path:
        dirs.append(Path(on_path).parent)
    unique: list[Path] = []
    for d in dirs:
        if d not in unique:
            unique.append(d)
    return unique


def check_versions(tool_major: int, server_major: int, where: Path) -> None:
    """Refuse client tools older than the server: `pg_dump` cannot read a newer server's catalogs."""
    if tool_major < server_major:
        raise BackupError(
            f"the PostgreSQL {tool_major} client tools in {where} are older than the server "
            f"(PostgreSQL {server_major}); pg_dump/pg_restore must be at least the server's major version. "
            f"Install them (Debian/Ubuntu: apt-get install postgresql-client-{server_major}) and retry."
        )


def _available_tools() -> list[Tools]:
    tools: list[Tools] = []
    for bindir in candidate_bindirs():
        if not all(os.access(bindir / name, os.X_OK) for name in ("pg_dump", "pg_restore", "psql")):
            continue
        majors = {_tool_major(bindir / name) for name in ("pg_dump", "pg_restore")}
        if len(majors) == 1 and None not in majors:
            (major,) = majors
            assert major is not None
            tools.append(Tools(bindir, major))
    if not tools:
        raise BackupError(
            "pg_dump/pg_restore/psql not found (looked in the PostgreSQL installations and on PATH); "
            "install the PostgreSQL client tools (Debian/Ubuntu: apt-get install postgresql-client)"
        )
    return tools


def _run(
    argv: Sequence[str], target: Target, *, timeout: float = TIMEOUT_S
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
            env=target.env(),
        )
    except subprocess.TimeoutExpired:
        raise BackupError(f"{Path(argv[0]).name} did not finish within {timeout:.0f} s") from None


def _psql(tools: Tools, target: Target, sql: str) -> str:
    argv = [
        tools.path("psql"),
        "-X",
        "-q",
        "-t",
        "-A",
        "-w",
        "-v",
        "ON_ERROR_STOP=1",
        "-d",
        target.uri,
        "-c",
        sql,
    ]
    res = _run(argv, target, timeout=600)
    if res.returncode != 0:
        raise BackupError(f"{target.database}: {_last_lines(res.stderr)}")
    return res.stdout.strip()


def _last_lines(text: str, n: int = 8) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return "\n".join(lines[-n:]) or "(no message)"


def _server_major(target: Target, tools: Sequence[Tools]) -> int:
    """The major version of the server of `target` (any psql can ask), through the target database or,
    when that does not exist yet, the maintenance database."""
    try:
        out = _psql(tools[0], target, "SHOW server_version_num")
    except BackupError:  # the target database may not exist yet (restore)
        out = _psql(tools[0], target.with_database(MAINTENANCE_DB), "SHOW server_version_num")
    try:
        return int(out) // 10000
    except ValueError:
        raise BackupError(f"unexpected server_version_num {out!r}") from None


def find_tools(target: Target) -> Tools:
    """The preferred client tools whose major version is at least the server's (BackupError otherwise)."""
    tools = _available_tools()
    server = _server_major(target, tools)
    for candidate in tools:
        if candidate.major >= server:
            return candidate
    newest = max(tools, key=lambda t: t.major)
    check_versions(newest.major, server, newest.bindir)
    raise AssertionError("unreachable")  # pragma: no cover


# ----------------------------------------------------------------------------------------------- archive


@dataclass(frozen=True)
class Archive:
    """What `pg_restore --list` says about a custom-format dump."""

    header: dict[str, str]
    entries: list[str]

    @property
    def tables(self) -> list[str]:
        """`schema.table` of every TABLE DATA entry."""
        out = []
        for entry in self.entries:
            match = re.match(r"\d+; \d+ \d+ TABLE DATA (\S+) (\S+) ", entry)
            if match:
                out.append(f"{match.group(1)}.{match.group(2)}")
        return out

    @property
    def owners(self) -> set[str]:
        return {entry.rsplit(" ", 1)[1] for entry in self.entries if " " in entry} - {""}


def read_archive(tools: Tools, path: Path) -> Archive:
    """Read the table of contents of a dump (which also checks that the file is a readable archive)."""
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    res = subprocess.run(
        [tools.path("pg_restore"), "--list", str(path)],
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
        timeout=600,
        env={**os.environ, "LC_MESSAGES": "C"},
    )
    if res.returncode != 0:
        hint = ""
        if "unsupported version" in res.stderr:
            hint = f"\nthe dump was written by a newer pg_dump than {tools.bindir}/pg_restore (PostgreSQL {tools.major})"
        raise BackupError(f"{path} is not a readable pg_dump archive: {_last_lines(res.stderr)}{hint}")
    header: dict[str, str] = {}
    entries: list[str] = []
    for line in res.stdout.splitlines():
        if line.startswith("; Archive created at "):
            header["Archive created at"] = line.removeprefix("; Archive created at ").strip()
        elif line.startswith(";"):
            key, sep, value = line[1:].strip().partition(": ")
            if sep:
                header[key] = value
        elif line.strip():
            entries.append(line)
    return Archive(header, entries)


def verify(tools: Tools, path: Path) -> Archive:
    """Read a dump through without a server: its table of contents (`pg_restore --list`) and every data
    block (`pg_restore --file=/dev/null`). The table of contents sits at the start of the file, so only the
    second read finds a truncated or corrupted copy."""
    archive = read_archive(tools, path)
    res = subprocess.run(
        [tools.path("pg_restore"), "--file", os.devnull, str(path)],
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
        timeout=TIMEOUT_S,
        env={**os.environ, "LC_MESSAGES": "C"},
    )
    if res.returncode != 0:
        raise BackupError(f"{path} is damaged (truncated or corrupted): {_last_lines(res.stderr)}")
    return archive


def newest_tools() -> Tools:
    """The client tools of the highest PostgreSQL version here (they read the archives of every older one)."""
    return max(_available_tools(), key=lambda t: t.major)


def _unquote_ident(name: str) -> str:
    return name[1:-1].replace('""', '"') if name.startswith('"') else name


def roles_in_script(sql: str) -> set[str]:
    """Roles a pg_dump script names: owners, GRANT/REVOKE grantees, policy roles, default privileges."""
    roles: set[str] = set()
    idents = rf"{_IDENT}(?:, {_IDENT})*"
    patterns = (
        rf"OWNER TO ({_IDENT});",
        rf"^GRANT .* TO ({idents})(?: WITH (?:GRANT|ADMIN) OPTION)?(?: GRANTED BY {_IDENT})?;$",
        rf"^REVOKE .* FROM ({idents})(?: CASCADE)?;$",
        rf"^CREATE POLICY {_IDENT} ON \S+(?: AS \w+)?(?: FOR \w+)? TO ({idents})",
        rf"^ALTER DEFAULT PRIVILEGES FOR ROLE ({_IDENT})",
    )
    for pattern in patterns:
        for match in re.finditer(pattern, sql, re.M):
            for name in re.findall(_IDENT, match.group(1)):
                roles.add(_unquote_ident(name))
    return {r for r in roles if r.lower() not in _PSEUDO_ROLES}


def _script(tools: Tools, path: Path, *options: str) -> str:
    """The SQL script `pg_restore` makes of (part of) an archive, without connecting anywhere."""
    with tempfile.TemporaryDirectory() as tmp:  # -L needs a file
        argv = [tools.path("pg_restore"), *options, "-f", "-", str(path)]
        if "--use-list" in options:
            index = argv.index("--use-list") + 1
            listing = Path(tmp) / "toc.list"
            listing.write_text(argv[index])
            argv[index] = str(listing)
        res = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
            timeout=600,
            env={**os.environ, "LC_MESSAGES": "C"},
        )
    if res.returncode != 0:
        raise BackupError(f"{path}: pg_restore could not print it: {_last_lines(res.stderr)}")
    return res.stdout


_DATABASE_ENTRY = re.compile(r"^\d+; \d+ \d+ (?:COMMENT - DATABASE|ACL - DATABASE|DATABASE PROPERTIES) ")
# What `pg_restore --create` prints around those statements; the database itself is created (and owned) by
# the restoring role, as `restore` creates it.
_SCRIPT_NOISE = ("--", "\\", "SET ", "SELECT pg_catalog.set_config(", "CREATE DATABASE ")
_OWNER_LINE = re.compile(r"^ALTER DATABASE .* OWNER TO .*;$")


def database_level_sql(tools: Tools, path: Path, archive: Archive, database: str) -> str:
    """The archive's statements about the database itself (`ALTER DATABASE … SET`, `GRANT … ON DATABASE`,
    `COMMENT ON DATABASE`, `ALTER ROLE … IN DATABASE … SET`), rewritten for `database`. pg_restore applies
    them only with `--create`, which would restore into the dumped database's name; we restore into any
    name, so we apply them ourselves."""
    listing = _script(tools, path, "--create", "--list")
    entries = [line for line in listing.splitlines() if _DATABASE_ENTRY.match(line)]
    if not entries:
        return ""
    script = _script(tools, path, "--create", "--use-list", "\n".join(entries) + "\n")
    statements = "\n".join(
        line
        for line in script.splitlines()
        if line.strip() and not line.startswith(_SCRIPT_NOISE) and not _OWNER_LINE.match(line)
    )
    source = archive.header.get("dbname", "")
    if not source:
        return statements
    names = "|".join(re.escape(n) for n in {source, quote_ident(source)})
    return re.sub(
        rf"(\bDATABASE )(?:{names})(?=[ ;])", lambda m: m.group(1) + quote_ident(database), statements
    )


def _archive_roles(tools: Tools, path: Path, archive: Archive, database_sql: str) -> set[str]:
    return roles_in_script(_script(tools, path, "--schema-only") + "\n" + database_sql) | archive.owners


# ------------------------------------------------------------------------------------------- operations


@dataclass(frozen=True)
class DumpResult:
    path: Path
    size_bytes: int
    tables: int
    server_version: str
    seconds: float


def dump(url: str, path: Path) -> DumpResult:
    """`pg_dump -Fc` of the database of `url` into `path` (replaced only by a complete, readable dump)."""
    target = Target.from_url(url)
    tools = find_tools(target)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    started = time.perf_counter()
    argv = [
        tools.path("pg_dump"), "--format=custom", "--no-password", "--lock-wait-timeout=30s",
        "--file", str(partial), "--dbname", target.uri,
    ]  # fmt: skip
    try:
        res = _run(argv, target)
        if res.returncode != 0:
            raise BackupError(f"pg_dump of {target.database} failed: {_last_lines(res.stderr)}")
        archive = verify(tools, partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return DumpResult(
        path=path,
        size_bytes=path.stat().st_size,
        tables=len(archive.tables),
        server_version=archive.header.get("Dumped from database version", "?"),
        seconds=time.perf_counter() - started,
    )


@dataclass(frozen=True)
class RestoreResult:
    database: str
    created: bool
    tables: int
    revision: str | None  # alembic_version of the restored database
    head: str | None  # the migrations' head, when alembic is importable
    seconds: float


def _database_exists(tools: Tools, target: Target) -> bool:
    maintenance = target.with_database(MAINTENANCE_DB)
    sql = f"SELECT 1 FROM pg_database WHERE datname = {quote_literal(target.database)}"
    return _psql(tools, maintenance, sql) == "1"


_CONTENTS_SQL = """
SELECT
  (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'),
  (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')),
  (SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'
      AND t.typrelid = 0 AND t.typcategory <> 'A'),
  (SELECT count(*) FROM pg_namespace
    WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'public') AND nspname !~ '^pg_'),
  (SELECT coalesce(string_agg(extname, ', ' ORDER BY extname), '') FROM pg_extension WHERE extname <> 'plpgsql')
"""


def describe_contents(tools: Tools, target: Target) -> str | None:
    """None when the database holds no objects of its own, else what it holds ("12 relations, …")."""
    out = _psql(tools, target, " ".join(_CONTENTS_SQL.split()))
    relations, functions, types, schemas, extensions = out.split("|")
    parts = [
        f"{count} {noun}"
        for count, noun in (
            (relations, "relations"),
            (functions, "functions"),
            (types, "types"),
            (schemas, "schemas"),
        )
        if count != "0"
    ]
    if extensions:
        parts.append(f"extensions {extensions}")
    return ", ".join(parts) or None


def _missing_roles(tools: Tools, target: Target, roles: Iterable[str]) -> list[str]:
    wanted = sorted(set(roles))
    if not wanted:
        return []
    array = ", ".join(quote_literal(r) for r in wanted)
    sql = f"SELECT string_agg(rolname, ',') FROM pg_roles WHERE rolname = ANY (ARRAY[{array}])"
    present = set(_psql(tools, target.with_database(MAINTENANCE_DB), sql).split(","))
    return [r for r in wanted if r not in present]


def alembic_head() -> str | None:
    """The head revision of this repository's migrations; None when alembic is not importable."""
    try:
        from alembic.config import Config
        from alembic.script import ScriptDirectory
    except ImportError:  # pragma: no cover - the project's virtualenv has alembic
        return None
    head = ScriptDirectory.from_config(Config(str(REPO_ROOT / "alembic.ini"))).get_current_head()
    return str(head) if head else None


def restore(path: Path, url: str, *, clean: bool = False) -> RestoreResult:
    """Restore the dump at `path` into the database of `url` (see the module docstring)."""
    target = Target.from_url(url)
    tools = find_tools(target)
    path = Path(path)
    archive = verify(tools, path)
    database_sql = database_level_sql(tools, path, archive, target.database)
    missing = _missing_roles(tools, target, _archive_roles(tools, path, archive, database_sql))
    if missing:
        raise BackupError(
            f"the dump names roles that do not exist on the target server: {', '.join(missing)}. "
            "Roles are cluster-wide and not part of a dump: restore them first (pg_dumpall --roles-only on "
            "the old server, psql on the new one) or create them (docs/operations.md, 'Restoring')."
        )
    started = time.perf_counter()
    created = False
    if not _database_exists(tools, target):
        _psql(
            tools,
            target.with_database(MAINTENANCE_DB),
            f"CREATE DATABASE {quote_ident(target.database)} TEMPLATE template0",
        )
        created = True
    else:
        contents = describe_contents(tools, target)
        if contents and not clean:
            raise BackupError(
                f"database {target.database} is not empty ({contents}): restore into a new database "
                "(--database NAME), or pass --clean to drop and replace the objects the dump contains"
            )
    argv = [tools.path("pg_restore"), "--single-transaction", "--exit-on-error", "--no-password"]
    if clean:
        argv += ["--clean", "--if-exists"]
    argv += ["--dbname", target.uri, str(path)]
    res = _run(argv, target)
    if res.returncode != 0:
        message = _last_lines(res.stderr)
        hint = ""
        if re.search(r'role ".*" does not exist', message):
            hint = "\ncreate the missing role first (docs/operations.md, 'Restoring')"
        if created:  # leave the server as we found it
            _psql(
                tools, target.with_database(MAINTENANCE_DB), f"DROP DATABASE {quote_ident(target.database)}"
            )
        raise BackupError(f"pg_restore into {target.database} failed and was rolled back: {message}{hint}")
    if database_sql:
        # Last: a database setting such as default_transaction_read_only must not apply to the restore itself.
        _psql(tools, target.with_database(MAINTENANCE_DB), database_sql)
    _psql(tools, target, "ANALYZE")
    try:
        revision: str | None = _psql(tools, target, "SELECT version_num FROM alembic_version") or None
    except BackupError:
        revision = None
    return RestoreResult(
        database=target.database,
        created=created,
        tables=len(archive.tables),
        revision=revision,
        head=alembic_head(),
        seconds=time.perf_counter() - started,
    )


# ------------------------------------------------------------------------------------------------- CLI


def configured_url(database: str | None) -> str:
    """`DATABASE_URL` (its database replaced by `database`), else the embedded cluster, started if needed."""
    external = devdb._external_url()
    if external is not None:
        if database is None:
            return external
        target = urlsplit(external)
        return target._replace(path="/" + quote(database, safe="")).geturl()
    devdb.ensure_cluster()
    return devdb.database_url(database or os.environ.get("TOWNE_DATABASE", "towne"))


def default_dump_path(database: str) -> Path:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return BACKUP_DIR / f"{database}-{stamp}.dump"


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m server.backup",
        description="Dump the Towne Graph database (pg_dump -Fc) and restore a dump into a fresh database.",
        epilog="The server is DATABASE_URL's, else the embedded cluster (.data/postgres). See docs/operations.md.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dump", help="write a custom-format dump (pg_dump -Fc)")
    d.add_argument(
        "file", nargs="?", type=Path, help="where to write (default .data/backups/NAME-<UTC time>.dump)"
    )
    d.add_argument("--database", default=None, help="database to dump (default: the configured one)")
    r = sub.add_parser("restore", help="restore a dump into a fresh database (created when missing)")
    r.add_argument("file", type=Path, help="a dump written by `dump` (pg_dump -Fc)")
    r.add_argument("--database", default=None, help="database to restore into (default: the configured one)")
    r.add_argument(
        "--clean",
        action="store_true",
        help="allow a non-empty target: drop the objects the dump contains first (pg_restore --clean)",
    )
    v = sub.add_parser("verify", help="read a dump through (table of contents and every data block)")
    v.add_argument("file", type=Path, help="a dump written by `dump` (pg_dump -Fc)")
    args = parser.parse_args(argv)

    try:
        if args.command == "verify":
            archive = verify(newest_tools(), args.file)
            _say(
                f"{args.file}: readable, {len(archive.tables)} tables of database {archive.header.get('dbname', '?')}, "
                f"dumped {archive.header.get('Archive created at', '?')} from PostgreSQL "
                f"{archive.header.get('Dumped from database version', '?')}"
            )
            return 0
        url = configured_url(args.database)
        name = Target.from_url(url).database
        if args.command == "dump":
            path = args.file or default_dump_path(name)
            _say(f"dumping {name} to {path}")
            done = dump(url, path)
            _say(
                f"wrote {done.path} ({_mb(done.size_bytes)}, {done.tables} tables, PostgreSQL "
                f"{done.server_version}) in {done.seconds:.1f} s; read back completely"
            )
            print(done.path)
        else:
            _say(f"restoring {args.file} into {name}")
            result = restore(args.file, url, clean=args.clean)
            _say(
                f"restored {result.tables} tables into {'new database ' if result.created else ''}"
                f"{result.database} in {result.seconds:.1f} s (analyzed)"
            )
            if result.revision is None:
                _say("warning: the restored database has no alembic_version: is this a Towne Graph dump?")
            elif result.head is not None and result.revision != result.head:
                _say(
                    f"warning: alembic_version is {result.revision}, this code's head is {result.head}: "
                    "upgrade it with `towne migrate` (DATABASE_URL pointing at it) if the dump is older, "
                    "or deploy the code the dump was made with if it is newer"
                )
            else:
                _say(f"alembic_version {result.revision} (head)")
    except (BackupError, devdb.DevDBError) as exc:
        _say(f"error: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
