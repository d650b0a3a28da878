"""Application settings: one `BaseSettings` class, read from the environment (design.md §13)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Runtime configuration.

    `database_url` is an SQLAlchemy URL (`postgresql+asyncpg://…`). When it is unset the project-local
    cluster of `server.devdb` is used (`make run` / `make test` bring it up).
    """

    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    database_url: str | None = Field(default=None, alias="DATABASE_URL")
    database_name: str = Field(default="towne", alias="TOWNE_DATABASE")
    host: str = Field(default="127.0.0.1", alias="TOWNE_HOST")
    port: int = Field(default=8000, alias="TOWNE_PORT")
    data_dir: Path = Field(default=REPO_ROOT / "data", alias="TOWNE_DATA_DIR")
    # Unexpected errors are always INTERNAL with a request id; debug adds the exception's type and message to
    # the response (never SQL parameters or a traceback). For a developer's machine only.
    debug: bool = Field(default=False, alias="TOWNE_DEBUG")
    # Request bodies above this many bytes are refused with 413 before they are parsed.
    max_body_bytes: int = Field(default=1_000_000, alias="TOWNE_MAX_BODY_BYTES", gt=0)
    sql_echo: bool = Field(default=False, alias="TOWNE_SQL_ECHO")
    # A statement of a request waits at most this long for a row lock (e.g. behind a generation), then the
    # request is answered BUSY; 0 waits for ever.
    lock_timeout_ms: int = Field(default=10_000, alias="TOWNE_LOCK_TIMEOUT_MS", ge=0)


def normalise_url(url: str) -> str:
    """Accept plain `postgresql://` / `postgres://` URLs and use the asyncpg driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
