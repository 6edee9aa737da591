"""Posting through the LedgerAdapter port (services/posting.py): the company's ledger from its policy, dated rates
with the policy table as fallback, the document stored on the claim and the rate on each expense, refusals ending
`posting_failed` with the vendor's message, retryable errors left to the queue, and never a second document."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from chalicelib.adapters.ledgers.factory import LedgerWiring, ledger_adapter
from chalicelib.adapters.ledgers.http import RetryPolicy
from chalicelib.adapters.ledgers.internal import MemoryJournalStore
from chalicelib.adapters.posting_records import MemoryPostingRecords
from chalicelib.adapters.rate_store import MemoryRateStore
from chalicelib.domain.claim import ClaimStatus
from chalicelib.domain.errors import LedgerUnavailable
from chalicelib.domain.fx_rates import FxRate
from chalicelib.domain.money import Money
from chalicelib.domain.posting_record import PostingState, reconcile
from chalicelib.services import posting
from tests.fakes import bootstrap_fakes
from tests.ledger_fakes.xero import CLIENT_ID, CLIENT_SECRET, TENANT_ID, FakeXero, stored_bills
from tests.unit.services.support import hkt, principal, put_claim
from tests.unit.services.test_advances import paid

LOADED = datetime(2026, 11, 1, 1, 0, tzinfo=UTC)


class FakeSecrets:
    def __init__(self, value: dict):
        self.value, self.puts = json.dumps(value), 0

    def get_secret_value(self, SecretId: str) -> dict:  # noqa: N803 (boto3's keyword)
        return {"SecretString": self.value}

    def put_secret_value(self, SecretId: str, SecretString: str) -> None:  # noqa: N803
        self.value, self.puts = SecretString, self.puts + 1


def xero_secret() -> dict:
    return {"xero": {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "config": {"tenant_id": TENANT_ID},
                     "tokens": {"access_token": "access-0", "refresh_token": "refresh-0",
                                "expires_at": "2030-01-01T00:00:00+00:00"}}}


class World:
    def __init__(self, ledger: str = "xero", secret: dict | None = None):
        self.app = bootstrap_fakes()
        self.app.clock.at = hkt(2026, 11, 12, 15)
        self.app.directory.put_policy(self.app.directory.policy().model_copy(update={"ledger": ledger}))
        self.xero = FakeXero()
        self.journal = MemoryJournalStore()
        self.records = MemoryPostingRecords()
        self.rates = MemoryRateStore()
        self.waits: list[float] = []
        secrets = FakeSecrets(xero_secret() if secret is None else secret)
        self.wiring = LedgerWiring(journal=self.journal, secretsmanager=secrets,
                                   secret_id="ledger-credentials", session=self.xero.session(),
                                   policy=RetryPolicy(max_attempts=3), sleep=self.waits.append,
                                   clock=self.app.clock)
        self.ctx = posting.PostingContext(
            claims=self.app.claims, directory=self.app.directory, records=self.records, rates=self.rates,
            ledger_for=lambda name: ledger_adapter(name, self.wiring), tell=self.app.approvals.claimants.tell,
            now=self.app.clock, advances=self.app.advances,
            tell_finance=posting.FinanceAlerts(self.app.notifier, self.app.directory, "https://expense.example").tell)

    def usd_claim(self, claim_id: str = "c-1", amount: str = "100.00") -> None:
        put_claim(self.app, claim_id, status=ClaimStatus.APPROVED, total=Money.of(amount, "USD"),
                  receipt_date=date(2026, 11, 3))

    def told(self, event: str) -> list[dict]:
        return [m for m in self.app.employee_notifier.sent if m["event"] == event]

    def finance_told(self) -> list[dict]:
        return [m for m in self.app.notifier.sent if m["attributes"].get("audience") == "finance"]


def usd_rate(day: date = date(2026, 11, 3), rate: str = "7.8155") -> FxRate:
    return FxRate(currency="USD", rate_date=day, hkd_per_unit=rate, source="HKMA er-eeri-daily",
                  loaded_by="E300", loaded_at=LOADED)


def test_a_claim_is_posted_to_the_companys_ledger_with_the_document_on_the_claim_and_the_rate_on_the_expense():
    w = World()
    w.rates.put_many([usd_rate()])
    w.usd_claim()

    outcome = posting.post(w.ctx, "c-1")

    claim = w.app.claims.get("c-1")
    [bill] = stored_bills(w.xero, "c-1")
    assert (claim.status, claim.ledger, outcome["status"]) == (ClaimStatus.POSTED, "xero", "posted")
    assert claim.external_document_id == bill["InvoiceID"] == outcome["journal_id"]
    assert claim.external_document_url.startswith("https://go.xero.com/")
    booked = claim.expenses[0].booked
    assert (booked.original, booked.hkd) == (Money.of("100.00", "USD"), Money.of("781.55", "HKD"))
    assert (booked.rate, booked.rate_date, booked.rate_source) == (Decimal("7.8155"), date(2026, 11, 3),
                                                                   "HKMA er-eeri-daily")
    assert (booked.profits_tax.deductible, booked.profits_tax.rule_id) == (True, "s16-1-business")
    [record] = w.records.by_period("2026-11")
    assert record.journal[0].profits_tax == "deductible"
    assert (record.state, record.posted_hkd, record.document_id) == (PostingState.POSTED, Decimal("781.55"),
                                                                     bill["InvoiceID"])
    assert sum(r.debit for r in record.journal) == sum(r.credit for r in record.journal) == Decimal("781.55")
    assert w.app.audit.actions("CLAIM#c-1")[-1] == "claim.posted"
    assert len(w.told("posted")) == 1


def test_without_a_dated_rate_the_policy_table_is_used_and_named_as_the_source():
    w = World()
    w.usd_claim()

    posting.post(w.ctx, "c-1")

    booked = w.app.claims.get("c-1").expenses[0].booked
    assert booked.rate_source == "policy table"
    assert booked.rate == w.app.directory.policy().fx.hkd_per_unit["USD"]


def test_a_stale_dated_rate_is_not_replaced_by_the_policy_table_the_claim_waits_for_finance():
    w = World()
    w.rates.put_many([usd_rate(day=date(2026, 10, 1))])
    w.usd_claim()

    outcome = posting.post(w.ctx, "c-1")

    claim = w.app.claims.get("c-1")
    assert (claim.status, outcome["status"]) == (ClaimStatus.POSTING_FAILED, "posting_failed")
    assert "finance must load a newer one" in claim.posting_error
    assert w.xero.invoices == {}


def test_the_vendors_validation_message_ends_the_claim_posting_failed_and_a_repost_books_it_once():
    w = World()
    w.usd_claim()
    w.xero.inject("validation", method="PUT", message="Account code '6110' has been archived")

    outcome = posting.post(w.ctx, "c-1")

    claim = w.app.claims.get("c-1")
    assert claim.status == ClaimStatus.POSTING_FAILED
    assert "Account code '6110' has been archived" in claim.posting_error == outcome["error"]
    assert w.app.audit.actions("CLAIM#c-1")[-1] == "claim.posting_failed"
    [told] = w.told("posting_failed")
    assert "Account code '6110' has been archived" in told["en"] and "會計系統" in told["zh-Hant"]
    [record] = w.records.by_period("2026-11")
    assert record.state == PostingState.FAILED
    # finance fixed the mapping and posts it again: once
    w.app.clock.advance(days=1)
    queued = posting.repost(w.ctx, "c-1", principal(w.app, "E300"))
    assert posting.post(w.ctx, "c-1", queued.period)["status"] == "posted"
    assert posting.post(w.ctx, "c-1", queued.period)["status"] == "posted"  # a redelivered message
    assert len(stored_bills(w.xero, "c-1")) == 1
    assert "claim.repost_requested" in w.app.audit.actions("CLAIM#c-1")


def test_a_ledger_that_stays_down_is_left_to_the_queue_and_the_claim_stays_approved():
    w = World()
    w.usd_claim()
    w.xero.inject("500", method="PUT", times=10)

    with pytest.raises(LedgerUnavailable):
        posting.post(w.ctx, "c-1")

    assert w.app.claims.get("c-1").status == ClaimStatus.APPROVED
    [record] = w.records.by_period("2026-11")
    assert (record.state, record.attempts) == (PostingState.QUEUED, 1)
    w.xero.faults.clear()
    assert posting.post(w.ctx, "c-1", "2026-11")["status"] == "posted"  # the redelivery
    assert len(stored_bills(w.xero, "c-1")) == 1


def test_a_timeout_after_the_write_finds_the_document_instead_of_writing_a_second_one():
    w = World()
    w.usd_claim()
    w.xero.inject("timeout_after_write", method="PUT")

    assert posting.post(w.ctx, "c-1")["status"] == "posted"

    assert len(stored_bills(w.xero, "c-1")) == 1


def test_a_ledger_nobody_connected_fails_visibly():
    w = World(secret={})
    w.usd_claim()

    outcome = posting.post(w.ctx, "c-1")

    assert outcome["status"] == "posting_failed"
    assert "xero is not connected" in w.app.claims.get("c-1").posting_error


@pytest.mark.parametrize(("advance", "owed", "recover"), [("60", "721.55", None), ("1000", "0.00", "218.45")])
def test_a_claim_settling_an_advance_is_billed_in_xero_less_the_advance_and_the_advance_settled(advance, owed,
                                                                                               recover):
    w = World()
    w.rates.put_many([usd_rate()])
    cash = paid(w.app, amount=advance)
    put_claim(w.app, "c-1", status=ClaimStatus.APPROVED, total=Money.of("100.00", "USD"),
              receipt_date=date(2026, 11, 3), advance_id=cash.advance_id)

    assert posting.post(w.ctx, "c-1")["status"] == "posted"
    assert posting.post(w.ctx, "c-1")["status"] == "posted"  # again: one bill, one settlement

    [bill] = stored_bills(w.xero, "c-1")
    assert bill["Total"] == Decimal(owed)
    settled = w.app.advances.get(cash.advance_id)
    assert (settled.status, settled.settled_claim_id) == ("settled", "c-1")
    [record] = w.records.by_period("2026-11")
    other_side = [(r.account, r.debit, r.credit) for r in record.journal[1:]]
    assert other_side[0] == ("1250", Decimal("0.00"), Decimal(advance).quantize(Decimal("0.01")))
    assert [row for row in other_side if row[0] == "1260"] == (
        [("1260", Decimal(recover), Decimal("0.00"))] if recover else [])
    assert sum(r.debit for r in record.journal) == sum(r.credit for r in record.journal)
    assert record.posted_hkd == Decimal("781.55")  # the claim as booked; the advance only changes who owes whom


def test_the_journal_csv_ledger_books_once_and_its_rows_carry_rate_date_and_source():
    w = World(ledger="journal_csv")
    w.rates.put_many([usd_rate()])
    w.usd_claim("c-1", "0.13")
    put_claim(w.app, "c-2", status=ClaimStatus.APPROVED, total=Money.of("88.00", "HKD"))

    for claim_id in ("c-1", "c-2", "c-1"):
        assert posting.post(w.ctx, claim_id)["status"] == "posted"

    assert w.journal.writes == 2
    rows = [row for r in w.records.by_period("2026-11") for row in r.journal]
    usd = next(r for r in rows if r.currency == "USD")
    assert (usd.debit, usd.rate, usd.rate_date, usd.source) == (Decimal("1.02"), Decimal("7.8155"),
                                                               date(2026, 11, 3), "HKMA er-eeri-daily")
    assert sum(r.debit for r in rows) == sum(r.credit for r in rows)
    assert w.app.claims.get("c-1").external_document_url == "/finance/journal.csv?period=2026-11"


def test_reconciliation_lists_each_claim_not_posted_with_its_reason():
    w = World()
    w.usd_claim("c-1")
    w.usd_claim("c-2")
    w.usd_claim("c-3")
    posting.post(w.ctx, "c-1")
    w.xero.inject("validation", method="PUT", message="Contact is archived")
    posting.post(w.ctx, "c-2")
    posting.hand_off(w.ctx, "c-3")

    result = reconcile("2026-11", w.records.by_period("2026-11"), w.app.clock() + timedelta(hours=3), 5)

    [xero] = result.ledgers
    assert (xero.approved, xero.posted, xero.failed, xero.waiting) == (3, 1, 1, 1)
    reasons = {d.claim_id: (d.kind, d.reason) for d in result.differences}
    assert reasons["c-2"][0] == "failed" and "Contact is archived" in reasons["c-2"][1]
    assert reasons["c-3"] == ("not_posted", "in the posting queue for 3 hours")
    assert "c-1" not in reasons


def test_a_claim_already_posted_answers_with_its_document_without_asking_the_ledger():
    w = World()
    w.usd_claim()
    first = posting.post(w.ctx, "c-1")
    asked = len(w.xero.seen)

    assert posting.post(w.ctx, "c-1") == first
    assert len(w.xero.seen) == asked


def test_a_vendor_ledger_gets_the_receipts_attached_and_the_internal_journal_never_reads_them():
    from chalicelib.domain.ledger_mapping import ReceiptFile

    read: list[str] = []

    def receipts(claim):
        read.append(claim.claim_id)
        return [ReceiptFile(file_name="receipt-e-1.jpg", content_type="image/jpeg", content=b"\xff\xd8fake")]

    w = World()
    w.ctx.receipts = receipts
    w.usd_claim()
    posting.post(w.ctx, "c-1")
    [bill] = stored_bills(w.xero, "c-1")
    assert list(w.xero.attachments[bill["InvoiceID"]]) == ["receipt-e-1.jpg"]

    internal = World(ledger="internal")
    internal.ctx.receipts = receipts
    internal.usd_claim("c-2")
    posting.post(internal.ctx, "c-2")
    assert read == ["c-1"]


def test_a_claim_write_lost_after_the_ledger_wrote_is_redone_on_redelivery_with_one_document():
    from chalicelib.domain.errors import ConcurrentChange

    w = World()
    w.usd_claim()
    real_save = w.app.claims.save
    lost = []

    def save_once_lost(before, after, actor, action):
        if action == "claim.posted" and not lost:
            lost.append(action)
            raise ConcurrentChange("someone else wrote first")
        return real_save(before, after, actor, action)

    w.app.claims.save = save_once_lost
    with pytest.raises(ConcurrentChange):
        posting.post(w.ctx, "c-1")
    assert w.app.claims.get("c-1").status == ClaimStatus.APPROVED

    [record] = w.records.by_period("2026-11")
    assert posting.post(w.ctx, "c-1", record.period)["status"] == "posted"  # the redelivered message

    assert len(stored_bills(w.xero, "c-1")) == 1
    [record] = w.records.by_period("2026-11")
    assert record.state == PostingState.POSTED and record.document_id == w.app.claims.get("c-1").external_document_id


def test_finance_is_told_of_a_refusal_with_the_vendors_message_and_reconciliation_shows_when():
    w = World()
    w.rates.put_many([usd_rate()])
    w.usd_claim()
    w.xero.inject("validation", method="PUT", message="Account code '6110' has been archived")

    assert posting.post(w.ctx, "c-1")["status"] == "posting_failed"

    [told] = w.finance_told()
    assert told["attributes"]["approver_id"] == "E110"  # HK-SALES' finance controller
    assert "Account code '6110' has been archived" in told["en"]
    assert "Xero" in told["en"] and "會計系統回覆" in told["zh-Hant"]
    assert told["kind"] == "posting_failed" and told["link"].endswith("#fin-recon-title")
    [difference] = reconcile("2026-11", w.records.by_period("2026-11"), w.app.clock(), 5).differences
    assert difference.finance_told_at == w.app.clock()


def test_a_dead_lettered_posting_is_told_to_finance_once():
    w = World()
    w.rates.put_many([usd_rate()])
    w.usd_claim()
    w.xero.inject("500", method="PUT", times=3)
    with pytest.raises(LedgerUnavailable):
        posting.post(w.ctx, "c-1")

    for _ in range(2):
        posting.dead_lettered(w.ctx, "c-1", "2026-11", "the ledger was unavailable 5 times")

    [told] = w.finance_told()
    assert told["kind"] == "posting_dead_lettered" and "dead-letter" in told["en"]
    [record] = w.records.by_period("2026-11")
    assert record.finance_told_at == w.app.clock() and w.app.claims.get("c-1").status == ClaimStatus.APPROVED


def test_a_notifier_failure_never_stops_the_claim_ending_posting_failed():
    w = World(secret={})

    def broken(subject, message, attributes):
        raise ConnectionError("sns down")

    w.app.notifier.publish = broken
    w.usd_claim()
    assert posting.post(w.ctx, "c-1")["status"] == "posting_failed"
    [record] = w.records.by_period("2026-11")
    assert record.finance_told_at is None  # reconciliation shows it as not told
