"""`towne assign` and `towne import` from the command line against the test database."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

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


def test_every_subcommand_and_option_has_help() -> None:
    import argparse

    from server.cli import build_parser

    missing: list[str] = []

    def walk(parser: argparse.ArgumentParser, path: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                helps = {choice.dest: choice.help for choice in action._choices_actions}
                for name, sub in action.choices.items():
                    if not helps.get(name):
                        missing.append(f"{path} {name}")
                    walk(sub, f"{path} {name}")
            elif not isinstance(action, argparse._HelpAction) and not action.help:
                missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")

    walk(build_parser(), "towne")
    assert missing == []


def test_schema_prints_the_committed_sdl(capsys: pytest.CaptureFixture[str]) -> None:
    from schema.contract import SDL_FILE
    from server.cli import main

    assert main(["schema"]) == 0
    assert capsys.readouterr().out == SDL_FILE.read_text(encoding="utf-8")
