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

    # ---- identity (docs/security.md). Tokens are JWTs; the database holds what their subject may do.
    # The application's own database role (not superuser, not BYPASSRLS; migration 0008). The server
    # connects as it: TOWNE_APP_DATABASE_URL, else DATABASE_URL (or the embedded cluster) with this user.
    app_role: str = Field(default="towne_app", alias="TOWNE_APP_ROLE", pattern=r"^[a-z][a-z0-9_]{0,62}$")
    app_database_url: str | None = Field(default=None, alias="TOWNE_APP_DATABASE_URL")
    # HS256 secret (development). Unset: generated once into .data/jwt-secret, shared with `towne token`.
    jwt_secret: str | None = Field(default=None, alias="TOWNE_JWT_SECRET", min_length=32)
    # RS256 (production): a PEM public key (text, or a path to a file), or a JWKS file chosen by `kid`.
    jwt_public_key: str | None = Field(default=None, alias="TOWNE_JWT_PUBLIC_KEY")
    jwt_jwks_file: Path | None = Field(default=None, alias="TOWNE_JWT_JWKS_FILE")
    jwt_issuer: str = Field(default="towne-graph", alias="TOWNE_JWT_ISSUER")
    jwt_audience: str = Field(default="towne-graph", alias="TOWNE_JWT_AUDIENCE")
    # clock skew tolerated on exp/nbf/iat, seconds
    jwt_leeway_s: int = Field(default=30, alias="TOWNE_JWT_LEEWAY_S", ge=0, le=300)
    secrets_dir: Path = Field(default=REPO_ROOT / ".data", alias="TOWNE_SECRETS_DIR")


def normalise_url(url: str) -> str:
    """Accept plain `postgresql://` / `postgres://` URLs and use the asyncpg driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


def app_database_url(settings: Settings, owner_url: str) -> str:
    """The URL the server connects with: `TOWNE_APP_DATABASE_URL`, else `owner_url` with the application
    role as its user and no password (the embedded cluster trusts loopback; a supplied server configures
    TOWNE_APP_DATABASE_URL with the role's password)."""
    if settings.app_database_url:
        return normalise_url(settings.app_database_url)
    from sqlalchemy.engine import make_url

    url = make_url(normalise_url(owner_url))
    if url.username == settings.app_role:
        return url.render_as_string(hide_password=False)
    return url.set(username=settings.app_role, password=None).render_as_string(hide_password=False)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
