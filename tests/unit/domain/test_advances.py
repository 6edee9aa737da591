"""Cash advances: settlement arithmetic to the cent, a journal that balances with the claim's expense debit,
the lifecycle table, and overdue by an injected time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from chalicelib.domain.advance import (
    ADVANCES_ACCOUNT,
    EMPLOYEE_RECEIVABLE,
    Advance,
    AdvanceStatus,
    InvalidAdvance,
    InvalidAdvanceTransition,
    is_overdue,
    settle,
    settlement_journal_lines,
)
from chalicelib.domain.ledger import EMPLOYEE_PAYABLE, JournalEntry, JournalLine
from chalicelib.domain.money import CurrencyMismatch, Money

T0 = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)
S = AdvanceStatus


def hkd(text: str) -> Money:
    return Money.of(text, "HKD")


def advance(**fields) -> Advance:
    data = dict(advance_id="a-0123abcd", employee_id="E201", department_id="HK-SALES", amount=hkd("3000"),
                purpose="Trade fair float 展覽備用金", created_at=T0, updated_at=T0)
    data.update(fields)
    return Advance(**data)


def journal(payable: str, adv: str) -> tuple[JournalEntry, dict[str, tuple[Decimal, Decimal]]]:
    """The claim's expense debit (= payable) plus the settlement's lines, as one entry."""
    settlement = settle(hkd(adv), hkd(payable))
    expense = JournalLine(account="6140", cost_centre="CC-200", debit_hkd=Decimal(payable), description="travel",
                          original_amount=Decimal(payable), original_currency="HKD")
    lines = [expense, *settlement_journal_lines(settlement, "CC-200", "Advance a-1 settled by c-1")]
    entry = JournalEntry(journal_id="JE-c-1", claim_id="c-1", entry_date=date(2026, 11, 20), lines=lines)
    return entry, {ln.account: (ln.debit_hkd, ln.credit_hkd) for ln in entry.lines}


def test_a_claim_above_the_advance_pays_the_employee_the_difference():
    s = settle(hkd("3000"), hkd("3456.78"))
    assert s.outcome == "pay"
    assert s.offset == hkd("3000.00")
    assert s.pay_employee == hkd("456.78")
    assert s.recover_from_employee == hkd("0.00")


def test_a_claim_below_the_advance_recovers_the_unspent_part():
    s = settle(hkd("3000"), hkd("2123.45"))
    assert s.outcome == "recover"
    assert s.offset == hkd("2123.45")
    assert s.pay_employee == hkd("0.00")
    assert s.recover_from_employee == hkd("876.55")


def test_a_claim_equal_to_the_advance_is_exact():
    s = settle(hkd("3000.00"), hkd("3000"))
    assert (s.outcome, s.offset, s.pay_employee, s.recover_from_employee) == (
        "exact", hkd("3000.00"), hkd("0.00"), hkd("0.00"))


def test_pay_journal_balances_credit_advance_and_employee_payable():
    entry, by_account = journal("3456.78", "3000")
    assert by_account == {"6140": (Decimal("3456.78"), Decimal("0")),
                          ADVANCES_ACCOUNT: (Decimal("0"), Decimal("3000.00")),
                          EMPLOYEE_PAYABLE: (Decimal("0"), Decimal("456.78"))}
    assert len(entry.lines) == 3


def test_recover_journal_clears_the_advance_in_full_and_debits_the_employee_receivable():
    entry, by_account = journal("2123.45", "3000")
    assert by_account == {"6140": (Decimal("2123.45"), Decimal("0")),
                          ADVANCES_ACCOUNT: (Decimal("0"), Decimal("3000.00")),
                          EMPLOYEE_RECEIVABLE: (Decimal("876.55"), Decimal("0"))}
    assert EMPLOYEE_PAYABLE not in by_account


def test_exact_journal_has_only_the_advance_credit():
    entry, by_account = journal("3000.00", "3000")
    assert by_account == {"6140": (Decimal("3000.00"), Decimal("0")),
                          ADVANCES_ACCOUNT: (Decimal("0"), Decimal("3000.00"))}


def test_the_lines_alone_do_not_balance_without_the_expense_debit():
    lines = settlement_journal_lines(settle(hkd("3000"), hkd("3456.78")), None, "x")
    with pytest.raises(ValueError, match="debit 0 != credit 3456.78"):  # pydantic wraps UnbalancedEntry
        JournalEntry(journal_id="JE-x", claim_id="x", entry_date=date(2026, 11, 20), lines=lines)


def test_settle_refuses_mixed_currencies_and_negative_payables():
    with pytest.raises(CurrencyMismatch):
        settle(hkd("100"), Money.of("100", "USD"))
    with pytest.raises(InvalidAdvance):
        settle(hkd("100"), hkd("-1"))
    with pytest.raises(InvalidAdvance):
        settle(hkd("0"), hkd("10"))


def test_journal_lines_are_booked_in_hkd_only():
    with pytest.raises(CurrencyMismatch):
        settlement_journal_lines(settle(Money.of("100", "USD"), Money.of("80", "USD")), None, "x")


@pytest.mark.parametrize("amount,currency", [("0", "HKD"), ("-5", "HKD"), ("10", "ZZZ"), ("1e11", "HKD")])
def test_an_advance_must_be_positive_in_a_real_currency(amount, currency):
    with pytest.raises(ValidationError):
        advance(amount=Money.of(amount, currency))


def test_an_advance_id_has_the_a_prefix_and_times_are_aware():
    with pytest.raises(ValidationError):
        advance(advance_id="c-1")
    with pytest.raises(ValidationError):
        advance(created_at=datetime(2026, 11, 10, 2, 0))


def test_the_lifecycle_moves_forward_and_bumps_the_version():
    a = advance()
    approved = a.moved_to(S.APPROVED, T0 + timedelta(hours=1), approver_id="E200")
    paid = approved.moved_to(S.PAID, T0 + timedelta(hours=2))
    settled = paid.moved_to(S.SETTLED, T0 + timedelta(days=3))
    assert [x.version for x in (a, approved, paid, settled)] == [0, 1, 2, 3]
    assert settled.updated_at == T0 + timedelta(days=3) and approved.approver_id == "E200"


@pytest.mark.parametrize("start,wanted", [
    (S.REQUESTED, S.PAID), (S.REQUESTED, S.SETTLED), (S.APPROVED, S.APPROVED), (S.PAID, S.CANCELLED),
    (S.REJECTED, S.APPROVED), (S.SETTLED, S.PAID), (S.CANCELLED, S.REQUESTED),
])
def test_moves_outside_the_table_are_refused(start, wanted):
    with pytest.raises(InvalidAdvanceTransition):
        advance(status=start).moved_to(wanted, T0)


def test_overdue_counts_from_payment_by_the_injected_time():
    paid = advance(status=S.PAID, paid_at=T0, created_at=T0 - timedelta(days=20))  # requested 20 days earlier
    assert not is_overdue(paid, T0 + timedelta(days=30), 30)
    assert is_overdue(paid, T0 + timedelta(days=30, seconds=1), 30)
    assert is_overdue(paid, T0 + timedelta(days=8), 7)  # the policy's days, not a constant
    assert not is_overdue(paid.model_copy(update={"settled_claim_id": "c-9"}), T0 + timedelta(days=99), 30)


@pytest.mark.parametrize("status", [S.REQUESTED, S.APPROVED, S.SETTLED, S.CANCELLED])
def test_only_paid_unsettled_advances_become_overdue(status):
    assert not is_overdue(advance(status=status, paid_at=T0), T0 + timedelta(days=400), 30)
