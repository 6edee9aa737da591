"""Use cases at the end of the approval flow: hand an approved claim to the posting queue, post it to the
company's ledger exactly once, record a rejection, record a failure.

The shape (see functions/posting_worker.py and infra/approval.asl.json): the state machine's PostToLedger task
waits on a task token; its Lambda (`hand_off`) records the claim as queued and sends `{claim_id, period,
task_token}` to the `posting` SQS queue; the posting worker (`post`) books it and answers the token. A
ledger that is unavailable (429 beyond the adapter's own waits, 5xx, timeouts) raises a retryable error: the
message is redelivered, and after the queue's maxReceiveCount it goes to the dead-letter queue while the claim
stays `approved` and reconciliation lists it. A refusal (the vendor's validation message, our payload failing the
vendor schema, a connection that needs finance, no usable rate) ends the claim `posting_failed` with the message,
one audit record, the claimant told; finance fixes the cause and posts it again (`repost`).

Exactly once: the claim's document is looked up by external id (the claim id) before any write, by every
adapter, so a redelivered message, a retry after a timeout, or a repost finds the document and never writes
a second one; the claim's own status (`posted` with its document) short-circuits everything after.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from pydantic import BaseModel

from chalicelib.domain.advance import settle
from chalicelib.domain.claim import TERMINAL, Claim, ClaimStatus
from chalicelib.domain.errors import LedgerError
from chalicelib.domain.expense import BookedAmount
from chalicelib.domain.fx_rates import FxRateError, RateFeed
from chalicelib.domain.identity import SYSTEM, Principal
from chalicelib.domain.ledger_ir56b import (
    Ir56bPerson,
    TaxableAllowance,
    TaxYear,
    accrued_on,
    counted,
    ir56b_csv,
    ir56b_rows,
    taxable_part,
)
from chalicelib.domain.ledger_mapping import AdvanceOffset, Posting, ReceiptFile, UnpostableClaim, posting_for
from chalicelib.domain.posting_record import (
    HK,
    LEDGER_NAMES,
    PostingRecord,
    PostingState,
    journal_rows,
    period_of,
)
from chalicelib.domain.rate_source import RatesWithPolicyFallback
from chalicelib.services.advances import settle_advance
from chalicelib.services.ports import (
    AdvanceStore,
    ClaimStore,
    Directory,
    ExternalDocument,
    LedgerAdapter,
    Notifier,
    PostingRecordStore,
    RateStore,
)

log = logging.getLogger(__name__)
Tell = Callable[[Claim, str], None]  # ClaimantUpdates.tell: the employee hears how their claim ended


def _silent(claim: Claim, event: str) -> None:
    return None


TellFinance = Callable[[Claim, str, str], bool]  # FinanceAlerts.tell: finance hears of a claim not in the books


def _nobody(claim: Claim, event: str, reason: str) -> bool:
    return False


@dataclass
class FinanceAlerts:
    """Finance told, on the approvers' topic (the channel finance controllers already read), when a claim ends
    `posting_failed` or its posting is dead-lettered: the claim, its amount, the ledger, and the ledger's own
    message, in English and 繁中, with where to post it again. To the claim's department's finance controller
    (and finance reviewer); with no department on file, to the escalation desk. A notifier failure is logged,
    never fatal: reconciliation lists the claim whatever happens here."""

    notifier: Notifier
    directory: Directory
    base_url: str

    def tell(self, claim: Claim, event: str, reason: str) -> bool:
        department = self.directory.department(claim.department_id)
        people = ([p for p in (department.finance_controller_id, department.finance_reviewer_id) if p]
                  if department else list(self.directory.policy().escalation_desk_ids))
        if not people:
            log.error("nobody in finance to tell about claim %s (%s)", claim.claim_id, event)
            return False
        en_ledger, zh_ledger = LEDGER_NAMES.get(claim.ledger or "", (claim.ledger or "the ledger",) * 2)
        amount = claim.amounts_text()
        where = f"{self.base_url}/finance#fin-recon-title"
        if event == "posting_failed":
            en = (f"Expense claim {claim.claim_id} ({amount}) was not posted to {en_ledger}. The ledger said: "
                  f"{reason}. Fix the cause, then post it again from the posting reconciliation.")
            zh = (f"報銷申請 {claim.claim_id}（{amount}）未能入賬至{zh_ledger}。會計系統回覆：{reason}。"
                  f"請處理原因後，在入賬對賬重新入賬。")
            subject = f"Posting failed 入賬失敗: {claim.claim_id}"
        else:
            en = (f"Expense claim {claim.claim_id} ({amount}) could not reach {en_ledger}: {reason}. It waits in "
                  f"the posting dead-letter queue; once the ledger is back, redrive the queue.")
            zh = (f"報銷申請 {claim.claim_id}（{amount}）未能送達{zh_ledger}：{reason}。申請已轉入入賬死信佇列，"
                  f"待會計系統恢復後請重新處理佇列。")
            subject = f"Posting stopped 入賬暫停: {claim.claim_id}"
        try:
            self.notifier.publish(subject=subject, message={
                "default": en, "en": en, "zh-Hant": zh, "kind": event, "claim_id": claim.claim_id,
                "ledger": claim.ledger, "reason": reason, "link": where, "finance": people},
                attributes={"audience": "finance", "approver_id": ",".join(people), "event": event})
        except Exception:  # noqa: BLE001 (see the docstring)
            log.error("could not tell finance about %s of claim %s", event, claim.claim_id, exc_info=True)
            return False
        return True


def _utcnow() -> datetime:
    return datetime.now(UTC)


class ClaimMissing(Exception):
    pass


class NotApproved(RuntimeError):
    pass


def _get(claims: ClaimStore, claim_id: str) -> Claim:
    claim = claims.get(claim_id)
    if claim is None:
        raise ClaimMissing(claim_id)
    return claim


@dataclass
class PostingContext:
    """What posting needs; built once per container (bootstrap) or by a test with fakes."""

    claims: ClaimStore
    directory: Directory
    records: PostingRecordStore
    rates: RateStore
    ledger_for: Callable[[str], LedgerAdapter]  # Policy.ledger -> its adapter (adapters/ledgers/factory.py)
    tell: Tell = _silent
    now: Callable[[], datetime] = _utcnow
    tell_finance: TellFinance = _nobody
    advances: AdvanceStore | None = None
    receipts: Callable[[Claim], Sequence[ReceiptFile]] = field(default=lambda claim: ())



class Outcome(dict):
    """The posting task's answer to the state machine: claim_id, status, journal_id (the document id)."""


def _answer(claim: Claim) -> Outcome:
    return Outcome(claim_id=claim.claim_id, status=claim.status.value,
                   journal_id=claim.external_document_id or claim.journal_id,
                   ledger=claim.ledger, error=claim.posting_error)


def hand_off(ctx: PostingContext, claim_id: str) -> PostingRecord:
    """The approval flow's last step: the claim is approved and recorded as queued for its ledger (once: a
    redelivered hand-off keeps the first record). The caller sends the message."""
    claim = _get(ctx.claims, claim_id)
    if claim.status == ClaimStatus.IN_APPROVAL:
        claim = ctx.claims.save(claim, claim.moved_to(ClaimStatus.APPROVED), SYSTEM, action="claim.approved")
    if claim.status not in (ClaimStatus.APPROVED, ClaimStatus.POSTED, ClaimStatus.POSTING_FAILED):
        raise NotApproved(f"claim {claim_id} is {claim.status.value}, not approved")
    now = ctx.now()
    approved = claim.valuation.hkd_total.amount if claim.valuation else None
    return ctx.records.queue(PostingRecord(
        claim_id=claim_id, period=period_of(now), ledger=ctx.directory.policy().ledger, employee_id=claim.employee_id,
        department_id=claim.department_id, approved_hkd=approved, queued_at=now, updated_at=now))


def post(ctx: PostingContext, claim_id: str, period: str | None = None) -> Outcome:
    """Books the claim once. Returns the outcome (posted, or posting_failed with the ledger's message); raises a
    retryable LedgerError for the queue to redeliver."""
    claim = _get(ctx.claims, claim_id)
    if claim.status == ClaimStatus.POSTED:
        return _answer(claim)
    if claim.status == ClaimStatus.IN_APPROVAL:
        claim = ctx.claims.save(claim, claim.moved_to(ClaimStatus.APPROVED), SYSTEM, action="claim.approved")
    if claim.status not in (ClaimStatus.APPROVED, ClaimStatus.POSTING_FAILED):
        raise NotApproved(f"claim {claim_id} is {claim.status.value}, not approved")
    policy = ctx.directory.policy()
    record = ctx.records.get(period, claim_id) if period else None
    if record is None:
        record = hand_off(ctx, claim_id)
    if record.ledger != policy.ledger and record.state != PostingState.POSTED:  # the company moved ledger
        record = ctx.records.save(record, record.model_copy(update={"ledger": policy.ledger}))
    try:
        ledger = ctx.ledger_for(policy.ledger)
        posting = _with_advance(ctx, ledger, claim, _posting(ctx, claim, record))
        receipts = ctx.receipts(claim) if getattr(ledger, "attaches_receipts", True) else ()
        document = ledger.post(posting, receipts)
    except LedgerError as e:
        if e.retryable:
            ctx.records.save(record, record.model_copy(update={
                "attempts": record.attempts + 1, "reason": str(e)[:500], "updated_at": ctx.now()}))
            raise
        return _failed(ctx, claim, record, str(e))
    except (FxRateError, UnpostableClaim, AdvanceNotBookable) as e:
        return _failed(ctx, claim, record, str(e))
    return _posted(ctx, claim, record, posting, document)


class AdvanceNotBookable(ValueError):
    pass


def _posting(ctx: PostingContext, claim: Claim, record: PostingRecord) -> Posting:
    policy = ctx.directory.policy()
    currencies = {m.currency for e in claim.expenses if (m := e.payable()) is not None}
    book = RatesWithPolicyFallback(ctx.rates.book(currencies, policy.fx_max_age_days), policy.fx)
    person = ctx.directory.employee(claim.employee_id)
    entry_date: date = record.queued_at.astimezone(HK).date()  # the day it was approved and handed to posting
    posting = posting_for(claim, person.name if person else claim.employee_id, book, entry_date, policy.fx_rule)
    return _described(claim, posting)


def _described(claim: Claim, posting: Posting) -> Posting:
    """Each line says which claim it is from and, when an approver cut part of it, how much of what was claimed
    is booked: the ledger's reader sees why the amount differs from the receipt."""
    lines = []
    for line in posting.lines:
        expense = claim.expense(line.expense_id)
        text = f"Expense claim {claim.claim_id}: {line.description}"
        if expense is not None and expense.total is not None and line.original.amount != expense.total.amount:
            text += (f" (partly approved: {line.original.amount} of {expense.total.amount} "
                     f"{line.original.currency})")
        lines.append(line.model_copy(update={"description": text[:300]}))
    return posting.model_copy(update={"lines": lines})


def _with_advance(ctx: PostingContext, ledger: LedgerAdapter, claim: Claim, posting: Posting) -> Posting:
    """A claim clearing a cash advance: the advance settled (once: the same claim again finds it settled) and its
    offset carried on the posting, worked out from the advance as paid and this posting's total, so a retry at
    other rates still balances."""
    if not claim.advance_id:
        return posting
    if not getattr(ledger, "books_advances", False):
        raise AdvanceNotBookable(f"claim {claim.claim_id} settles cash advance {claim.advance_id}: the "
                                 f"{ledger.name} adapter does not offset advances; post it by hand")
    if ctx.advances is None:
        raise RuntimeError(f"claim {claim.claim_id} settles advance {claim.advance_id}: the advance store is needed")
    advance = settle_advance(ctx.advances, claim.advance_id, claim.claim_id, posting.total, SYSTEM, ctx.now())
    paid = advance.settlement.advance if advance.settlement else advance.paid_hkd
    offset = AdvanceOffset.of(advance.advance_id, settle(paid, posting.total))
    return Posting.model_validate({**posting.model_dump(), "advance": offset.model_dump()})  # checked: it adds up


def _posted(ctx: PostingContext, claim: Claim, record: PostingRecord, posting: Posting,
            document: ExternalDocument) -> Outcome:
    booked = {line.expense_id: BookedAmount(original=line.original, hkd=line.hkd, rate=line.rate.hkd_per_unit,
                                            rate_date=line.rate.rate_date, rate_source=line.rate.source,
                                            rule=line.rate.rule.value, profits_tax=line.profits_tax)
              for line in posting.lines}
    expenses = [e.model_copy(update={"booked": booked.get(e.expense_id)}) for e in claim.expenses]
    # the record first: it says what the ledger holds. Should the claim's write then fail, the redelivered message
    # finds the claim approved, the ledger finds its document, and both writes are made again (the claim's
    # short-circuit on `posted` can never leave a record saying `queued` for a claim in the books)
    ctx.records.save(record, record.model_copy(update={
        "state": PostingState.POSTED, "ledger": document.ledger, "posted_hkd": posting.total.amount,
        "document_id": document.id, "document_url": document.url, "reason": None, "updated_at": ctx.now(),
        "attempts": record.attempts + 1, "journal": journal_rows(posting, document.id)}))
    posted = ctx.claims.save(claim, claim.moved_to(
        ClaimStatus.POSTED, journal_id=document.id, ledger=document.ledger, external_document_id=document.id,
        external_document_url=document.url, posting_error=None, expenses=[e.model_dump() for e in expenses]),
        SYSTEM, action="claim.posted")
    ctx.tell(posted, "posted")
    return _answer(posted)


def _failed(ctx: PostingContext, claim: Claim, record: PostingRecord, message: str) -> Outcome:
    message = message[:1000]
    failed = ctx.claims.save(claim, claim.moved_to(ClaimStatus.POSTING_FAILED, posting_error=message,
                                                   ledger=record.ledger),
                             SYSTEM, action="claim.posting_failed")
    told = ctx.tell_finance(failed, "posting_failed", message)
    ctx.records.save(record, record.model_copy(update={
        "state": PostingState.FAILED, "reason": message, "updated_at": ctx.now(), "attempts": record.attempts + 1,
        "finance_told_at": ctx.now() if told else record.finance_told_at}))
    ctx.tell(failed, "posting_failed")
    return _answer(failed)


def dead_lettered(ctx: PostingContext, claim_id: str, period: str | None, reason: str) -> None:
    """The posting worker's last try failed on an unavailable ledger: the message goes to the dead-letter queue,
    the claim stays approved; finance is told (once per record) and reconciliation shows when."""
    claim = _get(ctx.claims, claim_id)
    if claim.status == ClaimStatus.POSTED:
        return
    record = ctx.records.get(period or period_of(ctx.now()), claim_id)
    if record is None or record.finance_told_at is not None:
        return
    if ctx.tell_finance(claim.model_copy(update={"ledger": record.ledger}), "posting_dead_lettered", reason[:500]):
        ctx.records.save(record, record.model_copy(update={"finance_told_at": ctx.now()}))


def repost(ctx: PostingContext, claim_id: str, actor: Principal) -> PostingRecord:
    """Finance fixed what made posting fail (a rate loaded, an account mapped, the connection renewed): the claim
    is queued again under the current period. Posting it stays exactly-once (the ledger is asked first)."""
    claim = _get(ctx.claims, claim_id)
    if claim.status != ClaimStatus.POSTING_FAILED:
        raise NotApproved(f"claim {claim_id} is {claim.status.value}: only a claim whose posting failed is re-posted")
    ctx.claims.note(claim_id, actor, "claim.repost_requested", {"ledger": ctx.directory.policy().ledger})
    return hand_off(ctx, claim_id)


def taxable_allowances(ctx: PostingContext, year: TaxYear,
                       department_id: str | None = None) -> list[TaxableAllowance]:
    """Every posted mileage or per-diem line of the tax year paid above its non-taxable rate (one department's,
    or all), read from the year's twelve months of posting records and their claims."""
    records = counted(r for period in year.periods() for r in ctx.records.by_period(period)
                      if department_id is None or r.department_id == department_id)
    lines = []
    for record in records.values():
        claim = ctx.claims.get(record.claim_id)
        if claim is None:
            continue
        for expense in claim.expenses:
            part = taxable_part(expense, claim.employee_id, claim.claim_id, accrued_on(record))
            if part is not None:
                lines.append(part)
    return lines


def ir56b_export(ctx: PostingContext, year: TaxYear, *, show_hkid: bool, department_id: str | None = None,
                 employer_file_no: str = "") -> tuple[str, int]:
    """The IR56B box 11(k) CSV of the year and how many employees it lists."""
    rows = ir56b_rows(year, taxable_allowances(ctx, year, department_id))
    people = {}
    for row in rows:
        person = ctx.directory.employee(row.employee_id)
        if person is not None:
            people[row.employee_id] = Ir56bPerson(employee_id=person.employee_id, name=person.name,
                                                  surname=person.surname, given_name=person.given_name,
                                                  name_zh=person.name_zh, hkid=person.hkid)
    body = ir56b_csv(year, rows, people, employer_name=ctx.directory.policy().company,
                     employer_file_no=employer_file_no, show_hkid=show_hkid)
    return body, len(rows)


FEED_LOOKBACK_DAYS = 7  # a missed run, a long weekend or a late publication is caught up by the next run


class FeedLoad(BaseModel):
    """What one run of the daily feed did: rates new to the table, rates it already held, the days it covered."""

    loaded: int
    already_held: int
    first: date
    last: date
    currencies: list[str]


def load_feed_rates(store: RateStore, feed: RateFeed, now: datetime,
                    lookback_days: int = FEED_LOOKBACK_DAYS) -> FeedLoad:
    """The feed's rates of the last `lookback_days` Hong Kong days up to today, each loaded once: a rate the table
    already holds for that currency, day and source is not loaded again, so running twice is harmless. The feed
    being unreachable raises (the run fails visibly and is retried; yesterday's rates stand meanwhile)."""
    last = now.astimezone(HK).date()
    first = last - timedelta(days=lookback_days)
    fetched = feed.rates_between(first, last)
    held = {(r.currency, r.rate_date, r.source) for currency in sorted({r.currency for r in fetched})
            for r in store.rates(currency)}
    new = [r for r in fetched if (r.currency, r.rate_date, r.source) not in held]
    if new:
        store.put_many(new)
    return FeedLoad(loaded=len(new), already_held=len(fetched) - len(new), first=first, last=last,
                    currencies=sorted({r.currency for r in new}))


def hkd_posted(records: Sequence[PostingRecord]) -> Decimal:
    return sum((r.posted_hkd or Decimal(0) for r in records if r.state == PostingState.POSTED), Decimal(0))


def record_rejection(claim_id: str, claims: ClaimStore, tell: Tell = _silent) -> None:
    claim = _get(claims, claim_id)
    if claim.status == ClaimStatus.REJECTED:
        return
    tell(claims.save(claim, claim.moved_to(ClaimStatus.REJECTED), SYSTEM, action="claim.rejected"), "rejected")


def mark_failed(claim_id: str, error: dict | None, claims: ClaimStore, tell: Tell = _silent) -> None:
    claim = _get(claims, claim_id)
    if claim.status in TERMINAL or claim.status == ClaimStatus.POSTING_FAILED:  # the posting worker said why
        return
    error = error or {}
    name = error.get("Error", "unknown error")
    if name == "RoutingError":
        reason = f"no approver could be routed: {str(error.get('Cause', ''))[:300]}"
    elif name == "States.Timeout":
        reason = f"step timed out at level {claim.approval_level}"
    else:
        reason = f"{name}: {str(error.get('Cause', ''))[:500]}"
    tell(claims.save(claim, claim.moved_to(ClaimStatus.FAILED, failure_reason=reason), SYSTEM,
                     action="claim.failed"), "failed")
