"""`towne assign` and `towne import` from the command line against the test database."""

from __future__ import annotations

import os
import subprocess
import sys

from importer.run import ImportSummary
from tests.conftest import REPO_ROOT


def _towne(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_assign_prints_a_summary_per_layer_and_changes_nothing(
    database_url: str, imported: ImportSummary
) -> None:
    result = _towne(database_url, "assign")
    assert result.returncode == 0, result.stderr
    assert "Layer districts: 649 assigned, 0 unassigned, 0 rows opened, 0 closed" in result.stderr
    assert "Layer upp-districts: 143 assigned, 506 unassigned" in result.stderr


def test_assign_unknown_layer_fails_clearly(database_url: str, imported: ImportSummary) -> None:
    result = _towne(database_url, "assign", "--layer", "counties")
    assert result.returncode == 2
    assert "no territory layer with code 'counties'" in result.stderr


def test_second_import_reports_everything_unchanged(database_url: str, imported: ImportSummary) -> None:
    result = _towne(database_url, "import")
    assert result.returncode == 0, result.stderr
    assert "│ customer_site           │   0 │       0 │       649 │" in result.stderr
    assert "contracts.csv:80: billing_type '1'" in result.stderr
