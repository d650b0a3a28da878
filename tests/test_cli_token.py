"""`towne token` and `towne user`: the user and its grants land in the database, stdout is the bare token."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text

from server import cli
from server.settings import Settings, get_settings
from server.tokens import TokenVerifier
from tests.conftest import TEST_JWT_SECRET


@pytest.fixture
def cli_env(database_url: str, imported: object, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The CLI pointed at the test database; the users it makes are deleted afterwards (they commit)."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("TOWNE_JWT_SECRET", TEST_JWT_SECRET)
    get_settings.cache_clear()
    yield database_url
    get_settings.cache_clear()


def _delete_users(url: str, *subjects: str) -> None:
    import asyncio

    from sqlalchemy.ext.asyncio import create_async_engine

    async def run() -> None:
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM app_user WHERE subject = ANY(:s)"), {"s": list(subjects)})
        await engine.dispose()

    asyncio.run(run())


def test_token_prints_only_a_token_for_a_user_with_exactly_those_grants(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        code = cli.main(
            [
                "token",
                "--role",
                "districtManager",
                "--territories",
                "districts:orlando",
                "--subject",
                "cli-dm",
            ]
        )
        out = capsys.readouterr().out
        assert code == 0 and out.count("\n") == 1
        settings = Settings(DATABASE_URL=cli_env, TOWNE_JWT_SECRET=TEST_JWT_SECRET)
        assert TokenVerifier(settings).subject("Bearer " + out.strip()) == "cli-dm"
        # again with other grants: replaced, not added
        assert (
            cli.main(["token", "--role", "accountManager", "--sites", "349,0212", "--subject", "cli-dm"]) == 0
        )
        capsys.readouterr()
        assert cli.main(["user", "list"]) == 0
        listed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("cli-dm")]
        assert listed == ["cli-dm\taccountManager\t0212, 0349"]
        # a typo is refused by name and changes nothing
        assert cli.main(["token", "--role", "districtManager", "--territories", "districts:orlandoo"]) == 2
        assert cli.main(["token", "--role", "superuser"]) == 2
        assert capsys.readouterr().out == ""
        assert (
            cli.main(["user", "add", "cli-admin", "--role", "billingAdmin", "--email", "a@example.com"]) == 0
        )
        assert cli.main(["user", "disable", "cli-admin"]) == 0
        capsys.readouterr()
        assert cli.main(["user", "list"]) == 0
        assert "cli-admin (inactive)\tbillingAdmin\t-" in capsys.readouterr().out
    finally:
        _delete_users(cli_env, "cli-dm", "cli-admin", "dev-districtmanager", "dev-superuser")
