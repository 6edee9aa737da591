"""The AnalyzeExpense builder and the resolver on hand-placed OCR lines: fast, no OCR model, exact layouts."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from chalicelib.extraction.analyze_expense import build_analyze_expense
from chalicelib.extraction.models import BoundingBox, OcrLine
from chalicelib.extraction.resolve import receipt_from_parsed
from chalicelib.extraction.textract_parse import parse_expense_response

TODAY = datetime.date(2026, 11, 25)


def line(text: str, left: float, top: float, width: float = 0.2, height: float = 0.03, conf: float = 0.99):
    return OcrLine(
        text=text, confidence=conf, box=BoundingBox(left=left, top=top, width=width, height=height)
    )


def receipt(rows: list[tuple[str, str | None]], header: list[str] | None = None, slope: float = 0.0):
    """Lines for a receipt: header lines centred, then (label, amount) rows with the amount right-aligned."""
    lines = [line(h, 0.3, 0.02 + 0.04 * i, width=0.4) for i, h in enumerate(header or ["金記茶餐廳"])]
    y = 0.3
    for label, amount in rows:
        lines.append(line(label, 0.05, y))
        if amount is not None:
            lines.append(line(amount, 0.75, y + slope * 0.7, width=0.15))
        y += 0.045
    return lines


def resolve(lines):
    response = build_analyze_expense([lines])
    return receipt_from_parsed(parse_expense_response(response), today=TODAY), response


def test_total_is_paired_with_its_amount_by_row_not_order() -> None:
    r, _ = resolve(
        receipt(
            [
                ("日期: 03/11/2026", None),
                ("叉燒飯", "$48.00"),
                ("凍檸檬茶", "$24.00"),
                ("小計", "$72.00"),
                ("加一服務費", "$7.20"),
                ("總計", "$79.20"),
                ("八達通", "$79.20"),
                ("餘額", "$120.80"),
            ]
        )
    )
    assert r.total == Decimal("79.20")
    assert r.subtotal == Decimal("72.00") and r.service_charge == Decimal("7.20")
    assert r.date == datetime.date(2026, 11, 3)  # day first
    assert r.payment_method == "Octopus"
    assert r.currency == "HKD"
    assert not r.needs_review, r.review_reasons


def test_octopus_balance_and_cash_tendered_are_never_the_total() -> None:
    r, response = resolve(
        receipt(
            [
                ("2026-05-01", None),
                ("餐蛋麵", "38.00"),
                ("合計", "38.00"),
                ("現金", "500.00"),
                ("找續", "462.00"),
            ]
        )
    )
    assert r.total == Decimal("38.00")
    other = [f for f in response["ExpenseDocuments"][0]["SummaryFields"] if f["Type"]["Text"] == "OTHER"]
    assert {f["ValueDetection"]["Text"] for f in other} == {"500.00", "462.00"}


def test_net_payable_beats_gross_total() -> None:
    r, _ = resolve(
        receipt(
            [
                ("2026/11/11", None),
                ("總金額", "80.00"),
                ("促銷優惠總金額", "-16.00"),
                ("實際應付金額", "64.00"),
                ("八達通", "64.00"),
                ("餘額", "22.10"),
            ]
        )
    )
    assert r.total == Decimal("64.00")
    assert not r.needs_review, r.review_reasons


def test_total_after_service_charge_beats_pre_charge_total() -> None:
    r, _ = resolve(
        receipt(
            [
                ("2025/11/26", None),
                ("合計", "$239.0"),
                ("服務費（10%）", "$23.9"),
                ("總金額", "$262.9"),
            ]
        )
    )
    assert r.total == Decimal("262.90")
    assert not r.needs_review, r.review_reasons


def test_unrelated_totals_go_to_review() -> None:
    r, _ = resolve(receipt([("2025-11-02", None), ("Total", "$120.00"), ("TOTAL", "$95.00")]))
    assert r.needs_review
    assert any("several different totals" in reason for reason in r.review_reasons)


def test_subtotal_only_gives_a_total_that_needs_review() -> None:
    r, _ = resolve(
        receipt(
            [
                ("2025-10-27", None),
                ("泰式炒飯", "58.00"),
                ("海南雞飯", "58.00"),
                ("Subtotal:", "116.00"),
            ]
        )
    )
    assert r.total == Decimal("116.00")
    assert r.needs_review


def test_cash_only_receipt_total_is_tendered_minus_change() -> None:
    r, _ = resolve(receipt([("09/03/2018", None), ("DPT.05", "RM 149.00"), ("CASH", "RM 170.00")]))
    assert r.total == Decimal("170.00")
    assert r.currency == "MYR"
    assert r.needs_review  # a guess from the cash line


def test_no_total_and_no_date() -> None:
    r, _ = resolve(receipt([("多謝惠顧", None)]))
    assert r.total is None and r.date is None
    assert r.needs_review and {"no total found", "no date found"} <= set(r.review_reasons)


def test_last_top_up_date_is_not_the_transaction_date() -> None:
    r, _ = resolve(
        receipt(
            [
                ("總計", "$31.0"),
                ("上一次於17/11/2025現金增值", None),
                ("09:08AM 18-11-25", None),
            ]
        )
    )
    assert r.date == datetime.date(2025, 11, 18)


def test_future_date_goes_to_review() -> None:
    r, _ = resolve(receipt([("日期 2027-03-01", None), ("總計", "$31.0")]))
    assert r.needs_review and any("future" in reason for reason in r.review_reasons)


def test_residual_tilt_is_corrected() -> None:
    rows = [
        ("2026-01-05", None),
        ("A", "$10.00"),
        ("B", "$20.00"),
        ("小計", "$30.00"),
        ("總計", "$33.00"),
        ("加一", "$3.00"),
    ]
    r, _ = resolve(receipt(rows, slope=0.02))
    assert r.total == Decimal("33.00")


def test_bilingual_vendor_from_two_header_lines() -> None:
    r, _ = resolve(
        receipt([("2026-01-05", None), ("總計", "$33.00")], header=["大快活", "Fairwood", "Tel: 2345 6789"])
    )
    assert r.vendor == "大快活 Fairwood"


def test_builder_output_is_analyze_expense_shaped() -> None:
    _, response = resolve(receipt([("2026-01-05", None), ("奶茶", "$18.00"), ("總計", "$18.00")]))
    doc = response["ExpenseDocuments"][0]
    assert response["DocumentMetadata"]["Pages"] == 1 and doc["ExpenseIndex"] == 1
    total = next(f for f in doc["SummaryFields"] if f["Type"]["Text"] == "TOTAL")
    assert total["LabelDetection"]["Text"] == "總計"
    assert total["ValueDetection"]["Text"] == "$18.00"
    assert set(total["ValueDetection"]["Geometry"]) == {"BoundingBox", "Polygon"}
    assert len(total["ValueDetection"]["Geometry"]["Polygon"]) == 4
    assert total["Currency"]["Code"] == "HKD"
    assert 0 <= total["Type"]["Confidence"] <= 100
    items = doc["LineItemGroups"][0]["LineItems"]
    assert [f["Type"]["Text"] for f in items[0]["LineItemExpenseFields"]] == ["ITEM", "PRICE", "EXPENSE_ROW"]


@pytest.mark.parametrize(("text", "code"), [("¥8,042 税込", "JPY"), ("实付合计 ¥813.02 会员 谢谢", "CNY")])
def test_currency_from_receipt_text(text: str, code: str) -> None:
    r, _ = resolve(receipt([("2025-10-24", None), (text, None), ("合計", "¥813.02")]))
    assert r.currency == code


def test_item_table_header_is_not_a_total() -> None:
    lines = receipt(
        [
            ("17/11/2025 09:47:59", None),
            ("1 豬柳蛋漢堡餐", "23.00"),
            ("小計", "23.00"),
            ("堂食 Total", "23.00"),
        ]
    )
    # header row "数量 产品 | 總數(HKD$)" printed on the same row as the first item's price
    lines += [
        line("数量 产品", 0.05, 0.255),
        line("總數(HKD$)", 0.6, 0.255, width=0.2),
        line("50.50", 0.75, 0.26),
    ]
    r, _ = resolve(lines)
    assert r.total == Decimal("23.00")
    assert not any("several different totals" in reason for reason in r.review_reasons)


def test_card_slip_amount_is_a_total() -> None:
    r, _ = resolve(
        receipt([("2026-03-14 18:22", None), ("VISA SALE 銷售", None), ("金額 AMOUNT", "HKD 123.00")])
    )
    assert r.total == Decimal("123.00")


@pytest.mark.parametrize("label", ["餘額 Remaining Value", "RV", "八達通餘額："])
def test_stored_value_balance_labels(label: str) -> None:
    r, _ = resolve(
        receipt(
            [("2026-03-14", None), ("總數 Total", "$31.0"), ("八達通 Octopus", "$31.0"), (label, "$250.4")]
        )
    )
    assert r.total == Decimal("31.00")


def test_printed_name_beats_a_misread_logo() -> None:
    header = ["WONDERLANT", "奇趣大地", "Wonderland 奇趣天地", "Wonderland Superstore"]
    lines = receipt([("2025-11-22", None), ("總計", "$208.6")], header=header)
    # the logo is printed larger than the name line below it
    lines[0] = line("WONDERLANT", 0.3, 0.02, width=0.4, height=0.05)
    lines[1] = line("奇趣大地", 0.3, 0.07, width=0.4, height=0.05)
    r, _ = resolve(lines)
    assert r.vendor == "Wonderland 奇趣天地"


def test_an_absurdly_long_printed_total_does_not_break_the_resolver() -> None:
    """27 digits cannot be rounded to cents in Decimal's 28-digit context: before, InvalidOperation escaped."""
    huge = "$" + "9" * 27 + ".00"
    r, _ = resolve(receipt([("日期: 03/11/2026", None), ("叉燒飯", huge), ("總計", huge)]))
    assert r.total == Decimal("9" * 27 + ".00")  # kept as read; services/extraction.py sends it to review


def test_a_photo_tilted_by_most_of_a_row_is_paired_where_the_printed_sums_hold() -> None:
    """Each amount sits 0.035 above its label while rows are 0.045 apart: the nearest amount to each label is
    the next row's, and only the pairing one row over makes subtotal + 加一 = total and cash − change = total."""
    rows = [("2026-01-05", None), ("菠蘿包", "$18.00"), ("奶茶", "$16.00"), ("小計", "$34.00"), ("加一", "$3.40"),
            ("應付", "$37.40"), ("現金", "$100.00"), ("找零", "$62.60")]
    r, _ = resolve(receipt(rows, slope=-0.05))
    assert r.total == Decimal("37.40")
    assert r.subtotal == Decimal("34.00") and r.service_charge == Decimal("3.40")


def test_a_straight_receipt_is_not_re_paired_to_make_a_sum_hold() -> None:
    """Items that do not add up to the total (a discount the OCR missed) are no reason to pair rows differently:
    the total label keeps its own row's amount and the receipt goes to review with the sum in words."""
    rows = [("2026-01-05", None), ("A", "$10.00"), ("B", "$20.00"), ("C", "$5.00"), ("合計", "$32.00")]
    r, _ = resolve(receipt(rows))
    assert r.total == Decimal("32.00")


def test_an_invoice_names_its_seller_not_the_cashier_who_took_the_money() -> None:
    r, _ = resolve(
        receipt(
            [
                ("开票日期:2025年2月12日", None),
                ("*餐饮服务*餐费", "1748.00"),
                ("价税合计(小写)", "¥1748.00"),
                ("收款人:李强", None),
                ("销售方名称:上海浦江餐饮有限公司", None),
                ("开票人:陈静", None),
            ],
            header=["增值税普通发票"],
        )
    )
    assert r.vendor == "上海浦江餐饮有限公司"
