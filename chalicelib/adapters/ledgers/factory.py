"""Which adapter posts a company's claims: `Policy.ledger` names it, `REGISTRY` builds it.

Credentials live in the `ledger-credentials` secret (Secrets Manager), one JSON object per ledger:
`{"xero": {"client_id": ..., "client_secret": ..., "config": {XeroConfig}, "tokens": {TokenSet}}, ...}`.
OAuth refresh tokens rotate, so the adapter's token store writes the new pair back to the same secret.
The Secrets Manager client and the HTTP session are injected (the local stack and tests pass the fakes'
sessions; the default ledger, `internal`, needs neither).
NetSuite's entry holds `certificate_id` and `private_key_pem` (M2M, no client secret); Yonyou's `client_id` is the
app key and `app_secret` its secret.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from chalicelib.adapters.ledgers.http import Clock, RetryPolicy, Sleep, TokenSet, utcnow
from chalicelib.adapters.ledgers.internal import JournalLedger, JournalStore
from chalicelib.domain.errors import LedgerAuthFailed, LedgerUnavailable
from chalicelib.services.ports import LedgerAdapter


class UnknownLedger(LookupError):
    pass


class SecretTokenStore:
    """One ledger's OAuth tokens inside the shared credentials secret (read-modify-write under a lock)."""

    _lock = threading.Lock()

    def __init__(self, secretsmanager: Any, secret_id: str, ledger: str):
        self.sm, self.secret_id, self.ledger = secretsmanager, secret_id, ledger

    def _all(self) -> dict:
        return json.loads(self.sm.get_secret_value(SecretId=self.secret_id)["SecretString"] or "{}")

    def load(self) -> TokenSet:
        entry = self._all().get(self.ledger, {})
        if "tokens" not in entry:
            raise LedgerAuthFailed(f"{self.ledger} is not connected: finance must connect it")
        return TokenSet.model_validate(entry["tokens"])

    def save(self, tokens: TokenSet) -> None:
        with self._lock:
            data = self._all()
            data.setdefault(self.ledger, {})["tokens"] = json.loads(tokens.model_dump_json())
            self.sm.put_secret_value(SecretId=self.secret_id, SecretString=json.dumps(data))


@dataclass
class LedgerWiring:
    """What builders may use; only what a ledger needs is touched (internal: the journal store only)."""

    journal: JournalStore | None = None
    secretsmanager: Any = None
    secret_id: str = ""
    session: requests.Session | None = None
    policy: RetryPolicy | None = None
    sleep: Sleep = time.sleep
    clock: Clock = utcnow
    extra: dict = field(default_factory=dict)

    def credentials(self, ledger: str) -> dict:
        if self.secretsmanager is None:
            raise LedgerAuthFailed(f"{ledger}: no credentials store is configured")
        try:
            entry = json.loads(self.secretsmanager.get_secret_value(SecretId=self.secret_id)["SecretString"]
                               or "{}").get(ledger)
        except Exception as e:  # noqa: BLE001 (botocore's own errors: the ledger cannot be reached now)
            raise LedgerUnavailable(f"{ledger} credentials could not be read: {type(e).__name__}") from e
        if not entry or not entry.get("client_id"):
            raise LedgerAuthFailed(f"{ledger} is not connected: finance must connect it")
        return entry


def _journal(name: str) -> Callable[[LedgerWiring], LedgerAdapter]:
    def build(w: LedgerWiring) -> LedgerAdapter:
        if w.journal is None:
            raise UnknownLedger(f"{name}: no journal store wired")
        return JournalLedger(w.journal, name)

    return build


def _xero(w: LedgerWiring) -> LedgerAdapter:
    from chalicelib.adapters.ledgers.xero import XeroConfig, XeroLedger

    c = w.credentials("xero")
    return XeroLedger.connect(XeroConfig.model_validate(c["config"]), w.session or requests.Session(),
                              c["client_id"], c["client_secret"],
                              SecretTokenStore(w.secretsmanager, w.secret_id, "xero"), policy=w.policy,
                              sleep=w.sleep, clock=w.clock)


def _quickbooks(w: LedgerWiring) -> LedgerAdapter:
    from chalicelib.adapters.ledgers.quickbooks import QuickBooksConfig, QuickBooksLedger

    c = w.credentials("quickbooks")
    return QuickBooksLedger.connect(QuickBooksConfig.model_validate(c["config"]), w.session or requests.Session(),
                                    c["client_id"], c["client_secret"],
                                    SecretTokenStore(w.secretsmanager, w.secret_id, "quickbooks"), policy=w.policy,
                                    sleep=w.sleep, clock=w.clock)


def _netsuite(w: LedgerWiring) -> LedgerAdapter:
    """M2M OAuth 2.0: no refresh token to rotate; the secret holds the certificate id and its private key."""
    from chalicelib.adapters.ledgers.netsuite import NetSuiteConfig, build_netsuite

    c = w.credentials("netsuite")
    return build_netsuite(NetSuiteConfig.model_validate(c["config"]), w.session or requests.Session(),
                          c["client_id"], c["certificate_id"], c["private_key_pem"], policy=w.policy, sleep=w.sleep,
                          clock=w.clock)


def _yonyou(w: LedgerWiring) -> LedgerAdapter:
    """YonBIP self-built app: appKey (kept as client_id) and appSecret sign each token request."""
    from chalicelib.adapters.ledgers.yonyou import YonyouConfig, build_yonyou

    c = w.credentials("yonyou")
    return build_yonyou(YonyouConfig.model_validate(c["config"]), w.session or requests.Session(), c["client_id"],
                        c["app_secret"], policy=w.policy, sleep=w.sleep, clock=w.clock)


#: ledger name (Policy.ledger) -> builder
REGISTRY: dict[str, Callable[[LedgerWiring], LedgerAdapter]] = {
    "internal": _journal("internal"),
    "journal_csv": _journal("journal_csv"),
    "xero": _xero,
    "quickbooks": _quickbooks,
    "netsuite": _netsuite,
    "yonyou": _yonyou,
}


def ledger_adapter(name: str, wiring: LedgerWiring) -> LedgerAdapter:
    builder = REGISTRY.get(name)
    if builder is None:
        raise UnknownLedger(f"no adapter for the {name!r} ledger is installed")
    return builder(wiring)
