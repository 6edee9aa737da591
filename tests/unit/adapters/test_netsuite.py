"""The NetSuite adapter against the local fake NetSuite: the client-credentials token (a signed JWT assertion),
the upsert by external id, NetSuite's error bodies, refresh once on 401, 429 waited out, unknown write outcomes
looked up by external id, and one record per claim whatever the retries. No socket, no sleep."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import pytest

from chalicelib.adapters.ledgers.http import RetryPolicy
from chalicelib.adapters.ledgers.netsuite import NetSuiteLedger, error_details
from chalicelib.adapters.ledgers.port import LedgerAuthFailed, LedgerUnavailable, PayloadInvalid, PostingRejected
from chalicelib.domain.ledger_mapping import ReceiptFile
from tests.ledger_fakes.netsuite import CERTIFICATE_ID, CLIENT_ID, TOKEN_URL, FakeNetSuite, private_key_pem
from tests.unit.adapters.test_netsuite_payload import config
from tests.unit.adapters.test_xero import JPEG, NOW, make_posting


@pytest.fixture
def fake() -> FakeNetSuite:
    return FakeNetSuite()


def connect(fake, clock, sleeper, **changes) -> NetSuiteLedger:
    return NetSuiteLedger.connect(config(**changes), fake.session(), CLIENT_ID, CERTIFICATE_ID, private_key_pem(),
                                  policy=RetryPolicy(max_attempts=5), sleep=sleeper, clock=clock)


@pytest.fixture
def netsuite(fake, clock, sleeper) -> NetSuiteLedger:
    return connect(fake, clock, sleeper)


def test_a_posting_becomes_one_expense_report_upserted_by_external_id(fake, netsuite):
    document = netsuite.post(make_posting())
    [report] = fake.stored("c-7f3a")
    assert (document.id, document.kind, document.external_id) == (report["id"], "expense_report", "c-7f3a")
    assert document.url == f"https://1234567-sb1.app.netsuite.com/app/accounting/transactions/exprept.nl?id={report['id']}"
    assert report["total"] == Decimal("91.05")
    assert [(s.method, s.path, s.status) for s in fake.seen if s.path != "/services/rest/auth/oauth2/v1/token"] == [
        ("GET", "/expenseReport/eid:c-7f3a", 404), ("PUT", "/expenseReport/eid:c-7f3a", 204)]


def test_the_token_comes_from_a_signed_client_assertion(fake, netsuite):
    netsuite.post(make_posting())
    [claims] = fake.assertions
    assert (claims["iss"], claims["aud"], claims["scope"]) == (CLIENT_ID, TOKEN_URL, "rest_webservices")
    assert claims["iat"] == int(NOW.timestamp()) and claims["exp"] - claims["iat"] == 300
    api = [s for s in fake.seen if s.path.startswith("/expenseReport")]
    assert all(s.headers["Authorization"] == "Bearer ns-access-1" for s in api)


def test_a_vendor_bill_is_posted_and_found_again(fake, clock, sleeper):
    netsuite = connect(fake, clock, sleeper, record_type="vendorBill")
    document = netsuite.post(make_posting())
    assert document.kind == "vendor_bill" and document.url.endswith(f"vendbill.nl?id={document.id}")
    assert netsuite.find("c-7f3a") == document
    assert netsuite.post(make_posting()) == document and len(fake.stored("c-7f3a", "vendorBill")) == 1


def test_posting_a_claim_already_in_netsuite_returns_it_and_writes_nothing(fake, netsuite):
    first = netsuite.post(make_posting())
    assert netsuite.post(make_posting()) == first
    assert len(fake.writes()) == 1


def test_receipts_are_not_uploaded_and_do_not_stop_the_posting(fake, netsuite):
    document = netsuite.post(make_posting(), [ReceiptFile(file_name="r.jpg", content_type="image/jpeg",
                                                          content=JPEG)])
    assert document.attachments == () and len(fake.stored("c-7f3a")) == 1


def test_a_payload_breaking_the_schema_is_refused_before_any_request(fake, netsuite, monkeypatch):
    from chalicelib.adapters.ledgers import netsuite as module

    monkeypatch.setattr(module, "_ref", lambda value: {"id": value, "colour": "red"})
    with pytest.raises(PayloadInvalid, match="'colour' was unexpected"):
        netsuite.post(make_posting())
    assert fake.seen == []


# --- the error paths -----------------------------------------------------------------------------------------------
def test_a_validation_error_is_a_rejection_carrying_netsuites_detail(fake, netsuite):
    fake.inject("validation", message="Error while accessing resource: You have entered an Invalid Field Value 9 "
                                      "for the following field: subsidiary")
    with pytest.raises(PostingRejected, match="Invalid Field Value 9 for the following field: subsidiary") as raised:
        netsuite.post(make_posting())
    assert raised.value.status == 400 and not raised.value.retryable and fake.stored("c-7f3a") == []
    assert raised.value.messages[0].endswith("(INVALID_CONTENT)")


def test_an_account_netsuite_does_not_know_is_rejected_with_its_message(fake, clock, sleeper):
    netsuite = connect(fake, clock, sleeper, expense_categories={}, expense_accounts={"meals": "999"})
    with pytest.raises(PostingRejected, match="Invalid Field Value 999 for the following field: expenseaccount"):
        netsuite.post(make_posting())


def test_429_waits_the_retry_after_then_posts(fake, netsuite, sleeper):
    fake.inject("429", retry_after="3", times=2)
    netsuite.post(make_posting())
    assert sleeper.waits == [3.0, 3.0] and len(fake.stored("c-7f3a")) == 1


def test_429_on_the_lookup_is_waited_out_too(fake, netsuite, sleeper):
    fake.inject("429", method="GET", retry_after="1")
    netsuite.post(make_posting())
    assert sleeper.waits == [1.0] and len(fake.stored("c-7f3a")) == 1


def test_429_retries_are_bounded_and_left_to_the_queue(fake, netsuite, sleeper):
    fake.inject("429", retry_after="2", times=10)
    with pytest.raises(LedgerUnavailable, match="5 attempts") as raised:
        netsuite.post(make_posting())
    assert raised.value.retryable and sleeper.waits == [2.0] * 4 and fake.stored("c-7f3a") == []


def test_an_expired_token_is_refreshed_once_with_a_new_assertion(fake, netsuite):
    fake.inject("401", method="PUT")
    document = netsuite.post(make_posting())
    assert document.id == fake.stored("c-7f3a")[0]["id"] and len(fake.assertions) == 2
    assert [s.status for s in fake.writes()] == [401, 204]


def test_a_token_refused_again_after_refresh_fails_visibly(fake, netsuite):
    fake.inject("401", method="PUT", times=2)
    with pytest.raises(LedgerAuthFailed, match="refused a freshly refreshed token") as raised:
        netsuite.post(make_posting())
    assert not raised.value.retryable and fake.stored("c-7f3a") == []


def test_refused_client_credentials_fail_visibly(fake, netsuite):
    fake.refuse_credentials = True
    with pytest.raises(LedgerAuthFailed, match=r"refused the client credentials \(invalid_client\)"):
        netsuite.post(make_posting())


def test_a_token_near_expiry_is_replaced_before_the_call(fake, netsuite, clock):
    netsuite.post(make_posting())
    clock.at = NOW + timedelta(minutes=59, seconds=30)
    netsuite.find("c-7f3a")
    assert len(fake.assertions) == 2 and not any(s.status == 401 for s in fake.seen)


def test_a_500_on_the_write_looks_the_record_up_before_writing_again(fake, netsuite, sleeper):
    fake.inject("500")
    netsuite.post(make_posting())
    assert [(s.method, s.status) for s in fake.seen if s.path.startswith("/expenseReport")] == [
        ("GET", 404), ("PUT", 500), ("GET", 404), ("PUT", 204)]
    assert sleeper.waits == [1.0] and len(fake.stored("c-7f3a")) == 1


def test_a_timeout_after_the_write_finds_the_record_instead_of_writing_it_again(fake, netsuite):
    fake.upsert = False  # every PUT would add a record: only the lookup stands between us and a duplicate
    fake.inject("timeout_after_write")
    document = netsuite.post(make_posting())
    assert [r["id"] for r in fake.stored("c-7f3a")] == [document.id] and len(fake.writes()) == 1


def test_a_connect_timeout_on_a_read_is_retried(fake, netsuite, sleeper):
    fake.inject("timeout", method="GET")
    netsuite.post(make_posting())
    assert sleeper.waits == [1.0] and len(fake.stored("c-7f3a")) == 1


def test_writes_that_keep_failing_are_left_to_the_queue_without_a_record(fake, netsuite, sleeper):
    fake.inject("500", times=10)
    with pytest.raises(LedgerUnavailable, match="not found after 5 attempts") as raised:
        netsuite.post(make_posting())
    assert raised.value.retryable and fake.stored("c-7f3a") == [] and sleeper.waits == [1.0, 2.0, 4.0, 8.0]


def test_error_details_read_netsuites_error_shape():
    import requests

    response = requests.Response()
    response.status_code = 400
    response._content = (b'{"type":"x","title":"Bad Request","status":400,"o:errorDetails":[{"detail":"One",'
                          b'"o:errorCode":"USER_ERROR"},{"detail":"Two","o:errorCode":"INVALID_CONTENT"}]}')
    assert error_details(response) == ["One (USER_ERROR)", "Two (INVALID_CONTENT)"]
    response._content = b"<html>gateway</html>"
    assert error_details(response) == ["HTTP 400: <html>gateway</html>"]


@pytest.mark.parametrize("seed", range(5))
def test_twenty_deliveries_of_one_claim_make_exactly_one_record(fake, netsuite, seed):
    """Twenty deliveries of one claim, the first fifteen each meeting a random run of NetSuite's failures on any
    request, with the upsert switched off so the lookup by external id alone holds."""
    fake.upsert = False
    rng = random.Random(seed)
    outcomes = []
    for attempt in range(20):
        if attempt < 15:
            fake.inject(rng.choice(["timeout_after_write", "500", "429", "timeout", "401"]),
                        method=rng.choice([None, "PUT", "GET"]), times=rng.randint(1, 6))
        try:
            outcomes.append(netsuite.post(make_posting()).id)
        except (LedgerUnavailable, LedgerAuthFailed):
            outcomes.append(None)
    [record] = fake.stored("c-7f3a")
    assert set(outcomes) - {None} == {record["id"]} and outcomes[-1] == record["id"]
    assert len(fake.writes()) >= 1


def test_the_logs_carry_no_name_amount_or_token(fake, netsuite, caplog):
    caplog.set_level("DEBUG")
    for fault in ("429", "401", "500", "timeout_after_write"):
        fake.inject(fault, method=None if fault == "401" else "PUT")
    netsuite.post(make_posting())
    text = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert caplog.records and "c-7f3a" in text
    for secret in ("Chan", "91.05", "1.02", "ns-access-", "BEGIN PRIVATE KEY", "eyJ"):
        assert secret not in text


def test_the_fakes_error_bodies_match_the_published_error_shape(fake, netsuite):
    from chalicelib.adapters.ledgers import openapi
    from chalicelib.adapters.ledgers.http import loads

    shapes = openapi.load("netsuite_record_v1", requests_only=False)
    session = fake.session()
    url = "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/record/v1/expenseReport/eid:nope"
    unauthorised = session.get(url, headers={"Authorization": "Bearer wrong"})
    netsuite.find("c-7f3a")
    missing = session.get(url, headers={"Authorization": "Bearer ns-access-1"})
    fake.inject("validation")
    refused = session.put(url, data=b"{}", headers={"Authorization": "Bearer ns-access-1"})
    for response, status in ((unauthorised, 401), (missing, 404), (refused, 400)):
        assert response.status_code == status and shapes.errors("nsError", loads(response.content)) == []
