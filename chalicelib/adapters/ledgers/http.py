"""What every ledger client shares: an OAuth 2.0 refresh-token client, and a request loop that waits out rate
limits, refreshes an expired token once, and tells a write whose outcome is unknown from one that failed.

Why the outcome matters: a timeout or a 5xx after a write was sent may mean the document exists. Retrying blindly
can post a claim twice; giving up can lose it. The loop raises `WriteOutcomeUnknown` and the adapter looks the
document up by the claim id before it writes again.

Time is injected (`clock`, `sleep`) so tests never wait.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Protocol, TypeVar

import requests
from pydantic import BaseModel, ConfigDict, Field

from chalicelib.adapters.ledgers.port import LedgerAuthFailed, LedgerUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")
Clock = Callable[[], datetime]
Sleep = Callable[[float], None]


def utcnow() -> datetime:
    return datetime.now(UTC)


def dumps(body: object) -> str:
    """JSON with Decimal written as a JSON number, digit for digit (the json module would need a float)."""
    if isinstance(body, Decimal):
        if not body.is_finite():
            raise ValueError(f"{body} is not a JSON number")
        return format(body, "f")
    if isinstance(body, Mapping):
        return "{" + ",".join(f"{json.dumps(str(k))}:{dumps(v)}" for k, v in body.items()) + "}"
    if isinstance(body, list | tuple):
        return "[" + ",".join(dumps(v) for v in body) + "]"
    if isinstance(body, float):
        raise TypeError("a float in a ledger payload: money is Decimal")
    return json.dumps(body, ensure_ascii=False)


def loads(text: str | bytes) -> object:
    return json.loads(text, parse_float=Decimal)


# --- OAuth 2.0 -------------------------------------------------------------------------------------------------
class TokenSet(BaseModel):
    model_config = ConfigDict(frozen=True)

    access_token: str = Field(repr=False)
    refresh_token: str = Field(repr=False)
    expires_at: datetime


class TokenStore(Protocol):
    """Where the tokens live between invocations (Secrets Manager in a deployment). Refresh tokens rotate: the
    new one must be saved before the old one is used again, or the connection is lost."""

    def load(self) -> TokenSet: ...

    def save(self, tokens: TokenSet) -> None: ...


class MemoryTokenStore:
    def __init__(self, tokens: TokenSet):
        self.tokens = tokens
        self.saves = 0

    def load(self) -> TokenSet:
        return self.tokens

    def save(self, tokens: TokenSet) -> None:
        self.tokens = tokens
        self.saves += 1


class TokenSource(Protocol):
    """Where LedgerHttp gets its access token: an OAuth 2.0 refresh-token client, a client-credentials client
    (NetSuite M2M), or a signed app-key client (Yonyou). `refresh()` is called at most once per request, on 401."""

    def access_token(self) -> str: ...

    def refresh(self) -> str: ...


class OAuth2Client:
    """Access tokens from a refresh token (RFC 6749 section 6), refreshed ahead of expiry and on demand."""

    def __init__(self, session: requests.Session, token_url: str, client_id: str, client_secret: str,
                 store: TokenStore, *, ledger: str, clock: Clock = utcnow, timeout: float = 10.0,
                 early: timedelta = timedelta(seconds=60)):
        self.session, self.token_url, self.store, self.ledger = session, token_url, store, ledger
        self._auth = (client_id, client_secret)
        self.clock, self.timeout, self.early = clock, timeout, early

    def access_token(self) -> str:
        tokens = self.store.load()
        if tokens.expires_at - self.early <= self.clock():
            return self.refresh()
        return tokens.access_token

    def refresh(self) -> str:
        tokens = self.store.load()
        try:
            response = self.session.post(self.token_url, auth=self._auth, timeout=self.timeout,
                                         data={"grant_type": "refresh_token", "refresh_token": tokens.refresh_token},
                                         headers={"Accept": "application/json"})
        except requests.RequestException as e:
            raise LedgerUnavailable(f"{self.ledger} token endpoint unreachable: {type(e).__name__}") from e
        if response.status_code in (400, 401):
            error = _json_or_empty(response).get("error", response.status_code)
            raise LedgerAuthFailed(f"{self.ledger} refused the refresh token ({error}): finance must reconnect "
                                   f"the {self.ledger} connection")
        if response.status_code != 200:
            raise LedgerUnavailable(f"{self.ledger} token endpoint answered {response.status_code}")
        body = _json_or_empty(response)
        if not body.get("access_token"):
            raise LedgerUnavailable(f"{self.ledger} token endpoint answered without an access token")
        new = TokenSet(access_token=body["access_token"],
                       refresh_token=body.get("refresh_token", tokens.refresh_token),
                       expires_at=self.clock() + timedelta(seconds=int(body.get("expires_in", 1800))))
        self.store.save(new)
        log.info("ledger token refreshed", extra={"ledger": self.ledger})
        return new.access_token


def _json_or_empty(response: requests.Response) -> dict:
    try:
        body = loads(response.content)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


# --- the request loop ----------------------------------------------------------------------------------------
class RetryPolicy(BaseModel):
    model_config = ConfigDict(frozen=True)

    max_attempts: int = Field(default=5, ge=1)  # per request, all causes together
    max_retry_after: float = 60.0  # a longer Retry-After (a daily limit) is left to the queue, not slept
    backoff: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0)  # waits after a 5xx or a timeout, then the last again
    timeout: float = 30.0  # seconds per request

    def wait(self, attempt: int) -> float:
        return self.backoff[min(attempt, len(self.backoff) - 1)] if self.backoff else 0.0


class WriteOutcomeUnknown(Exception):
    """A write timed out or got a 5xx: the document may exist. Look it up before writing again."""

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds (RFC 9110: a number of seconds, or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - now).total_seconds())


class LedgerHttp:
    """One ledger's HTTP calls: bearer token and fixed headers, refresh once on 401, 429 waited out, 5xx and
    timeouts retried for reads and reported as WriteOutcomeUnknown for writes.

    `token_param`: send the token as that query parameter instead of a bearer header (Yonyou's `access_token`).
    `token_expired`: also treat an answer this says yes to as an expired token (a ledger that answers 200 with
    an error code in the body)."""

    def __init__(self, ledger: str, session: requests.Session, base_url: str, oauth: TokenSource, *,
                 headers: Mapping[str, str] | None = None, policy: RetryPolicy | None = None,
                 sleep: Sleep = time.sleep, clock: Clock = utcnow, token_param: str | None = None,
                 token_expired: Callable[[requests.Response], bool] | None = None):
        self.ledger, self.session, self.base_url, self.oauth = ledger, session, base_url.rstrip("/"), oauth
        self.headers = dict(headers or {})
        self.policy = policy or RetryPolicy()
        self.sleep, self.clock = sleep, clock
        self.token_param, self.token_expired = token_param, token_expired

    def request(self, method: str, path: str, *, write: bool, params: Mapping[str, str] | None = None,
                body: bytes | None = None, headers: Mapping[str, str] | None = None) -> requests.Response:
        refreshed = False
        url = f"{self.base_url}{path}"
        attempt = 0  # a refresh on 401 does not count: it happens at most once
        while True:
            token = self.oauth.access_token()
            sent = {**self.headers, **(headers or {})}
            query = dict(params or {})
            if self.token_param:
                query[self.token_param] = token
            else:
                sent["Authorization"] = f"Bearer {token}"
            try:
                response = self.session.request(method, url, params=query or None, data=body, headers=sent,
                                                timeout=self.policy.timeout)
            except (requests.Timeout, requests.ConnectionError) as e:
                cause = f"{method} {path}: {type(e).__name__}"
                if write and not isinstance(e, requests.ConnectTimeout):
                    raise WriteOutcomeUnknown(cause) from e
                self._log("ledger request timed out", method, path, None, attempt)
                self._wait_or_give_up(attempt, cause, self.policy.wait(attempt))
                attempt += 1
                continue
            status = response.status_code
            if status == 401 or (self.token_expired is not None and self.token_expired(response)):
                if refreshed:
                    raise LedgerAuthFailed(f"{self.ledger} refused a freshly refreshed token on {method} {path}: "
                                           f"finance must reconnect the {self.ledger} connection")
                self._log("ledger token refused: refreshing once", method, path, status, attempt)
                self.oauth.refresh()
                refreshed = True
                continue
            if status == 429:
                wait = retry_after_seconds(response.headers.get("Retry-After"), self.clock())
                wait = self.policy.wait(attempt) if wait is None else wait
                problem = response.headers.get("X-Rate-Limit-Problem", "unknown")
                if wait > self.policy.max_retry_after:
                    raise LedgerUnavailable(f"{self.ledger} rate limit ({problem}) asks to wait {wait:.0f} s: "
                                            f"left to the queue")
                self._log(f"ledger rate limit ({problem}): waiting {wait:.0f} s", method, path, status, attempt)
                self._wait_or_give_up(attempt, f"{method} {path}: 429 ({problem})", wait)
                attempt += 1
                continue
            if status >= 500:
                cause = f"{method} {path}: {status}"
                if write:
                    raise WriteOutcomeUnknown(cause)
                self._log("ledger server error", method, path, status, attempt)
                self._wait_or_give_up(attempt, cause, self.policy.wait(attempt))
                attempt += 1
                continue
            return response

    def write_once(self, external_id: str, write: Callable[[], T], find: Callable[[str], T | None]) -> T:
        """`write()`, and when its outcome is unknown, `find(external_id)` before writing again: the document a
        lost answer created is returned instead of a second one. Bounded by the policy's attempts."""
        for attempt in range(self.policy.max_attempts):
            try:
                return write()
            except WriteOutcomeUnknown as unknown:
                log.warning("ledger write outcome unknown: looking it up", extra={
                    "ledger": self.ledger, "external_id": external_id, "cause": unknown.detail,
                    "attempt": attempt + 1})
                found = find(external_id)
                if found is not None:
                    return found
                if attempt + 1 >= self.policy.max_attempts:
                    raise LedgerUnavailable(f"{self.ledger} write of {external_id}: {unknown.detail}, not found after "
                                            f"{self.policy.max_attempts} attempts: left to the queue") from unknown
                self.sleep(self.policy.wait(attempt))
        raise AssertionError("unreachable: max_attempts >= 1")  # pragma: no cover

    def _wait_or_give_up(self, attempt: int, cause: str, wait: float) -> None:
        if attempt + 1 >= self.policy.max_attempts:
            raise LedgerUnavailable(f"{self.ledger} {cause}, {self.policy.max_attempts} attempts: left to the queue")
        self.sleep(wait)

    def _log(self, message: str, method: str, path: str, status: int | None, attempt: int) -> None:
        log.warning(message, extra={"ledger": self.ledger, "method": method, "path": path.split("?")[0],
                                    "status": status, "attempt": attempt + 1})
