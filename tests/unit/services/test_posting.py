"""The end of the approval flow (services/posting.py): post to the ledger, record a rejection, record a failure,
and what the claimant is told each time. Posting here goes through `posting.post` to the `internal` ledger (this
system's journal, the company default) with no dated rates loaded, so the policy table's rates apply."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from chalicelib.adapters.ledgers.internal import JournalLedger
from chalicelib.adapters.posting_records import MemoryPostingRecords
from chalicelib.adapters.rate_store import MemoryRateStore
from chalicelib.domain.claim import ClaimStatus, InvalidTransition, LineItem
from chalicelib.domain.errors import ConcurrentChange
from chalicelib.domain.identity import SYSTEM
from chalicelib.domain.ledger import EMPLOYEE_PAYABLE
from chalicelib.domain.money import Money
from chalicelib.services import posting
from chalicelib.services.posting import ClaimMissing, mark_failed, record_rejection
from tests.fakes import FakeApp, bootstrap_fakes
from tests.unit.services.support import hkt, put_claim


@pytest.fixture
def app():
    return bootstrap_fakes()


def journal_posting(app: FakeApp, claims=None, tell=None) -> posting.PostingContext:
    """The posting context of a company on this system's own journal, its records kept across calls (a retry
    finds the first attempt's record), no dated rates loaded."""
    records = app.__dict__.setdefault("posting_records", MemoryPostingRecords())
    return posting.PostingContext(claims=claims or app.claims, directory=app.directory, records=records,
                                  rates=MemoryRateStore(), ledger_for=lambda name: JournalLedger(app.ledger),
                                  tell=tell or app.approvals.claimants.tell, now=app.clock, advances=app.advances)


def post_to_journal(app: FakeApp, claim_id: str, claims=None, tell=None) -> str:
    """The claim posted (asserted) and its journal id."""
    outcome = posting.post(journal_posting(app, claims, tell), claim_id)
    assert outcome["status"] == "posted", outcome
    return outcome["journal_id"]


def _post(app, claim_id="c-1", claims=None):
    return post_to_journal(app, claim_id, claims)


def _told(app, event=None):
    return [m for m in app.employee_notifier.sent if event is None or m["event"] == event]


# --- posting to the journal -----------------------------------------------------------------------------------


def test_an_approved_claim_moves_through_approved_to_posted_with_a_balanced_journal(app):
    """in_approval -> approved -> posted, each move audited; the journal debits the meals account and credits
    the employee payable with the same HKD amount, on the clock's date, to the department's cost centre."""
    put_claim(app, status=ClaimStatus.IN_APPROVAL)
    app.clock.at = hkt(2026, 11, 12, 15)

    journal_id = _post(app)

    claim = app.claims.get("c-1")
    assert (claim.status, claim.journal_id, journal_id) == (ClaimStatus.POSTED, "JE-c-1", "JE-c-1")
    assert app.audit.actions("CLAIM#c-1")[-2:] == ["claim.approved", "claim.posted"]
    assert {r.actor_id for r in app.audit.records("CLAIM#c-1")[-2:]} == {"system"}
    entry = app.ledger.get("JE-c-1")
    assert entry.entry_date == date(2026, 11, 12)
    debit, credit = entry.lines
    assert (debit.account, debit.debit_hkd, debit.credit_hkd) == ("6110", Decimal("90.00"), Decimal("0"))
    assert (credit.account, credit.credit_hkd, credit.debit_hkd) == (EMPLOYEE_PAYABLE, Decimal("90.00"), Decimal("0"))
    assert {line.cost_centre for line in entry.lines} == {"CC-2100"}


def test_a_claim_already_approved_is_posted_without_a_second_approval_record(app):
    """A claim the flow left `approved` (e.g. a retry after the first write) goes straight to posted."""
    put_claim(app, status=ClaimStatus.IN_APPROVAL)
    before = app.claims.get("c-1")
    app.claims.save(before, before.moved_to(ClaimStatus.APPROVED), SYSTEM, "claim.approved")

    assert _post(app) == "JE-c-1"
    assert app.audit.actions("CLAIM#c-1").count("claim.approved") == 1
    assert app.claims.get("c-1").status == ClaimStatus.POSTED


def test_a_retried_post_returns_the_same_journal_and_books_once(app):
    """A Step Functions retry finds the claim posted: same journal id, one ledger entry, one posted record,
    the claimant told once."""
    put_claim(app, status=ClaimStatus.IN_APPROVAL)
    first = _post(app)
    app.clock.advance(days=1)

    assert _post(app) == first
    assert list(app.ledger.entries) == ["JE-c-1"]
    assert app.ledger.get(first).entry_date == date(2026, 11, 10)
    assert app.audit.actions("CLAIM#c-1").count("claim.posted") == 1
    assert len(_told(app, "posted")) == 1


class _CrashOnce:
    """The claim store whose first `claim.posted` write is lost (the Lambda died after the ledger write)."""

    def __init__(self, inner):
        self.inner, self.crashed = inner, False

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def save(self, before, after, actor, action):
        if action == "claim.posted" and not self.crashed:
            self.crashed = True
            raise ConcurrentChange("lost the race")
        return self.inner.save(before, after, actor, action)


def test_a_retry_after_the_ledger_write_but_before_the_claim_write_books_once(app):
    """The ledger took the entry, the claim write failed: the retry gets the entry already on the books back
    and the claim ends posted with that journal id; still exactly one ledger entry."""
    put_claim(app, status=ClaimStatus.IN_APPROVAL)
    flaky = _CrashOnce(app.claims)
    with pytest.raises(ConcurrentChange):
        _post(app, claims=flaky)
    assert app.claims.get("c-1").status == ClaimStatus.APPROVED and list(app.ledger.entries) == ["JE-c-1"]
    assert _told(app) == []

    assert _post(app, claims=flaky) == "JE-c-1"
    assert app.claims.get("c-1").status == ClaimStatus.POSTED
    assert list(app.ledger.entries) == ["JE-c-1"]


@pytest.mark.parametrize("status", [ClaimStatus.SUBMITTED, ClaimStatus.SCORED, ClaimStatus.RETURNED,
                                    ClaimStatus.REJECTED, ClaimStatus.FAILED])
def test_a_claim_that_is_not_approved_is_refused_and_nothing_is_booked(app, status):
    """Only an approved (or in-approval, finishing its last step) claim is posted."""
    put_claim(app, status=status)

    with pytest.raises(RuntimeError, match=f"is {status.value}, not approved"):
        _post(app)
    assert app.ledger.entries == {}
    assert app.claims.get("c-1").status == status
    assert app.audit.actions("CLAIM#c-1") == ["claim.created"]
    assert _told(app) == []


def test_a_missing_claim_is_reported_as_missing(app):
    with pytest.raises(ClaimMissing):
        _post(app, "nope")


def test_disallowed_lines_reduce_the_journal_and_the_claimant_hears_what_is_not_reimbursed(app):
    """Partial approval: HK$1,020 with a HK$120 minibar line disallowed books HK$900 and says so."""
    lines = [LineItem(description="Room", amount=Money.of("900.00", "HKD")),
             LineItem(description="Minibar", amount=Money.of("120.00", "HKD"), disallowed_reason="personal",
                      disallowed_by="E200")]
    put_claim(app, status=ClaimStatus.IN_APPROVAL, total=Money.of("1020.00", "HKD"), line_items=lines,
              category="travel", vendor="Harbour Hotel")

    _post(app)

    entry = app.ledger.get("JE-c-1")
    assert [(line.account, line.debit_hkd, line.credit_hkd) for line in entry.lines] == [
        ("6140", Decimal("900.00"), Decimal("0")), (EMPLOYEE_PAYABLE, Decimal("0"), Decimal("900.00"))]
    assert "partly approved: 900.00 of 1020.00 HKD" in entry.lines[0].description
    (told,) = _told(app, "posted")
    assert "HKD 900.00 will be reimbursed. Not reimbursed: Minibar 120.00 (personal)." in told["en"]
    assert "將報銷 HKD 900.00。不予報銷：Minibar 120.00（personal）。" in told["zh-Hant"]


def test_a_foreign_currency_claim_is_booked_in_hkd_at_the_policy_rate(app):
    """USD 100 at the policy's 7.80 books HK$780.00 and keeps the original amount and currency."""
    put_claim(app, status=ClaimStatus.IN_APPROVAL, total=Money.of("100.00", "USD"))

    _post(app)

    debit = app.ledger.get("JE-c-1").lines[0]
    assert (debit.debit_hkd, debit.original_amount, debit.original_currency) == (
        Decimal("780.00"), Decimal("100.00"), "USD")


def test_the_claimant_is_told_posted_in_english_and_traditional_chinese(app):
    put_claim(app, status=ClaimStatus.IN_APPROVAL)

    _post(app)

    (told,) = _told(app)
    assert told["subject"] == "Claim approved 申請已批准: c-1"
    assert told["en"] == "Your claim c-1 (Tsui Wah 翠華, HKD 90.00) was approved; HKD 90.00 will be reimbursed."
    assert told["zh-Hant"] == "您的報銷申請 c-1 (Tsui Wah 翠華, HKD 90.00) 已批准，將報銷 HKD 90.00。"
    assert (told["event"], told["status"], told["kind"]) == ("posted", "posted", "claim_update")
    assert told["attributes"] == {"employee_id": "E201", "event": "posted", "timezone": "Asia/Hong_Kong"}


# --- record_rejection -----------------------------------------------------------------------------------------


def test_a_rejection_is_recorded_once_and_the_claimant_told_why_once(app):
    """The approver's reason (set by the decision) reaches the claimant; a redelivered task changes nothing."""
    put_claim(app, status=ClaimStatus.IN_APPROVAL, rejection_reason="personal meal, not business")

    record_rejection("c-1", app.claims, app.approvals.claimants.tell)
    record_rejection("c-1", app.claims, app.approvals.claimants.tell)

    assert app.claims.get("c-1").status == ClaimStatus.REJECTED
    assert app.audit.actions("CLAIM#c-1") == ["claim.created", "claim.rejected"]
    (told,) = _told(app)
    assert told["event"] == "rejected" and told["subject"] == "Claim rejected 申請被拒: c-1"
    assert told["en"].endswith("was rejected: personal meal, not business.")
    assert told["zh-Hant"].endswith("已被拒絕：personal meal, not business。")


@pytest.mark.parametrize("status", [ClaimStatus.RETURNED, ClaimStatus.POSTED, ClaimStatus.FAILED])
def test_a_rejection_for_a_claim_outside_approval_moves_nothing(app, status):
    """Only a claim in approval can end rejected; anything else is refused (the flow then marks it failed)."""
    put_claim(app, status=status)
    with pytest.raises(InvalidTransition):
        record_rejection("c-1", app.claims, app.approvals.claimants.tell)
    assert app.claims.get("c-1").status == status and app.audit.actions("CLAIM#c-1") == ["claim.created"]
    assert _told(app) == []


# --- mark_failed ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("error", "reason"), [
    ({"Error": "RoutingError", "Cause": "no eligible approver above E100"},
     "no approver could be routed: no eligible approver above E100"),
    ({"Error": "States.Timeout", "Cause": "the wait timed out"}, "step timed out at level 2"),
    ({"Error": "Lambda.Unknown", "Cause": "out of memory"}, "Lambda.Unknown: out of memory"),
    (None, "unknown error: "),
])
def test_each_error_shape_becomes_a_readable_failure_reason(app, error, reason):
    put_claim(app, status=ClaimStatus.IN_APPROVAL, approval_level=2)

    mark_failed("c-1", error, app.claims, app.approvals.claimants.tell)

    claim = app.claims.get("c-1")
    assert (claim.status, claim.failure_reason) == (ClaimStatus.FAILED, reason)
    assert app.audit.actions("CLAIM#c-1")[-1] == "claim.failed"


def test_long_causes_are_cut_so_the_reason_stays_readable(app):
    put_claim(app, status=ClaimStatus.IN_APPROVAL)
    mark_failed("c-1", {"Error": "RoutingError", "Cause": "x" * 1000}, app.claims)
    assert app.claims.get("c-1").failure_reason == "no approver could be routed: " + "x" * 300

    put_claim(app, "c-2", status=ClaimStatus.IN_APPROVAL)
    mark_failed("c-2", {"Error": "Boom", "Cause": "y" * 1000}, app.claims)
    assert app.claims.get("c-2").failure_reason == "Boom: " + "y" * 500


def test_an_approved_claim_whose_posting_failed_is_marked_failed(app):
    """The ledger stayed unavailable through the retries: the approved claim fails visibly."""
    put_claim(app, status=ClaimStatus.APPROVED)
    mark_failed("c-1", {"Error": "LedgerUnavailable", "Cause": "ledger down"}, app.claims)
    claim = app.claims.get("c-1")
    assert (claim.status, claim.failure_reason) == (ClaimStatus.FAILED, "LedgerUnavailable: ledger down")


def test_the_claimant_is_told_the_claim_failed_and_that_finance_knows(app):
    put_claim(app, status=ClaimStatus.SCORED)

    mark_failed("c-1", {"Error": "RoutingError", "Cause": "nobody"}, app.claims, app.approvals.claimants.tell)

    (told,) = _told(app)
    assert told["event"] == "failed" and told["status"] == "failed"
    assert told["en"].endswith("could not be completed: no approver could be routed: nobody. "
                               "Finance has been alerted.")
    assert told["zh-Hant"].endswith("未能完成處理：no approver could be routed: nobody。財務部已獲通知。")


@pytest.mark.parametrize("status", [ClaimStatus.POSTED, ClaimStatus.REJECTED, ClaimStatus.FAILED])
def test_a_terminal_claim_is_left_untouched_and_nobody_is_told(app, status):
    put_claim(app, status=status, failure_reason="earlier" if status == ClaimStatus.FAILED else None)

    mark_failed("c-1", {"Error": "States.Timeout"}, app.claims, app.approvals.claimants.tell)

    claim = app.claims.get("c-1")
    assert claim.status == status and claim.version == 0
    assert claim.failure_reason == ("earlier" if status == ClaimStatus.FAILED else None)
    assert app.audit.actions("CLAIM#c-1") == ["claim.created"]
    assert _told(app) == []


def test_a_claimant_who_cannot_be_told_does_not_undo_the_posting(app, caplog):
    """The notification is best effort: SNS down, the claim is still posted and booked."""
    from chalicelib.services.claimant_updates import ClaimantUpdates
    from tests.fakes import FakeNotifier

    class Down(FakeNotifier):
        def publish(self, subject, message, attributes):
            raise ConnectionError("SNS unreachable")

    put_claim(app, status=ClaimStatus.IN_APPROVAL)
    tell = ClaimantUpdates(Down(), app.directory, "https://expense.example").tell

    assert post_to_journal(app, "c-1", tell=tell) == "JE-c-1"
    assert app.claims.get("c-1").status == ClaimStatus.POSTED and list(app.ledger.entries) == ["JE-c-1"]
    assert "could not tell the claimant about posted of claim c-1" in caplog.text
