"""The expense claim and the only moves its status may make.

The lifecycle is DESIGN.md's: uploaded -> extracted | needs_review -> submitted -> scored -> in_approval ->
approved | rejected | returned -> posted, and failed (with a reason) from any step. A transition that is not
in the table is refused, which is what makes a replayed event or a double click harmless.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from chalicelib.domain.currencies import AmountTooLarge, check_amount
from chalicelib.domain.money import Money


class ClaimStatus(StrEnum):
    UPLOADED = "uploaded"
    EXTRACTED = "extracted"
    NEEDS_REVIEW = "needs_review"
    SUBMITTED = "submitted"
    SCORED = "scored"
    IN_APPROVAL = "in_approval"
    APPROVED = "approved"
    REJECTED = "rejected"
    RETURNED = "returned"
    POSTED = "posted"
    FAILED = "failed"


S = ClaimStatus
ALLOWED: dict[ClaimStatus, frozenset[ClaimStatus]] = {
    S.UPLOADED: frozenset({S.EXTRACTED, S.NEEDS_REVIEW}),
    S.EXTRACTED: frozenset({S.EXTRACTED, S.NEEDS_REVIEW, S.SUBMITTED}),
    S.NEEDS_REVIEW: frozenset({S.EXTRACTED, S.NEEDS_REVIEW, S.SUBMITTED}),
    S.SUBMITTED: frozenset({S.SCORED}),
    S.SCORED: frozenset({S.IN_APPROVAL}),
    S.IN_APPROVAL: frozenset({S.IN_APPROVAL, S.APPROVED, S.REJECTED, S.RETURNED}),
    S.RETURNED: frozenset({S.IN_APPROVAL, S.RETURNED}),
    S.APPROVED: frozenset({S.POSTED}),
    S.REJECTED: frozenset(),
    S.POSTED: frozenset(),
    S.FAILED: frozenset(),
}
TERMINAL = frozenset({S.REJECTED, S.POSTED, S.FAILED})
EDITABLE = frozenset({S.EXTRACTED, S.NEEDS_REVIEW, S.RETURNED})


class InvalidTransition(Exception):
    def __init__(self, claim_id: str, current: ClaimStatus, wanted: ClaimStatus):
        super().__init__(f"claim {claim_id}: cannot move from {current} to {wanted}")
        self.current = current
        self.wanted = wanted


class InvalidClaim(ValueError):
    """The claim's content is not acceptable (a negative amount, a missing total...)."""


def utcnow() -> datetime:
    return datetime.now(UTC)


class LineItem(BaseModel):
    """One line of the receipt. An approver may disallow it (partial approval): the rest is reimbursed."""

    description: str = Field(max_length=200)
    amount: Money
    disallowed_reason: str | None = None
    disallowed_by: str | None = None


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
    disallowed_lines: list[int] = Field(default_factory=list)  # partial approval: indexes into line_items
    content: dict | None = None  # the approver view signed (Claim.approver_view); its hash is content_hash

    def signed_payload(self, claim_id: str) -> bytes:
        body = self.model_dump(mode="json", exclude={"signature", "signing_key_id"})
        if not body["disallowed_lines"]:  # absent from full approvals, so their signed bytes never change
            del body["disallowed_lines"]
        if body["content"] is None:  # absent from decisions signed before the content was carried
            del body["content"]
        body["claim_id"] = claim_id
        return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


class Claim(BaseModel):
    model_config = ConfigDict(validate_assignment=False)

    claim_id: str
    employee_id: str
    department_id: str
    cost_centre: str | None = None
    status: ClaimStatus = S.UPLOADED
    version: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    s3_key: str
    s3_version_id: str | None = None  # the object version the claim was read from (the bucket is versioned)
    file_sha256: str
    content_type: str | None = None
    file_size: int = 0

    vendor: str | None = None
    receipt_date: date | None = None
    total: Money | None = None
    tax: Money | None = None
    line_items: list[LineItem] = Field(default_factory=list)
    confidence: dict[str, float] = Field(default_factory=dict)
    review_reasons: list[str] = Field(default_factory=list)

    category: str = "general"
    purpose: str = ""
    subjects: list[str] = Field(default_factory=list)  # employees the claim is about (e.g. attendees)
    urgent: bool = False  # reminders may then reach approvers outside working hours

    risk_score: float | None = None
    risk_reasons: list[str] = Field(default_factory=list)

    approval_level: int = 0
    pending_link_id: str | None = None
    escalations: int = 0
    awaiting_admin: str | None = None  # nobody above a late approver: the escalation desk holds it
    decisions: list[Decision] = Field(default_factory=list)
    rejection_reason: str | None = None
    return_reason: str | None = None
    failure_reason: str | None = None
    journal_id: str | None = None
    submission_count: int = 0
    execution_arn: str | None = None

    @field_validator("created_at", "updated_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("datetimes must be timezone-aware")
        return value.astimezone(UTC)

    @property
    def dedupe_key(self) -> str | None:
        """Same vendor, date and total = the same receipt claimed twice, whatever the file."""
        if not (self.vendor and self.receipt_date and self.total):
            return None
        vendor = "".join(ch for ch in unicodedata.normalize("NFKC", self.vendor).casefold() if ch.isalnum())
        return f"{vendor}|{self.receipt_date.isoformat()}|{self.total.quantized().amount}|{self.total.currency}"

    def approver_view(self) -> dict:
        """What an approver sees and signs: the one definition that the content hash, the approval page and
        the labelled-data truth are all taken from."""
        seen = {
            "claim_id": self.claim_id,
            "vendor": self.vendor,
            "date": self.receipt_date.isoformat() if self.receipt_date else None,
            "total": str(self.total.quantized().amount) if self.total else None,
            "currency": self.total.currency if self.total else None,
            "category": self.category,
            "purpose": self.purpose,
            "file_sha256": self.file_sha256,
            "submission": self.submission_count,
        }
        if self.line_items:
            seen["lines"] = [[li.description, str(li.amount.amount), li.disallowed_reason] for li in self.line_items]
        return seen

    def content_hash(self) -> str:
        """Hash of what an approver sees; a link signed over it is void once the claim changes."""
        return view_hash(self.approver_view())

    def as_seen_by(self, decision_index: int) -> dict:
        """The approver view when decision `decision_index` was taken: lines that this or a later decision
        disallowed were not disallowed yet when its approver looked."""
        later = {line for d in self.decisions[decision_index:] for line in d.disallowed_lines}
        view = self.approver_view()
        if later and "lines" in view:
            view["lines"] = [[desc, amount, None if i in later else why]
                             for i, (desc, amount, why) in enumerate(view["lines"])]
        return view

    def signed_content_differences(self, decision_index: int) -> list[str]:
        """The fields in which the claim as stored differs from what decision `decision_index` signed; empty
        when the signature still binds the claim. A decision taken before a later correction and resubmission
        is compared with nothing (its submission is over): its signed content is only checked against itself."""
        decision = self.decisions[decision_index]
        if decision.content is None:  # signed before decisions carried their content: the hash must match
            return [] if decision.content_hash == view_hash(self.as_seen_by(decision_index)) else ["content_hash"]
        if view_hash(decision.content) != decision.content_hash:
            return ["content_hash"]
        if decision.content.get("submission") != self.submission_count:
            return []
        now = self.as_seen_by(decision_index)
        differs = {k for k in set(now) | set(decision.content) if now.get(k) != decision.content.get(k)}
        cut = {i for i, li in enumerate(self.line_items) if li.disallowed_reason}
        if not set(decision.disallowed_lines) <= cut:  # a line this decision disallowed was restored since
            differs.add("lines")
        return sorted(differs)

    def payable(self) -> Money | None:
        """What the company reimburses: the total less every line an approver disallowed."""
        if self.total is None:
            return None
        cut = sum((li.amount.amount for li in self.line_items if li.disallowed_reason), Decimal("0"))
        return Money(amount=self.total.amount - cut, currency=self.total.currency)

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

    def validate_for_submission(self, now: datetime | None = None) -> None:
        if self.total is None:
            raise InvalidClaim("the claim has no total: enter the amount before submitting")
        if self.total.amount <= 0:
            raise InvalidClaim("the total must be a positive amount")
        if self.receipt_date is None:
            raise InvalidClaim("the claim has no receipt date")
        if self.receipt_date > latest_date_anywhere(now or utcnow()):
            raise InvalidClaim("the receipt date is in the future")
        if not self.vendor:
            raise InvalidClaim("the claim has no vendor")
        self.validate_line_items()

    def validate_line_items(self) -> None:
        """Lines need not cover the total (service charge, rounding) but can never exceed it."""
        if not self.line_items or self.total is None:
            return
        if any(li.amount.currency != self.total.currency for li in self.line_items):
            raise InvalidClaim(f"every line item must be in {self.total.currency}, the currency of the total")
        if any(li.amount.amount <= 0 for li in self.line_items):
            raise InvalidClaim("a line item must be a positive amount")
        lines = sum((li.amount.amount for li in self.line_items), Decimal("0"))
        if lines > self.total.amount:
            raise InvalidClaim(f"the line items add up to {lines}, more than the total {self.total.amount}")


def latest_date_anywhere(now: datetime) -> date:
    """A receipt's date is local to where it was printed: it is in the future only once it is later than the
    calendar date in the earliest time zone (UTC+14). Comparing with the UTC date refused receipts dated
    today from midnight to 08:00 in Hong Kong."""
    return (now.astimezone(UTC) + timedelta(hours=14)).date()


def view_hash(view: dict) -> str:
    return hashlib.sha256(json.dumps(view, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


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
