"""Bearer tokens (docs/security.md): verified on every request, issued for development by `towne token`.

A token is a JWT naming a `sub`ject; what the subject may see and do lives in the database (`app_user`,
migration 0008), so a grant changes without a new token and a deactivated user is refused at once.

* Development: HS256 with `TOWNE_JWT_SECRET`, or a secret generated once into `.data/jwt-secret` (mode
  0600) that the server and `towne token` share.
* Production: RS256 with `TOWNE_JWT_PUBLIC_KEY` (PEM text or a file) or `TOWNE_JWT_JWKS_FILE` (the key is
  chosen by the token's `kid`). A server configured for RS256 never accepts HS256, so a public key can
  not be used as an HMAC secret.

Issuer (`TOWNE_JWT_ISSUER`), audience (`TOWNE_JWT_AUDIENCE`), `exp` (required) and `nbf` (when present)
are checked with `TOWNE_JWT_LEEWAY_S` of clock skew; `alg: none` is never accepted.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
from pathlib import Path
from typing import Any

import jwt

from resolvers.errors import Unauthenticated
from server.settings import Settings

_BEARER = re.compile(r"Bearer ([A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*)", re.IGNORECASE)
SECRET_FILE = "jwt-secret"


def development_secret(settings: Settings, *, create: bool = True) -> str:
    """`TOWNE_JWT_SECRET`, else the secret in `<secrets_dir>/jwt-secret`, generated when missing (and
    `create`). Raises `ValueError` when there is none to read (a configuration error, at startup)."""
    if settings.jwt_secret:
        return settings.jwt_secret
    path = settings.secrets_dir / SECRET_FILE
    if not path.exists():
        if not create:
            raise ValueError(
                "no token key configured: set TOWNE_JWT_PUBLIC_KEY or TOWNE_JWT_JWKS_FILE (RS256), or "
                "TOWNE_JWT_SECRET (HS256); production never generates a secret"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        try:  # O_EXCL: two processes starting together agree on one secret
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
    secret = path.read_text().strip()
    if len(secret) < 32:
        raise ValueError(f"the token secret in {path} is too short; delete it to make a new one")
    return secret


def _public_key(value: str) -> str:
    if "-----BEGIN" in value:
        return value
    return Path(value).read_text()


class TokenVerifier:
    """Checks bearer tokens against the configured key; `subject(header)` is the only entry point."""

    def __init__(self, settings: Settings, *, allow_generated_secret: bool = True) -> None:
        self.settings = settings
        self._jwks: jwt.PyJWKSet | None = None
        self._key: Any
        if settings.jwt_jwks_file is not None:
            self.algorithms = ["RS256"]
            self._jwks = jwt.PyJWKSet.from_json(settings.jwt_jwks_file.read_text())
        elif settings.jwt_public_key:
            self.algorithms = ["RS256"]
            self._key = _public_key(settings.jwt_public_key)
        else:
            self.algorithms = ["HS256"]
            self._key = development_secret(settings, create=allow_generated_secret)

    def _key_for(self, token: str) -> Any:
        if self._jwks is None:
            return self._key
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError as exc:
            raise Unauthenticated("the bearer token is not a readable JWT") from exc
        for key in self._jwks.keys:
            if key.key_id == kid:
                return key.key
        raise Unauthenticated("the bearer token is signed with a key this server does not know (kid)")

    def subject(self, authorization: str | None) -> str | None:
        """The subject of the `Authorization: Bearer …` header; None without the header.

        Raises `Unauthenticated` with a message that says what is wrong with the token.
        """
        if authorization is None or not authorization.strip():
            return None
        match = _BEARER.fullmatch(authorization.strip())
        if match is None:
            raise Unauthenticated("the Authorization header must be `Bearer <token>` with a JWT")
        token = match.group(1)
        try:
            claims = jwt.decode(
                token,
                self._key_for(token),
                algorithms=self.algorithms,
                audience=self.settings.jwt_audience,
                issuer=self.settings.jwt_issuer,
                leeway=self.settings.jwt_leeway_s,
                options={"require": ["exp", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("the bearer token has expired; get a new one") from exc
        except jwt.ImmatureSignatureError as exc:
            raise Unauthenticated("the bearer token is not valid yet (nbf/iat in the future)") from exc
        except jwt.InvalidAudienceError as exc:
            raise Unauthenticated(
                f"the bearer token is for another audience; this server is {self.settings.jwt_audience!r}"
            ) from exc
        except jwt.InvalidIssuerError as exc:
            raise Unauthenticated(
                f"the bearer token was issued by another issuer; this server trusts {self.settings.jwt_issuer!r}"
            ) from exc
        except jwt.MissingRequiredClaimError as exc:
            raise Unauthenticated(f"the bearer token has no {exc.claim!r} claim") from exc
        except jwt.InvalidAlgorithmError as exc:
            raise Unauthenticated(
                f"the bearer token is signed with an algorithm this server does not accept "
                f"(accepted: {', '.join(self.algorithms)})"
            ) from exc
        except jwt.InvalidSignatureError as exc:
            raise Unauthenticated("the bearer token's signature does not verify") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated("the bearer token is not a valid JWT") from exc
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise Unauthenticated("the bearer token's subject must be a non-empty string")
        return subject


def issue(
    settings: Settings, subject: str, *, ttl: dt.timedelta, now: dt.datetime | None = None, **claims: Any
) -> str:
    """An HS256 token for `subject`, valid for `ttl`, signed with the development secret."""
    issued = now or dt.datetime.now(dt.UTC)
    payload = {
        "sub": subject,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": issued,
        "nbf": issued,
        "exp": issued + ttl,
        **claims,
    }
    return jwt.encode(payload, development_secret(settings), algorithm="HS256")


_TTL = re.compile(r"(\d+)([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_ttl(value: str) -> dt.timedelta:
    """`8h`, `30m`, `2d`, `90s` as a timedelta (at most 30 days). Raises ValueError."""
    match = _TTL.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"--ttl {value!r}: write a number and a unit s, m, h or d, e.g. 8h")
    ttl = dt.timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    if not dt.timedelta(0) < ttl <= dt.timedelta(days=30):
        raise ValueError(f"--ttl {value!r}: between 1 second and 30 days")
    return ttl


def jwks_of(public_pem: str, kid: str) -> str:
    """A one-key JWKS document for an RSA public key (for operators and tests)."""
    from jwt.algorithms import RSAAlgorithm

    key = json.loads(RSAAlgorithm.to_jwk(RSAAlgorithm(RSAAlgorithm.SHA256).prepare_key(public_pem)))
    key.update({"kid": kid, "use": "sig", "alg": "RS256"})
    return json.dumps({"keys": [key]})
