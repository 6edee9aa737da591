"""An approved claim as the one Posting every ledger adapter maps: approved amounts, rates, rounding, totals."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from chalicelib.domain.claim import Claim, ClaimStatus
from chalicelib.domain.expense import LineItem
from chalicelib.domain.fx_rates import AppliedRate, FxRate, RateBook, RateRule, StaleRate
from chalicelib.domain.ledger_mapping import Posting, PostingLine, UnpostableClaim, posting_for
from chalicelib.domain.money import Money
from tests.builders import receipt

LOADED = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
BOOK = RateBook([FxRate(currency="JPY", rate_date=date(2026, 11, 20), hkd_per_unit="0.0503", source="HKMA",
                        loaded_by="hkma-feed", loaded_at=LOADED),
                 FxRate(currency="JPY", rate_date=date(2026, 10, 30), hkd_per_unit="0.0511", source="HKMA",
                        loaded_by="hkma-feed", loaded_at=LOADED)])


def claim(*expenses) -> Claim:
    return Claim(claim_id="c-9", employee_id="E201", department_id="D1", status=ClaimStatus.APPROVED,
                 cost_centre="CC-1", expenses=list(expenses))


def test_approved_amounts_at_the_rule_rate_with_the_original_beside_them():
    hotel = receipt("e-1", total=Money.of("12345", "JPY"), receipt_date=date(2026, 11, 21), category="travel",
                    cost_centre="CC-2")
    posting = posting_for(claim(hotel, receipt("e-2")), "Chan Tai Man", BOOK, date(2026, 11, 30))
    first = posting.lines[0]
    assert (first.original, first.rate.hkd_per_unit, first.rate.rate_date, first.hkd.amount, first.cost_centre) == (
        Money.of("12345", "JPY"), Decimal("0.0503"), date(2026, 11, 20), Decimal("620.95"), "CC-2")
    assert posting.lines[1].hkd.amount == Decimal("90.00") and posting.lines[1].cost_centre == "CC-1"
    assert posting.total.amount == Decimal("710.95") and posting.external_id == "c-9"
    month_start = posting_for(claim(hotel), "x", BOOK, date(2026, 11, 30), RateRule.MONTH_START)
    assert month_start.lines[0].rate.hkd_per_unit == Decimal("0.0511")


def test_what_approvers_cut_is_not_posted():
    cut = receipt("e-1", disallowed_reason="personal", disallowed_by="M1")
    partly = receipt("e-2", total=Money.of("100.00", "HKD"), line_items=[
        LineItem(description="wine", amount=Money.of("40.00", "HKD"), disallowed_reason="policy")])
    posting = posting_for(claim(cut, partly), "x", BOOK, date(2026, 11, 30))
    assert [(li.expense_id, li.hkd.amount) for li in posting.lines] == [("e-2", Decimal("60.00"))]


def test_nothing_payable_or_no_fresh_rate_cannot_be_posted():
    with pytest.raises(UnpostableClaim):
        posting_for(claim(receipt("e-1", disallowed_reason="personal")), "x", BOOK, date(2026, 11, 30))
    with pytest.raises(StaleRate):
        posting_for(claim(receipt("e-1", total=Money.of("100", "JPY"), receipt_date=date(2026, 12, 20))), "x", BOOK,
                    date(2026, 12, 30))


def test_a_posting_whose_lines_do_not_add_up_is_refused():
    rate = AppliedRate.base(date(2026, 11, 30))
    line = PostingLine(expense_id="e-1", category="meals", description="m", cost_centre=None,
                       original=Money.of("10.00", "HKD"), rate=rate, hkd=Money.of("10.00", "HKD"))
    fields = dict(employee_id="E1", employee_name="x", cost_centre=None, entry_date=date(2026, 11, 30),
                  description="d", lines=[line], rounding=Money.of("0", "HKD"))
    with pytest.raises(ValidationError, match="!= total"):
        Posting(external_id="c-1", total=Money.of("10.01", "HKD"), **fields)
    with pytest.raises(ValidationError, match="pattern"):
        Posting(external_id='c-1" OR 1==1', total=Money.of("10.00", "HKD"), **fields)
    assert "Chan" not in repr(Posting(external_id="c-1", total=Money.of("10.00", "HKD"),
                                      **{**fields, "employee_name": "Chan Tai Man"}))
