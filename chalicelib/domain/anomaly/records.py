"""One expense as the rules (and, later, a model) see it: a flat row of what was spent, where, when and by whom.

Why a row of its own and not the Expense: the rules need the claim's and the employee's facts beside the
receipt's (cost centre, rank, when it was submitted), an HKD value, and facts a receipt shows that the Expense does
not hold yet (receipt number, time of day, city). A row is cheap to keep by the thousand in a `History`.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal

from chalicelib.domain.claim import Claim
from chalicelib.domain.directory import Employee
from chalicelib.domain.expense import Expense, ExpenseKind
from chalicelib.domain.money import FxTable, Money
from chalicelib.domain.vendors import Vendor, VendorDirectory, key, name_score, strip_branch

#: Two names read from receipts of the same date and total are the same vendor at this closeness (looser than
#: the directory's match threshold: the date and the total already agree).
SAME_VENDOR_SCORE = 0.75


def dedupe_key(vendor: str | None, receipt_date: date | None, total: Money | None) -> str | None:
    """As `Expense.dedupe_key`: same folded vendor, date and total."""
    if not (vendor and receipt_date and total):
        return None
    folded = "".join(ch for ch in unicodedata.normalize("NFKC", vendor).casefold() if ch.isalnum())
    return f"{folded}|{receipt_date.isoformat()}|{total.quantized().amount}|{total.currency}"


@dataclass(frozen=True, slots=True)
class SpendRecord:
    expense_id: str
    claim_id: str
    employee_id: str
    submitted_at: datetime
    category: str = "general"
    kind: str = ExpenseKind.RECEIPT.value
    department_id: str | None = None
    cost_centre: str | None = None
    rank: int | None = None
    vendor: str | None = None
    receipt_date: date | None = None
    receipt_time: time | None = None  # local time printed on the receipt
    total: Money | None = None
    total_hkd: Decimal | None = None
    attendees: int | None = None
    receipt_no: str | None = None
    evidence_key: str | None = None
    city: str | None = None
    district: str | None = None
    image_hash: str | None = None  # perceptual hash of the receipt's photo (16 hex digits, see extraction)
    text_hash: str | None = None  # SimHash of the numbers the receipt prints, as read
    dedupe: str | None = field(default=None)

    def __post_init__(self) -> None:
        if self.dedupe is None and self.kind == ExpenseKind.RECEIPT.value:
            object.__setattr__(self, "dedupe", dedupe_key(self.vendor, self.receipt_date, self.total))

    @property
    def per_head_hkd(self) -> Decimal | None:
        if self.total_hkd is None:
            return None
        heads = self.attendees or 1
        return (self.total_hkd / heads).quantize(Decimal("0.01")) if heads > 1 else self.total_hkd


def record_from_expense(expense: Expense, claim: Claim, employee: Employee | None, fx: FxTable,
                        cost_centre: str | None = None) -> SpendRecord:
    """The row for one expense of a claim, with what extraction read for the rules (receipt number, time of day,
    city, image hash: None on expenses read before it kept them)."""
    return SpendRecord(
        expense_id=expense.expense_id, claim_id=claim.claim_id, employee_id=claim.employee_id,
        submitted_at=claim.submitted_at or claim.updated_at, category=expense.category, kind=expense.kind.value,
        department_id=claim.department_id, cost_centre=expense.cost_centre or claim.cost_centre or cost_centre,
        rank=employee.rank if employee else None, vendor=expense.vendor, receipt_date=expense.receipt_date,
        total=expense.total, total_hkd=fx.to_hkd(expense.total).amount if expense.total else None,
        attendees=expense.attendees, receipt_no=expense.receipt_no, receipt_time=expense.receipt_time,
        city=expense.city, image_hash=expense.image_hash, text_hash=expense.text_hash,
        evidence_key=expense.evidence_key, dedupe=expense.dedupe_key,
    )


@dataclass(frozen=True, slots=True)
class ResolvedVendor:
    vendor: Vendor | None  # the directory's entry, when the name matched one
    key: str  # the directory id, else the folded printed name without its branch


class VendorResolver:
    """Names printed on receipts resolved against a company's vendor directory, once per distinct name."""

    def __init__(self, directory: VendorDirectory) -> None:
        self.directory = directory
        self._cache: dict[str, ResolvedVendor] = {}
        self.partner_categories = frozenset(c for v in directory.vendors for c in v.partner_for)

    def resolve(self, name: str | None) -> ResolvedVendor:
        if not name:
            return ResolvedVendor(None, "")
        found = self._cache.get(name)
        if found is None:
            match = self.directory.match([], name)
            found = ResolvedVendor(match.vendor if match else None,
                                   match.vendor.id if match else "~" + key(strip_branch(name)))
            self._cache[name] = found
        return found

    def same_vendor(self, a: str | None, b: str | None) -> bool:
        """The same merchant whatever the script or spelling: one directory entry, or names close enough."""
        ra, rb = self.resolve(a), self.resolve(b)
        if not (a and b):
            return False
        if ra.key == rb.key:
            return True
        if ra.vendor is not None and rb.vendor is not None:
            return False
        if ra.vendor is None and rb.vendor is None:
            names, other = [strip_branch(a)], strip_branch(b)
        else:
            known, other = (ra, b) if ra.vendor is not None else (rb, a)
            names = known.vendor.all_names()
        return max(max(name_score(n, other), name_score(other, n)) for n in names) >= SAME_VENDOR_SCORE
