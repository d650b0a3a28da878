"""`towne serve --workers 2`: two worker processes answer behind one port (issue 8).

The server runs as a subprocess against the test database; each request's JSON log line names the process
that served it (`process`), which is how the test tells the workers apart without the response saying so.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from importer.run import ImportSummary
from tests.conftest import REPO_ROOT, TEST_JWT_SECRET, TEST_SETTINGS, bearer


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serving_processes(log: Path) -> set[int]:
    found: set[int] = set()
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("name") == "towne.request" and record.get("path") == "/healthz":
                found.add(int(record["process"]))
    return found


@pytest.fixture
def server(database_url: str, imported: ImportSummary, tmp_path: Path) -> Iterator[tuple[str, Path, int]]:
    port = _free_port()
    log = tmp_path / "serve.log"
    env = {**os.environ, "DATABASE_URL": database_url, "TOWNE_JWT_SECRET": TEST_JWT_SECRET}
    env.pop("TOWNE_WORKERS", None)
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--workers", "2", "--port", str(port)],
            cwd=REPO_ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield base, log, process.pid
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_two_workers_answer_behind_one_port(server: tuple[str, Path, int]) -> None:
    base, log, supervisor = server
    answer = httpx.post(
        f"{base}/graphql",
        json={"query": '{ site(siteNumber: "0170") { name } }'},
        headers=bearer(TEST_SETTINGS),
        timeout=30,
    )
    assert answer.json() == {"data": {"site": {"name": "Gaylord Opryland Hotel"}}}

    def probe(_: int) -> int:
        # a connection of its own each time: the listening socket hands it to whichever worker accepts
        with httpx.Client(timeout=10) as client:
            return client.get(f"{base}/healthz").status_code

    seen: set[int] = set()
    deadline = time.monotonic() + 30
    with ThreadPoolExecutor(8) as pool:
        while len(seen) < 2 and time.monotonic() < deadline:
            assert set(pool.map(probe, range(32))) == {200}
            time.sleep(0.2)  # the log lines are written when the responses have gone
            seen = _serving_processes(log)
    assert len(seen) == 2, (seen, log.read_text()[-2000:])
    assert supervisor not in seen


def test_one_worker_builds_its_app_from_the_url_the_cli_set(monkeypatch: pytest.MonkeyPatch) -> None:
    """`towne run` (one worker) builds the app in the CLI's own process, whose settings were read before
    the CLI put the database URL in the environment: the factory must read them afresh."""
    from server.app import app_from_environment
    from server.settings import get_settings

    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("TOWNE_JWT_SECRET", TEST_JWT_SECRET)
    get_settings.cache_clear()
    try:
        assert not get_settings().database_url  # what the CLI had read, and cached, before serving
        monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://towne@127.0.0.1:1/none")  # as `serve` does
        assert app_from_environment() is not None  # builds; nothing connects until a request
    finally:
        get_settings.cache_clear()
