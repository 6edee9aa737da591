"""The QuickBooks Online adapter against the local fake: requestid on every write, Fault errors, refresh once,
throttling backed off, unknown write outcomes looked up by DocNumber, receipts attached, one bill per claim."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import pytest

from chalicelib.adapters.ledgers.http import MemoryTokenStore, RetryPolicy, TokenSet
from chalicelib.adapters.ledgers.port import LedgerAuthFailed, LedgerUnavailable, PayloadInvalid, PostingRejected
from chalicelib.adapters.ledgers.quickbooks import QuickBooksLedger, fault_messages, request_id
from chalicelib.domain.ledger_mapping import ReceiptFile
from tests.ledger_fakes.quickbooks import CLIENT_ID, CLIENT_SECRET, FakeQuickBooks
from tests.unit.adapters.test_quickbooks_payload import config
from tests.unit.adapters.test_xero import JPEG, NOW, make_posting


@pytest.fixture
def fake() -> FakeQuickBooks:
    return FakeQuickBooks()


@pytest.fixture
def store() -> MemoryTokenStore:
    return MemoryTokenStore(TokenSet(access_token="qbo-access-0", refresh_token="qbo-refresh-0",
                                     expires_at=NOW + timedelta(minutes=60)))


def connect(fake, store, clock, sleeper, **changes) -> QuickBooksLedger:
    return QuickBooksLedger.connect(config(**changes), fake.session(), CLIENT_ID, CLIENT_SECRET, store,
                                    policy=RetryPolicy(max_attempts=5), sleep=sleeper, clock=clock)


@pytest.fixture
def qbo(fake, store, clock, sleeper) -> QuickBooksLedger:
    return connect(fake, store, clock, sleeper)


def receipts() -> list[ReceiptFile]:
    return [ReceiptFile(file_name="receipt-e-1.jpg", content_type="image/jpeg", content=JPEG)]


def test_a_posting_becomes_one_bill_with_a_request_id_and_its_receipt_attached(fake, qbo):
    document = qbo.post(make_posting(), receipts())
    [bill] = fake.bills.values()
    assert (document.id, document.kind, document.external_id) == (bill["Id"], "bill", "c-7f3a")
    assert document.url == f"https://app.qbo.intuit.com/app/bill?txnId={bill['Id']}"
    assert bill["DocNumber"] == "c-7f3a" and bill["TotalAmt"] == Decimal("91.05")
    [write] = fake.writes()
    assert write.query["requestid"] == [request_id("c-7f3a", "bill")] and len(request_id("c" * 100, "bill")) <= 50
    [attachable] = fake.attachables
    assert attachable["AttachableRef"] == [{"EntityRef": {"type": "Bill", "value": bill["Id"]}}]
    assert fake.files[attachable["Id"]] == JPEG and document.attachments == ("receipt-e-1.jpg",)


def test_posting_again_finds_the_bill_and_attaches_nothing_twice(fake, qbo):
    first = qbo.post(make_posting(), receipts())
    again = qbo.post(make_posting(), receipts())
    assert again == first and len(fake.bills) == 1 and len(fake.attachables) == 1 and len(fake.writes()) == 1


def test_a_payload_breaking_the_xsd_is_refused_before_any_request(fake, qbo, monkeypatch):
    from chalicelib.adapters.ledgers import quickbooks

    monkeypatch.setattr(quickbooks, "_ref", lambda value: {"value": value, "colour": "red"})
    with pytest.raises(PayloadInvalid):
        qbo.post(make_posting())
    assert fake.seen == []


def test_a_validation_fault_is_a_rejection_carrying_qbos_message(fake, store, clock, sleeper):
    qbo = connect(fake, store, clock, sleeper, expense_accounts={"meals": "999"})
    with pytest.raises(PostingRejected, match="Accounts element id 999 not found") as raised:
        qbo.post(make_posting())
    assert raised.value.status == 400 and not raised.value.retryable and fake.bills == {}


def test_an_injected_business_rule_fault_is_carried_word_for_word(fake, qbo):
    fake.inject("validation", message="Duplicate Document Number Error")
    with pytest.raises(PostingRejected) as raised:
        qbo.post(make_posting())
    assert raised.value.messages == ["A business validation error has occurred while processing your request: "
                                     "Duplicate Document Number Error"]


def test_throttling_without_retry_after_backs_off_then_posts(fake, qbo, sleeper):
    fake.inject("429", times=2)
    qbo.post(make_posting())
    assert sleeper.waits == [1.0, 2.0] and len(fake.bills) == 1


def test_an_expired_token_is_refreshed_once(fake, qbo, store):
    fake.inject("401", method="GET")
    qbo.post(make_posting())
    assert store.tokens.refresh_token.startswith("qbo-refresh-") and store.saves == 1 and len(fake.bills) == 1


def test_a_token_refused_after_refresh_fails_visibly(fake, qbo):
    fake.inject("401", method=None, times=2)
    with pytest.raises(LedgerAuthFailed):
        qbo.post(make_posting())


def test_a_timeout_after_the_write_finds_the_bill_by_doc_number(fake, qbo):
    fake.honour_request_ids = False
    fake.inject("timeout_after_write")
    document = qbo.post(make_posting())
    assert len(fake.bills) == 1 and document.id in fake.bills and len(fake.writes()) == 1


def test_a_500_after_the_write_is_looked_up_and_retried(fake, qbo, sleeper):
    fake.inject("500")
    qbo.post(make_posting())
    assert [(s.method, s.path, s.status) for s in fake.seen] == [
        ("GET", "/query", 200), ("POST", "/bill", 500), ("GET", "/query", 200), ("POST", "/bill", 200)]
    assert len(fake.bills) == 1


@pytest.mark.parametrize("seed", range(3))
def test_twenty_retries_of_the_same_claim_make_exactly_one_bill(fake, qbo, seed):
    fake.honour_request_ids = False
    rng = random.Random(seed)
    outcomes = []
    for attempt in range(20):
        if attempt < 15:
            fake.inject(rng.choice(["timeout_after_write", "500", "429", "timeout", "401"]),
                        method=rng.choice([None, "POST", "GET"]), times=rng.randint(1, 6))
        try:
            outcomes.append(qbo.post(make_posting(), receipts()).id)
        except (LedgerUnavailable, LedgerAuthFailed):
            outcomes.append(None)
    [bill_id] = fake.bills
    assert set(outcomes) - {None} == {bill_id} and outcomes[-1] == bill_id
    assert [a["FileName"] for a in fake.attachables] == ["receipt-e-1.jpg"]


def test_fault_messages_read_both_spellings():
    import requests

    response = requests.Response()
    response.status_code = 401
    response._content = b'{"fault": {"error": [{"message": "AuthenticationFailed", "detail": "Token expired"}]}}'
    assert fault_messages(response) == ["AuthenticationFailed: Token expired"]
    response._content = b"<html>"
    assert fault_messages(response)[0].startswith("HTTP 401")
