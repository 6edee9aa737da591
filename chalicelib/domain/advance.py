"""Cash advances (備用金): money paid to an employee before they spend it, cleared by the claim that follows.

Lifecycle: requested -> approved | rejected | cancelled; approved -> paid | cancelled; paid -> settled. A move not
in the table is refused, so a repeated click or a replayed request cannot pay or settle an advance twice.

Settlement is pure arithmetic on two HKD amounts: the advance as booked when it was paid (the receivable in
account 1250) and the claim's payable. The claim's own expense debits come from the claim's journal; the lines
here are the other side, so that both together balance.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from chalicelib.domain.currencies import check_amount, check_currency
from chalicelib.domain.ledger import EMPLOYEE_PAYABLE, JournalLine
from chalicelib.domain.money import CurrencyMismatch, Money

ADVANCES_ACCOUNT = "1250"  # employee advances receivable: debited when the cash is paid out
EMPLOYEE_RECEIVABLE = "1260"  # what an employee owes back when the claim came in under the advance


class AdvanceStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    PAID = "paid"
    SETTLED = "settled"
    CANCELLED = "cancelled"


A = AdvanceStatus
ALLOWED: dict[AdvanceStatus, frozenset[AdvanceStatus]] = {
    A.REQUESTED: frozenset({A.APPROVED, A.REJECTED, A.CANCELLED}),
    A.APPROVED: frozenset({A.PAID, A.CANCELLED}),
    A.PAID: frozenset({A.SETTLED}),  # cash is out: only a claim (or a refund booked as one) clears it
    A.REJECTED: frozenset(),
    A.SETTLED: frozenset(),
    A.CANCELLED: frozenset(),
}
# Open = still on the employee's books or on the way there; policy allows one at a time (see services/advances).
OPEN = frozenset({A.REQUESTED, A.APPROVED, A.PAID})


class InvalidAdvanceTransition(Exception):
    def __init__(self, advance_id: str, current: AdvanceStatus, wanted: AdvanceStatus):
        super().__init__(f"advance {advance_id}: cannot move from {current} to {wanted}")
        self.current = current
        self.wanted = wanted


class InvalidAdvance(ValueError):
    """The request or settlement is not acceptable (a non-positive amount, over the limit, a second claim...)."""


def new_advance_id() -> str:
    return f"a-{secrets.token_hex(8)}"


class Settlement(BaseModel):
    """How one claim clears one advance, all in the same currency (HKD: the caller converts).

    `offset` is the part of the advance the claim used up; the rest of the advance, if any, is what the employee
    owes back (`recover_from_employee`); a claim above the advance leaves `pay_employee` to reimburse."""

    advance: Money
    claim_payable: Money
    offset: Money
    pay_employee: Money
    recover_from_employee: Money
    outcome: Literal["pay", "recover", "exact"]


def settle(advance_amount: Money, claim_payable: Money) -> Settlement:
    """Net a paid advance against a claim's payable amount."""
    if advance_amount.currency != claim_payable.currency:
        raise CurrencyMismatch(f"settle {advance_amount.currency} against {claim_payable.currency}: convert first")
    if advance_amount.amount <= 0:
        raise InvalidAdvance("an advance to settle must be a positive amount")
    if claim_payable.amount < 0:
        raise InvalidAdvance("a claim's payable amount cannot be negative")
    currency = advance_amount.currency
    adv, pay = advance_amount.quantized().amount, claim_payable.quantized().amount
    zero = Decimal("0")

    def m(value: Decimal) -> Money:
        return Money(amount=value, currency=currency).quantized()

    outcome: Literal["pay", "recover", "exact"] = "pay" if pay > adv else "recover" if pay < adv else "exact"
    return Settlement(
        advance=m(adv), claim_payable=m(pay), offset=m(min(adv, pay)),
        pay_employee=m(max(pay - adv, zero)), recover_from_employee=m(max(adv - pay, zero)), outcome=outcome,
    )


def settlement_journal_lines(settlement: Settlement, cost_centre: str | None, description: str) -> list[JournalLine]:
    """The advance side of a settled claim's journal; the claim's expense debits (= payable) complete it.

    The advance receivable (1250) is always cleared in full: what the claim did not use is moved to the
    employee receivable (1260) to be recovered, and what the claim exceeds the advance by is owed to the
    employee (2150). So: expenses + 1260 debit = 1250 credit + 2150 credit."""
    if settlement.advance.currency != "HKD":
        raise CurrencyMismatch("journal lines are booked in HKD: settle HKD amounts")

    def line(account: str, amount: Decimal, side: str) -> JournalLine:
        return JournalLine(account=account, cost_centre=cost_centre, description=description,
                           original_amount=amount, original_currency="HKD", **{f"{side}_hkd": amount})

    lines = [line(ADVANCES_ACCOUNT, settlement.advance.amount, "credit")]
    if settlement.pay_employee.amount > 0:
        lines.append(line(EMPLOYEE_PAYABLE, settlement.pay_employee.amount, "credit"))
    if settlement.recover_from_employee.amount > 0:
        lines.append(line(EMPLOYEE_RECEIVABLE, settlement.recover_from_employee.amount, "debit"))
    return lines


class Advance(BaseModel):
    advance_id: str = Field(pattern=r"^a-[0-9a-f]+$")
    employee_id: str
    department_id: str
    amount: Money
    purpose: str = Field(min_length=1, max_length=500)
    needed_by: date | None = None
    status: AdvanceStatus = A.REQUESTED
    version: int = 0
    created_at: datetime
    updated_at: datetime

    approver_id: str | None = None
    decided_at: datetime | None = None
    decision_comment: str = ""

    paid_at: datetime | None = None
    paid_by: str | None = None
    payment_reference: str | None = None
    # The HKD value booked to the advances receivable when paid: settlement nets against this, not against
    # a later rate, so account 1250 clears to exactly zero.
    paid_hkd: Money | None = None

    settled_claim_id: str | None = None
    settled_at: datetime | None = None
    settlement: Settlement | None = None

    @field_validator("amount")
    @classmethod
    def _positive_real_currency(cls, value: Money) -> Money:
        check_currency(value.currency)
        check_amount(value.amount)
        if value.amount <= 0:
            raise ValueError("an advance must be a positive amount")
        return value

    @field_validator("created_at", "updated_at", "decided_at", "paid_at", "settled_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("datetimes must be timezone-aware")
        return value.astimezone(UTC)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    def can_move_to(self, wanted: AdvanceStatus) -> bool:
        return wanted in ALLOWED[self.status]

    def moved_to(self, wanted: AdvanceStatus, now: datetime, **changes: object) -> Advance:
        """A copy in the new status, version bumped; refuses moves outside the lifecycle."""
        if not self.can_move_to(wanted):
            raise InvalidAdvanceTransition(self.advance_id, self.status, wanted)
        data = self.model_dump()
        data.update(changes)
        data.update(status=wanted, version=self.version + 1, updated_at=now)
        return Advance.model_validate(data)


def is_overdue(advance: Advance, now: datetime, days: int) -> bool:
    """Paid, not yet settled, and paid more than `days` ago (the policy's advance_overdue_days)."""
    if advance.status != A.PAID or advance.settled_claim_id is not None or advance.paid_at is None:
        return False
    return now - advance.paid_at > timedelta(days=days)
