"""ID-token verification against a user pool's JWKS: fetched, cached, refetched once on an unknown key (rate
limited), so a rotation locks nobody out and a flood of bad tokens cannot hammer the endpoint. Fetcher and clocks
are injected: nothing waits, nothing reaches a network."""

from __future__ import annotations

import json
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from chalicelib.adapters.jwks import JwksCache, KeysUnavailable
from chalicelib.adapters.tokens import DevTokenIssuer, TokenVerifier, TrustedIssuer, Unauthorized, new_dev_keypair

ISSUER = "https://cognito-idp.ap-east-1.amazonaws.com/ap-east-1_pool"
CLIENT = "web-client-id"
URL = ISSUER + "/.well-known/jwks.json"
NOW = 1_796_000_000  # wall-clock seconds the verifier is told it is


class Key:
    def __init__(self):
        self.kid = uuid.uuid4().hex
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def public_jwk(self) -> dict:
        return {**json.loads(RSAAlgorithm.to_jwk(self.private.public_key())), "kid": self.kid, "alg": "RS256",
                "use": "sig"}

    def token(self, **overrides) -> str:
        claims = {"iss": ISSUER, "aud": CLIENT, "sub": "sub-1", "token_use": "id", "iat": NOW - 10,
                  "auth_time": NOW - 10, "exp": NOW + 3600, "custom:employee_id": "E201",
                  "cognito:username": "E201", "cognito:groups": ["admin"]}
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(claims, self.private, algorithm="RS256", headers={"kid": self.kid})


class Provider:
    """The identity provider's JWKS endpoint: what it publishes now, how often it was asked, whether it is up."""

    def __init__(self, *keys: Key):
        self.keys = list(keys)
        self.calls = 0
        self.down = False

    def __call__(self, url: str) -> bytes:
        assert url == URL
        self.calls += 1
        if self.down:
            raise ConnectionError("cognito unreachable")
        return json.dumps({"keys": [k.public_jwk() for k in self.keys]}).encode()


class Clock:
    def __init__(self, t: float = 0.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def key():
    return Key()


def make(provider, monotonic=None, **cache_options):
    cache = JwksCache(URL, fetch=provider, clock=monotonic or Clock(), **cache_options)
    verifier = TokenVerifier([TrustedIssuer(ISSUER, CLIENT, cache)], clock=lambda: NOW)
    return cache, verifier


def test_a_valid_id_token_names_the_employee_and_the_keys_are_fetched_once(key):
    provider = Provider(key)
    cache, verifier = make(provider)
    for _ in range(5):
        identity = verifier.verify(key.token())
    assert (identity.employee_id, identity.subject, identity.issuer) == ("E201", "sub-1", ISSUER)
    assert provider.calls == 1 and cache.stats.fetches == 1 and cache.stats.hits == 5 and cache.stats.misses == 0


def test_the_token_carries_no_roles_or_department_the_api_would_use(key):
    identity = make(Provider(key))[1].verify(key.token(**{"custom:department_id": "SZ-FIN"}))
    assert not hasattr(identity, "roles") and not hasattr(identity, "department_id")


def test_a_rotated_key_is_fetched_at_once_so_nobody_is_locked_out(key):
    provider = Provider(key)
    clock = Clock()
    cache, verifier = make(provider, clock, min_refetch_s=60)
    verifier.verify(key.token())
    new = Key()
    provider.keys = [key, new]  # Cognito publishes the new key, then signs with it
    clock.t = 61  # a minute later (inside the hour's cache life)
    assert verifier.verify(new.token()).employee_id == "E201"
    assert provider.calls == 2
    provider.keys = [new]  # the old key retired: its tokens no longer verify once the set is refreshed
    clock.t = 3700
    with pytest.raises(Unauthorized, match="unknown key"):
        verifier.verify(key.token())
    assert provider.calls == 3


def test_unknown_kids_refetch_at_most_once_a_minute(key):
    provider = Provider(key)
    clock = Clock()
    cache, verifier = make(provider, clock, min_refetch_s=60)
    verifier.verify(key.token())
    clock.t = 100
    stranger = Key()
    for _ in range(50):  # a flood of tokens signed by a key nobody published
        with pytest.raises(Unauthorized, match="unknown key"):
            verifier.verify(stranger.token())
    assert provider.calls == 2  # the first miss refetched; the other 49 were refused from the cache
    assert cache.stats.misses == 50
    clock.t = 130
    with pytest.raises(Unauthorized):
        verifier.verify(stranger.token())
    assert provider.calls == 2
    clock.t = 160
    with pytest.raises(Unauthorized):
        verifier.verify(stranger.token())
    assert provider.calls == 3


def test_keys_expire_after_their_ttl(key):
    provider = Provider(key)
    clock = Clock()
    _, verifier = make(provider, clock, ttl_s=600)
    verifier.verify(key.token())
    clock.t = 599
    verifier.verify(key.token())
    assert provider.calls == 1
    clock.t = 600
    verifier.verify(key.token())
    assert provider.calls == 2


def test_a_fetch_failure_with_no_keys_is_unavailable_not_unauthorized(key):
    provider = Provider(key)
    provider.down = True
    clock = Clock()
    cache, verifier = make(provider, clock)
    with pytest.raises(KeysUnavailable):
        verifier.verify(key.token())
    with pytest.raises(KeysUnavailable):  # retried only after a pause: a flood does not hammer a provider that is down
        verifier.verify(key.token())
    assert provider.calls == 1 and cache.stats.failures == 1
    provider.down = False
    clock.t = 5
    assert verifier.verify(key.token()).employee_id == "E201"
    assert provider.calls == 2


def test_held_keys_stay_in_use_when_a_refresh_fails(key):
    provider = Provider(key)
    clock = Clock()
    cache, verifier = make(provider, clock, ttl_s=600)
    verifier.verify(key.token())
    provider.down = True
    clock.t = 700  # expired, and Cognito is unreachable: people stay signed in on the keys held
    assert verifier.verify(key.token()).employee_id == "E201"
    assert cache.stats.failures == 1


def test_a_garbled_key_set_counts_as_a_failed_fetch(key):
    cache = JwksCache(URL, fetch=lambda url: b"<html>503</html>", clock=Clock())
    with pytest.raises(KeysUnavailable):
        cache.key(key.kid)
    assert cache.stats.failures == 1


def test_an_expired_token_is_refused_with_leeway_for_clock_skew(key):
    _, verifier = make(Provider(key))
    assert verifier.verify(key.token(exp=NOW - 20)).employee_id == "E201"  # within 30 s of skew
    with pytest.raises(Unauthorized, match="expired"):
        verifier.verify(key.token(exp=NOW - 31))
    with pytest.raises(Unauthorized, match="not valid yet"):
        verifier.verify(key.token(iat=NOW + 600))


@pytest.mark.parametrize(("claims", "reason"), [
    ({"iss": "https://cognito-idp.ap-east-1.amazonaws.com/ap-east-1_other"}, "issuer"),
    ({"aud": "another-client"}, "invalid token"),
    ({"aud": None, "client_id": CLIENT, "token_use": "access"}, "invalid token"),  # an access token
    ({"token_use": "access"}, "not an ID token"),
    ({"custom:employee_id": None}, "names no employee"),
    ({"sub": None}, "invalid token"),
])
def test_wrong_issuer_audience_kind_or_missing_claims_are_refused(key, claims, reason):
    _, verifier = make(Provider(key))
    with pytest.raises(Unauthorized, match=reason):
        verifier.verify(key.token(**claims))


def test_tampered_and_malformed_tokens_are_refused(key):
    _, verifier = make(Provider(key))
    header, payload, signature = key.token().split(".")
    claims = json.loads(jwt.utils.base64url_decode(payload))
    claims["custom:employee_id"] = "E900"
    forged = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    with pytest.raises(Unauthorized, match="invalid token"):
        verifier.verify(f"{header}.{forged}.{signature}")
    for bad in (None, "", "not-a-jwt", "a.b.c"):
        with pytest.raises(Unauthorized):
            verifier.verify(bad)
    unsigned = jwt.encode({"iss": ISSUER, "aud": CLIENT}, key=None, algorithm="none")
    with pytest.raises(Unauthorized, match="RS256"):
        verifier.verify(unsigned)


def test_a_dev_token_is_accepted_only_where_its_issuer_is_trusted(key):
    from chalicelib.adapters.jwks import StaticKeys

    dev = DevTokenIssuer(new_dev_keypair()[0], "urn:hk-expense:local:dev-tokens")
    pool_only = TokenVerifier([TrustedIssuer(ISSUER, CLIENT, JwksCache(URL, fetch=Provider(key)))])
    with pytest.raises(Unauthorized, match="issuer"):  # staging and prod: the dev issuer is not trusted
        pool_only.verify(dev.issue("E201"))
    with_dev = TokenVerifier([TrustedIssuer(ISSUER, CLIENT, JwksCache(URL, fetch=Provider(key))),
                              TrustedIssuer(dev.issuer, dev.audience, StaticKeys(dev.public_jwks))])
    assert with_dev.verify(dev.issue("E201")).employee_id == "E201"
