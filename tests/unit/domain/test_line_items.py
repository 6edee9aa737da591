"""Line items and partial approval: what is reimbursed, what an employee may enter, what extraction keeps."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from chalicelib.domain.claim import Decision, InvalidClaim, LineItem
from chalicelib.domain.ledger import journal_for
from chalicelib.domain.money import Money
from chalicelib.domain.policy import Policy
from chalicelib.extraction.models import ExpenseField, ParsedExpense
from chalicelib.extraction.resolve import receipt_from_parsed
from chalicelib.services.claims import ExpenseEdits
from tests.unit.domain.test_claim import make_claim

LINES = [LineItem(description="Room 房間", amount=Money.of("900.00", "HKD")),
         LineItem(description="Minibar 小酒吧", amount=Money.of("120.00", "HKD"))]


def test_payable_is_the_total_less_disallowed_lines():
    expense = make_claim(total=Money.of("1100.00", "HKD"), line_items=LINES).expenses[0]
    assert expense.payable() == Money.of("1100.00", "HKD")
    cut = [LINES[0], LINES[1].model_copy(update={"disallowed_reason": "personal", "disallowed_by": "E200"})]
    assert expense.model_copy(update={"line_items": cut}).payable() == Money.of("980.00", "HKD")
    assert expense.model_copy(update={"disallowed_reason": "not business"}).payable() == Money.of("0", "HKD")


def test_the_ledger_books_only_the_approved_part():
    cut = [LINES[0], LINES[1].model_copy(update={"disallowed_reason": "personal"})]
    claim = make_claim(total=Money.of("1100.00", "HKD"), line_items=cut, cost_centre="CC-1")
    entry = journal_for(claim, Policy().fx, date(2026, 11, 25))
    assert [line.debit_hkd + line.credit_hkd for line in entry.lines] == [Decimal("980.00")] * 2


def test_lines_may_not_exceed_the_total_or_use_another_currency():
    with pytest.raises(InvalidClaim, match="more than the total"):
        make_claim(total=Money.of("1000.00", "HKD"), line_items=LINES).validate_for_submission()
    with pytest.raises(InvalidClaim, match="currency of the total"):
        make_claim(total=Money.of("1100.00", "MOP"), line_items=LINES).validate_for_submission()
    make_claim(total=Money.of("1150.00", "HKD"), line_items=LINES).validate_for_submission()  # + service charge


def test_the_content_hash_covers_lines_and_what_was_disallowed():
    claim = make_claim(total=Money.of("1100.00", "HKD"), line_items=LINES)
    cut = make_claim(total=Money.of("1100.00", "HKD"), line_items=[LINES[0], LINES[1].model_copy(
        update={"disallowed_reason": "personal"})])
    assert len({make_claim().content_hash(), claim.content_hash(), cut.content_hash()}) == 3


def test_a_full_approval_signs_the_same_bytes_as_before_partial_approval_existed():
    decision = Decision(level=1, approver_id="E200", decision="approved", decided_at=datetime(2026, 11, 25, tzinfo=UTC),
                        content_hash="h")
    assert b"disallowed_lines" not in decision.signed_payload("c-1")
    partial = decision.model_copy(update={"disallowed_lines": [1]})
    assert b'"disallowed_lines":[1]' in partial.signed_payload("c-1")


def test_an_employee_enters_lines_in_the_claim_currency():
    expense = make_claim(total=Money.of("1100.00", "MOP")).expenses[0]
    changes = ExpenseEdits(line_items=[{"description": "Room", "amount": "1,000.00"}]).apply(expense)
    assert changes["line_items"] == [LineItem(description="Room", amount=Money.of("1000.00", "MOP"))]
    with pytest.raises(InvalidClaim, match="positive"):
        ExpenseEdits(line_items=[{"description": "Refund", "amount": "-5"}]).apply(expense)


def _parsed(rows: list[tuple[str, str]], total: str) -> ParsedExpense:
    return ParsedExpense(
        summary_fields=[ExpenseField(type="TOTAL", value=total, label="Total 總計", type_confidence=0.99,
                                     value_confidence=0.99, label_confidence=0.99)],
        line_items=[[ExpenseField(type="ITEM", value=name, value_confidence=0.95),
                     ExpenseField(type="PRICE", value=price, value_confidence=0.95)] for name, price in rows],
    )


def test_extraction_keeps_lines_only_when_they_add_up():
    kept = receipt_from_parsed(_parsed([("奶茶", "38.00"), ("餐蛋麵", "52.00")], "90.00"), today=date(2026, 11, 25))
    assert [(line.description, line.amount) for line in kept.line_items] == [
        ("奶茶", Decimal("38.00")), ("餐蛋麵", Decimal("52.00"))]
    dropped = receipt_from_parsed(_parsed([("奶茶", "38.00"), ("x2", "2")], "90.00"), today=date(2026, 11, 25))
    assert dropped.line_items == []
