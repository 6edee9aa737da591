"""Every printed sum is a check: the total the receipt's own arithmetic supports wins, and contradictions flag.

Receipts are hand-placed OCR rows (see test_rules.receipt) run through the real builder, parser and resolver, so
each case is what a photo of that receipt would give when every line is read correctly.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from chalicelib.extraction import normalise, relations
from chalicelib.extraction.models import ExpenseField, ParsedExpense

from .test_rules import receipt as _receipt
from .test_rules import resolve


def receipt(rows, header=None):
    """A receipt with its date printed, so only the money decides whether it needs review."""
    return _receipt([("日期: 03/11/2026", None), *rows], header=header)


def test_cash_tendered_with_change_is_never_the_total() -> None:
    # an unlabelled 實收-style till: the round 100.00 is the cash handed over, 3.20 the change
    r, _ = resolve(
        receipt(
            [
                ("餐蛋麵", "$42.00"),
                ("凍奶茶", "$46.00"),
                ("小計", "$88.00"),
                ("加一", "$8.80"),
                ("現金", "$100.00"),
                ("找續", "$3.20"),
                ("", "$96.80"),
            ]
        )
    )
    assert r.total == Decimal("96.80")
    assert r.needs_review is False, r.review_reasons


def test_a_total_label_on_the_tendered_amount_loses_to_the_printed_sums() -> None:
    # "合計 100.00" paired with the cash line by a bad row: subtotal + service and tendered − change both say 96.80
    parsed = ParsedExpense(
        summary_fields=[
            _field("SUBTOTAL", "88.00", "小計"),
            _field("SERVICE_CHARGE", "8.80", "加一"),
            _field("TOTAL", "100.00", "合計"),
            _field("OTHER", "100.00", "TENDERED: 現金"),
            _field("OTHER", "3.20", "CHANGE: 找續"),
        ],
        lines=["小計 88.00", "加一 8.80", "96.80", "現金 100.00", "找續 3.20"],
    )
    solution = relations.solve(parsed)
    assert solution.best is not None and solution.best.value == Decimal("96.80")
    assert {r.kind for r in solution.best.relations} >= {"sum", "change"}


def test_amount_due_read_as_tax_is_the_total_and_the_tax_is_the_small_one() -> None:
    parsed = ParsedExpense(
        summary_fields=[
            _field("SUBTOTAL", "100.00", "Subtotal"),
            _field("TAX", "8.00", "Tax 8%"),
            _field("TAX", "108.00", "Amount due incl. tax"),
        ],
        lines=["Subtotal 100.00", "Tax 8% 8.00", "Amount due incl. tax 108.00"],
    )
    from chalicelib.extraction.resolve import receipt_from_parsed

    r = receipt_from_parsed(parsed)
    assert r.total == Decimal("108.00")
    assert r.tax == Decimal("8.00")


def test_tendered_minus_change_that_breaks_the_total_flags_with_the_sum() -> None:
    r, _ = resolve(receipt([("總計", "$45.50"), ("現金", "$50.00"), ("找續", "$3.50")]))
    assert r.total == Decimal("45.50")
    assert r.needs_review
    assert any("50.00 − change 3.50 = 46.50" in reason for reason in r.review_reasons), r.review_reasons


def test_tendered_minus_change_confirms_a_total() -> None:
    r, _ = resolve(receipt([("TOTAL", "$45.50"), ("CASH", "$50.00"), ("CHANGE", "$4.50")]))
    assert r.total == Decimal("45.50")
    assert r.needs_review is False, r.review_reasons
    assert r.confidence["total"] >= 0.95


def test_taxi_fare_plus_tolls_and_surcharge_is_the_total() -> None:
    r, _ = resolve(
        receipt(
            [
                ("車資 FARE", "$85.00"),
                ("隧道費 TUNNEL", "$20.00"),
                ("附加費 SURCHARGE", "$6.00"),
                ("總數 TOTAL", "$111.00"),
            ]
        )
    )
    assert r.total == Decimal("111.00")
    assert r.needs_review is False, r.review_reasons


def test_delivery_fee_and_tip_with_a_voucher_add_up() -> None:
    r, _ = resolve(
        receipt(
            [
                ("Subtotal", "$168.00"),
                ("Delivery fee", "$15.00"),
                ("Tip", "$10.00"),
                ("Voucher", "-$30.00"),
                ("Total", "$163.00"),
            ]
        )
    )
    assert r.total == Decimal("163.00")
    assert r.discount == Decimal("30.00")
    assert r.needs_review is False, r.review_reasons


def test_rounding_line_closes_the_sum() -> None:
    solution = relations.solve(
        ParsedExpense(
            summary_fields=[
                _field("SUBTOTAL", "98.47", "Sub Total"),
                _field("OTHER", "-0.07", "ROUNDING: Rounding Adj"),
                _field("TOTAL", "98.40", "Total"),
            ]
        )
    )
    assert solution.best is not None and solution.best.value == Decimal("98.40")
    assert solution.best.relations[0].kind == "sum"
    assert "rounding 0.07" in solution.best.relations[0].sentence


def test_mainland_invoice_tax_is_the_rate_of_its_base() -> None:
    r, _ = resolve(
        receipt(
            [("金額(不含稅)", "¥100.00"), ("稅率 13%  稅額", "¥13.00"), ("价税合计(小写)", "¥113.00")],
            header=["上海某某餐饮有限公司", "增值税普通发票"],
        )
    )
    assert r.total == Decimal("113.00")
    assert r.tax == Decimal("13.00")
    assert r.currency == "CNY"


def test_octopus_balance_below_the_total_is_not_the_total() -> None:
    r, _ = resolve(receipt([("合計", "$32.00"), ("八達通付款", "$32.00"), ("八達通餘額", "$168.50")]))
    assert r.total == Decimal("32.00")
    assert r.needs_review is False


def test_two_unrelated_totals_flag() -> None:
    parsed = ParsedExpense(summary_fields=[_field("TOTAL", "50.00", "Total"), _field("TOTAL", "60.00", "Total")])
    from chalicelib.extraction.resolve import receipt_from_parsed

    r = receipt_from_parsed(parsed)
    assert r.needs_review
    assert any("several different totals" in reason for reason in r.review_reasons)


def test_a_lone_amount_no_label_or_sum_supports_is_not_trusted() -> None:
    solution = relations.solve(ParsedExpense(lines=["Thank you", "12.00"]))
    assert solution.best is None or solution.best.confidence() < 0.5


@pytest.mark.parametrize(
    ("label", "role"),
    [
        ("找赎", "CHANGE"),
        ("应付金额", "TOTAL"),
        ("八达通余额", "BALANCE"),
        ("小费 Tip", "TIP"),
        ("隧道费", "FEE"),
        ("Delivery Fee", "FEE"),
        ("Rounding", "ROUNDING"),
        ("价税合计", "TOTAL"),
        ("Amount due (incl. tax)", "TOTAL"),
        ("Balance Due", "TOTAL"),
        ("Delivery date", "DATE"),
        ("稅額", "TAX"),
        ("税率 13%", "IGNORE"),
    ],
)
def test_vocabulary_roles(label: str, role: str | None) -> None:
    found = normalise.classify_label(label)
    assert (found[0] if found else None) == role


def test_vocabulary_says_what_else_a_label_may_be() -> None:
    rule = normalise.label_rule("Cash")
    assert rule is not None and rule.role == "TENDERED" and "TOTAL" in rule.may_be


def test_a_vocabulary_rule_without_terms_is_refused(tmp_path) -> None:
    bad = tmp_path / "vocab.json"
    bad.write_text('{"rules": [{"role": "TOTAL", "strength": 1.0}]}', encoding="utf-8")
    with pytest.raises(ValueError, match="no terms"):
        normalise.load_label_rules(bad)


def _field(ftype: str, value: str, label: str) -> ExpenseField:
    return ExpenseField(type=ftype, value=value, label=label, type_confidence=0.95, value_confidence=0.98)
