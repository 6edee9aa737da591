"""Every printed sum is a check: the total the receipt's own arithmetic supports wins, and contradictions flag.

Receipts are hand-placed OCR rows (see test_rules.receipt) run through the real builder, parser and resolver, so
each case is what a photo of that receipt would give when every line is read correctly.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from chalicelib.extraction import normalise, relations
from chalicelib.extraction.models import ExpenseField, ParsedExpense

from .test_rules import line, resolve
from .test_rules import receipt as _receipt


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
        ("*运输服务*客运服务费", "ITEM"),  # a 发票 item, not a service charge
        ("服務費 10%", "SERVICE_CHARGE"),
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


# ---- layouts the reader was not tuned on (issue #18's misses) -------------------------------------------------


def test_a_tip_after_the_balance_due_makes_the_later_total_the_payable_one() -> None:
    r, _ = resolve(
        receipt(
            [
                ("Subtotal", "$448.00"),
                ("Service Charge 10%", "$44.80"),
                ("Balance Due", "$492.80"),
                ("Tip", "$73.92"),
                ("Total", "$566.72"),
                ("Mastercard tendered", "$566.72"),
                ("Change", "$0.00"),
            ]
        )
    )
    assert r.total == Decimal("566.72")
    assert r.needs_review is False, r.review_reasons


def test_a_tax_rate_is_not_an_amount() -> None:
    assert normalise.find_amounts("Sales Tax 8.875%") == []
    r, _ = resolve(receipt([("Subtotal", "$111.75"), ("Sales Tax 8.875%", "$9.92"), ("Total", "$121.67")]))
    assert (r.total, r.tax) == (Decimal("121.67"), Decimal("9.92"))


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("應付 TOTAL $540.10\nHKD equiv. 524.37\n澳門新馬路12號", "MOP"),
        ("總計 MOP 125.00\n約港幣 HKD 121.36\nVISA MOP 125.00", "MOP"),
        ("Room Charge 2,600.00\nAirport Limousine USD 64.00 @ 7.81\nTotal HKD 12,349.51", "HKD"),
        ("Total $88.00", "HKD"),
    ],
)
def test_a_converted_amount_does_not_set_the_currency(text: str, code: str) -> None:
    assert normalise.detect_currency(text)[0] == code


def test_the_amount_under_a_tax_column_of_the_totals_row_is_the_tax() -> None:
    lines = [
        line("增值税普通发票", 0.35, 0.05, 0.3),
        line("开票日期：2025年11月26日", 0.03, 0.12, 0.3),
        line("项目名称", 0.03, 0.2, 0.1),
        line("金额", 0.7, 0.2, 0.05),
        line("税率", 0.8, 0.2, 0.05),
        line("税额", 0.92, 0.2, 0.05),
        line("*住宿服务*住宿费", 0.03, 0.25, 0.15),
        line("866.10", 0.64, 0.25, 0.07),
        line("9%", 0.8, 0.25, 0.03),
        line("77.95", 0.91, 0.25, 0.06),
        line("合计", 0.03, 0.32, 0.08),
        line("￥866.10", 0.6, 0.32, 0.11),
        line("￥77.95", 0.88, 0.32, 0.09),
        line("价税合计(大写) 玖佰肆拾肆元零伍分", 0.03, 0.38, 0.5),
        line("(小写)¥944.05", 0.75, 0.38, 0.2),
    ]
    r, _ = resolve(lines)
    assert (r.total, r.tax, r.currency) == (Decimal("944.05"), Decimal("77.95"), "CNY")
    assert r.service_charge is None  # 住宿服务 is an item, not a service charge


def test_an_arrival_date_printed_under_its_label_is_not_the_folio_date() -> None:
    lines = [
        line("HARBOURVIEW HOTEL", 0.3, 0.02, 0.4),
        line("抵店 Arrival", 0.03, 0.1),
        line("20 Apr 2025", 0.03, 0.14),
        line("日期 Date", 0.03, 0.2),
        line("21 Apr 2025", 0.03, 0.24),
        line("Total", 0.03, 0.4),
        line("HK$1,830.00", 0.75, 0.4, 0.15),
    ]
    r, _ = resolve(lines)
    assert r.date.isoformat() == "2025-04-21"


def test_a_settled_total_printed_as_a_credit_is_read_with_less_certainty() -> None:
    r, _ = resolve(receipt([("Room Charge", "930.00"), ("Minibar", "241.15"), ("Total Charges", "-1,171.15")]))
    assert r.total == Decimal("1171.15")


def test_a_sum_that_only_rounds_to_the_total_is_no_support_when_the_exact_sum_is_printed_too() -> None:
    # the folio's total misread a cent short; the card line prints what items + service charge really make
    parsed = ParsedExpense(
        summary_fields=[
            _field("SUBTOTAL", "4336.41", "Total Room & Spa"),
            _field("SERVICE_CHARGE", "433.64", "Service Charge 10%"),
            _field("TOTAL", "4770.00", "Total Charges"),
        ],
        lines=["Service Charge 10% 433.64", "Total Charges 4770.00", "AMEX XXXX9331 4,770.05"],
    )
    solution = relations.solve(parsed)
    assert solution.best is not None and solution.best.value == Decimal("4770.00")
    assert not any(r.kind == "sum_rounded" for r in solution.best.relations)
    # the label alone is not enough against the receipt's own arithmetic: a person checks it
    assert solution.conflicts == ("subtotal 4336.41 + service charge 433.64 = 4770.05, not the total 4770.00",)


def test_a_sum_that_rounds_to_the_total_still_supports_it_when_nothing_prints_the_exact_sum() -> None:
    parsed = ParsedExpense(
        summary_fields=[
            _field("SUBTOTAL", "86.00", "小計"),
            _field("SERVICE_CHARGE", "8.60", "加一"),
            _field("TOTAL", "95.00", "合計"),
        ],
        lines=["小計 86.00", "加一 8.60", "合計 95.00"],
    )
    solution = relations.solve(parsed)
    assert solution.best is not None and solution.best.value == Decimal("95.00")
    assert [r.kind for r in solution.best.relations][0] == "sum_rounded"


def test_the_total_in_financial_numerals_confirms_the_figures() -> None:
    parsed = ParsedExpense(
        summary_fields=[_field("TOTAL", "¥2729.52", "(小写)"), _field("TOTAL", "¥101.28", "合计")],
        lines=["合计 ¥101.28", "价税合计(大写)⊗贰仟柒佰贰拾玖元伍角贰分", "(小写)¥2729.52"],
    )
    solution = relations.solve(parsed)
    assert solution.best is not None and solution.best.value == Decimal("2729.52")
    assert [r.kind for r in solution.best.relations] == ["repeat"]


def test_a_misread_figure_loses_to_the_printed_sum_and_the_amount_in_words() -> None:
    parsed = ParsedExpense(
        summary_fields=[_field("TOTAL", "2415.50", "合计"), _field("TAX", "314.02", "税额"),
                        _field("TOTAL", "¥2729.00", "(小写)")],
        lines=["合计 2415.50 314.02", "价税合计(大写)贰仟柒佰贰拾玖元伍角贰分", "(小写)¥2729.00"],
    )
    solution = relations.solve(parsed)
    assert solution.best is not None and solution.best.value == Decimal("2729.52")
