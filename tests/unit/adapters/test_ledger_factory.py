"""The company's configured ledger name builds its adapter from the credentials secret, for every ledger."""

from __future__ import annotations

import json
from typing import get_args

import pytest

from chalicelib.adapters.ledgers.factory import REGISTRY, LedgerWiring, UnknownLedger, ledger_adapter
from chalicelib.adapters.ledgers.http import RetryPolicy
from chalicelib.adapters.ledgers.internal import MemoryJournalStore
from chalicelib.domain.errors import LedgerAuthFailed
from chalicelib.domain.policy import LedgerName
from tests.ledger_fakes import netsuite as ns
from tests.ledger_fakes import yonyou as yy
from tests.unit.adapters import test_netsuite_payload, test_yonyou_payload
from tests.unit.adapters.test_xero import make_posting


class Secrets:
    def __init__(self, value: dict):
        self.value = json.dumps(value)

    def get_secret_value(self, SecretId: str) -> dict:  # noqa: N803 (boto3's keyword)
        return {"SecretString": self.value}


def _wiring(secret: dict, session=None) -> LedgerWiring:
    return LedgerWiring(journal=MemoryJournalStore(), secretsmanager=Secrets(secret), secret_id="ledger-credentials",
                        session=session, policy=RetryPolicy(max_attempts=3), sleep=lambda s: None)


def test_every_ledger_a_company_can_choose_has_a_builder():
    assert set(get_args(LedgerName)) == set(REGISTRY)


def test_netsuite_is_built_from_its_secret_and_posts_once():
    fake = ns.FakeNetSuite()
    secret = {"netsuite": {"client_id": ns.CLIENT_ID, "certificate_id": ns.CERTIFICATE_ID,
                           "private_key_pem": ns.private_key_pem().decode(),
                           "config": json.loads(test_netsuite_payload.config().model_dump_json())}}
    adapter = ledger_adapter("netsuite", _wiring(secret, fake.session()))
    first = adapter.post(make_posting(), [])
    again = adapter.post(make_posting(), [])
    assert first.id == again.id and first.ledger == "netsuite"


def test_yonyou_is_built_from_its_secret_and_posts_once():
    fake = yy.FakeYonyou()
    secret = {"yonyou": {"client_id": yy.APP_KEY, "app_secret": yy.APP_SECRET,
                         "config": json.loads(test_yonyou_payload.config().model_dump_json())}}
    adapter = ledger_adapter("yonyou", _wiring(secret, fake.session()))
    first = adapter.post(make_posting(), [])
    again = adapter.post(make_posting(), [])
    assert first.id == again.id and first.ledger == "yonyou"


@pytest.mark.parametrize("name", ["netsuite", "yonyou"])
def test_a_ledger_nobody_connected_says_finance_must_connect_it(name):
    with pytest.raises(LedgerAuthFailed, match="finance must connect it"):
        ledger_adapter(name, _wiring({}))


def test_an_unknown_ledger_name_is_refused():
    with pytest.raises(UnknownLedger):
        ledger_adapter("sage", _wiring({}))
