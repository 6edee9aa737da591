"""Cash advance (備用金) use cases over the ports: request, approve, pay, list, settle against a claim, chase.

Rules decided here (issue #16):
- One open advance per employee: a new request is refused while another is requested, approved or paid and not
  yet settled. An advance settles one claim, so a second float before the first is accounted for would let
  cash drift out unreconciled; finance can raise the limit instead of stacking advances.
- The approver is the requester's manager or their department's head, never the requester (separation of
  duties); the payer is finance of the advance's department, never the requester either.
- The limit (`Policy.advance_max_hkd`) is checked on the HKD value at the configured rate; the HKD value booked
  at payment (`Advance.paid_hkd`) is what a claim later nets against.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field, field_validator

from chalicelib.domain.access import reads_every_department, reads_own_department
from chalicelib.domain.advance import (
    Advance,
    AdvanceStatus,
    InvalidAdvance,
    InvalidAdvanceTransition,
    is_overdue,
    new_advance_id,
    settle,
)
from chalicelib.domain.claim import parse_amount
from chalicelib.domain.currencies import check_currency
from chalicelib.domain.identity import SYSTEM, Forbidden, Principal, Role
from chalicelib.domain.money import Money, NoFxRate
from chalicelib.services.ports import AdvanceStore, Directory, Notifier

S = AdvanceStatus
REMINDED = "advance.overdue_reminded"


class AdvanceNotFound(Exception):
    """No such advance, or not one the caller may see (the same answer: a probe learns nothing)."""


class AdvanceRequest(BaseModel):
    amount: str = Field(max_length=20)  # typed by a person: "3,000.00"
    currency: str = Field(default="HKD", pattern=r"^[A-Z]{3}$")
    purpose: str = Field(min_length=1, max_length=500)
    needed_by: date | None = None

    @field_validator("currency")
    @classmethod
    def _iso_4217(cls, value: str) -> str:
        return check_currency(value)


def _money(request: AdvanceRequest) -> Money:
    try:
        amount = parse_amount(request.amount)
    except ValueError as exc:
        raise InvalidAdvance(str(exc)) from exc
    if amount <= 0:
        raise InvalidAdvance("an advance must be a positive amount")
    return Money(amount=amount, currency=request.currency).quantized()


def _hkd(directory: Directory, money: Money) -> Money:
    try:
        return directory.policy().fx.to_hkd(money)
    except NoFxRate as exc:
        raise InvalidAdvance(str(exc)) from exc


def request_advance(principal: Principal, store: AdvanceStore, directory: Directory, request: AdvanceRequest,
                    now: datetime) -> Advance:
    amount = _money(request)
    limit = directory.policy().advance_max_hkd
    if _hkd(directory, amount).amount > limit:
        raise InvalidAdvance(f"an advance may be at most HKD {limit:,} (this one is {amount}) "
                             f"備用金上限為 HKD {limit:,}")
    if any(a.is_open for a in store.by_employee(principal.employee_id)):
        raise InvalidAdvance("you already have an open advance: settle or cancel it first 已有未清備用金")
    person = directory.employee(principal.employee_id)
    advance = Advance(
        advance_id=new_advance_id(), employee_id=principal.employee_id,
        department_id=person.department_id if person else principal.department_id,
        amount=amount, purpose=request.purpose.strip(),
        needed_by=request.needed_by,
        created_at=now, updated_at=now,
    )
    store.create(advance, principal, "advance.requested")
    return advance


def _approvers(directory: Directory, advance: Advance) -> set[str]:
    person = directory.employee(advance.employee_id)
    department = directory.department(advance.department_id)
    found = {person.manager_id if person else None, department.head_id if department else None}
    return {a for a in found if a and a != advance.employee_id}


def can_read(principal: Principal, advance: Advance) -> bool:
    """The claims' rules: own advances; finance and approvers their department; auditors and admins all."""
    if reads_every_department(principal) or advance.employee_id == principal.employee_id:
        return True
    return reads_own_department(principal) and advance.department_id == principal.department_id


def get_advance(principal: Principal, store: AdvanceStore, advance_id: str) -> Advance:
    advance = store.get(advance_id)
    if advance is None or not can_read(principal, advance):
        raise AdvanceNotFound(advance_id)
    return advance


def decide_advance(principal: Principal, store: AdvanceStore, directory: Directory, advance_id: str, approve: bool,
                   comment: str, now: datetime) -> Advance:
    advance = store.get(advance_id)
    if advance is None:
        raise AdvanceNotFound(advance_id)
    if principal.employee_id == advance.employee_id:
        raise Forbidden("you cannot approve your own advance 不可審批自己的備用金")
    if principal.employee_id not in _approvers(directory, advance):
        raise Forbidden("only the requester's manager or department head can decide this advance "
                        "只有直屬主管或部門主管可審批")
    wanted = S.APPROVED if approve else S.REJECTED
    if advance.status == wanted and advance.approver_id == principal.employee_id:
        return advance  # the same decision again (a double click): it stands
    after = advance.moved_to(wanted, now, approver_id=principal.employee_id, decided_at=now,
                             decision_comment=comment.strip()[:500])
    return store.save(advance, after, principal, f"advance.{wanted.value}")


def record_payment(principal: Principal, store: AdvanceStore, directory: Directory, advance_id: str,
                   payment_reference: str, now: datetime) -> Advance:
    """Finance records the cash paid out; the HKD value booked now is what settlement nets against."""
    if not principal.has(Role.FINANCE):
        raise Forbidden("only finance can record an advance's payment 只有財務可記錄付款")
    advance = store.get(advance_id)
    if advance is None or advance.department_id != principal.department_id:
        raise AdvanceNotFound(advance_id)  # finance pays its own department's advances only
    if advance.employee_id == principal.employee_id:
        raise Forbidden("you cannot pay your own advance 不可支付自己的備用金")
    reference = payment_reference.strip()
    if not reference:
        raise InvalidAdvance("a payment reference is required")
    if advance.status == S.PAID and advance.payment_reference == reference:
        return advance  # recorded already
    after = advance.moved_to(S.PAID, now, paid_at=now, paid_by=principal.employee_id, payment_reference=reference,
                             paid_hkd=_hkd(directory, advance.amount))
    return store.save(advance, after, principal, "advance.paid")


def list_advances(principal: Principal, store: AdvanceStore, status: AdvanceStatus | str | None = None
                  ) -> list[Advance]:
    """Employees see their own; finance and approvers their department; auditors and admins every one."""
    try:
        wanted = S(status) if status else None
    except ValueError as exc:
        raise InvalidAdvance(f"unknown status {status!r}; use one of {', '.join(S)}") from exc
    if reads_every_department(principal) or reads_own_department(principal):
        found = [a for s in ([wanted] if wanted else list(S)) for a in store.by_status(s)]
        found = [a for a in found if can_read(principal, a)]
    else:
        found = [a for a in store.by_employee(principal.employee_id) if wanted is None or a.status == wanted]
    return sorted(found, key=lambda a: a.created_at, reverse=True)


def open_for_settlement(store: AdvanceStore, employee_id: str) -> list[Advance]:
    """The employee's paid advances not yet cleared by a claim (oldest first: the first one a claim settles)."""
    found = [a for a in store.by_employee(employee_id) if a.status == S.PAID and a.settled_claim_id is None]
    return sorted(found, key=lambda a: a.paid_at or a.created_at)


def settle_advance(store: AdvanceStore, advance_id: str, claim_id: str, claim_payable_hkd: Money,
                   actor: Principal, now: datetime) -> Advance:
    """Clear a paid advance with one claim. Idempotent: the same claim again returns the advance as settled;
    another claim is refused (an advance settles one claim)."""
    advance = store.get(advance_id)
    if advance is None:
        raise AdvanceNotFound(advance_id)
    if advance.settled_claim_id is not None:
        if advance.settled_claim_id == claim_id:
            return advance
        raise InvalidAdvance(f"advance {advance_id} was settled by another claim: an advance settles one claim")
    if advance.status != S.PAID or advance.paid_hkd is None:
        raise InvalidAdvanceTransition(advance_id, advance.status, S.SETTLED)
    settlement = settle(advance.paid_hkd, claim_payable_hkd)
    after = advance.moved_to(S.SETTLED, now, settled_claim_id=claim_id, settled_at=now, settlement=settlement)
    return store.save(advance, after, actor, "advance.settled")


def overdue_advances(store: AdvanceStore, directory: Directory, now: datetime) -> list[Advance]:
    days = directory.policy().advance_overdue_days
    found = [a for a in store.by_status(S.PAID) if is_overdue(a, now, days)]
    return sorted(found, key=lambda a: a.paid_at)


def _message(advance: Advance, days_out: int) -> dict:
    """Masked: the employee id and the advance, never a name next to an amount."""
    return {
        "kind": "advance_overdue",
        "advance_id": advance.advance_id,
        "employee_id": advance.employee_id,
        "days_outstanding": days_out,
        "text_en": f"Cash advance {advance.advance_id} was paid {days_out} days ago and is not yet settled. "
                   "Please submit the claim for it, or return the unspent cash.",
        "text_zh": f"備用金 {advance.advance_id} 已支付 {days_out} 日，尚未清帳。請提交相關報銷或退還未用款項。",
    }


def remind_overdue(store: AdvanceStore, directory: Directory, notifier: Notifier, now: datetime) -> list[str]:
    """One reminder per overdue advance per UTC day: the day's audit note is what makes a rerun send nothing.
    Returns the advance ids reminded this run."""
    sent = []
    today = now.date().isoformat()
    for advance in overdue_advances(store, directory, now):
        if any(r.action == REMINDED and (r.after or {}).get("day") == today for r in store.history(advance.advance_id)):
            continue
        days_out = (now - advance.paid_at).days
        person = directory.employee(advance.employee_id)
        message_id = notifier.publish(
            subject="Cash advance overdue 備用金逾期未清", message=_message(advance, days_out),
            attributes={"employee_id": advance.employee_id, "event": "advance_overdue",
                        "timezone": person.timezone if person else "Asia/Hong_Kong"})
        store.note(advance.advance_id, SYSTEM, REMINDED,
                   {"day": today, "days_outstanding": days_out, "message_id": message_id})
        sent.append(advance.advance_id)
    return sent


def advance_view(advance: Advance) -> dict:
    """The JSON an API answers with: amounts as decimal strings with their currency, times ISO 8601 in UTC (Z)."""

    def money(m: Money | None) -> dict | None:
        return None if m is None else {"amount": str(m.quantized().amount), "currency": m.currency}

    def when(t: datetime | None) -> str | None:
        return None if t is None else t.isoformat().replace("+00:00", "Z")

    s = advance.settlement
    return {
        "advance_id": advance.advance_id, "employee_id": advance.employee_id,
        "department_id": advance.department_id, "amount": money(advance.amount), "purpose": advance.purpose,
        "needed_by": advance.needed_by.isoformat() if advance.needed_by else None, "status": advance.status.value,
        "version": advance.version, "created_at": when(advance.created_at), "updated_at": when(advance.updated_at),
        "approver_id": advance.approver_id, "decided_at": when(advance.decided_at),
        "decision_comment": advance.decision_comment, "paid_at": when(advance.paid_at), "paid_by": advance.paid_by,
        "payment_reference": advance.payment_reference, "paid_hkd": money(advance.paid_hkd),
        "settled_claim_id": advance.settled_claim_id, "settled_at": when(advance.settled_at),
        "settlement": None if s is None else {
            "outcome": s.outcome, "advance": money(s.advance), "claim_payable": money(s.claim_payable),
            "offset": money(s.offset), "pay_employee": money(s.pay_employee),
            "recover_from_employee": money(s.recover_from_employee)},
    }

