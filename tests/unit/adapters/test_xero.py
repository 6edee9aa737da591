"""The Xero adapter against the local fake Xero: payloads checked against the spec, every error path, and a claim
posted once whatever the retries. No socket is opened and nothing sleeps: the sleeper records its waits."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from chalicelib.adapters.ledgers.http import MemoryTokenStore, RetryPolicy, TokenSet, dumps, retry_after_seconds
from chalicelib.adapters.ledgers.port import (
    LedgerAuthFailed,
    LedgerUnavailable,
    PayloadInvalid,
    PostingRejected,
)
from chalicelib.adapters.ledgers.xero import XeroConfig, XeroLedger, build_bill, build_manual_journal, validated
from chalicelib.domain.claim import Claim, ClaimStatus
from chalicelib.domain.fx_rates import AppliedRate, FxRate, RateBook, RateRule
from chalicelib.domain.ledger_mapping import Posting, PostingLine, ReceiptFile, posting_for
from chalicelib.domain.money import Money
from tests.builders import receipt
from tests.ledger_fakes.xero import CLIENT_ID, CLIENT_SECRET, TENANT_ID, FakeXero, stored_bills

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
JPEG = b"\xff\xd8\xff\xe0fake-receipt-image"


class Clock:
    def __init__(self) -> None:
        self.at = NOW

    def __call__(self) -> datetime:
        return self.at


class Sleeper:
    def __init__(self, clock: Clock) -> None:
        self.waits: list[float] = []
        self.clock = clock

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.at += timedelta(seconds=seconds)


def usd(day: date = date(2026, 11, 27), rate: str = "7.8155") -> AppliedRate:
    return AppliedRate(currency="USD", hkd_per_unit=Decimal(rate), rate_date=day, source="HKMA er-eeri-daily",
                       rule=RateRule.RECEIPT_DATE, wanted_date=day)


def line(expense_id: str, amount: str, hkd: str, *, category: str = "meals", currency: str = "USD",
         cost_centre: str | None = "CC-100") -> PostingLine:
    rate = usd() if currency == "USD" else AppliedRate.base(date(2026, 11, 27))
    return PostingLine(expense_id=expense_id, category=category, description=f"{category} {expense_id}",
                       cost_centre=cost_centre, original=Money.of(amount, currency), rate=rate,
                       hkd=Money.of(hkd, "HKD"))


def make_posting(claim_id: str = "c-7f3a", rounding: str = "-0.01") -> Posting:
    lines = [line("e-1", "0.13", "1.02"), line("e-2", "0.13", "1.02"), line("e-3", "0.13", "1.02", category="taxi"),
             line("e-4", "88.00", "88.00", category="travel", currency="HKD", cost_centre="CC-200")]
    total = sum((li.hkd.amount for li in lines), Decimal(0)) + Decimal(rounding)
    return Posting(external_id=claim_id, employee_id="E201", employee_name="Chan Tai Man", cost_centre="CC-100",
                   entry_date=date(2026, 11, 30), description=f"Expense claim {claim_id}", lines=lines,
                   rounding=Money.of(rounding, "HKD"), total=Money.of(str(total), "HKD"))


@pytest.fixture
def fake() -> FakeXero:
    return FakeXero()


@pytest.fixture
def store() -> MemoryTokenStore:
    return MemoryTokenStore(TokenSet(access_token="access-0", refresh_token="refresh-0",
                                     expires_at=NOW + timedelta(minutes=30)))


def connect(fake, store, clock, sleeper, **config) -> XeroLedger:
    return XeroLedger.connect(XeroConfig(tenant_id=TENANT_ID, **config), fake.session(), CLIENT_ID, CLIENT_SECRET,
                              store, policy=RetryPolicy(max_attempts=5), sleep=sleeper, clock=clock)


@pytest.fixture
def xero(fake, store, clock, sleeper) -> XeroLedger:
    return connect(fake, store, clock, sleeper)


# --- the payloads -------------------------------------------------------------------------------------------------
def test_the_bill_is_an_accpay_invoice_to_the_employee_with_accounts_tracking_tax_and_the_rounding_line():
    body = validated(build_bill(make_posting(), XeroConfig(tenant_id=TENANT_ID, tax_types={"taxi": "EXEMPTEXPENSES"})))
    [bill] = body["Invoices"]
    assert (bill["Type"], bill["InvoiceNumber"], bill["Contact"], bill["CurrencyCode"], bill["CurrencyRate"]) == (
        "ACCPAY", "c-7f3a", {"Name": "Chan Tai Man (E201)"}, "HKD", Decimal(1))
    assert (bill["Date"], bill["DueDate"], bill["Status"], bill["LineAmountTypes"]) == (
        "2026-11-30", "2026-12-14", "AUTHORISED", "NoTax")
    assert [(li["AccountCode"], li["UnitAmount"], li["TaxType"]) for li in bill["LineItems"]] == [
        ("6110", Decimal("1.02"), "NONE"), ("6110", Decimal("1.02"), "NONE"),
        ("6130", Decimal("1.02"), "EXEMPTEXPENSES"), ("6140", Decimal("88.00"), "NONE"),
        ("6195", Decimal("-0.01"), "NONE")]
    assert bill["LineItems"][3]["Tracking"] == [{"Name": "Cost Centre", "Option": "CC-200"}]
    assert sum(li["UnitAmount"] for li in bill["LineItems"]) == Decimal("91.05")
    assert '"UnitAmount":1.02' in dumps(body) and '"CurrencyRate":1,' in dumps(body)  # numbers, not strings


def test_a_known_contact_is_referenced_by_id_and_no_name_is_sent():
    config = XeroConfig(tenant_id=TENANT_ID, contact_ids={"E201": "5b96e86b-418e-48e8-8949-308c14aec278"})
    [bill] = validated(build_bill(make_posting(), config))["Invoices"]
    assert bill["Contact"] == {"ContactID": "5b96e86b-418e-48e8-8949-308c14aec278"}


def test_a_single_currency_claim_can_be_billed_in_its_own_currency_at_xeros_inverse_rate():
    lines = [line("e-1", "100.00", "781.55"), line("e-2", "20.00", "156.31")]
    posting = Posting(external_id="c-usd", employee_id="E201", employee_name="x", cost_centre=None,
                      entry_date=date(2026, 11, 30), description="d", lines=lines, rounding=Money.of("0.00", "HKD"),
                      total=Money.of("937.86", "HKD"))
    [bill] = validated(build_bill(posting, XeroConfig(tenant_id=TENANT_ID, bill_currency="original")))["Invoices"]
    assert (bill["CurrencyCode"], bill["CurrencyRate"]) == ("USD", Decimal("0.127951"))  # 1 / 7.8155
    assert [li["UnitAmount"] for li in bill["LineItems"]] == [Decimal("100.00"), Decimal("20.00")]


def test_the_manual_journal_balances_debits_rounding_and_the_employee_credit():
    body = validated(build_manual_journal(make_posting(), XeroConfig(tenant_id=TENANT_ID, mode="manual_journal")))
    [journal] = body["ManualJournals"]
    assert journal["Narration"] == "Expense claim c-7f3a" and journal["Status"] == "POSTED"
    amounts = [jl["LineAmount"] for jl in journal["JournalLines"]]
    assert amounts[-1] == Decimal("-91.05") and sum(amounts) == 0
    assert journal["JournalLines"][-1]["AccountCode"] == "2150"
    assert "Chan" not in dumps(body)  # the journal names the employee by id only


def test_a_payload_breaking_the_xero_spec_is_refused_before_any_request(fake, store, clock, sleeper):
    xero = connect(fake, store, clock, sleeper, tracking_category="Cost centre " * 10)  # Name: maxLength 100
    with pytest.raises(PayloadInvalid, match=r"Invoices/0/LineItems/0/Tracking/0/Name: .* is too long"):
        xero.post(make_posting())
    assert fake.seen == []


def test_a_currency_xero_does_not_list_is_refused_before_any_request(fake, store, clock, sleeper):
    """XCG (Caribbean guilder, ISO 4217 since 2025) is not in Xero's CurrencyCode enum (spec 16.1.0)."""
    xcg = AppliedRate(currency="XCG", hkd_per_unit=Decimal("4.35"), rate_date=date(2026, 11, 27), source="bank",
                      rule=RateRule.RECEIPT_DATE, wanted_date=date(2026, 11, 27))
    posting = Posting(external_id="c-xcg", employee_id="E201", employee_name="x", cost_centre=None,
                      entry_date=date(2026, 11, 30), description="d",
                      lines=[PostingLine(expense_id="e-1", category="meals", description="m", cost_centre=None,
                                         original=Money.of("10.00", "XCG"), rate=xcg, hkd=Money.of("43.50", "HKD"))],
                      rounding=Money.of("0", "HKD"), total=Money.of("43.50", "HKD"))
    xero = connect(fake, store, clock, sleeper, bill_currency="original")
    with pytest.raises(PayloadInvalid, match=r"Invoices/0/CurrencyCode: 'XCG' is not one of"):
        xero.post(posting)
    assert fake.seen == []
    assert connect(fake, store, clock, sleeper).post(posting).id  # billed in HKD, it is accepted


def test_unknown_and_read_only_properties_are_refused_too():
    body = validated(build_bill(make_posting(), XeroConfig(tenant_id=TENANT_ID)))
    from chalicelib.adapters.ledgers import openapi
    schemas = openapi.load("xero_accounting")
    body["Invoices"][0]["Referance"] = "typo"
    body["Invoices"][0]["Total"] = Decimal("91.05")  # readOnly: Xero computes it
    body["Invoices"][0]["CurrencyCode"] = "ZZZ"
    errors = schemas.errors("Invoices", body)
    assert any("'Referance', 'Total' were unexpected" in e for e in errors)
    assert any(e.startswith("Invoices/0/CurrencyCode: 'ZZZ' is not one of") for e in errors)


# --- posting -----------------------------------------------------------------------------------------------------
def test_a_posting_becomes_one_bill_with_an_idempotency_key_and_its_receipt_attached(fake, xero):
    document = xero.post(make_posting(), [ReceiptFile(file_name="receipt-e-1.jpg", content_type="image/jpeg",
                                                      content=JPEG)])
    [bill] = stored_bills(fake, "c-7f3a")
    assert document.id == bill["InvoiceID"] and document.kind == "bill" and document.external_id == "c-7f3a"
    assert document.url == f"https://go.xero.com/AccountsPayable/View.aspx?InvoiceID={bill['InvoiceID']}"
    assert document.attachments == ("receipt-e-1.jpg",)
    assert fake.attachments[bill["InvoiceID"]]["receipt-e-1.jpg"] == ("image/jpeg", JPEG)
    writes = [s for s in fake.seen if s.method == "PUT"]
    assert [s.path for s in writes] == ["/Invoices", f"/Invoices/{bill['InvoiceID']}/Attachments/receipt-e-1.jpg"]
    assert all(s.headers.get("Idempotency-Key") for s in writes)
    assert writes[0].headers["Idempotency-Key"] == "bill-c-7f3a"
    assert all(s.headers["xero-tenant-id"] == TENANT_ID for s in fake.seen)


def test_a_manual_journal_is_posted_and_found_by_its_narration(fake, store, clock, sleeper):
    xero = connect(fake, store, clock, sleeper, mode="manual_journal")
    document = xero.post(make_posting())
    assert document.kind == "manual_journal" and document.id in fake.journals
    assert xero.find("c-7f3a") == document
    assert xero.post(make_posting()) == document and len(fake.journals) == 1


def test_posting_a_claim_already_in_xero_returns_it_and_writes_nothing(fake, xero):
    first = xero.post(make_posting())
    before = len(fake.writes())
    assert xero.post(make_posting()) == first
    assert len(fake.writes()) == before


def test_a_later_run_attaches_only_the_receipts_missing(fake, xero):
    receipts = [ReceiptFile(file_name="receipt-e-1.jpg", content_type="image/jpeg", content=JPEG)]
    document = xero.post(make_posting(), receipts)
    again = xero.post(make_posting(), [*receipts, ReceiptFile(file_name="receipt-e-2.pdf",
                                                              content_type="application/pdf", content=b"%PDF-1.7")])
    assert again.attachments == ("receipt-e-1.jpg", "receipt-e-2.pdf")
    assert len(fake.writes(f"/Invoices/{document.id}/Attachments/receipt-e-1.jpg")) == 1


def test_a_claim_becomes_a_posting_at_the_rate_book_rate_and_is_posted(fake, xero):
    book = RateBook([FxRate(currency="USD", rate_date=date(2026, 11, 27), hkd_per_unit="7.8155", source="HKMA",
                            loaded_by="hkma-feed", loaded_at=NOW)])
    expenses = [receipt(f"e-{i}", "E201", total=Money.of("0.13", "USD"), receipt_date=date(2026, 11, 28),
                        category="meals") for i in range(3)]
    claim = Claim(claim_id="c-multi", employee_id="E201", department_id="D1", status=ClaimStatus.APPROVED,
                  cost_centre="CC-100", expenses=[*expenses, receipt("e-hk", "E201")])
    posting = posting_for(claim, "Chan Tai Man", book, date(2026, 11, 30))
    assert (posting.total.amount, posting.rounding.amount) == (Decimal("93.05"), Decimal("-0.01"))
    assert "USD 0.13 at 7.8155 HKMA 2026-11-27" in posting.lines[0].description
    xero.post(posting)
    [bill] = stored_bills(fake, "c-multi")
    assert bill["Total"] == Decimal("93.05")


# --- the error paths -----------------------------------------------------------------------------------------------
def test_429_waits_the_retry_after_then_posts(fake, xero, sleeper):
    fake.inject("429", retry_after="3", times=2)
    xero.post(make_posting())
    assert sleeper.waits == [3.0, 3.0] and len(stored_bills(fake, "c-7f3a")) == 1


def test_429_on_a_lookup_is_waited_out_too(fake, xero, sleeper):
    fake.inject("429", method="GET", retry_after="1")
    xero.post(make_posting())
    assert sleeper.waits == [1.0] and len(stored_bills(fake, "c-7f3a")) == 1


def test_429_asking_for_longer_than_allowed_is_left_to_the_queue(fake, xero, sleeper):
    fake.inject("429", retry_after="3600", problem="day")
    with pytest.raises(LedgerUnavailable, match=r"rate limit \(day\) asks to wait 3600 s") as raised:
        xero.post(make_posting())
    assert raised.value.retryable and sleeper.waits == [] and fake.invoices == {}


def test_429_retries_are_bounded(fake, xero, sleeper):
    fake.inject("429", retry_after="2", times=10)
    with pytest.raises(LedgerUnavailable, match="5 attempts"):
        xero.post(make_posting())
    assert sleeper.waits == [2.0] * 4 and fake.invoices == {}


def test_retry_after_as_an_http_date():
    assert retry_after_seconds("Mon, 30 Nov 2026 02:00:05 GMT", NOW) == 5.0
    assert retry_after_seconds("soon", NOW) is None


def test_an_expired_token_is_refreshed_once_and_the_new_refresh_token_kept(fake, xero, store):
    fake.inject("401", method="PUT")
    document = xero.post(make_posting())
    assert document.id in fake.invoices
    assert (store.tokens.refresh_token, store.tokens.access_token, store.saves) == ("refresh-1", "access-1", 1)
    assert [s.status for s in fake.seen if s.path == "/Invoices" and s.method == "PUT"] == [401, 200]


def test_a_token_refused_again_after_refresh_fails_visibly(fake, xero):
    fake.inject("401", method="PUT", times=2)
    with pytest.raises(LedgerAuthFailed, match="refused a freshly refreshed token"):
        xero.post(make_posting())
    assert fake.invoices == {}


def test_a_refused_refresh_token_fails_visibly(fake, xero):
    fake.refresh_refused = True
    fake.inject("401", method="GET")
    with pytest.raises(LedgerAuthFailed, match=r"refused the refresh token \(invalid_grant\)") as raised:
        xero.post(make_posting())
    assert not raised.value.retryable


def test_a_token_near_expiry_is_refreshed_before_the_call(fake, xero, store, clock):
    clock.at = NOW + timedelta(minutes=29, seconds=30)
    xero.post(make_posting())
    assert store.tokens.access_token == "access-1"
    assert not any(s.status == 401 for s in fake.seen)


def test_a_validation_error_is_a_rejection_carrying_xeros_message(fake, xero):
    fake.inject("validation", message="Contact name is already assigned to another contact.")
    with pytest.raises(PostingRejected, match="Contact name is already assigned") as raised:
        xero.post(make_posting())
    assert raised.value.messages == ["Contact name is already assigned to another contact."]
    assert raised.value.status == 400 and not raised.value.retryable


def test_an_account_code_xero_does_not_know_is_rejected_with_its_message(fake, store, clock, sleeper):
    xero = connect(fake, store, clock, sleeper, expense_accounts={"meals": "9999"})
    with pytest.raises(PostingRejected) as raised:
        xero.post(make_posting())
    assert raised.value.messages == ["Account code '9999' is not a valid code for this document."] * 2


def test_a_500_after_the_write_looks_the_bill_up_before_writing_again(fake, xero, sleeper):
    fake.inject("500")
    xero.post(make_posting())
    methods = [(s.method, s.path, s.status) for s in fake.seen]
    assert methods == [("GET", "/Invoices", 200), ("PUT", "/Invoices", 500), ("GET", "/Invoices", 200),
                       ("PUT", "/Invoices", 200)]
    assert sleeper.waits == [1.0] and len(stored_bills(fake, "c-7f3a")) == 1


def test_a_timeout_after_the_write_finds_the_bill_instead_of_posting_it_again(fake, xero):
    fake.honour_idempotency = False  # as if the key had expired: only the lookup stands between us and a duplicate
    fake.inject("timeout_after_write")
    document = xero.post(make_posting())
    assert len(stored_bills(fake, "c-7f3a")) == 1 and document.id in fake.invoices
    assert len(fake.writes()) == 1


def test_a_connect_timeout_on_a_read_is_retried(fake, xero, sleeper):
    fake.inject("timeout", method="GET")
    xero.post(make_posting())
    assert sleeper.waits == [1.0] and len(stored_bills(fake, "c-7f3a")) == 1


def test_writes_that_keep_failing_are_left_to_the_queue_without_a_bill(fake, xero, sleeper):
    fake.inject("500", times=10)
    with pytest.raises(LedgerUnavailable, match="not found after 5 attempts") as raised:
        xero.post(make_posting())
    assert raised.value.retryable and fake.invoices == {} and sleeper.waits == [1.0, 2.0, 4.0, 8.0]


def test_an_attachment_refused_leaves_the_bill_posted_with_the_refusal_beside_it(fake, xero):
    fake.inject("validation", path="/Invoices/", message="The file is too large")
    document = xero.post(make_posting(), [ReceiptFile(file_name="big.jpg", content_type="image/jpeg", content=JPEG)])
    assert document.id in fake.invoices and document.attachments == ()
    assert document.attachment_errors == ("big.jpg: The file is too large",)


def test_an_attachment_timeout_is_retried_by_the_next_run_without_a_second_bill(fake, xero):
    receipts = [ReceiptFile(file_name="r.jpg", content_type="image/jpeg", content=JPEG)]
    fake.inject("timeout_after_write", path="/Invoices/")
    with pytest.raises(LedgerUnavailable, match="attachment r.jpg"):
        xero.post(make_posting(), receipts)
    document = xero.post(make_posting(), receipts)
    assert document.attachments == ("r.jpg",) and len(fake.invoices) == 1


@pytest.mark.parametrize("seed", range(5))
def test_twenty_retries_of_the_same_claim_make_exactly_one_bill(fake, xero, seed):
    """Twenty deliveries of one claim, the first fifteen each meeting a random run of Xero's failures (on any
    request: lookups, the write, the attachment), with idempotency keys forgotten so the lookup alone holds."""
    fake.honour_idempotency = False
    rng = random.Random(seed)
    receipts = [ReceiptFile(file_name="r.jpg", content_type="image/jpeg", content=JPEG)]
    outcomes = []
    for attempt in range(20):
        if attempt < 15:
            fake.inject(rng.choice(["timeout_after_write", "500", "429", "timeout", "401"]),
                        method=rng.choice([None, "PUT", "GET"]), times=rng.randint(1, 6))
        try:
            outcomes.append(xero.post(make_posting(), receipts).id)
        except (LedgerUnavailable, LedgerAuthFailed):
            outcomes.append(None)
    assert len(stored_bills(fake, "c-7f3a")) == 1
    [bill_id] = fake.invoices
    assert set(outcomes) - {None} == {bill_id} and outcomes[-1] == bill_id
    assert list(fake.attachments[bill_id]) == ["r.jpg"]
    assert len(fake.writes()) >= 1


def test_the_logs_carry_no_name_amount_or_token(fake, xero, caplog):
    caplog.set_level("DEBUG")
    for fault in ("429", "401", "500", "timeout_after_write"):
        fake.inject(fault, method=None if fault == "401" else "PUT")
    xero.post(make_posting(), [ReceiptFile(file_name="r.jpg", content_type="image/jpeg", content=JPEG)])
    text = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert caplog.records and "c-7f3a" in text
    for secret in ("Chan", "91.05", "1.02", "access-", "refresh-", CLIENT_SECRET):
        assert secret not in text
