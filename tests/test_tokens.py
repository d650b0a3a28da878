"""Bearer tokens (server/tokens.py, docs/security.md): every bad token is UNAUTHENTICATED and gets no data."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from db.database import Database
from resolvers.errors import Unauthenticated
from server.app import create_app
from server.settings import Settings
from server.tokens import TokenVerifier, issue, jwks_of, parse_ttl
from tests.conftest import ADMIN, TEST_JWT_SECRET


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


QUERY = {"query": '{ site(siteNumber: "0349") { name } }'}


def _settings(**more: Any) -> Settings:
    return Settings.model_validate(
        {"DATABASE_URL": "postgresql+asyncpg://unused/unused", "TOWNE_JWT_SECRET": TEST_JWT_SECRET, **more}
    )


def _claims(**override: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "sub": ADMIN,
        "iss": "towne-graph",
        "aud": "towne-graph",
        "iat": _now(),
        "exp": _now() + dt.timedelta(hours=1),
    }
    claims.update(override)
    return {k: v for k, v in claims.items() if v is not None}


def _hs256(secret: str = TEST_JWT_SECRET, **override: Any) -> str:
    return jwt.encode(_claims(**override), secret, algorithm="HS256")


def _unsigned(**override: Any) -> str:
    return jwt.encode(_claims(**override), None, algorithm="none")  # type: ignore[arg-type]


def _hmac_signed(secret: bytes) -> str:
    """An HS256 token signed by hand (pyjwt itself refuses to use a public key as an HMAC secret)."""
    import base64
    import hashlib
    import hmac

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    claims = {**_claims(), "iat": int(_now().timestamp()), "exp": int(_now().timestamp()) + 3600}
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + b64(json.dumps(claims).encode())
    return head + "." + b64(hmac.new(secret, head.encode(), hashlib.sha256).digest())


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


BAD_TOKENS: dict[str, Callable[[], str]] = {
    "expired": lambda: _hs256(exp=_now() - dt.timedelta(minutes=5)),
    "not-yet-valid": lambda: _hs256(nbf=_now() + dt.timedelta(minutes=10)),
    "wrong-audience": lambda: _hs256(aud="another-service"),
    "wrong-issuer": lambda: _hs256(iss="https://evil.example"),
    "wrong-signature": lambda: _hs256(secret="another-secret-" + "y" * 40),
    "alg-none": _unsigned,
    "no-expiry": lambda: _hs256(exp=None),
    "no-subject": lambda: _hs256(sub=None),
    "not-a-jwt": lambda: "abc.def.ghi",
}


@pytest.mark.parametrize("make", BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
def test_a_bad_token_is_refused(make: Callable[[], str]) -> None:
    with pytest.raises(Unauthenticated):
        TokenVerifier(_settings()).subject(f"Bearer {make()}")


def test_a_good_token_names_its_subject_and_leeway_covers_clock_skew() -> None:
    verifier = TokenVerifier(_settings())
    assert verifier.subject(f"Bearer {_hs256()}") == ADMIN
    assert verifier.subject(f"Bearer {_hs256(exp=_now() - dt.timedelta(seconds=10))}") == ADMIN  # 30 s leeway
    assert verifier.subject(None) is None and verifier.subject("") is None
    with pytest.raises(Unauthenticated, match="Bearer"):
        verifier.subject(f"Basic {_hs256()}")


def test_rs256_with_a_public_key_and_with_a_jwks_file(rsa_key: rsa.RSAPrivateKey, tmp_path: Path) -> None:
    token = jwt.encode(_claims(), rsa_key, algorithm="RS256", headers={"kid": "k1"})
    by_key = TokenVerifier(_settings(TOWNE_JWT_PUBLIC_KEY=_public_pem(rsa_key)))
    assert by_key.subject(f"Bearer {token}") == ADMIN
    jwks = tmp_path / "jwks.json"
    jwks.write_text(jwks_of(_public_pem(rsa_key), "k1"))
    by_jwks = TokenVerifier(_settings(TOWNE_JWT_JWKS_FILE=str(jwks)))
    assert by_jwks.subject(f"Bearer {token}") == ADMIN
    other_kid = jwt.encode(_claims(), rsa_key, algorithm="RS256", headers={"kid": "k2"})
    with pytest.raises(Unauthenticated, match="kid"):
        by_jwks.subject(f"Bearer {other_kid}")
    # an RS256 server never accepts HS256, not even signed with its own public key as the secret
    confused = _hmac_signed(_public_pem(rsa_key).encode())
    for verifier in (by_key, by_jwks):
        with pytest.raises(Unauthenticated):
            verifier.subject(f"Bearer {confused}")
    assert json.loads(jwks.read_text())["keys"][0]["kid"] == "k1"


def test_production_never_generates_a_secret(tmp_path: Path) -> None:
    settings = _settings(TOWNE_JWT_SECRET=None, TOWNE_SECRETS_DIR=str(tmp_path))
    with pytest.raises(ValueError, match="TOWNE_JWT"):
        TokenVerifier(settings, allow_generated_secret=False)
    assert not (tmp_path / "jwt-secret").exists()
    TokenVerifier(settings)  # development: generated once, mode 0600, reused
    secret = tmp_path / "jwt-secret"
    assert secret.stat().st_mode & 0o777 == 0o600
    first = secret.read_text()
    token = issue(settings, ADMIN, ttl=dt.timedelta(minutes=5))
    assert TokenVerifier(settings).subject(f"Bearer {token}") == ADMIN and secret.read_text() == first


def test_ttl_parsing() -> None:
    assert parse_ttl("8h") == dt.timedelta(hours=8) and parse_ttl("30m") == dt.timedelta(minutes=30)
    for bad in ("8", "h", "0s", "31d", "-1h"):
        with pytest.raises(ValueError):
            parse_ttl(bad)


async def test_over_http_a_bad_token_gets_401_and_no_data(db: Database) -> None:
    settings = _settings()
    app = create_app(settings, db=db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        answers = {
            name: await client.post("/graphql", json=QUERY, headers={"authorization": f"Bearer {make()}"})
            for name, make in BAD_TOKENS.items()
        }
        unknown = await client.post(
            "/graphql", json=QUERY, headers={"authorization": f"Bearer {_hs256(sub='nobody-known')}"}
        )
        anonymous = await client.post("/graphql", json=QUERY)
        introspection = await client.post("/graphql", json={"query": "{ __schema { queryType { name } } }"})
        gl = await client.get(
            "/statements/00000000-0000-0000-0000-000000000000/gl-export.csv",
            headers={"authorization": f"Bearer {BAD_TOKENS['expired']()}"},
        )
        gl_anonymous = await client.get("/statements/00000000-0000-0000-0000-000000000000/gl-export.csv")
        good = await client.post("/graphql", json=QUERY, headers={"authorization": f"Bearer {_hs256()}"})
    for name, response in {**answers, "unknown-subject": unknown, "anonymous": anonymous}.items():
        body = response.json()
        assert response.status_code == 401, (name, response.text)
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert body.get("data") is None and [e["extensions"]["code"] for e in body["errors"]] == [
            "UNAUTHENTICATED"
        ], name
    assert introspection.status_code == 200 and introspection.json()["data"]["__schema"]
    assert (gl.status_code, gl.json()["code"]) == (401, "UNAUTHENTICATED")
    assert (gl_anonymous.status_code, gl_anonymous.json()["code"]) == (401, "UNAUTHENTICATED")
    assert good.json() == {"data": {"site": {"name": "Hilton Walt Disney World Resort"}}}


async def test_a_deactivated_user_is_refused_at_once(db: Database) -> None:
    from sqlalchemy import text

    settings = _settings()
    app = create_app(settings, db=db)
    token = issue(settings, "test-reporting", ttl=dt.timedelta(hours=1))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        before = await client.post("/graphql", json=QUERY, headers={"authorization": f"Bearer {token}"})
        async with db.transaction() as session:
            await session.execute(text("UPDATE app_user SET active = false WHERE subject = 'test-reporting'"))
        after = await client.post("/graphql", json=QUERY, headers={"authorization": f"Bearer {token}"})
    assert before.status_code == 200 and "errors" not in before.json()
    assert after.status_code == 401 and after.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
