"""The embedded development/test cluster of `server.devdb`.

The tests marked `needs_cluster` use the shared cluster (`.data/postgres`, started when needed) but
never stop it; they are skipped when `DATABASE_URL` is set, because the embedded cluster is not in use
then. They need no conftest
(`pytest --noconftest tests/test_devdb.py` works).
"""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from server import devdb

needs_cluster = pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL")), reason="DATABASE_URL is set: the embedded cluster is not in use"
)

SCRATCH_PREFIX = "towne_devdb_test_"


def _installation() -> devdb.Installation:
    inst = devdb._pick_installation(devdb.installations())
    assert inst is not None, "ensure_cluster() should have left a PostgreSQL installation"
    return inst


def _psql(database: str, sql: str) -> subprocess.CompletedProcess[str]:
    """Run `sql` with psql through the cluster's unix socket as role towne."""
    inst = _installation()
    argv = [
        inst.tool("psql"), "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1",
        "-h", str(devdb.socket_dir()), "-p", str(devdb.port()), "-U", devdb.ROLE, "-d", database, "-c", sql,
    ]  # fmt: skip
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)


@pytest.fixture
def scratch_name() -> Iterator[str]:
    """A fresh database name; the database is dropped afterwards (the cluster keeps running)."""
    name = SCRATCH_PREFIX + uuid.uuid4().hex[:12]
    yield name
    _psql("postgres", f'DROP DATABASE IF EXISTS "{name}"')


def test_database_url_default_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(devdb.PORT_ENV, raising=False)
    assert devdb.database_url("towne") == "postgresql+asyncpg://towne@127.0.0.1:54329/towne"


def test_database_url_honours_towne_pg_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(devdb.PORT_ENV, "55432")
    assert devdb.port() == 55432
    assert devdb.database_url("towne_test") == "postgresql+asyncpg://towne@127.0.0.1:55432/towne_test"


@pytest.mark.parametrize("bad", ["abc", "80", "70000"])
def test_bad_port_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, bad: str) -> None:
    monkeypatch.setenv(devdb.PORT_ENV, bad)
    with pytest.raises(devdb.DevDBError, match=devdb.PORT_ENV):
        devdb.database_url("towne")


@pytest.mark.parametrize("bad", ["", "1abc", 'x"; DROP DATABASE postgres; --', "a-b", "x" * 64])
def test_unsafe_database_names_are_refused(bad: str) -> None:
    with pytest.raises(devdb.DevDBError, match="invalid database name"):
        devdb.database_url(bad)


def test_cluster_lives_under_the_repository() -> None:
    assert Path(devdb.__file__).resolve().parent.parent == devdb.REPO_ROOT
    assert devdb.PGDATA == devdb.REPO_ROOT / ".data" / "postgres"
    assert devdb.LOG_FILE == devdb.REPO_ROOT / ".data" / "postgres.log"


@needs_cluster
def test_ensure_database_creates_an_existing_database_and_is_idempotent(scratch_name: str) -> None:
    url = devdb.ensure_database(scratch_name)
    assert url == devdb.database_url(scratch_name)
    assert url.startswith("postgresql+asyncpg://towne@127.0.0.1:")
    assert url.endswith("/" + scratch_name)

    res = _psql(scratch_name, "SELECT 1")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "1"

    # Second call: same URL, no error, database still there.
    assert devdb.ensure_database(scratch_name) == url
    assert _psql(scratch_name, "SELECT 1").stdout.strip() == "1"


@needs_cluster
def test_a_missing_database_is_missing() -> None:
    devdb.ensure_cluster()
    res = _psql(SCRATCH_PREFIX + "never_created_" + uuid.uuid4().hex[:8], "SELECT 1")
    assert res.returncode != 0
    assert "does not exist" in res.stderr


@needs_cluster
def test_cluster_settings_and_superuser() -> None:
    devdb.ensure_cluster()
    res = _psql(
        "postgres",
        "SELECT current_user, rolsuper, current_setting('listen_addresses'), current_setting('port'), "
        "current_setting('server_encoding') FROM pg_roles WHERE rolname = current_user",
    )
    assert res.returncode == 0, res.stderr
    user, superuser, listen, port, encoding = res.stdout.strip().split("|")
    assert (user, superuser, listen, encoding) == ("towne", "t", "127.0.0.1", "UTF8")
    assert int(port) == devdb.port()


@needs_cluster
def test_postgis_control_file_is_detected() -> None:
    devdb.ensure_cluster()
    inst = _installation()
    assert inst.major >= devdb.MIN_MAJOR
    assert inst.has_postgis()
    assert inst.postgis_control.is_file()
    assert inst.postgis_control.name == "postgis.control"
    if inst.sharedir == devdb.DEB_SHARE / str(inst.major):
        assert devdb.postgis_control(inst.major) == inst.postgis_control


@needs_cluster
def test_postgis_extension_can_be_created(scratch_name: str) -> None:
    devdb.ensure_database(scratch_name)
    res = _psql(scratch_name, "CREATE EXTENSION postgis; SELECT ST_AsText(ST_MakePoint(1, 2))")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "POINT(1 2)"


def test_cli_url_prints_only_the_url(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv(devdb.PORT_ENV, "54999")
    assert devdb.main(["url", "--database", "towne_x"]) == 0
    assert capsys.readouterr().out == "postgresql+asyncpg://towne@127.0.0.1:54999/towne_x\n"


def test_cli_up_with_database_url_touches_no_cluster(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def forbidden() -> None:
        raise AssertionError("the local cluster must not be touched when DATABASE_URL is set")

    monkeypatch.setattr(devdb, "ensure_cluster", forbidden)
    monkeypatch.setenv("DATABASE_URL", "postgresql://someone@db.example:5432/towne")
    assert devdb.main(["up", "--database", "ignored"]) == 0
    assert capsys.readouterr().out == "postgresql+asyncpg://someone@db.example:5432/towne\n"


def test_port_in_use_is_detected() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        number = busy.getsockname()[1]
        assert devdb._port_busy(number)
    assert not devdb._port_busy(number)
