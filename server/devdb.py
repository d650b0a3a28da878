"""The embedded development/test PostgreSQL cluster (stdlib only).

When `DATABASE_URL` is unset, the application and the tests use a project-local PostgreSQL cluster:

* data directory `.data/postgres`, log `.data/postgres.log`, unix socket in `.data/run`
  (all under the repository root, the parent of `server/`);
* TCP on 127.0.0.1 only, port 54329 unless `TOWNE_PG_PORT` says otherwise;
* superuser role `towne`, `trust` authentication (it only listens on loopback and a private socket);
* the machine's PostgreSQL (>= 15) binaries; PostgreSQL and PostGIS are installed with apt-get on
  Debian/Ubuntu when they are missing (as root, or through `sudo -n`), otherwise we stop with the exact
  command to run.

PostgreSQL refuses to run as root: when we are root the server runs as the `postgres` system user
(created when missing) and owns `.data/postgres` and `.data/run`.

CLI::

    python -m server.devdb up [--database NAME]    # start (install/initdb when needed), print the URL
    python -m server.devdb url [--database NAME]   # print the URL, start nothing
    python -m server.devdb stop                    # pg_ctl stop -m fast (no-op when not running)
    python -m server.devdb status                  # where things are and whether the server runs
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import fcntl
import hashlib
import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / ".data"
PGDATA = DATA_DIR / "postgres"
LOG_FILE = DATA_DIR / "postgres.log"
LOCK_FILE = DATA_DIR / "devdb.lock"
DEFAULT_SOCKET_DIR = DATA_DIR / "run"

DEFAULT_PORT = 54329
PORT_ENV = "TOWNE_PG_PORT"
ROLE = "towne"
SERVER_USER = "postgres"  # the system user the server runs as when we are root
MIN_MAJOR = 15
HOST = "127.0.0.1"
CONF_NAME = "towne.conf"  # our settings, included from postgresql.conf
START_TIMEOUT_S = 90
DEB_LIB = Path("/usr/lib/postgresql")
DEB_SHARE = Path("/usr/share/postgresql")

_DB_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_SOCKET_PATH_MAX = 107  # sun_path is 108 bytes on Linux, including the NUL


class DevDBError(RuntimeError):
    """The embedded cluster could not be provided; the message says what to do."""


def _say(message: str) -> None:
    print(f"devdb: {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------- settings


def port() -> int:
    """The cluster's TCP port: `TOWNE_PG_PORT`, default 54329."""
    raw = os.environ.get(PORT_ENV, "").strip()
    if not raw:
        return DEFAULT_PORT
    try:
        value = int(raw)
    except ValueError:
        raise DevDBError(f"{PORT_ENV}={raw!r} is not a port number") from None
    if not 1024 <= value <= 65535:
        raise DevDBError(f"{PORT_ENV}={value} is outside 1024-65535")
    return value


def socket_dir() -> Path:
    """Directory of the unix socket: `.data/run`, or a short /tmp path when that would be too long."""
    longest = f"{DEFAULT_SOCKET_DIR}/.s.PGSQL.65535.lock"
    if len(longest.encode()) <= _SOCKET_PATH_MAX:
        return DEFAULT_SOCKET_DIR
    digest = hashlib.sha1(str(REPO_ROOT).encode()).hexdigest()[:12]
    return Path("/tmp") / f"towne-pg-{digest}"


def _check_name(name: str) -> str:
    if not _DB_NAME.match(name):
        raise DevDBError(f"invalid database name {name!r} (letters, digits and _, not starting with a digit)")
    return name


def database_url(name: str) -> str:
    """The SQLAlchemy URL of database `name` in the embedded cluster, without starting anything."""
    return f"postgresql+asyncpg://{ROLE}@{HOST}:{port()}/{_check_name(name)}"


# ------------------------------------------------------------------------------------ finding PostgreSQL


@dataclass(frozen=True)
class Installation:
    """One PostgreSQL server installation: its major version and its bin and share directories."""

    major: int
    bindir: Path
    sharedir: Path

    def tool(self, name: str) -> str:
        return str(self.bindir / name)

    @property
    def postgis_control(self) -> Path:
        return self.sharedir / "extension" / "postgis.control"

    def has_postgis(self) -> bool:
        return self.postgis_control.is_file()


def postgis_control(major: int) -> Path:
    """Where Debian/Ubuntu's `postgresql-N-postgis-3` puts the extension control file."""
    return DEB_SHARE / str(major) / "extension" / "postgis.control"


def _server_major(bindir: Path) -> int | None:
    try:
        out = subprocess.run(
            [str(bindir / "postgres"), "--version"], capture_output=True, text=True, check=False, timeout=30
        ).stdout
    except OSError:
        return None
    match = re.search(r"\(PostgreSQL\)\s+(\d+)", out)
    return int(match.group(1)) if match else None


def _is_server_bindir(bindir: Path) -> bool:
    return all(os.access(bindir / tool, os.X_OK) for tool in ("postgres", "initdb", "pg_ctl", "psql"))


def installations() -> list[Installation]:
    """PostgreSQL server installations of version >= 15 on this machine, highest first."""
    found: dict[int, Installation] = {}
    if DEB_LIB.is_dir():  # Debian/Ubuntu: /usr/lib/postgresql/N/bin, /usr/share/postgresql/N
        for child in DEB_LIB.iterdir():
            if child.name.isdigit() and _is_server_bindir(child / "bin"):
                major = int(child.name)
                if major >= MIN_MAJOR:
                    found[major] = Installation(major, child / "bin", DEB_SHARE / child.name)
    pg_config = shutil.which("pg_config")
    if pg_config:  # other layouts (source builds, RPMs, Homebrew): trust pg_config
        try:
            res = subprocess.run(
                [pg_config, "--bindir", "--sharedir"], capture_output=True, text=True, check=True, timeout=30
            )
            bindir_s, sharedir_s = res.stdout.splitlines()[:2]
        except (OSError, subprocess.SubprocessError, ValueError):
            pass
        else:
            bindir = Path(bindir_s.strip())
            if _is_server_bindir(bindir):
                major_or_none = _server_major(bindir)
                if major_or_none is not None and major_or_none >= MIN_MAJOR and major_or_none not in found:
                    found[major_or_none] = Installation(major_or_none, bindir, Path(sharedir_s.strip()))
    return [found[m] for m in sorted(found, reverse=True)]


def _cluster_major() -> int | None:
    try:
        return int((PGDATA / "PG_VERSION").read_text().strip())
    except (OSError, ValueError):
        return None


def _pick_installation(found: Sequence[Installation]) -> Installation | None:
    """The installation for our cluster: the one matching an existing data directory, else the highest."""
    wanted = _cluster_major()
    if wanted is None:
        return found[0] if found else None
    for inst in found:
        if inst.major == wanted:
            return inst
    return None


# ------------------------------------------------------------------------------------------ installing


def _apt_available() -> bool:
    return shutil.which("apt-get") is not None


def _apt_prefix() -> list[str] | None:
    """How to run apt-get with privileges: directly as root, through `sudo -n` when that works, else None."""
    if os.geteuid() == 0:
        return []
    sudo = shutil.which("sudo")
    if sudo and subprocess.run([sudo, "-n", "true"], capture_output=True, check=False).returncode == 0:
        return [sudo, "-n"]
    return None


def _apt_candidate_major() -> int | None:
    """The PostgreSQL major version the distribution's `postgresql` metapackage installs."""
    try:
        out = subprocess.run(
            ["apt-cache", "depends", "postgresql"], capture_output=True, text=True, check=False, timeout=120
        ).stdout
    except OSError:
        return None
    majors = [int(m) for m in re.findall(r"Depends:\s+postgresql-(\d+)\b", out)]
    return max(majors) if majors else None


def _manual_install(packages: Sequence[str]) -> str:
    return "sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y " + " ".join(
        packages
    )


def _apt(prefix: Sequence[str], args: Sequence[str], packages: Sequence[str]) -> None:
    """Run apt-get (as root or through sudo -n) non-interactively; its output goes to stderr."""
    cmd = [*prefix, "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", *args]
    _say(" ".join(["apt-get", *args]))
    # stdout=2: the stdout of `devdb up` carries only the URL.
    res = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=2, check=False)
    if res.returncode != 0:
        raise DevDBError(
            f"apt-get {args[0]} failed (exit {res.returncode}); to install by hand run:\n"
            f"    {_manual_install(packages)}"
        )


def ensure_installed() -> Installation:
    """A PostgreSQL >= 15 installation with PostGIS, installing packages with apt-get when needed."""
    found = installations()
    inst = _pick_installation(found)
    existing = _cluster_major()
    if inst is None and existing is not None and found:
        raise DevDBError(
            f"{PGDATA} was created by PostgreSQL {existing}, which is not installed "
            f"(found {', '.join(str(i.major) for i in found)}). Install postgresql-{existing} "
            f"(apt-get install postgresql-{existing} postgresql-{existing}-postgis-3) or delete {PGDATA} "
            "to start from an empty cluster."
        )
    if inst is not None and inst.has_postgis():
        return inst

    if not _apt_available():
        if inst is None:
            raise DevDBError(
                f"no PostgreSQL >= {MIN_MAJOR} server found (looked in {DEB_LIB} and pg_config). "
                "Install PostgreSQL with PostGIS, or set DATABASE_URL to a server that has PostGIS."
            )
        raise DevDBError(
            f"PostGIS is not installed for PostgreSQL {inst.major} ({inst.postgis_control} is missing). "
            "Install PostGIS 3 for it, or set DATABASE_URL to a server that has PostGIS."
        )

    prefix = _apt_prefix()
    if inst is not None:
        major = inst.major
        packages = [f"postgresql-{major}-postgis-3"]
        _say(f"PostGIS is missing for PostgreSQL {major} ({inst.postgis_control} not found)")
        if prefix is None:
            raise DevDBError(
                f"PostGIS is not installed for PostgreSQL {major} and this user cannot install packages. "
                f"Run:\n    {_manual_install(packages)}"
            )
        _apt(prefix, ["update", "-q"], packages)
    else:
        if prefix is None:
            major = existing or _apt_candidate_major() or MIN_MAJOR
            packages = ["postgresql", "postgresql-contrib", f"postgresql-{major}-postgis-3"]
            raise DevDBError(
                f"PostgreSQL >= {MIN_MAJOR} with PostGIS is not installed and this user cannot install "
                f"packages. Run:\n    {_manual_install(packages)}"
            )
        _say(f"no PostgreSQL >= {MIN_MAJOR} server found; installing PostgreSQL with PostGIS")
        _apt(prefix, ["update", "-q"], ["postgresql", "postgresql-contrib"])
        # The version the distribution's `postgresql` installs decides the PostGIS package.
        major = existing or _apt_candidate_major() or MIN_MAJOR
        server = f"postgresql-{major}" if existing else "postgresql"
        packages = [server, "postgresql-contrib", f"postgresql-{major}-postgis-3"]
    _apt(prefix, ["install", "-y", "-q", "--no-install-recommends", *packages], packages)

    inst = _pick_installation(installations())
    if inst is None:
        raise DevDBError(
            f"installed {' '.join(packages)} but still found no PostgreSQL >= {MIN_MAJOR} server"
        )
    if not inst.has_postgis():
        raise DevDBError(
            f"installed {' '.join(packages)} but {inst.postgis_control} is still missing; install "
            f"postgresql-{inst.major}-postgis-3 by hand"
        )
    return inst


# ------------------------------------------------------------------------------- users and permissions


@dataclass(frozen=True)
class RunAs:
    """Who runs initdb/pg_ctl: ourselves, or (when we are root) a system user through runuser/su."""

    name: str
    uid: int
    gid: int
    switch: bool

    def command(self, argv: Sequence[str]) -> list[str]:
        if not self.switch:
            return list(argv)
        runuser = shutil.which("runuser")
        if runuser:
            return [runuser, "-u", self.name, "--", *argv]
        return ["su", "-s", "/bin/sh", self.name, "-c", " ".join(_shell_quote(a) for a in argv)]


def _shell_quote(arg: str) -> str:
    return "'" + arg.replace("'", "'\"'\"'") + "'"


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _run_as() -> RunAs:
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid())
        return RunAs(me.pw_name, me.pw_uid, me.pw_gid, switch=False)
    # As root: keep using the (non-root) owner of an existing data directory, else the postgres user.
    with contextlib.suppress(OSError, KeyError):
        owner = PGDATA.stat().st_uid
        if owner != 0:
            entry = pwd.getpwuid(owner)
            return RunAs(entry.pw_name, entry.pw_uid, entry.pw_gid, switch=True)
    if _user_exists(SERVER_USER):
        entry = pwd.getpwnam(SERVER_USER)
    else:
        _say(f"creating system user {SERVER_USER!r} to run PostgreSQL (it refuses to run as root)")
        res = subprocess.run(
            ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/var/lib/postgresql",
             "--shell", "/bin/sh", SERVER_USER],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if res.returncode != 0 and res.returncode != 9:  # 9: the user appeared meanwhile
            raise DevDBError(f"useradd {SERVER_USER} failed: {res.stderr.strip()}")
        entry = pwd.getpwnam(SERVER_USER)
    return RunAs(entry.pw_name, entry.pw_uid, entry.pw_gid, switch=True)


def _make_traversable(path: Path, who: RunAs) -> None:
    """Give 'others' search permission on every ancestor of `path` that the server user cannot search."""
    if not who.switch:
        return
    for ancestor in reversed(path.parents):
        st = ancestor.stat()
        if st.st_uid == who.uid or st.st_mode & stat.S_IXOTH:
            continue
        _say(f"chmod o+x {ancestor} so that user {who.name} can reach {path}")
        os.chmod(ancestor, stat.S_IMODE(st.st_mode) | stat.S_IXOTH)


def _own_dir(path: Path, who: RunAs, mode: int) -> None:
    path.mkdir(parents=True, exist_ok=True)
    st = path.stat()
    if who.switch and (st.st_uid != who.uid or st.st_gid != who.gid):
        os.chown(path, who.uid, who.gid)
    if stat.S_IMODE(st.st_mode) != mode:
        os.chmod(path, mode)


def _prepare_dirs(who: RunAs) -> None:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    sock = socket_dir()
    _make_traversable(PGDATA, who)
    _make_traversable(sock, who)
    if not PGDATA.exists():
        _own_dir(PGDATA, who, 0o700)
    elif who.switch and PGDATA.stat().st_uid != who.uid:
        _say(f"chown -R {who.name} {PGDATA}")
        for root, dirs, files in os.walk(PGDATA):
            for entry in (root, *(os.path.join(root, n) for n in (*dirs, *files))):
                os.lchown(entry, who.uid, who.gid)
    _own_dir(sock, who, 0o755)
    LOG_FILE.touch(exist_ok=True)
    if who.switch:
        os.chown(LOG_FILE, who.uid, who.gid)


# -------------------------------------------------------------------------------------- running tools


def _clean_env() -> dict[str, str]:
    """Our environment without libpq/PostgreSQL variables that could redirect the tools elsewhere."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_MESSAGES"] = "C"
    return env


def _run(
    argv: Sequence[str],
    *,
    who: RunAs | None = None,
    timeout: float = 120,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    cmd = who.command(argv) if who else list(argv)
    return subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
        env=dict(env) if env is not None else _clean_env(),
        cwd=str(DATA_DIR) if DATA_DIR.is_dir() else "/",
    )


def _log_tail(lines: int = 15) -> str:
    try:
        text = LOG_FILE.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return ""
    return "\n".join("    " + line for line in text)


def _locale() -> str:
    try:
        out = subprocess.run(["locale", "-a"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return "C"
    names = {line.strip().lower() for line in out.splitlines()}
    return "C.UTF-8" if {"c.utf8", "c.utf-8"} & names else "C"


def _initdb(inst: Installation, who: RunAs) -> None:
    if PGDATA.is_dir() and any(PGDATA.iterdir()):
        # No PG_VERSION: an initdb that was interrupted. Nothing can live in there yet.
        _say(f"{PGDATA} holds an incomplete cluster; removing it")
        shutil.rmtree(PGDATA)
        _own_dir(PGDATA, who, 0o700)
    loc = _locale()
    _say(f"initdb {PGDATA} (PostgreSQL {inst.major}, superuser {ROLE}, locale {loc})")
    argv = [
        inst.tool("initdb"),
        "-D",
        str(PGDATA),
        "-U",
        ROLE,
        "--auth=trust",
        "-E",
        "UTF8",
        f"--locale={loc}",
    ]
    res = _run(argv, who=who, timeout=300)
    if res.returncode != 0 and loc != "C":
        _say(f"initdb with locale {loc} failed; retrying with locale C")
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(PGDATA)
        _own_dir(PGDATA, who, 0o700)
        res = _run([*argv[:-1], "--locale=C"], who=who, timeout=300)
    if res.returncode != 0:
        raise DevDBError(f"initdb failed (exit {res.returncode}):\n{res.stdout}{res.stderr}")


def _conf_text() -> str:
    sock = str(socket_dir()).replace("'", "''")
    return (
        "# Written by server/devdb.py on every start; edit that file, not this one.\n"
        f"port = {port()}\n"
        f"listen_addresses = '{HOST}'\n"
        f"unix_socket_directories = '{sock}'\n"
        "shared_buffers = 256MB\n"
        "work_mem = 64MB\n"
        "maintenance_work_mem = 256MB\n"
        "max_parallel_workers_per_gather = 2\n"
        "synchronous_commit = off\n"
        "logging_collector = off\n"
        "log_line_prefix = '%m [%p] %q%u@%d '\n"
    )


def _write_conf(who: RunAs) -> None:
    """Write `towne.conf` (port, sockets, memory) and include it from `postgresql.conf` once."""
    conf = PGDATA / CONF_NAME
    text = _conf_text()
    if not conf.is_file() or conf.read_text() != text:
        conf.write_text(text)
    if who.switch:
        os.chown(conf, who.uid, who.gid)
    main = PGDATA / "postgresql.conf"
    include = f"include_if_exists = '{CONF_NAME}'"
    current = main.read_text()
    if include not in current:
        with main.open("a") as fh:
            fh.write(f"\n# Towne Graph development settings\n{include}\n")


# ------------------------------------------------------------------------------------ server lifecycle


def _postmaster_pid() -> int | None:
    try:
        first = (PGDATA / "postmaster.pid").read_text().splitlines()[0]
        return int(first.strip())
    except (OSError, ValueError, IndexError):
        return None


def _running_port() -> int | None:
    """The port recorded in postmaster.pid (line 4)."""
    try:
        return int((PGDATA / "postmaster.pid").read_text().splitlines()[3].strip())
    except (OSError, ValueError, IndexError):
        return None


def _is_running(inst: Installation, who: RunAs) -> bool:
    res = _run([inst.tool("pg_ctl"), "status", "-D", str(PGDATA)], who=who, timeout=30)
    if res.returncode != 0:
        return False  # 3: not running (also when postmaster.pid is stale); 4: no data directory
    pid = _postmaster_pid()
    if pid is not None:
        # After a restart the stale pid may belong to an unrelated process of the same user.
        try:
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            comm = "postgres"
        if comm not in ("postgres", "postmaster"):
            _say(f"postmaster.pid names pid {pid} ({comm}), not PostgreSQL: removing the stale file")
            with contextlib.suppress(FileNotFoundError):
                (PGDATA / "postmaster.pid").unlink()
            return False
    return True


def _port_busy(number: int) -> bool:
    """Whether another program already listens on 127.0.0.1:`number` (or on all addresses)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the postmaster does
        try:
            probe.bind((HOST, number))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


def _pg_isready(inst: Installation, number: int) -> bool:
    argv = [
        inst.tool("pg_isready"),
        "-q",
        "-h",
        str(socket_dir()),
        "-p",
        str(number),
        "-U",
        ROLE,
        "-d",
        "postgres",
    ]
    try:
        return _run(argv, timeout=15).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def _wait_ready(inst: Installation, number: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if _pg_isready(inst, number):
            return
        if time.monotonic() > deadline:
            raise DevDBError(
                f"PostgreSQL did not accept connections on port {number} within {timeout:.0f}s; "
                f"see {LOG_FILE}:\n{_log_tail()}"
            )
        time.sleep(0.3)


def _start(inst: Installation, who: RunAs) -> None:
    number = port()
    if _port_busy(number):
        raise DevDBError(
            f"port {number} on {HOST} is already in use by another program; "
            f"set {PORT_ENV} to a free port (e.g. {PORT_ENV}={number + 1})"
        )
    _say(f"starting PostgreSQL {inst.major} on {HOST}:{number} (log: {LOG_FILE})")
    argv = [
        inst.tool("pg_ctl"),
        "start",
        "-w",
        "-t",
        str(START_TIMEOUT_S),
        "-D",
        str(PGDATA),
        "-l",
        str(LOG_FILE),
    ]
    try:
        res = _run(argv, who=who, timeout=START_TIMEOUT_S + 30)
    except subprocess.TimeoutExpired:
        raise DevDBError(f"pg_ctl start timed out; see {LOG_FILE}:\n{_log_tail()}") from None
    if res.returncode != 0:
        hint = ""
        if _port_busy(number) or "could not bind" in _log_tail(40):
            hint = f"\nport {number} seems to be in use: set {PORT_ENV} to a free port."
        raise DevDBError(
            f"PostgreSQL failed to start (pg_ctl exit {res.returncode}): "
            f"{res.stderr.strip() or res.stdout.strip()}"
            f"\nsee {LOG_FILE}:\n{_log_tail()}{hint}"
        )
    _wait_ready(inst, number, START_TIMEOUT_S)


def _stop(inst: Installation, who: RunAs) -> None:
    res = _run([inst.tool("pg_ctl"), "stop", "-m", "fast", "-w", "-t", "60", "-D", str(PGDATA)], who=who)
    if res.returncode != 0 and _is_running(inst, who):
        raise DevDBError(f"pg_ctl stop failed: {res.stderr.strip() or res.stdout.strip()}; see {LOG_FILE}")


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    """Serialise cluster management between processes (e.g. `make run` and `make test` at once)."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
    except PermissionError:  # created by another user (e.g. root): a read-only descriptor can flock too
        fd = os.open(LOCK_FILE, os.O_RDONLY)
    with os.fdopen(fd) as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_cluster() -> None:
    """Install PostgreSQL/PostGIS if needed, initdb if needed and start the cluster if it is stopped."""
    number = port()
    with _locked():
        inst = ensure_installed()
        who = _run_as()
        _prepare_dirs(who)
        if not (PGDATA / "PG_VERSION").is_file():
            _initdb(inst, who)
        _write_conf(who)
        if _is_running(inst, who):
            running_on = _running_port()
            if running_on is not None and running_on != number:
                _say(f"the cluster runs on port {running_on} but {PORT_ENV} asks for {number}: restarting it")
                _stop(inst, who)
            else:
                _wait_ready(inst, number, 30)
                return
        _start(inst, who)


def _psql(inst: Installation, sql: str, *, database: str = "postgres") -> subprocess.CompletedProcess[str]:
    argv = [
        inst.tool("psql"), "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1",
        "-h", str(socket_dir()), "-p", str(port()), "-U", ROLE, "-d", database, "-c", sql,
    ]  # fmt: skip
    return _run(argv, timeout=120)


def _database_exists(inst: Installation, name: str) -> bool:
    res = _psql(inst, f"SELECT 1 FROM pg_database WHERE datname = '{name}'")
    if res.returncode != 0:
        raise DevDBError(f"psql could not query the cluster: {res.stderr.strip()}; see {LOG_FILE}")
    return res.stdout.strip() == "1"


def ensure_database(name: str) -> str:
    """Start the cluster when needed, create database `name` when missing, and return its URL."""
    _check_name(name)
    ensure_cluster()
    inst = _pick_installation(installations())
    if inst is None:  # pragma: no cover - ensure_cluster() just made sure of it
        raise DevDBError("PostgreSQL disappeared")
    if not _database_exists(inst, name):
        _say(f"CREATE DATABASE {name}")
        res = _psql(inst, f'CREATE DATABASE "{name}"')
        if res.returncode != 0 and not _database_exists(inst, name):  # another process may have won
            raise DevDBError(f"CREATE DATABASE {name} failed: {res.stderr.strip()}")
    return database_url(name)


def stop_cluster() -> None:
    """Stop the cluster (`pg_ctl stop -m fast`); a no-op when it is not running or does not exist."""
    if not (PGDATA / "PG_VERSION").is_file():
        _say(f"no cluster in {PGDATA}; nothing to stop")
        return
    with _locked():
        inst = _pick_installation(installations())
        if inst is None:
            if _postmaster_pid() is None:
                _say("not running")
                return
            raise DevDBError(f"PostgreSQL {_cluster_major()} binaries not found; cannot stop the cluster")
        who = _run_as()
        if not _is_running(inst, who):
            _say("not running")
            return
        _say(f"stopping PostgreSQL in {PGDATA}")
        _stop(inst, who)


def status() -> str:
    """A few lines describing the embedded cluster (for humans and CI logs)."""
    inst = _pick_installation(installations())
    lines = [
        f"data directory: {PGDATA}",
        f"socket directory: {socket_dir()}",
        f"log: {LOG_FILE}",
        f"port: {port()} ({PORT_ENV})",
    ]
    if inst is None:
        lines.append("PostgreSQL: not installed")
    else:
        lines.append(f"PostgreSQL {inst.major}: {inst.bindir}")
        lines.append(f"PostGIS: {'yes' if inst.has_postgis() else 'no'} ({inst.postgis_control})")
        running = (PGDATA / "PG_VERSION").is_file() and _is_running(inst, _run_as())
        lines.append(f"running: {'yes' if running else 'no'}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------- CLI


def _external_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        return None
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m server.devdb", description="The embedded PostgreSQL cluster of Towne Graph."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for command, text in (
        ("up", "start the cluster (installing/initialising it when needed) and print the database URL"),
        ("url", "print the database URL without starting anything"),
    ):
        p = sub.add_parser(command, help=text)
        p.add_argument("--database", default=os.environ.get("TOWNE_DATABASE", "towne"), help="database name")
    sub.add_parser("stop", help="stop the cluster (pg_ctl stop -m fast)")
    sub.add_parser("status", help="describe the cluster")
    args = parser.parse_args(argv)

    try:
        if args.command in ("up", "url"):
            external = _external_url()
            if external is not None:
                _say("DATABASE_URL is set: using that server, the local cluster is not touched")
                print(external)
            elif args.command == "up":
                print(ensure_database(args.database))
            else:
                print(database_url(args.database))
        elif args.command == "stop":
            stop_cluster()
        else:
            print(status())
    except DevDBError as exc:
        _say(f"error: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
