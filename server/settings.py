"""Application settings: one `BaseSettings` class, read from the environment (design.md §13)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AnyHttpUrl, Field, SecretStr
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
    # a streaming replica of DATABASE_URL's database (docs/scaling.md): requests without a mutation read
    # there, except a caller's reads within `read_your_writes_s` of its own write (the `towne-primary-until`
    # cookie or header the write's response carries). Connects as the application role, like the primary.
    database_read_url: str | None = Field(default=None, alias="DATABASE_READ_URL")
    read_your_writes_s: int = Field(default=10, alias="TOWNE_READ_YOUR_WRITES_S", gt=0, le=3600)
    host: str = Field(default="127.0.0.1", alias="TOWNE_HOST")
    port: int = Field(default=8000, alias="TOWNE_PORT")
    # worker processes of `towne serve` behind its one port (default: the CPU count; `towne run`: 1)
    workers: int | None = Field(default=None, alias="TOWNE_WORKERS", gt=0)
    data_dir: Path = Field(default=REPO_ROOT / "data", alias="TOWNE_DATA_DIR")
    # Unexpected errors are always INTERNAL with a request id; debug adds the exception's type and message to
    # the response (never SQL parameters or a traceback). For a developer's machine only.
    debug: bool = Field(default=False, alias="TOWNE_DEBUG")
    # Request bodies above this many bytes are refused with 413 before they are parsed.
    max_body_bytes: int = Field(default=1_000_000, alias="TOWNE_MAX_BODY_BYTES", gt=0)
    # Only `POST /layers/{code}/import` (a GeoJSON layer file) may send up to this many bytes.
    max_import_bytes: int = Field(default=256 * 1024 * 1024, alias="TOWNE_MAX_IMPORT_BYTES", gt=0)
    sql_echo: bool = Field(default=False, alias="TOWNE_SQL_ECHO")
    # A statement of a request waits at most this long for a row lock (e.g. behind a generation), then the
    # request is answered BUSY; 0 waits for ever.
    lock_timeout_ms: int = Field(default=10_000, alias="TOWNE_LOCK_TIMEOUT_MS", ge=0)

    # ---- Great Plains posting (server/great_plains.py, docs/operations.md "Sending"; domain.md §3.8).
    # outbox: batch files in gp_outbox_dir for an integration job; http: POST to gp_endpoint
    gp_adapter: Literal["outbox", "http"] = Field(default="outbox", alias="TOWNE_GP_ADAPTER")
    gp_outbox_dir: Path = Field(default=REPO_ROOT / ".data" / "gp-outbox", alias="TOWNE_GP_OUTBOX_DIR")
    gp_endpoint: AnyHttpUrl | None = Field(default=None, alias="TOWNE_GP_ENDPOINT")
    gp_token: SecretStr | None = Field(default=None, alias="TOWNE_GP_TOKEN")
    gp_timeout_s: float = Field(default=30.0, alias="TOWNE_GP_TIMEOUT_S", gt=0, le=600)

    # ---- E-mail (server/mailer.py, docs/operations.md "Sending"). Default: the development mail sink that
    # `towne run` starts on 127.0.0.1:8025 (`towne mail-sink`, messages in .data/mailbox).
    smtp_host: str = Field(default="127.0.0.1", alias="TOWNE_SMTP_HOST")
    smtp_port: int = Field(default=8025, alias="TOWNE_SMTP_PORT", gt=0, lt=65536)
    # none: plain SMTP (the local sink); starttls: upgrade on 587; tls: implicit TLS on 465
    smtp_tls: Literal["none", "starttls", "tls"] = Field(default="none", alias="TOWNE_SMTP_TLS")
    smtp_username: str | None = Field(default=None, alias="TOWNE_SMTP_USERNAME")
    smtp_password: SecretStr | None = Field(default=None, alias="TOWNE_SMTP_PASSWORD")
    smtp_from: str = Field(default="billing@towne-graph.invalid", alias="TOWNE_SMTP_FROM")
    smtp_timeout_s: float = Field(default=60.0, alias="TOWNE_SMTP_TIMEOUT_S", gt=0, le=600)
    mailbox_dir: Path = Field(default=REPO_ROOT / ".data" / "mailbox", alias="TOWNE_MAILBOX_DIR")
    # ---- The send worker (server/worker.py): tries per job, back-off, lease, where failures are reported.
    send_max_attempts: int = Field(default=5, alias="TOWNE_SEND_MAX_ATTEMPTS", ge=1, le=100)
    # the n-th retry waits send_backoff_s · 2^(n-1), at most send_backoff_max_s
    send_backoff_s: float = Field(default=30.0, alias="TOWNE_SEND_BACKOFF_S", ge=0)
    send_backoff_max_s: float = Field(default=3600.0, alias="TOWNE_SEND_BACKOFF_MAX_S", ge=0)
    # a job whose worker stops renewing its lease for this long is taken over (its attempt LOST)
    send_lease_s: int = Field(default=120, alias="TOWNE_SEND_LEASE_S", ge=1, le=3600)
    send_poll_s: float = Field(default=2.0, alias="TOWNE_SEND_POLL_S", gt=0, le=60)
    # the failure notice of domain.md §3.8: who is e-mailed when a send fails for good (none: the log only)
    send_failure_notice_to: list[str] = Field(default_factory=list, alias="TOWNE_SEND_FAILURE_NOTICE_TO")

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

    # ---- Limits and operations (docs/architecture.md "Limits and operations settings") ------------------
    # GraphQL documents: deeper, more aliased, longer or costlier documents are refused before anything runs.
    max_depth: int = Field(default=12, alias="TOWNE_MAX_DEPTH", gt=0)
    max_aliases: int = Field(default=50, alias="TOWNE_MAX_ALIASES", ge=0)
    max_tokens: int = Field(default=15_000, alias="TOWNE_MAX_TOKENS", gt=0)
    # the estimated number of objects a document may ask for: list sizes (`first`, else the field's default)
    # multiplied through the nesting (schema/limits.py)
    max_cost: int = Field(default=200_000, alias="TOWNE_MAX_COST", gt=0)
    # every SQL statement of the application ends after this long (SQLSTATE 57014, STATEMENT_TIMEOUT); 0: never
    statement_timeout_ms: int = Field(default=15_000, alias="TOWNE_STATEMENT_TIMEOUT_MS", ge=0)
    # a request still running after this long is cancelled and answered REQUEST_TIMEOUT
    request_timeout_ms: int = Field(default=30_000, alias="TOWNE_REQUEST_TIMEOUT_MS", gt=0)
    # connections of the pool; a request waiting longer than `pool_timeout_s` for one is SERVICE_BUSY
    pool_size: int = Field(default=10, alias="TOWNE_POOL_SIZE", gt=0)
    pool_max_overflow: int = Field(default=10, alias="TOWNE_POOL_MAX_OVERFLOW", ge=0)
    pool_timeout_s: float = Field(default=2.0, alias="TOWNE_POOL_TIMEOUT_S", gt=0)
    # production: no introspection, no GraphiQL (and the deployment's own settings for everything else)
    env: Literal["development", "production"] = Field(default="development", alias="TOWNE_ENV")
    # a JSON object {"<sha256 of the document, hex>": "<document>"}; operations may name one by its hash
    persisted_operations: Path | None = Field(default=None, alias="TOWNE_PERSISTED_OPERATIONS")
    # only operations of the registry run (by hash); any other document is PERSISTED_QUERY_REQUIRED
    persisted_only: bool = Field(default=False, alias="TOWNE_PERSISTED_ONLY")
    # origins allowed to call the API from a browser (CORS), e.g. ["https://map.towne.example"]; none by default
    cors_origins: list[str] = Field(default_factory=list, alias="TOWNE_CORS_ORIGINS")
    # responses at least this many bytes are gzip-compressed for clients that accept it
    gzip_minimum_bytes: int = Field(default=1_000, alias="TOWNE_GZIP_MINIMUM_BYTES", gt=0)

    @property
    def production(self) -> bool:
        return self.env == "production"


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
    return app_role_url(settings, owner_url)


def app_role_url(settings: Settings, url_text: str) -> str:
    """`url_text` as it is when its user is the application role, else with that role as its user and no
    password (the embedded cluster trusts loopback). `DATABASE_READ_URL` goes through here: in production
    give it the application role's user and password."""
    from sqlalchemy.engine import make_url

    url = make_url(normalise_url(url_text))
    if url.username == settings.app_role:
        return url.render_as_string(hide_password=False)
    # URL.set(password=None) would keep the owner's password: None there means "unchanged"
    return url.set(username=settings.app_role)._replace(password=None).render_as_string(hide_password=False)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
