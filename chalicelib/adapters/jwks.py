"""The user pool's public keys (its JWKS), fetched over HTTPS and cached per container.

Cognito publishes its signing keys at `<issuer>/.well-known/jwks.json` and rotates them: a new `kid` appears in
tokens before our cache knows it. So an unknown `kid` refetches the set at once, but at most once per
`min_refetch_s` (30 s): a flood of tokens with made-up `kid`s costs two requests to Cognito a minute, not one
each. Keys are kept `ttl_s`; when a refresh fails while keys are held, the held keys stay in use (Cognito
unreachable must not sign everyone out) and the refresh is tried again after `min_refetch_s`. With no keys at all,
verification cannot happen: `KeysUnavailable` (the API answers 503, not 401: the token may be fine).

PyJWT's own `PyJWKClient` caches too, but refetches on every unknown `kid` (no rate limit) and reads the wall
clock; this cache takes its fetcher and clock as arguments so tests drive rotation and expiry without waiting.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from jwt import PyJWK, PyJWKSet

log = logging.getLogger(__name__)

Fetcher = Callable[[str], bytes]  # url -> the JWKS document's bytes; raises on any failure
Clock = Callable[[], float]  # seconds, monotonic


class KeysUnavailable(Exception):
    """The identity provider's keys cannot be read, and none are held: sign-in cannot be checked right now."""


def http_fetch(url: str, timeout_s: float = 3.0) -> bytes:
    """GET the JWKS (requests: its calls to AWS addresses are served by moto's in-process mock in tests)."""
    import requests

    response = requests.get(url, timeout=timeout_s, headers={"Accept": "application/json"})
    response.raise_for_status()
    return response.content


@dataclass
class CacheStats:
    fetches: int = 0  # requests made to the JWKS URL (successful or not)
    failures: int = 0
    hits: int = 0  # lookups answered from the cache
    misses: int = 0  # lookups of a kid the (fresh) set does not have


class JwksCache:
    def __init__(self, url: str, fetch: Fetcher = http_fetch, clock: Clock = time.monotonic,
                 ttl_s: float = 3600.0, min_refetch_s: float = 30.0, retry_empty_s: float = 5.0):
        self.url = url
        self._fetch = fetch
        self._clock = clock
        self._ttl_s = ttl_s
        self._min_refetch_s = min_refetch_s
        self._retry_empty_s = retry_empty_s  # holding no keys: a failed first fetch is retried sooner
        self._keys: dict[str, PyJWK] | None = None
        self._fetched_at = float("-inf")  # last successful fetch
        self._tried_at = float("-inf")  # last attempt, successful or not
        self._lock = threading.Lock()
        self.stats = CacheStats()

    def key(self, kid: str | None) -> PyJWK | None:
        """The key with this `kid`, or None if the provider does not publish it (even after one refetch)."""
        with self._lock:
            now = self._clock()
            if self._keys is None or now - self._fetched_at >= self._ttl_s:
                self._refresh(now)
            if self._keys is None:
                raise KeysUnavailable(f"the sign-in keys could not be read from {self.url}")
            found = self._keys.get(kid or "")
            if found is None and now - self._tried_at >= self._min_refetch_s:
                self._refresh(now)  # a rotation: the new key is published before tokens use it
                found = self._keys.get(kid or "")
            if found is None:
                self.stats.misses += 1
            else:
                self.stats.hits += 1
            return found

    def _refresh(self, now: float) -> None:
        wait = self._retry_empty_s if self._keys is None else self._min_refetch_s
        if now - self._tried_at < wait:
            return  # tried a moment ago: keep what is held (or stay unavailable) rather than hammer the endpoint
        self._tried_at = now
        self.stats.fetches += 1
        try:
            document = json.loads(self._fetch(self.url))
            keys = {k.key_id: k for k in PyJWKSet.from_dict(document).keys if k.key_id}
        except Exception as exc:  # noqa: BLE001 (network, HTTP status, JSON, key format: all mean "not now")
            self.stats.failures += 1
            log.warning("JWKS refresh failed", extra={"url": self.url, "error": type(exc).__name__})
            return
        self._keys = keys
        self._fetched_at = now


class StaticKeys:
    """A fixed key set (the dev issuer's public key): the same interface as JwksCache."""

    def __init__(self, jwks: dict):
        self._keys = {k.key_id: k for k in PyJWKSet.from_dict(jwks).keys}

    def key(self, kid: str | None) -> PyJWK | None:
        return self._keys.get(kid or "")
