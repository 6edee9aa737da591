"""Use cases on claims and expenses by people: read with access rules, build a claim from expenses, correct,
submit for approval.

An employee's receipts arrive as unattached expenses; a claim is made from some of them (and from mileage,
per-diem and lost-receipt lines), or a receipt is submitted on its own and becomes a one-expense claim.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator

from chalicelib.domain import allowances
from chalicelib.domain.access import can_read_claim, reads_every_department, reads_own_department
from chalicelib.domain.advance import AdvanceStatus
from chalicelib.domain.claim import EDITABLE, Claim, ClaimStatus, InvalidClaim, lone_claim_id, parse_amount, utcnow
from chalicelib.domain.currencies import check_currency
from chalicelib.domain.errors import AlreadyExists
from chalicelib.domain.expense import CATEGORIES, Expense, ExpenseKind, ExpenseStatus, LineItem, new_expense_id
from chalicelib.domain.identity import Forbidden, Principal
from chalicelib.domain.money import Money, NoFxRate
from chalicelib.domain.policy import Policy
from chalicelib.services.ports import AdvanceStore, ClaimStore, Directory, ExpenseStore

Now = Callable[[], datetime]


class NotFound(Exception):
    pass


class LineEdit(BaseModel):
    description: str = Field(min_length=1, max_length=200)
    amount: str = Field(max_length=20)


class ExpenseEdits(BaseModel):
    """What an employee may correct on an expense; every correction is kept in the audit trail (and, for what
    extraction read, as labelled data)."""

    vendor: str | None = Field(default=None, max_length=200)
    receipt_date: date | None = None
    total: str | None = Field(default=None, max_length=20)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    category: str | None = None
    description: str | None = Field(default=None, max_length=500)
    cost_centre: str | None = Field(default=None, max_length=40)
    attendees: int | None = Field(default=None, ge=1, le=500)
    line_items: list[LineEdit] | None = Field(default=None, max_length=100)

    @field_validator("currency")
    @classmethod
    def _iso_4217(cls, value: str | None) -> str | None:
        """A made-up code (`ZZZ`) is refused here, where the person can fix it, not later in scoring."""
        return value if value is None else check_currency(value)

    def any(self) -> bool:
        return bool(self.model_dump(exclude_none=True))

    def apply(self, expense: Expense) -> dict:
        changes: dict = {}
        if self.vendor is not None:
            changes["vendor"] = self.vendor.strip()
        if self.receipt_date is not None:
            changes["receipt_date"] = self.receipt_date
        currency = self.currency or (expense.total.currency if expense.total else "HKD")
        if self.total is not None:
            if expense.kind in (ExpenseKind.MILEAGE, ExpenseKind.PER_DIEM):
                raise InvalidClaim("a mileage or per-diem amount comes from the policy's rate: change the "
                                   "distance or days instead (remove the line and add it again)")
            amount = parse_amount(self.total)
            if amount <= 0:
                raise InvalidClaim("the total must be a positive amount")
            changes["total"] = Money(amount=amount, currency=currency)
        elif self.currency is not None and expense.total is not None:
            changes["total"] = Money(amount=expense.total.amount, currency=currency)
        if self.category is not None:
            changes["category"] = _category(self.category)
        for name in ("description", "cost_centre"):
            value = getattr(self, name)
            if value is not None:
                changes[name] = value.strip() or None if name == "cost_centre" else value.strip()
        if self.attendees is not None:
            changes["attendees"] = self.attendees
        if self.line_items is not None:
            changes["line_items"] = [_line(edit, currency) for edit in self.line_items]
        elif "total" in changes and expense.line_items:  # a corrected currency applies to every line
            changes["line_items"] = [li.model_copy(update={"amount": Money(amount=li.amount.amount,
                                                                           currency=currency)})
                                     for li in expense.line_items]
        if changes and expense.status == ExpenseStatus.NEEDS_REVIEW and self.total is not None:
            changes["status"] = ExpenseStatus.EXTRACTED  # a person entered what extraction was unsure of
        return changes


class ClaimEdits(ExpenseEdits):
    """The claim's own fields; on a one-expense claim, the expense's fields may be corrected here too."""

    title: str | None = Field(default=None, max_length=200)
    purpose: str | None = Field(default=None, max_length=500)
    period_start: date | None = None
    period_end: date | None = None
    urgent: bool | None = None
    advance_id: str | None = Field(default=None, max_length=40)

    def header(self) -> dict:
        changes: dict = {}
        for name in ("title", "purpose"):
            value = getattr(self, name)
            if value is not None:
                changes[name] = value.strip()
        for name in ("period_start", "period_end", "urgent", "advance_id"):
            value = getattr(self, name)
            if value is not None:
                changes[name] = value
        if self.cost_centre is not None:
            changes["cost_centre"] = self.cost_centre.strip() or None
        return changes

    def expense_part(self) -> ExpenseEdits:
        fields = ExpenseEdits.model_fields.keys() - {"cost_centre"}
        return ExpenseEdits.model_validate(self.model_dump(include=set(fields), exclude_none=True))

    def apply_to(self, claim: Claim) -> dict:
        """All the changes these edits make to `claim` (for `Claim.moved_to`)."""
        changes = self.header()
        part = self.expense_part()
        if part.any():
            if len(claim.expenses) != 1:
                raise InvalidClaim("this claim has several expenses: correct each one on its own "
                                   "(PATCH /expenses/{expense_id})")
            only = claim.expenses[0]
            changes["expenses"] = [only.changed(**part.apply(only)).model_dump()]
        return changes


class NewClaim(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    purpose: str = Field(default="", max_length=500)
    period_start: date | None = None
    period_end: date | None = None
    cost_centre: str | None = Field(default=None, max_length=40)
    expense_ids: list[str] = Field(default_factory=list, max_length=50)
    advance_id: str | None = Field(default=None, max_length=40)


class MileageLine(BaseModel):
    kind: Literal["mileage"]
    vehicle: str = Field(max_length=40)
    distance_km: Decimal = Field(max_digits=8, decimal_places=2)
    date: date
    description: str = Field(min_length=1, max_length=500)  # the route: "Office -> client, Tuen Mun"
    category: str = "travel"
    cost_centre: str | None = None


class PerDiemLine(BaseModel):
    kind: Literal["per_diem"]
    destination: str = Field(max_length=40)
    days: Decimal = Field(max_digits=4, decimal_places=1)
    date: date  # the first day
    meals_provided: dict[allowances.Meal, int] = Field(default_factory=dict)
    description: str = Field(default="", max_length=500)
    cost_centre: str | None = None


class LostReceiptLine(BaseModel):
    kind: Literal["lost_receipt"]
    vendor: str = Field(min_length=1, max_length=200)
    date: date
    amount: str = Field(max_length=20)
    currency: str = Field(default="HKD", pattern=r"^[A-Z]{3}$")
    category: str = "general"
    reason: str = Field(min_length=5, max_length=500)  # why there is no receipt
    description: str = Field(default="", max_length=500)
    cost_centre: str | None = None


NewLine = Annotated[MileageLine | PerDiemLine | LostReceiptLine, Field(discriminator="kind")]


class LineRequest(BaseModel):
    line: NewLine


def _category(value: str) -> str:
    if value not in CATEGORIES:
        raise InvalidClaim(f"unknown category {value!r}; use one of {', '.join(CATEGORIES)}")
    return value


def _line(edit: LineEdit, currency: str) -> LineItem:
    amount = parse_amount(edit.amount)
    if amount <= 0:
        raise InvalidClaim(f"line item {edit.description!r} must be a positive amount")
    return LineItem(description=edit.description.strip(), amount=Money(amount=amount, currency=currency))


# ---- reading --------------------------------------------------------------------------------------------------


def get_claim(principal: Principal, claims: ClaimStore, claim_id: str) -> Claim:
    claim = claims.get(claim_id)
    # The same answer for "absent" and "not yours": a cross-department probe learns nothing.
    if claim is None or not can_read_claim(principal, claim):
        raise NotFound(claim_id)
    return claim


def list_claims(principal: Principal, claims: ClaimStore, department_id: str | None = None) -> list[Claim]:
    """Finance and approvers see their own department only; the department is enforced in the query."""
    if reads_every_department(principal):
        return claims.by_department(department_id or principal.department_id)
    if reads_own_department(principal):
        if department_id and department_id != principal.department_id:
            raise Forbidden("finance users read their own department's claims only")
        return claims.by_department(principal.department_id)
    return claims.by_employee(principal.employee_id)


def get_expense(principal: Principal, expenses: ExpenseStore, claims: ClaimStore,
                expense_id: str) -> tuple[Expense, Claim | None]:
    """The expense and the claim holding it (None while unattached), under the claim's read rules; an
    unattached expense is its owner's alone."""
    unattached = expenses.get(expense_id)
    if unattached is not None:
        if unattached.employee_id != principal.employee_id:
            raise NotFound(expense_id)
        return unattached, None
    ref = expenses.locate(expense_id)
    claim = claims.get(ref.claim_id) if ref and ref.claim_id else None
    found = claim.expense(expense_id) if claim else None
    if found is None or not can_read_claim(principal, claim):
        raise NotFound(expense_id)
    return found, claim


def unattached_expenses(principal: Principal, expenses: ExpenseStore) -> list[Expense]:
    return expenses.unattached(principal.employee_id)


# ---- building a claim -----------------------------------------------------------------------------------------


def own_editable(principal: Principal, claims: ClaimStore, claim_id: str) -> Claim:
    claim = claims.get(claim_id)
    if claim is None or claim.employee_id != principal.employee_id:
        raise NotFound(claim_id)
    if claim.status not in EDITABLE:
        raise InvalidClaim(f"the claim is {claim.status.value} and can no longer be changed")
    return claim


def _own_unattached(principal: Principal, expenses: ExpenseStore, expense_id: str) -> Expense:
    expense = expenses.get(expense_id)
    if expense is None or expense.employee_id != principal.employee_id:
        ref = expenses.locate(expense_id)
        if ref is not None and ref.employee_id == principal.employee_id and ref.claim_id:
            raise InvalidClaim(f"expense {expense_id} is already in claim {ref.claim_id}: an expense can be in "
                               "one claim only (remove it from that claim first)")
        raise NotFound(expense_id)
    return expense


def check_advance(claim: Claim, claims: ClaimStore, advances: AdvanceStore | None) -> None:
    """A claim may settle only the claimant's own paid, unsettled advance, and no other live claim of theirs may
    be settling it already (an advance settles one claim)."""
    if not claim.advance_id:
        return
    advance = advances.get(claim.advance_id) if advances is not None else None
    if advance is None or advance.employee_id != claim.employee_id:
        raise InvalidClaim(f"advance {claim.advance_id} is not one of your cash advances")
    if advance.status != AdvanceStatus.PAID or advance.settled_claim_id:
        raise InvalidClaim(f"advance {claim.advance_id} is {advance.status.value}: only a paid advance that is not "
                           "yet settled can be settled by a claim")
    others = [c.claim_id for c in claims.by_employee(claim.employee_id)
              if c.advance_id == claim.advance_id and c.claim_id != claim.claim_id
              and c.status not in (ClaimStatus.REJECTED, ClaimStatus.FAILED)]
    if others:
        raise InvalidClaim(f"advance {claim.advance_id} is already being settled by claim {others[0]}")


def create_claim(principal: Principal, claims: ClaimStore, expenses: ExpenseStore, directory: Directory,
                 request: NewClaim, advances: AdvanceStore | None = None) -> Claim:
    """A draft claim, with the unattached expenses named; its cost centre defaults to the department's."""
    department = directory.department(principal.department_id)
    held = [_own_unattached(principal, expenses, expense_id) for expense_id in request.expense_ids]
    claim = Claim(
        claim_id=f"c-{uuid.uuid4().hex}", employee_id=principal.employee_id, department_id=principal.department_id,
        cost_centre=request.cost_centre or (department.cost_centre if department else None),
        title=request.title.strip(), purpose=request.purpose.strip(), period_start=request.period_start,
        period_end=request.period_end, advance_id=request.advance_id, expenses=held,
    )
    claim.with_expenses(held)  # the same limits as adding them one by one
    check_advance(claim, claims, advances)
    claims.create(claim, principal)
    return claim


def add_expenses(principal: Principal, claims: ClaimStore, expenses: ExpenseStore, claim_id: str,
                 expense_ids: list[str]) -> Claim:
    claim = own_editable(principal, claims, claim_id)
    held = [_own_unattached(principal, expenses, expense_id) for expense_id in expense_ids]
    after = claim.moved_to(claim.status, **claim.with_expenses([*claim.expenses, *held]))
    return claims.save(claim, after, principal, action="claim.expense_added")


def add_line(principal: Principal, claims: ClaimStore, directory: Directory, claim_id: str, line: NewLine,
             *, now: Now = utcnow) -> Claim:
    """A line without a receipt, priced by the policy (mileage, per diem) or limited by it (lost receipt)."""
    claim = own_editable(principal, claims, claim_id)
    expense = price_line(directory.policy(), principal.employee_id, line, now())
    after = claim.moved_to(claim.status, **claim.with_expenses([*claim.expenses, expense]))
    return claims.save(claim, after, principal, action=f"claim.{expense.kind.value}_added")


def price_line(policy: Policy, employee_id: str, line: NewLine, at: datetime) -> Expense:
    common = {"expense_id": new_expense_id(), "employee_id": employee_id, "status": ExpenseStatus.ENTERED,
              "receipt_date": line.date, "created_at": at, "updated_at": at,
              "cost_centre": (line.cost_centre or "").strip() or None}
    if isinstance(line, MileageLine):
        rate = allowances.mileage(policy.allowances, line.vehicle, line.distance_km)
        return Expense(kind=ExpenseKind.MILEAGE, total=rate.amount, applied_rate=rate,
                       category=_category(line.category), description=line.description.strip(),
                       rate_details={"vehicle": line.vehicle, "distance_km": str(line.distance_km)}, **common)
    if isinstance(line, PerDiemLine):
        rate = allowances.per_diem(policy.allowances, line.destination, line.days, line.meals_provided)
        return Expense(kind=ExpenseKind.PER_DIEM, total=rate.amount, applied_rate=rate, category="travel",
                       description=line.description.strip(),
                       rate_details={"destination": line.destination, "days": str(line.days),
                                     **{f"{meal}_provided": str(n) for meal, n in line.meals_provided.items() if n}},
                       **common)
    amount = parse_amount(line.amount)
    if amount <= 0:
        raise InvalidClaim("the amount must be a positive amount")
    money = Money(amount=amount, currency=check_currency(line.currency))
    category = _category(line.category)
    try:
        hkd = policy.fx.to_hkd(money).amount
    except NoFxRate as exc:
        raise InvalidClaim(f"{exc}: ask finance to add it, or enter the amount in another currency") from exc
    why = allowances.lost_receipt_refusal(policy.allowances, hkd, category)
    if why:
        raise InvalidClaim(why)
    return Expense(kind=ExpenseKind.LOST_RECEIPT, total=money, vendor=line.vendor.strip(), category=category,
                   description=line.description.strip(), lost_receipt_reason=line.reason.strip(),
                   review_reasons=["no receipt: claimed as a lost-receipt line / 遺失收據，以人手輸入申報"], **common)


def remove_expense(principal: Principal, claims: ClaimStore, claim_id: str, expense_id: str) -> Claim:
    """A receipt leaves the claim and is unattached again (nothing is lost); a line without a receipt is gone."""
    claim = own_editable(principal, claims, claim_id)
    if claim.expense(expense_id) is None:
        raise NotFound(expense_id)
    kept = [e for e in claim.expenses if e.expense_id != expense_id]
    after = claim.moved_to(claim.status, **claim.with_expenses(kept))
    return claims.save(claim, after, principal, action="claim.expense_removed")


def edit_expense(principal: Principal, claims: ClaimStore, expenses: ExpenseStore, expense_id: str,
                 edits: ExpenseEdits) -> tuple[Expense, Claim | None]:
    """Correct an unattached expense, or one in the employee's draft or returned claim."""
    unattached = expenses.get(expense_id)
    if unattached is not None and unattached.employee_id == principal.employee_id:
        changes = edits.apply(unattached)
        if not changes:
            return unattached, None
        return expenses.save(unattached, unattached.changed(**changes), principal, "expense.corrected"), None
    ref = expenses.locate(expense_id)
    if ref is None or ref.claim_id is None or ref.employee_id != principal.employee_id:
        raise NotFound(expense_id)
    claim = own_editable(principal, claims, ref.claim_id)
    expense = claim.expense(expense_id)
    if expense is None:
        raise NotFound(expense_id)
    changes = edits.apply(expense)
    if not changes:
        return expense, claim
    updated = expense.changed(**changes, fix_requested=None)
    others = [updated if e.expense_id == expense_id else e for e in claim.expenses]
    saved = claims.save(claim, claim.moved_to(claim.status, **claim.with_expenses(others)), principal,
                        action="claim.expense_corrected")
    return updated, saved


def edit_claim(principal: Principal, claims: ClaimStore, claim_id: str, edits: ClaimEdits,
               advances: AdvanceStore | None = None) -> Claim:
    claim = own_editable(principal, claims, claim_id)
    changes = edits.apply_to(claim)
    if not changes:
        return claim
    if "advance_id" in changes:
        check_advance(claim.model_copy(update={"advance_id": changes["advance_id"]}), claims, advances)
    return claims.save(claim, claim.moved_to(claim.status, **changes), principal, action="claim.corrected")


# ---- submitting -----------------------------------------------------------------------------------------------


def submission_changes(claim: Claim, policy: Policy, now: datetime, changes: dict) -> dict:
    """The changes that make `claim` (with `changes`) a valid submission: validated, valued in HKD."""
    candidate = Claim.model_validate({**claim.model_dump(), **changes})
    candidate.validate_for_submission(now=now)
    try:
        valuation = candidate.valued(policy.fx)
    except NoFxRate as exc:  # a real currency finance has no rate for: refused here, not a 500
        raise InvalidClaim(f"{exc}: ask finance to add it, or enter the amount in another currency") from exc
    return {**changes, "valuation": valuation.model_dump(), "submission_count": claim.submission_count + 1,
            "submitted_at": now}


def submit_claim(principal: Principal, claims: ClaimStore, directory: Directory, claim_id: str, edits: ClaimEdits,
                 *, now: Now = utcnow, advances: AdvanceStore | None = None) -> Claim:
    """First submission of a claim; a returned claim is resubmitted through the approval service instead."""
    claim = own_editable(principal, claims, claim_id)
    if claim.status == ClaimStatus.RETURNED:
        raise InvalidClaim("a returned claim is resubmitted to its approver, not submitted anew")
    changes = submission_changes(claim, directory.policy(), now(), edits.apply_to(claim))
    check_advance(claim.model_copy(update={"advance_id": changes.get("advance_id", claim.advance_id)}), claims,
                  advances)
    return claims.save(claim, claim.moved_to(ClaimStatus.SUBMITTED, **changes), principal, action="claim.submitted")


def submit_alone(principal: Principal, claims: ClaimStore, expenses: ExpenseStore, directory: Directory,
                 expense_id: str, edits: ClaimEdits, *, now: Now = utcnow) -> Claim:
    """A receipt submitted on its own becomes a one-expense claim (its id follows from the expense's, so a
    double submit finds the claim made the first time)."""
    existing = claims.get(lone_claim_id(expense_id))
    if existing is not None and existing.employee_id == principal.employee_id and existing.status != ClaimStatus.DRAFT:
        return existing
    if existing is None:
        expense = _own_unattached(principal, expenses, expense_id)
        department = directory.department(principal.department_id)
        draft = Claim(claim_id=lone_claim_id(expense_id), employee_id=principal.employee_id,
                      department_id=principal.department_id, purpose=expense.description,
                      cost_centre=expense.cost_centre or (department.cost_centre if department else None),
                      expenses=[expense])
        submission_changes(draft, directory.policy(), now(), edits.apply_to(draft))  # refused before any write
        with contextlib.suppress(AlreadyExists):
            claims.create(draft, principal)
    return submit_claim(principal, claims, directory, lone_claim_id(expense_id), edits, now=now)

