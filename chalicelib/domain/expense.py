"""One item of spend: a receipt read by extraction, a mileage or per-diem line priced by policy, or a line for a
lost receipt. Expenses are what extraction reads and duplicate checks compare; a claim bundles them.

An expense outside any claim is *unattached* (a receipt just uploaded or e-mailed); inside a claim it changes
only with the claim, in the same write, so a claim's signatures cover every expense it holds.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
import uuid
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from chalicelib.domain.allowances import AppliedRate
from chalicelib.domain.errors import InvalidClaim
from chalicelib.domain.ledger_tax import ProfitsTaxTag
from chalicelib.domain.money import Money

CATEGORIES = ("meals", "entertainment", "taxi", "travel", "general")


class ExpenseKind(StrEnum):
    RECEIPT = "receipt"
    MILEAGE = "mileage"
    PER_DIEM = "per_diem"
    LOST_RECEIPT = "lost_receipt"


class ExpenseStatus(StrEnum):
    """How far the expense has been read: a receipt is `uploaded` until extraction answers; lines people enter
    (mileage, per diem, lost receipt) are `entered` at once."""

    UPLOADED = "uploaded"
    EXTRACTED = "extracted"
    NEEDS_REVIEW = "needs_review"
    ENTERED = "entered"
    FAILED = "failed"


READ = frozenset({ExpenseStatus.EXTRACTED, ExpenseStatus.NEEDS_REVIEW, ExpenseStatus.ENTERED})


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware_utc(value: datetime) -> datetime:
    """Stored times are UTC and never naive: a naive time is refused, not guessed."""
    if value.tzinfo is None:
        raise ValueError("datetimes must be timezone-aware")
    return value.astimezone(UTC)


def new_expense_id() -> str:
    return f"e-{uuid.uuid4().hex}"


def view_hash(view: dict) -> str:
    return hashlib.sha256(json.dumps(view, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class LineItem(BaseModel):
    """One line of the receipt. An approver may disallow it (partial approval): the rest is reimbursed."""

    description: str = Field(max_length=200)
    amount: Money
    disallowed_reason: str | None = None
    disallowed_by: str | None = None


class BookedAmount(BaseModel):
    """What posting booked for an expense: the original amount, the HKD amount, and the dated rate it used
    (its day, its source: "HKMA er-eeri-daily", "finance upload", "policy table"; the company's rule)."""

    model_config = ConfigDict(frozen=True)

    original: Money
    hkd: Money
    rate: Decimal  # HKD per one unit of the original currency
    rate_date: date
    rate_source: str
    rule: str
    profits_tax: ProfitsTaxTag | None = None  # deductible or not for HK profits tax, and the rule that decided


class ExpenseRef(BaseModel):
    """Where an expense is: which employee's, and which claim holds it (None while unattached)."""

    expense_id: str
    employee_id: str
    claim_id: str | None = None


class ReceiptRegion(BaseModel):
    """Where one receipt lies on its page, in page-relative coordinates (0..1), as Textract reports boxes."""

    model_config = ConfigDict(frozen=True)

    left: float = Field(ge=0.0, le=1.0)
    top: float = Field(ge=0.0, le=1.0)
    width: float = Field(ge=0.0, le=1.0)
    height: float = Field(ge=0.0, le=1.0)


class Expense(BaseModel):
    model_config = ConfigDict(validate_assignment=False)

    expense_id: str
    employee_id: str
    kind: ExpenseKind = ExpenseKind.RECEIPT
    status: ExpenseStatus = ExpenseStatus.UPLOADED
    version: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    # the evidence (receipts only)
    s3_key: str | None = None
    s3_version_id: str | None = None  # the object version it was read from (the bucket is versioned)
    file_sha256: str | None = None
    content_type: str | None = None
    file_size: int = 0
    #: A file holding several receipts (a PDF of scans, two receipts in one photo) makes one expense each: which
    #: of them this is (0-based, reading order), on which page and where on it (page-relative 0..1).
    source_part: int | None = None
    source_page: int | None = None
    source_region: ReceiptRegion | None = None

    vendor: str | None = None
    receipt_date: date | None = None
    total: Money | None = None
    tax: Money | None = None
    #: Read from the receipt for the anomaly rules: its printed number, the local time printed beside its date,
    #: the city it was paid in (None when the receipt does not say), and the perceptual hash of its photo
    #: (16 hex digits, chalicelib.extraction.image_hash): the same paper photographed again hashes a few bits away;
    #: and a SimHash of the numbers it prints (chalicelib.extraction.text_hash), which tells look-alikes apart.
    receipt_no: str | None = Field(default=None, max_length=64)
    receipt_time: time | None = None
    city: str | None = Field(default=None, max_length=64)
    image_hash: str | None = Field(default=None, pattern=r"^[0-9a-f]{16}$")
    text_hash: str | None = Field(default=None, pattern=r"^[0-9a-f]{16}$")  # of the numbers it prints
    line_items: list[LineItem] = Field(default_factory=list)
    confidence: dict[str, float] = Field(default_factory=dict)
    review_reasons: list[str] = Field(default_factory=list)
    failure_reason: str | None = None

    category: str = "general"
    description: str = Field(default="", max_length=500)  # what it was for ("taxi to client in Kwun Tong")
    cost_centre: str | None = None  # overrides the claim's
    attendees: int | None = Field(default=None, ge=1, le=500)  # meals and entertainment: per-head limits
    applied_rate: AppliedRate | None = None  # mileage and per diem: the policy rate, its source, the working
    rate_details: dict[str, str] = Field(default_factory=dict)  # vehicle, destination, meals provided...
    lost_receipt_reason: str | None = None
    claim_hint: str | None = None  # an e-mail subject or upload form naming the claim it belongs to

    disallowed_reason: str | None = None  # an approver cut the whole expense
    disallowed_by: str | None = None
    fix_requested: str | None = None  # returned for correction: what the approver asked to fix here
    risk_reasons: list[str] = Field(default_factory=list)
    booked: BookedAmount | None = None  # set when the claim is posted: the amount as the ledger booked it

    @field_validator("created_at", "updated_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return aware_utc(value)

    @property
    def is_read(self) -> bool:
        return self.status in READ

    @property
    def part_position(self) -> str | None:
        """Where on its page this receipt of a multi-receipt file lies, in a word a person can find it by."""
        region = self.source_region
        if self.source_part is None or region is None:
            return None
        x, y = region.left + region.width / 2, region.top + region.height / 2
        if x < 0.4 or x > 0.6:
            return "left" if x < 0.4 else "right"
        if y < 0.4 or y > 0.6:
            return "top" if y < 0.4 else "bottom"
        return "middle"

    @property
    def evidence_key(self) -> str | None:
        """What makes two receipts the same paper: the file's bytes, and which receipt of the file it is."""
        if self.file_sha256 is None:
            return None
        return self.file_sha256 if self.source_part is None else f"{self.file_sha256}#{self.source_part}"

    @property
    def dedupe_key(self) -> str | None:
        """Same vendor, date and total = the same receipt claimed twice, whatever the file."""
        if self.kind != ExpenseKind.RECEIPT or not (self.vendor and self.receipt_date and self.total):
            return None
        vendor = "".join(ch for ch in unicodedata.normalize("NFKC", self.vendor).casefold() if ch.isalnum())
        return f"{vendor}|{self.receipt_date.isoformat()}|{self.total.quantized().amount}|{self.total.currency}"

    @property
    def label(self) -> str:
        """A few words a person recognises the expense by."""
        if self.kind == ExpenseKind.MILEAGE:
            return f"Mileage 里程 {self.applied_rate.quantity} km" if self.applied_rate else "Mileage 里程"
        if self.kind == ExpenseKind.PER_DIEM:
            where = self.rate_details.get("destination", "")
            return f"Per diem 每日津貼 {where}".strip()
        return self.vendor or self.description or "receipt"

    def view(self) -> dict:
        """What an approver sees of this expense and signs with the claim."""
        seen: dict = {
            "expense_id": self.expense_id,
            "kind": self.kind.value,
            "vendor": self.vendor,
            "date": self.receipt_date.isoformat() if self.receipt_date else None,
            "total": str(self.total.quantized().amount) if self.total else None,
            "currency": self.total.currency if self.total else None,
            "category": self.category,
            "description": self.description,
            "cost_centre": self.cost_centre,
            "file_sha256": self.file_sha256,
            "disallowed": self.disallowed_reason,
        }
        if self.attendees:
            seen["attendees"] = self.attendees
        if self.applied_rate:
            seen["rate"] = {"working": self.applied_rate.working, "source": self.applied_rate.source,
                            "rate": str(self.applied_rate.rate.amount), "currency": self.applied_rate.rate.currency}
        if self.lost_receipt_reason:
            seen["lost_receipt_reason"] = self.lost_receipt_reason
        if self.line_items:
            seen["lines"] = [[li.description, str(li.amount.amount), li.disallowed_reason] for li in self.line_items]
        return seen

    def content_hash(self) -> str:
        return view_hash(self.view())

    def payable(self) -> Money | None:
        """What the company reimburses of it: nothing if an approver cut it, else the total less cut lines."""
        if self.total is None:
            return None
        if self.disallowed_reason:
            return Money(amount=Decimal("0"), currency=self.total.currency)
        cut = sum((li.amount.amount for li in self.line_items if li.disallowed_reason), Decimal("0"))
        return Money(amount=self.total.amount - cut, currency=self.total.currency)

    def changed(self, **changes: object) -> Expense:
        data = self.model_dump()
        data.update(changes)
        data.update(version=self.version + 1, updated_at=utcnow())
        return Expense.model_validate(data)

    def validate_for_submission(self, latest_date: date) -> None:
        """Refuses, in words the employee can act on, an expense that cannot be approved as it is."""
        name = self.label
        if self.status == ExpenseStatus.UPLOADED:
            raise InvalidClaim(f"the receipt {name!r} is still being read; wait a moment and submit again")
        if self.status == ExpenseStatus.FAILED:
            raise InvalidClaim(f"the receipt {name!r} could not be read ({self.failure_reason}): remove it or "
                               "upload it again")
        if self.total is None:
            raise InvalidClaim(f"{name!r} has no total: enter the amount before submitting")
        if self.total.amount <= 0:
            raise InvalidClaim(f"the total of {name!r} must be a positive amount")
        if self.receipt_date is None:
            raise InvalidClaim(f"{name!r} has no date")
        if self.receipt_date > latest_date:
            raise InvalidClaim(f"the date of {name!r} is in the future")
        if self.kind == ExpenseKind.RECEIPT and not self.vendor:
            raise InvalidClaim(f"the receipt for {self.total} has no vendor")
        if self.kind == ExpenseKind.LOST_RECEIPT and not self.lost_receipt_reason:
            raise InvalidClaim(f"{name!r}: say why there is no receipt")
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
