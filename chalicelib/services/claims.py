"""Use cases on a claim by people: read with access rules, correct fields, submit for approval."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from pydantic import BaseModel, Field, field_validator

from chalicelib.domain.access import can_read_claim, reads_every_department, reads_own_department
from chalicelib.domain.claim import EDITABLE, Claim, ClaimStatus, InvalidClaim, LineItem, parse_amount, utcnow
from chalicelib.domain.currencies import check_currency
from chalicelib.domain.identity import Forbidden, Principal
from chalicelib.domain.money import Money
from chalicelib.services.ports import ClaimStore

CATEGORIES = ("meals", "entertainment", "taxi", "travel", "general")


class NotFound(Exception):
    pass


class LineEdit(BaseModel):
    description: str = Field(min_length=1, max_length=200)
    amount: str = Field(max_length=20)


class ClaimEdits(BaseModel):
    """What an employee may correct; every correction is kept in the audit trail as labelled data."""

    vendor: str | None = Field(default=None, max_length=200)
    receipt_date: date | None = None
    total: str | None = Field(default=None, max_length=20)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    category: str | None = None
    purpose: str | None = Field(default=None, max_length=500)
    urgent: bool | None = None
    line_items: list[LineEdit] | None = Field(default=None, max_length=100)

    @field_validator("currency")
    @classmethod
    def _iso_4217(cls, value: str | None) -> str | None:
        """A made-up code (`ZZZ`) is refused here, where the person can fix it, not later in scoring."""
        return value if value is None else check_currency(value)

    def apply(self, claim: Claim) -> dict:
        changes: dict = {}
        if self.vendor is not None:
            changes["vendor"] = self.vendor.strip()
        if self.receipt_date is not None:
            changes["receipt_date"] = self.receipt_date
        currency = self.currency or (claim.total.currency if claim.total else "HKD")
        if self.total is not None:
            amount = parse_amount(self.total)
            if amount <= 0:
                raise InvalidClaim("the total must be a positive amount")
            changes["total"] = Money(amount=amount, currency=currency)
        elif self.currency is not None and claim.total is not None:
            changes["total"] = Money(amount=claim.total.amount, currency=currency)
        if self.category is not None:
            if self.category not in CATEGORIES:
                raise InvalidClaim(f"unknown category {self.category!r}; use one of {', '.join(CATEGORIES)}")
            changes["category"] = self.category
        if self.purpose is not None:
            changes["purpose"] = self.purpose.strip()
        if self.urgent is not None:
            changes["urgent"] = self.urgent
        if self.line_items is not None:
            changes["line_items"] = [_line(edit, currency) for edit in self.line_items]
        elif "total" in changes and claim.line_items:  # a corrected currency applies to every line
            changes["line_items"] = [li.model_copy(update={"amount": Money(amount=li.amount.amount,
                                                                           currency=currency)})
                                     for li in claim.line_items]
        return changes


def _line(edit: LineEdit, currency: str) -> LineItem:
    amount = parse_amount(edit.amount)
    if amount <= 0:
        raise InvalidClaim(f"line item {edit.description!r} must be a positive amount")
    return LineItem(description=edit.description.strip(), amount=Money(amount=amount, currency=currency))


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


def _own_editable(principal: Principal, claims: ClaimStore, claim_id: str) -> Claim:
    claim = claims.get(claim_id)
    if claim is None or claim.employee_id != principal.employee_id:
        raise NotFound(claim_id)
    if claim.status not in EDITABLE:
        raise InvalidClaim(f"the claim is {claim.status.value} and can no longer be changed")
    return claim


def edit_claim(principal: Principal, claims: ClaimStore, claim_id: str, edits: ClaimEdits) -> Claim:
    claim = _own_editable(principal, claims, claim_id)
    changes = edits.apply(claim)
    if not changes:
        return claim
    target = ClaimStatus.RETURNED if claim.status == ClaimStatus.RETURNED else ClaimStatus.EXTRACTED
    return claims.save(claim, claim.moved_to(target, **changes), principal, action="claim.corrected")


def submit_claim(principal: Principal, claims: ClaimStore, claim_id: str, edits: ClaimEdits,
                 *, now: Callable[[], datetime] = utcnow) -> Claim:
    """First submission of a claim; a returned claim is resubmitted through the approval service instead."""
    claim = _own_editable(principal, claims, claim_id)
    if claim.status == ClaimStatus.RETURNED:
        raise InvalidClaim("a returned claim is resubmitted to its approver, not submitted anew")
    changes = edits.apply(claim)
    candidate = claim.model_copy(update=changes)
    candidate.validate_for_submission(now=now())
    submitted = claim.moved_to(ClaimStatus.SUBMITTED, **changes, submission_count=claim.submission_count + 1)
    return claims.save(claim, submitted, principal, action="claim.submitted")
