"""ID tokens: verification against the Cognito user pool's JWKS on every stage, and a dev-only issuer.

A token says *who* signed in (the employee id); what they may do (roles, department) is read from the directory
on each request (chalicelib/web/auth.py), so a token minted before a move or a removal grants nothing stale.

Trusted issuers are explicit: the stage's user pool (audience = its web client id), and on `local` and `dev` only
the dev issuer behind `POST /dev/token` (its own `iss`, which staging and prod do not know). Only ID tokens are
accepted (`token_use` = id, audience in `aud`; access tokens carry `client_id` instead and are refused).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import jwt
from jwt import PyJWK

from chalicelib.adapters.jwks import KeysUnavailable

__all__ = ["DEV_AUDIENCE", "DevTokenIssuer", "Identity", "KeysUnavailable", "TokenVerifier", "TrustedIssuer",
           "Unauthorized", "new_dev_keypair"]

DEV_AUDIENCE = "hk-expense-dev"
LEEWAY_S = 30  # clock skew allowed between Cognito and the API


class Unauthorized(Exception):
    """No token, or one we cannot trust: the API answers 401 with this reason."""


class KeySource(Protocol):
    def key(self, kid: str | None) -> PyJWK | None: ...


@dataclass(frozen=True)
class TrustedIssuer:
    issuer: str
    audience: str
    keys: KeySource


@dataclass(frozen=True)
class Identity:
    """Who the token says signed in; nothing about what they may do."""

    subject: str
    employee_id: str
    issuer: str


class TokenVerifier:
    def __init__(self, issuers: list[TrustedIssuer], clock: Callable[[], float] = time.time):
        self._issuers = {i.issuer: i for i in issuers}
        self._clock = clock

    def verify(self, token: str | None) -> Identity:
        if not token:
            raise Unauthorized("missing bearer token")
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid token: {exc}") from exc
        if header.get("alg") != "RS256":
            raise Unauthorized("token not signed with RS256")
        trusted = self._issuers.get(str(unverified.get("iss", "")))
        if trusted is None:
            raise Unauthorized("token from an issuer this stage does not trust")
        key = trusted.keys.key(header.get("kid"))  # KeysUnavailable propagates: 503, the token may be fine
        if key is None:
            raise Unauthorized("token signed by an unknown key")
        try:
            claims = jwt.decode(
                token, key=key.key, algorithms=["RS256"], audience=trusted.audience, issuer=trusted.issuer,
                # times are checked below against the injected clock
                options={"require": ["exp", "iat", "sub", "aud", "iss"], "verify_exp": False, "verify_iat": False,
                         "verify_nbf": False},
            )
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid token: {exc}") from exc
        now = self._clock()
        if int(claims["exp"]) <= now - LEEWAY_S:
            raise Unauthorized("token expired: sign in again")
        if int(claims["iat"]) > now + LEEWAY_S or int(claims.get("nbf", 0)) > now + LEEWAY_S:
            raise Unauthorized("token not valid yet")
        if claims.get("token_use") != "id":
            raise Unauthorized("not an ID token")
        employee_id = claims.get("custom:employee_id")
        if not employee_id:
            raise Unauthorized("token names no employee")
        return Identity(subject=str(claims["sub"]), employee_id=str(employee_id), issuer=trusted.issuer)


class DevTokenIssuer:
    """`POST /dev/token` on local and dev: an ID-token-shaped JWT for a directory employee."""

    def __init__(self, private_jwk_json: str, issuer: str, audience: str = DEV_AUDIENCE):
        jwk = json.loads(private_jwk_json)
        self._kid = jwk["kid"]
        self._key = jwt.PyJWK.from_dict(jwk).key
        self.issuer = issuer
        self.audience = audience
        public = {k: v for k, v in jwk.items() if k in ("kty", "n", "e", "kid", "alg", "use")}
        self.public_jwks = {"keys": [public]}

    def issue(self, employee_id: str, ttl: int = 3600, now: int | None = None) -> str:
        now = int(time.time()) if now is None else now
        claims = {
            "sub": f"dev-{employee_id}",
            "iss": self.issuer,
            "aud": self.audience,
            "token_use": "id",
            "iat": now,
            "auth_time": now,
            "exp": now + ttl,
            "jti": str(uuid.uuid4()),
            "cognito:username": employee_id,
            "custom:employee_id": employee_id,
        }
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self._kid})


def new_dev_keypair() -> tuple[str, str]:
    """(private JWK, public JWKS) for a local or dev stack; never used for staging or prod."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from jwt.algorithms import RSAAlgorithm

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = uuid.uuid4().hex
    private = json.loads(RSAAlgorithm.to_jwk(key))
    public = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    private.update(kid=kid, alg="RS256", use="sig")
    public.update(kid=kid, alg="RS256", use="sig")
    return json.dumps(private), json.dumps({"keys": [public]})
