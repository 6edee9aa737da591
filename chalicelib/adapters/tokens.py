"""Cognito-shaped ID tokens: verification for every stage, and a dev-only issuer for local and dev.

In a deployment the JWKS secret holds the user pool's published keys (copied at deploy), so the same verifier
runs everywhere; only `local` and `dev` hold a private key that can mint tokens.
"""

from __future__ import annotations

import json
import time
import uuid

import jwt
from jwt import PyJWKSet

from chalicelib.domain.identity import Principal, Role

AUDIENCE = "hk-expense-web"


class Unauthorized(Exception):
    """No token, or one we cannot trust: the API answers 401 with this reason."""


class TokenVerifier:
    def __init__(self, jwks_json: str, issuer: str):
        self._keys = {key.key_id: key for key in PyJWKSet.from_json(jwks_json).keys}
        self._issuer = issuer

    def verify(self, token: str | None, source_ip: str = "unknown") -> Principal:
        if not token:
            raise Unauthorized("missing bearer token")
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = self._keys.get(kid)
            if key is None:
                raise Unauthorized("token signed by an unknown key")
            claims = jwt.decode(
                token, key=key.key, algorithms=["RS256"], audience=AUDIENCE, issuer=self._issuer,
                options={"require": ["exp", "iat", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid token: {exc}") from exc
        if claims.get("token_use") != "id":
            raise Unauthorized("not an ID token")
        roles = set()
        for group in claims.get("cognito:groups", []):
            try:
                roles.add(Role(group))
            except ValueError:
                continue
        return Principal(
            user_id=claims["sub"],
            employee_id=claims.get("custom:employee_id", ""),
            department_id=claims.get("custom:department_id", ""),
            roles=frozenset(roles),
            source_ip=source_ip,
        )


class DevTokenIssuer:
    def __init__(self, private_jwk_json: str, issuer: str):
        jwk = json.loads(private_jwk_json)
        self._kid = jwk["kid"]
        self._key = jwt.PyJWK.from_dict(jwk).key
        self._issuer = issuer

    def issue(self, employee_id: str, department_id: str, roles: list[str], ttl: int = 3600) -> str:
        now = int(time.time())
        claims = {
            "sub": f"dev-{employee_id}",
            "iss": self._issuer,
            "aud": AUDIENCE,
            "token_use": "id",
            "iat": now,
            "auth_time": now,
            "exp": now + ttl,
            "jti": str(uuid.uuid4()),
            "cognito:groups": roles,
            "custom:employee_id": employee_id,
            "custom:department_id": department_id,
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
