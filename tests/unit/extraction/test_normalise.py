"""Normalisation rules against tables of strings as they appear on real receipts and in OCR output."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from chalicelib.extraction import normalise

D = datetime.date


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("HK$1,234.50", Decimal("1234.50")),
        ("HKS1 234", Decimal("1234")),
        ("HK$ 6,800.00", Decimal("6800.00")),
        ("$106.00", Decimal("106.00")),
        ("總金額 $106.00", Decimal("106.00")),
        ("１２３.５０", Decimal("123.50")),
        ("1O.5O", Decimal("10.50")),
        ("$63.0", Decimal("63.0")),
        ("$34. 90", Decimal("34.90")),
        ("-158.00", Decimal("-158.00")),
        ("$-10.2", Decimal("-10.2")),
        ("RMB 813.02", Decimal("813.02")),
        ("¥8,042", Decimal("8042")),
        ("MOP$45.00", Decimal("45.00")),
        ("(12.50)", Decimal("-12.50")),
        ("Total", None),
        ("", None),
    ],
)
def test_parse_amount(text: str, expected: Decimal | None) -> None:
    assert normalise.parse_amount(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026年11月3日", D(2026, 11, 3)),
        ("日期: 2026 年 11 月 3 日 12:30", D(2026, 11, 3)),
        ("03/11/2026", D(2026, 11, 3)),  # day first, as in Hong Kong
        ("3 Nov 2026", D(2026, 11, 3)),
        ("03 MAR 2018", D(2018, 3, 3)),
        ("2026-11-03", D(2026, 11, 3)),
        ("07-11-25", D(2025, 11, 7)),
        ("20251117/15:26", D(2025, 11, 17)),
        ("12/30/2016FRI", D(2016, 12, 30)),  # impossible day-first reading is swapped
        ("0ct 3, 2016", D(2016, 10, 3)),
        ("28/11/202519:59:33", D(2025, 11, 28)),  # OCR glued the time on
        ("落單時間: 2025-10-2514:46:06", D(2025, 10, 25)),
        ("12 March 2020", D(2020, 3, 12)),
        ("01-Jan-2021", D(2021, 1, 1)),
        ("Tel: 2461 9838", None),
        ("1999/01/01", None),  # before 2000: not a receipt date here
    ],
)
def test_first_date_found(text: str, expected: datetime.date | None) -> None:
    assert first_date(text, today=D(2026, 11, 25)) == expected


def first_date(text: str, **kwargs) -> datetime.date | None:
    found = normalise.find_dates(text, **kwargs)
    return found[0][0] if found else None


def test_month_first_when_asked() -> None:
    assert first_date("12/07/2019", day_first=False) == D(2019, 12, 7)
    assert first_date("12/07/2019") == D(2019, 7, 12)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("總金額 HK$106.00", "HKD"),
        ("港幣 100", "HKD"),
        ("Total $58.00", "HKD"),  # a bare $ in Hong Kong
        ("實付 RMB 813.02", "CNY"),
        ("人民币 12.00 微信支付", "CNY"),
        ("合計 ¥1,200 ありがとうございました", "JPY"),
        ("小計 ¥100 商品 會員", "CNY"),
        ("8,042円 税込", "JPY"),
        ("MOP$ 45.00 澳門元", "MOP"),
        ("NT$ 300", "TWD"),
        ("US$ 12.00", "USD"),
        ("TOTAL RM 12.50", "MYR"),
    ],
)
def test_detect_currency(text: str, code: str) -> None:
    assert normalise.detect_currency(text)[0] == code


def test_no_currency_sign_gives_none() -> None:
    assert normalise.detect_currency("Total 58.00") == (None, 0.0)


@pytest.mark.parametrize(
    ("label", "role"),
    [
        ("總金額", "TOTAL"),
        ("总额", "TOTAL"),
        ("合計", "TOTAL"),
        ("總計", "TOTAL"),
        ("應付", "TOTAL"),
        ("实付合计：", "TOTAL"),
        ("Grand Total", "TOTAL"),
        ("Amount Due", "TOTAL"),
        ("TOTAL", "TOTAL"),
        ("小計金額", "SUBTOTAL"),
        ("Sub Total", "SUBTOTAL"),
        ("加一服務費", "SERVICE_CHARGE"),
        ("Service Charge 10%", "SERVICE_CHARGE"),
        ("折扣", "DISCOUNT"),
        ("抵扣合计", "DISCOUNT"),
        ("餘額:", "BALANCE"),
        ("余额", "BALANCE"),
        ("找續", "CHANGE"),
        ("找赎", "CHANGE"),
        ("Change", "CHANGE"),
        ("現金收", "TENDERED"),
        ("八達通", "AMOUNT_PAID"),
        ("VISA", "AMOUNT_PAID"),
        ("Total Saving", "IGNORE"),
        ("总价", "IGNORE"),
        ("日期", "DATE"),
    ],
)
def test_classify_label(label: str, role: str) -> None:
    found = normalise.classify_label(label)
    assert found is not None and found[0] == role


def test_unlabelled_text_has_no_role() -> None:
    assert normalise.classify_label("凍檸檬茶") is None


@pytest.mark.parametrize(
    ("text", "method"),
    [
        ("八達通", "Octopus"),
        ("VISA ****1234", "Visa"),
        ("支付寶", "AlipayHK"),
        ("轉數快 FPS", "FPS"),
        ("埋單", None),
    ],
)
def test_payment_method(text: str, method: str | None) -> None:
    assert normalise.payment_method(text) == method


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("McDonald's Hong Kong (211)", "McDonald's Hong Kong"),  # store number
        ("迎麵-青衣店/991", "迎麵-青衣店"),
        ("百佳 PARK∩SHOP", "百佳 PARKnSHOP"),  # OCR glyph slip
        ("東海堂·ア口一ム", "東海堂·アローム"),  # kanji look-alikes between katakana
        ("一品口", "一品口"),  # ...but not in Chinese text
    ],
)
def test_clean_vendor_ocr_slips(raw: str, clean: str) -> None:
    assert normalise.clean_vendor(raw) == clean


def test_clean_vendor_joins_lines_and_drops_decoration() -> None:
    assert normalise.clean_vendor("META\n-") == "META"
    assert normalise.clean_vendor("譚仔三哥米線\nTAMJAI SAMGOR") == "譚仔三哥米線 TAMJAI SAMGOR"
    assert normalise.clean_vendor(" \n- ") is None


def test_quantize_money() -> None:
    assert str(normalise.quantize_money(Decimal("63.0"), "HKD")) == "63.00"
    assert str(normalise.quantize_money(Decimal("8042.4"), "JPY")) == "8042"


@pytest.mark.parametrize(
    ("label", "role"),
    [
        ("Balance Due", "TOTAL"),  # not an Octopus balance
        ("Octopus Balance", "BALANCE"),
        ("Sales Tax", "TAX"),
        ("GST 6%:", "TAX"),
        ("Total (Inclusive of GST):", "TOTAL"),
        ("Total (Excluding GST):", "SUBTOTAL"),
        ("金額 AMOUNT HKD", "TOTAL"),
        ("NYC Tax", "TAX"),  # a word before "tax" (the label is compared without its spaces)
        ("Hotel Accommodation Tax 3%", "TAX"),
        ("Amount before tax", "SUBTOTAL"),
        ("Total after tax", "TOTAL"),
    ],
)
def test_classify_label_edge_cases(label: str, role: str) -> None:
    found = normalise.classify_label(label)
    assert found is not None and found[0] == role


@pytest.mark.parametrize("label", ["的士車資 Taxi Fare", "Tax Invoice", "GST REG NO", "Thank you, unless"])
def test_not_money_labels(label: str) -> None:
    found = normalise.classify_label(label)
    assert found is None or found[0] not in ("TAX", "DISCOUNT", "TOTAL")


@pytest.mark.parametrize("text, value", [
    ("HK$4,770:05", Decimal("4770.05")),  # a decimal point read as a colon after thousands
    ("$12:50", Decimal("12.50")),  # or after a currency sign
])
def test_a_colon_is_a_decimal_point_where_a_time_cannot_be(text, value):
    assert normalise.parse_amount(text) == value


@pytest.mark.parametrize("text", ["12:50", "15:30:05", "Time 1,2:30"])
def test_a_time_keeps_its_colon(text):
    assert "." not in normalise.clean_amount_text(text)


@pytest.mark.parametrize("text, value", [
    ("价税合计(大写)贰仟柒佰贰拾玖元伍角贰分", Decimal("2729.52")),
    ("人民幣壹萬貳仟參佰肆拾伍元陸角柒分", Decimal("12345.67")),
    ("壹拾元整", Decimal("10")),
    ("叁佰元零伍分", Decimal("300.05")),
    ("壹亿贰仟万元整", Decimal("120000000")),
    ("壹万零伍元", Decimal("10005")),
])
def test_amounts_in_financial_numerals(text, value):
    assert normalise.amounts_in_words(text) == [value]


@pytest.mark.parametrize("text", ["伍角", "一百元", "開票人：陳靜"])  # no 元, ordinary numerals, no amount
def test_text_without_a_financial_amount_gives_none(text):
    assert normalise.amounts_in_words(text) == []


@pytest.mark.parametrize("text, code", [
    ("AmountDue $486.20", "HKD"), ("PAYMENTDUE $5", "HKD"), ("Liqueur $20", "HKD"), ("EUROPE TOUR $9", "HKD"),
    ("NTD 300", "TWD"), ("EUR 12.00", "EUR"), ("US$ 12.00", "USD"), ("Total: USD64.00", "USD"),
])
def test_a_currency_code_is_read_as_printed_not_inside_a_word(text, code):
    assert normalise.detect_currency(text)[0] == code
