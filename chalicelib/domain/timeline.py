"""The claim page's story of a claim: what happened to it and by whom (submitted, each approval step's decision,
escalations, posted), who holds it now and since when, and its totals with their HKD equivalents.

Built from what is already recorded, never from a separate log that could disagree: the claim's signed decisions
(who decided, when, with what comment), its hash-chained audit history (submissions, escalations, posting) and
the approval step waiting now (the pending link: its holder, and on whose behalf). People are named through a
lookup the caller gives (the directory), so this stays pure; times are UTC, the page shows them in the reader's
zone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from chalicelib.domain.approval_link import StoredLink
from chalicelib.domain.audit import AuditRecord
from chalicelib.domain.claim import EDITABLE, Claim, ClaimStatus
from chalicelib.domain.money import FxTable, Money, NoFxRate

S = ClaimStatus
EventKind = Literal["created", "submitted", "resubmitted", "approved", "rejected", "returned", "reassigned",
                    "escalated", "escalation_desk", "posted", "posting_failed", "failed"]
# audit actions that are events of their own (decisions come from the signed decisions, not from here)
_ACTIONS: dict[str, EventKind] = {"claim.created": "created", "claim.submitted": "submitted",
                                  "claim.corrected_after_return": "resubmitted", "approval.reassigned": "reassigned",
                                  "claim.posted": "posted", "claim.failed": "failed",
                                  "claim.posting_failed": "posting_failed"}
_STEP_ACTION = re.compile(r"^approval\.level_(\d+)\.(escalated|escalation_desk)$")


class Person(BaseModel):
    """Someone as the page names them: name and department from the directory (None: no longer in it)."""

    name: str | None = None
    department: str | None = None


PersonLookup = Callable[[str], Person]


class TimelineEvent(BaseModel):
    kind: EventKind
    at: datetime
    by: Person | None = None
    on_behalf_of: Person | None = None
    level: int | None = None
    comment: str = ""
    disallowed: int = 0  # expenses or receipt lines this approval cut
    to_fix: list[str] = Field(default_factory=list)  # a return: the expenses named for correction (labels)


class Holder(BaseModel):
    """Who the claim waits on now. `kind`: approver (a step is waiting on them), claimant (a draft, or returned
    for correction), system (being checked, routed or posted), none (finished: posted, rejected, failed)."""

    kind: Literal["approver", "claimant", "system", "none"]
    who: Person | None = None
    on_behalf_of: Person | None = None
    level: int | None = None
    since: datetime | None = None
    escalation_desk: bool = False  # nobody above a late approver: the company's escalation desk is chasing


class Timeline(BaseModel):
    claim_id: str
    status: ClaimStatus
    claimant: Person
    events: list[TimelineEvent]
    holder: Holder


def build_timeline(claim: Claim, history: Iterable[AuditRecord], pending: StoredLink | None,
                   person: PersonLookup) -> Timeline:
    """`history`: the claim's audit records; `pending`: the stored link of `claim.pending_link_id` (or None)."""
    records = sorted(history, key=lambda r: r.seq)
    claimant = person(claim.employee_id)
    events = [e for r in records if (e := _event(r, claim, claimant, person)) is not None]
    labels = {e.expense_id: e.label for e in claim.expenses}
    for d in claim.decisions:
        events.append(TimelineEvent(
            kind=d.decision, at=d.decided_at, by=person(d.approver_id), level=d.level, comment=d.comment,
            on_behalf_of=person(d.on_behalf_of) if d.on_behalf_of else None,
            disallowed=len(claim.decision_items(d)) if d.decision == "approved" else 0,
            to_fix=[labels.get(x, "") for x in d.fix_expenses if labels.get(x)]))
    events.sort(key=lambda e: e.at)
    return Timeline(claim_id=claim.claim_id, status=claim.status, claimant=claimant, events=events,
                    holder=_holder(claim, records, pending, claimant, person))


def _event(record: AuditRecord, claim: Claim, claimant: Person, person: PersonLookup) -> TimelineEvent | None:
    kind = _ACTIONS.get(record.action)
    if kind in ("created", "submitted", "resubmitted"):  # only the claimant creates and submits their claim
        return TimelineEvent(kind=kind, at=record.at, by=claimant)
    if kind == "reassigned":
        after = record.after or {}
        return TimelineEvent(kind=kind, at=record.at, comment=str(after.get("reason") or ""),
                             by=person(after["approver_id"]) if after.get("approver_id") else None)
    if kind == "posted":
        return TimelineEvent(kind=kind, at=record.at)
    if kind == "failed":
        return TimelineEvent(kind=kind, at=record.at, comment=str((record.after or {}).get("failure_reason") or ""))
    if kind == "posting_failed":  # the ledger's own message
        return TimelineEvent(kind=kind, at=record.at, comment=str((record.after or {}).get("posting_error") or ""))
    step = _STEP_ACTION.match(record.action)
    if step:
        return TimelineEvent(kind=step.group(2), at=record.at, level=int(step.group(1)),  # type: ignore[arg-type]
                             comment=str((record.after or {}).get("awaiting_admin") or ""))
    return None


def _holder(claim: Claim, records: list[AuditRecord], pending: StoredLink | None, claimant: Person,
            person: PersonLookup) -> Holder:
    status = claim.status
    if status == S.DRAFT:
        return Holder(kind="claimant", who=claimant, since=_last_at(records, {"claim.created"}) or claim.created_at)
    if status == S.RETURNED:
        returned = [d for d in claim.decisions if d.decision == "returned"]
        return Holder(kind="claimant", who=claimant, level=returned[-1].level if returned else None,
                      since=returned[-1].decided_at if returned else claim.updated_at)
    if status in (S.SUBMITTED, S.SCORED):
        return Holder(kind="system", since=_last_at(records, {"claim.submitted", "claim.corrected_after_return"})
                      or claim.updated_at)
    if status == S.IN_APPROVAL:
        if pending is not None and pending.link_id == claim.pending_link_id and pending.state == "pending":
            return Holder(kind="approver", who=person(pending.approver_id), level=pending.level,
                          on_behalf_of=person(pending.on_behalf_of) if pending.on_behalf_of else None,
                          since=_issued_at(records, pending.link_id) or claim.updated_at,
                          escalation_desk=bool(claim.awaiting_admin))
        return Holder(kind="system", level=claim.approval_level or None, since=claim.updated_at)
    if status == S.APPROVED:
        return Holder(kind="system", since=_last_at(records, {"claim.approved"}) or claim.updated_at)
    return Holder(kind="none", since=claim.updated_at)


def _last_at(records: list[AuditRecord], actions: set[str]) -> datetime | None:
    found = [r.at for r in records if r.action in actions]
    return found[-1] if found else None


def _issued_at(records: list[AuditRecord], link_id: str) -> datetime | None:
    """When the waiting step's link was issued: the record whose claim first carried it (a later reminder or
    re-armed wait keeps the same link and does not restart the wait)."""
    for r in records:
        if (r.after or {}).get("pending_link_id") == link_id and (r.before or {}).get("pending_link_id") != link_id:
            return r.at
    return None


# ---- totals with their HKD equivalents -------------------------------------------------------------------


class CurrencyTotal(BaseModel):
    currency: str
    amount: Decimal
    hkd: Decimal | None  # None: no rate is configured for this currency


class ValuedTotals(BaseModel):
    """Claimed and payable totals per currency, each with its HKD equivalent. Once submitted, at the rates the
    claim was valued and signed at (`estimate` False); before, and while a returned claim is being corrected
    (its resubmission values it again), an estimate at the policy's rates."""

    estimate: bool
    source: str
    rates: dict[str, Decimal]
    claimed: list[CurrencyTotal]
    payable: list[CurrencyTotal]
    hkd_claimed: Decimal | None
    hkd_payable: Decimal | None
    cut: bool  # something was disallowed: payable differs from claimed


def valued_totals(claim: Claim, policy_fx: FxTable) -> ValuedTotals:
    if claim.valuation is not None and claim.status not in EDITABLE:
        fx, estimate, source = FxTable(hkd_per_unit=claim.valuation.rates), False, claim.valuation.source
    else:
        fx, estimate, source = policy_fx, True, "policy FX table"
    claimed = _per_currency([e.total for e in claim.expenses], fx)
    payable = _per_currency([e.payable() for e in claim.expenses], fx)
    used = {t.currency for t in claimed if t.currency != "HKD"}
    return ValuedTotals(
        estimate=estimate, source=source, rates={c: r for c, r in fx.hkd_per_unit.items() if c in used},
        claimed=claimed, payable=payable, hkd_claimed=_sum(claimed), hkd_payable=_sum(payable),
        cut=bool(claim.cut_items()))


def _per_currency(amounts: list[Money | None], fx: FxTable) -> list[CurrencyTotal]:
    """Each expense converted on its own, rounded to cents, then added (as the claim's valuation and its journal
    do), so the HKD figures here add up to the signed HKD total."""
    totals: dict[str, tuple[Decimal, Decimal | None]] = {}
    for money in amounts:
        if money is None:
            continue
        try:
            hkd: Decimal | None = fx.to_hkd(money).amount
        except NoFxRate:
            hkd = None
        amount, so_far = totals.get(money.currency, (Decimal("0"), Decimal("0")))
        totals[money.currency] = (amount + money.amount,
                                  None if so_far is None or hkd is None else so_far + hkd)
    return [CurrencyTotal(currency=c, amount=Money(amount=a, currency=c).quantized().amount, hkd=h)
            for c, (a, h) in sorted(totals.items())]


def _sum(totals: list[CurrencyTotal]) -> Decimal | None:
    if not totals or any(t.hkd is None for t in totals):
        return None
    return sum((t.hkd for t in totals), Decimal("0"))
