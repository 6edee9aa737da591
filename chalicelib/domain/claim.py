"""The expense claim (a report of expenses) and the only moves its status may make.

The lifecycle is DESIGN.md's: draft -> submitted -> scored -> in_approval -> approved | rejected | returned ->
posted, and failed (with a reason) from any step. How far each receipt has been read (uploaded, extracted,
needs_review) is the expense's status, not the claim's. A transition that is not in the table is refused, which
is what makes a replayed event or a double click harmless.

Claims stored before a claim held many expenses (one receipt = one claim) are read as one-expense claims, and
keep the approver view their decisions were signed over (`layout == "receipt"`).
"""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from chalicelib.domain.currencies import AmountTooLarge, check_amount
from chalicelib.domain.errors import InvalidClaim
from chalicelib.domain.expense import (
    Expense,
    LineItem,
    aware_utc,
    utcnow,
    view_hash,
)
from chalicelib.domain.money import FxTable, Money

__all__ = ["Claim", "ClaimStatus", "Decision", "Expense", "InvalidClaim", "InvalidTransition", "LineItem",
           "MAX_EXPENSES", "lone_claim_id", "parse_amount", "utcnow", "view_hash"]

MAX_EXPENSES = 50  # one claim is one DynamoDB transaction with its expenses' index rows (at most 100 items)
MAX_LINES = 300  # receipt lines over all expenses: the claim and its audit records stay well inside 400 KB items


class ClaimStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    SCORED = "scored"
    IN_APPROVAL = "in_approval"
    APPROVED = "approved"
    REJECTED = "rejected"
    RETURNED = "returned"
    POSTED = "posted"
    POSTING_FAILED = "posting_failed"  # the ledger refused it (or its connection needs finance): fixed, re-posted
    FAILED = "failed"


S = ClaimStatus
ALLOWED: dict[ClaimStatus, frozenset[ClaimStatus]] = {
    S.DRAFT: frozenset({S.DRAFT, S.SUBMITTED}),
    S.SUBMITTED: frozenset({S.SCORED}),
    S.SCORED: frozenset({S.IN_APPROVAL}),
    S.IN_APPROVAL: frozenset({S.IN_APPROVAL, S.APPROVED, S.REJECTED, S.RETURNED}),
    S.RETURNED: frozenset({S.IN_APPROVAL, S.RETURNED}),
    S.APPROVED: frozenset({S.POSTED, S.POSTING_FAILED}),
    S.POSTING_FAILED: frozenset({S.POSTED, S.POSTING_FAILED}),  # finance fixed the cause and posts it again
    S.REJECTED: frozenset(),
    S.POSTED: frozenset(),
    S.FAILED: frozenset(),
}
TERMINAL = frozenset({S.REJECTED, S.POSTED, S.FAILED})
EDITABLE = frozenset({S.DRAFT, S.RETURNED})
# how a claim stored under the one-receipt model is read: its old status -> (claim status, expense status)
_LEGACY_STATUS = {"uploaded": ("draft", "uploaded"), "extracted": ("draft", "extracted"),
                  "needs_review": ("draft", "needs_review")}
_LEGACY_EXPENSE_FIELDS = ("s3_key", "s3_version_id", "file_sha256", "content_type", "file_size", "vendor",
                          "receipt_date", "total", "tax", "line_items", "confidence", "review_reasons", "category")


class InvalidTransition(Exception):
    def __init__(self, claim_id: str, current: ClaimStatus, wanted: ClaimStatus):
        super().__init__(f"claim {claim_id}: cannot move from {current} to {wanted}")
        self.current = current
        self.wanted = wanted


def lone_claim_id(expense_id: str) -> str:
    """The claim a receipt becomes when it is submitted on its own: one id per expense, so submitting the same
    receipt twice cannot open two claims."""
    return "c-" + expense_id.removeprefix("e-")


class Decision(BaseModel):
    """An approver's decision: an e-signature over what they saw (the claim's content hash)."""

    level: int
    approver_id: str
    decision: str  # approved | rejected | returned
    comment: str = ""
    decided_at: datetime
    on_behalf_of: str | None = None
    content_hash: str
    source_ip: str = "unknown"
    signing_key_id: str | None = None
    signature: str | None = None  # base64, over signed_payload()
    disallowed_lines: list[int] = Field(default_factory=list)  # one-receipt claims: indexes into its lines
    disallowed_items: list[str] = Field(default_factory=list)  # "<expense id>" or "<expense id>#<line index>"
    fix_expenses: list[str] = Field(default_factory=list)  # returned for correction: the expenses to fix
    content: dict | None = None  # the approver view signed (Claim.approver_view); its hash is content_hash

    def signed_payload(self, claim_id: str) -> bytes:
        body = self.model_dump(mode="json", exclude={"signature", "signing_key_id"})
        for optional in ("disallowed_lines", "disallowed_items", "fix_expenses"):
            if not body[optional]:  # absent when empty, so the signed bytes of earlier decisions never change
                del body[optional]
        if body["content"] is None:  # absent from decisions signed before the content was carried
            del body["content"]
        body["claim_id"] = claim_id
        return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


class Valuation(BaseModel):
    """The claim's HKD total as routed and signed: the rates used and where they came from."""

    hkd_total: Money
    rates: dict[str, Decimal]  # HKD per unit of each foreign currency used
    source: str = "policy FX table"


class Claim(BaseModel):
    model_config = ConfigDict(validate_assignment=False)

    claim_id: str
    employee_id: str
    department_id: str
    cost_centre: str | None = None
    status: ClaimStatus = S.DRAFT
    version: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    layout: Literal["report", "receipt"] = "report"  # "receipt": stored under the one-receipt model

    title: str = Field(default="", max_length=200)
    purpose: str = ""
    period_start: date | None = None
    period_end: date | None = None
    expenses: list[Expense] = Field(default_factory=list)
    advance_id: str | None = None  # the cash advance this claim settles
    valuation: Valuation | None = None  # fixed at submission
    submitted_at: datetime | None = None  # the latest submission (the 48-hour approval clock starts here)

    subjects: list[str] = Field(default_factory=list)  # employees the claim is about (e.g. attendees)
    urgent: bool = False  # reminders may then reach approvers outside working hours

    risk_score: float | None = None
    risk_reasons: list[str] = Field(default_factory=list)
    risk_model_version: str | None = None  # the anomaly model version that scored it ("rules-only": none)

    approval_level: int = 0
    pending_link_id: str | None = None
    escalations: int = 0
    awaiting_admin: str | None = None  # nobody above a late approver: the escalation desk holds it
    decisions: list[Decision] = Field(default_factory=list)
    rejection_reason: str | None = None
    return_reason: str | None = None
    failure_reason: str | None = None
    journal_id: str | None = None
    # the ledger's document once posted (chalicelib/services/posting.py): which books, its id and where to open it
    ledger: str | None = None
    external_document_id: str | None = None
    external_document_url: str | None = None
    posting_error: str | None = None  # posting_failed: the ledger's own message
    submission_count: int = 0
    execution_arn: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_receipt_claim(cls, data: object) -> object:
        """A claim stored before claims held many expenses is read as a claim of that one receipt."""
        if not isinstance(data, dict) or "expenses" in data or "s3_key" not in data:
            return data
        data = dict(data)
        status, expense_status = _LEGACY_STATUS.get(data.get("status", "uploaded"), (data.get("status"), None))
        if expense_status is None:
            expense_status = "needs_review" if data.get("review_reasons") else "extracted"
            if data.get("total") is None and status == "failed":
                expense_status = "failed"
        expense = {name: data.pop(name) for name in _LEGACY_EXPENSE_FIELDS if name in data}
        expense.update(expense_id=data["claim_id"], employee_id=data["employee_id"], status=expense_status,
                       created_at=data.get("created_at", utcnow()), updated_at=data.get("updated_at", utcnow()))
        if expense_status == "failed":
            expense["failure_reason"] = data.get("failure_reason")
        data.update(status=status, expenses=[expense], layout="receipt", title=expense.get("vendor") or "")
        return data

    @field_validator("created_at", "updated_at", "submitted_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return None if value is None else aware_utc(value)

    # --- what it holds ---------------------------------------------------------------------------------------
    def expense(self, expense_id: str) -> Expense | None:
        return next((e for e in self.expenses if e.expense_id == expense_id), None)

    @property
    def categories(self) -> list[str]:
        return sorted({e.category for e in self.expenses}) or ["general"]

    @property
    def headline(self) -> str:
        """How people name the claim: its title, else its one expense."""
        if self.title:
            return self.title
        if len(self.expenses) == 1:
            return self.expenses[0].label
        return f"{len(self.expenses)} expenses"

    def amounts_text(self, payable: bool = False) -> str:
        """The claim's totals in words people read: "HKD 1,234.50 + CNY 880.00"."""
        totals = self.payable_totals() if payable else self.claimed_totals()
        return " + ".join(str(m) for _, m in sorted(totals.items())) or "no amount"

    def claimed_totals(self) -> dict[str, Money]:
        return _sum_by_currency(e.total for e in self.expenses)

    def payable_totals(self) -> dict[str, Money]:
        """What the company reimburses per currency: every total less what approvers disallowed."""
        return _sum_by_currency(e.payable() for e in self.expenses)

    def hkd_total(self, fx: FxTable) -> Money:
        """Each expense converted on its own (rounded to cents), then added: the lines a journal books add up."""
        return _hkd(fx, (e.total for e in self.expenses))

    def payable_hkd(self, fx: FxTable) -> Money:
        return _hkd(fx, (e.payable() for e in self.expenses))

    def valued(self, fx: FxTable, source: str = "policy FX table") -> Valuation:
        used = {e.total.currency for e in self.expenses if e.total and e.total.currency != "HKD"}
        return Valuation(hkd_total=self.hkd_total(fx), rates={c: fx.hkd_per_unit[c] for c in sorted(used)},
                         source=source)

    def cut_items(self) -> set[str]:
        """Every expense or receipt line an approver disallowed, as `disallowed_items` names them."""
        cut = set()
        for e in self.expenses:
            if e.disallowed_reason:
                cut.add(e.expense_id)
            cut |= {f"{e.expense_id}#{i}" for i, li in enumerate(e.line_items) if li.disallowed_reason}
        return cut

    # --- what approvers sign ---------------------------------------------------------------------------------
    def approver_view(self) -> dict:
        """What an approver sees and signs: the one definition that the content hash, the approval page and
        the labelled-data truth are all taken from. It binds every expense (each with its content hash) and
        the totals."""
        if self.layout == "receipt":
            return self._one_receipt_view()
        return {
            "claim_id": self.claim_id,
            "title": self.title,
            "purpose": self.purpose,
            "period": [d.isoformat() if d else None for d in (self.period_start, self.period_end)],
            "cost_centre": self.cost_centre,
            "advance_id": self.advance_id,
            "submission": self.submission_count,
            "totals": {c: str(m.quantized().amount) for c, m in sorted(self.claimed_totals().items())},
            "hkd_total": str(self.valuation.hkd_total.amount) if self.valuation else None,
            "fx": {c: str(r) for c, r in self.valuation.rates.items()} if self.valuation else {},
            "expenses": [{**seen, "hash": view_hash(seen)} for seen in (e.view() for e in self.expenses)],
        }

    def _one_receipt_view(self) -> dict:
        """The view decisions on one-receipt claims were signed over, unchanged so their signatures verify."""
        seen = self.expenses[0].view()
        legacy = {name: seen[name] for name in ("vendor", "date", "total", "currency", "category", "file_sha256")}
        legacy.update(claim_id=self.claim_id, purpose=self.purpose, submission=self.submission_count)
        if "lines" in seen:
            legacy["lines"] = seen["lines"]
        return legacy

    def content_hash(self) -> str:
        """Hash of what an approver sees; a link signed over it is void once the claim changes."""
        return view_hash(self.approver_view())

    def decision_items(self, decision: Decision) -> set[str]:
        items = set(decision.disallowed_items)
        if decision.disallowed_lines and self.expenses:
            items |= {f"{self.expenses[0].expense_id}#{i}" for i in decision.disallowed_lines}
        return items

    def as_seen_by(self, decision_index: int) -> dict:
        """The approver view when decision `decision_index` was taken: what this or a later decision disallowed
        was not disallowed yet when its approver looked."""
        later = set().union(*(self.decision_items(d) for d in self.decisions[decision_index:]))
        return self.without_cuts(later).approver_view()

    def without_cuts(self, items: set[str]) -> Claim:
        if not items:
            return self
        expenses = []
        for e in self.expenses:
            lines = [li.model_copy(update={"disallowed_reason": None, "disallowed_by": None})
                     if f"{e.expense_id}#{i}" in items else li for i, li in enumerate(e.line_items)]
            update: dict = {"line_items": lines}
            if e.expense_id in items:
                update.update(disallowed_reason=None, disallowed_by=None)
            expenses.append(e.model_copy(update=update))
        return self.model_copy(update={"expenses": expenses})

    def signed_content_differences(self, decision_index: int) -> list[str]:
        """Where the claim as stored differs from what decision `decision_index` signed; empty when the
        signature still binds the claim. A decision taken before a later correction and resubmission is compared
        with nothing (its submission is over): its signed content is only checked against itself."""
        decision = self.decisions[decision_index]
        if decision.content is None:  # signed before decisions carried their content: the hash must match
            return [] if decision.content_hash == view_hash(self.as_seen_by(decision_index)) else ["content_hash"]
        if view_hash(decision.content) != decision.content_hash:
            return ["content_hash"]
        if decision.content.get("submission") != self.submission_count:
            return []
        now = self.as_seen_by(decision_index)
        differs = set()
        for key in set(now) | set(decision.content):
            if key == "expenses":
                differs |= _expense_differences(decision.content.get(key) or [], now.get(key) or [])
            elif now.get(key) != decision.content.get(key):
                differs.add(key)
        if not self.decision_items(decision) <= self.cut_items():  # something this decision cut was restored
            differs.add("lines" if self.layout == "receipt" else "disallowed")
        return sorted(differs)

    # --- moves -----------------------------------------------------------------------------------------------
    def can_move_to(self, wanted: ClaimStatus) -> bool:
        return (wanted == S.FAILED and self.status not in TERMINAL) or wanted in ALLOWED[self.status]

    def moved_to(self, wanted: ClaimStatus, **changes: object) -> Claim:
        """A copy in the new status, version bumped; refuses moves outside the lifecycle."""
        if not self.can_move_to(wanted):
            raise InvalidTransition(self.claim_id, self.status, wanted)
        data = self.model_dump()
        data.update(changes)
        data.update(status=wanted, version=self.version + 1, updated_at=utcnow())
        return Claim.model_validate(data)

    def with_expenses(self, expenses: list[Expense]) -> dict:
        """The changes that give the claim these expenses (for `moved_to`), refused beyond MAX_EXPENSES."""
        if len(expenses) > MAX_EXPENSES:
            raise InvalidClaim(f"a claim holds at most {MAX_EXPENSES} expenses: start another claim")
        if len({e.expense_id for e in expenses}) != len(expenses):
            raise InvalidClaim("an expense can be in a claim only once")
        if sum(len(e.line_items) for e in expenses) > MAX_LINES:
            raise InvalidClaim(f"a claim holds at most {MAX_LINES} receipt lines in all: start another claim")
        return {"expenses": [e.model_dump() for e in expenses]}

    def validate_for_submission(self, now: datetime | None = None) -> None:
        if not self.expenses:
            raise InvalidClaim("the claim has no expenses: add a receipt or a line before submitting")
        latest = latest_date_anywhere(now or utcnow())
        for e in self.expenses:
            e.validate_for_submission(latest)
        if self.period_start and self.period_end and self.period_end < self.period_start:
            raise InvalidClaim("the claim's period ends before it starts")

    def validate_line_items(self) -> None:
        for e in self.expenses:
            e.validate_line_items()


def _sum_by_currency(amounts) -> dict[str, Money]:
    out: dict[str, Money] = {}
    for money in amounts:
        if money is not None:
            out[money.currency] = out[money.currency] + money if money.currency in out else money
    return out


def _hkd(fx: FxTable, amounts) -> Money:
    total = Decimal("0")
    for money in amounts:
        if money is not None:
            total += fx.to_hkd(money).amount
    return Money(amount=total, currency="HKD").quantized()


def _expense_differences(signed: list[dict], now: list[dict]) -> set[str]:
    before = {e.get("expense_id"): e for e in signed}
    after = {e.get("expense_id"): e for e in now}
    out = set()
    for expense_id in before.keys() | after.keys():
        a, b = before.get(expense_id), after.get(expense_id)
        if a is None or b is None:
            out.add(f"expenses[{expense_id}]")
        else:
            out |= {f"expenses[{expense_id}].{k}" for k in set(a) | set(b) if a.get(k) != b.get(k)}
    return out


def latest_date_anywhere(now: datetime) -> date:
    """A receipt's date is local to where it was printed: it is in the future only once it is later than the
    calendar date in the earliest time zone (UTC+14). Comparing with the UTC date refused receipts dated
    today from midnight to 08:00 in Hong Kong."""
    return (now.astimezone(UTC) + timedelta(hours=14)).date()


def parse_amount(text: str) -> Decimal:
    """Amounts typed by people: '1,234.50' -> Decimal; refuses floats' cousins like 'nan' and absurd sizes
    ('1e26' would break rounding to cents later; see currencies.MAX_AMOUNT)."""
    cleaned = unicodedata.normalize("NFKC", text).replace(",", "").replace(" ", "").strip()
    try:
        value = Decimal(cleaned)
    except Exception as exc:  # decimal.InvalidOperation
        raise InvalidClaim(f"not an amount: {text!r}") from exc
    if not value.is_finite():
        raise InvalidClaim(f"not an amount: {text!r}")
    try:
        return check_amount(value)
    except AmountTooLarge as exc:
        raise InvalidClaim(f"{text!r} is too large: {exc}") from exc
