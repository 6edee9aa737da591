"""Applying the vendor directory to an extracted receipt (and through the extraction service)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from chalicelib.domain.vendors import Vendor, VendorDirectory
from chalicelib.extraction.analyze_expense import build_analyze_expense
from chalicelib.extraction.models import BoundingBox, ExtractedReceipt, OcrLine
from chalicelib.extraction.service import parse_textract_response
from chalicelib.extraction.vendor_match import apply_directory, default_directory, tidy_read_name

BODY = ["請留意取餐號碼：1847", "01:21PM 07-11-25", "迷你粟米肉粒飯", "$38.00", "總數", "$38.00", "八達通", "$38.00",
        "餘額", "$102.50", "多謝光臨"]


def _receipt(vendor: str | None, vendor_conf: float = 0.72) -> ExtractedReceipt:
    return ExtractedReceipt(
        vendor=vendor, date=datetime.date(2025, 11, 7), total=Decimal("38.00"), tax=None, currency="HKD",
        confidence={"vendor": vendor_conf, "date": 0.9, "total": 0.9, "tax": 0.0, "currency": 0.9},
        needs_review=False, review_reasons=[],
    )


def test_a_known_chain_gets_its_canonical_name_id_and_a_higher_confidence():
    out = apply_directory(_receipt("大快活 Falrwood"), ["大快活", "Falrwood", *BODY])
    assert (out.vendor, out.vendor_read, out.vendor_id) == ("大快活 Fairwood", "大快活 Falrwood", "fairwood")
    assert out.confidence["vendor"] == pytest.approx(0.95)
    assert (out.total, out.date, out.confidence["total"]) == (Decimal("38.00"), datetime.date(2025, 11, 7), 0.9)


def test_the_directory_never_lowers_the_resolvers_confidence():
    out = apply_directory(_receipt("CIRCLE", vendor_conf=0.99), ["CIRCLE", *BODY])
    assert out.vendor == "Circle K" and out.confidence["vendor"] == 0.99


def test_a_vendor_named_only_in_the_header_fills_an_empty_vendor():
    out = apply_directory(_receipt(None, 0.0), ["三哥", "TAMJAI SAMGOR", "譚仔三哥米線", *BODY])
    assert (out.vendor, out.vendor_read, out.vendor_id) == ("譚仔三哥米線 TamJai SamGor", None, "tamjai-samgor")


def test_an_unknown_vendor_keeps_the_printed_name_with_its_branch():
    out = apply_directory(_receipt("Bangkok B.B.Q.(Tsing Yi)"), ["Bangkok B.B.Q.(Tsing Yi)", *BODY])
    assert (out.vendor, out.vendor_read, out.vendor_id) == ("Bangkok B.B.Q.(Tsing Yi)",) * 2 + (None,)
    assert out.confidence["vendor"] == 0.72


def test_no_vendor_stays_no_vendor():
    out = apply_directory(_receipt(None, 0.0), ["04/10/25 19:10", "Amount", *BODY])
    assert (out.vendor, out.vendor_id) == (None, None)


@pytest.mark.parametrize(("read", "expected"), [
    ("Pick Coffeę (Tsing Yi", "Pick Coffee (Tsing Yi)"),  # a speck under the e; the line cut before ")"
    ("Café de Paris", "Café de Paris"),  # a real accent stays
    ("U士多(啟田)", "U士多(啟田)"),
    ("譚家菜（北角", "譚家菜（北角）"),
])
def test_tidy_read_name(read, expected):
    assert tidy_read_name(read) == expected


def test_an_injected_directory_is_used_instead_of_the_seed():
    ise = Vendor(id="ise-do", names={"zh-Hant": "伊勢堂"}, category="meals", source="finance")
    directory = VendorDirectory([ise])
    assert apply_directory(_receipt("伊勢堂"), ["伊勢堂", *BODY], directory).vendor_id == "ise-do"
    assert apply_directory(_receipt("大快活"), ["大快活", *BODY], directory).vendor_id is None
    assert apply_directory(_receipt("伊勢堂"), ["伊勢堂", *BODY]).vendor_id is None


def test_the_seed_directory_is_loaded_once_per_process():
    assert default_directory() is default_directory()


def _response(lines: list[str]) -> dict:
    """The AnalyzeExpense-shaped response our own OCR path builds, from lines stacked down a page."""
    ocr = [OcrLine(text=t, confidence=0.95, box=BoundingBox(left=0.1, top=0.03 + 0.05 * i, width=0.5, height=0.03))
           for i, t in enumerate(lines)]
    return build_analyze_expense([ocr])


def test_a_saved_textract_response_gets_the_same_canonical_name():
    resp = _response(["Saizeriya", "薩莉亞意式餐原", *BODY])
    receipt = parse_textract_response(resp)
    assert (receipt.vendor, receipt.vendor_id) == ("薩莉亞意式餐廳 Saizeriya", "saizeriya")
    assert parse_textract_response(resp, vendors=VendorDirectory([])).vendor_id is None


def test_the_textract_backend_uses_the_directory_it_is_given():
    import json

    import boto3
    from botocore.stub import ANY, Stubber

    from chalicelib.adapters.textract import TextractExpense
    from tests.conftest import SHARED
    from tests.receipts import receipt_png

    saved = SHARED / "realdata" / "textract" / "trp_expense_sample2.analyze_expense.json"
    if not saved.exists():
        pytest.skip(f"real Textract response absent at {saved} (../shared/realdata is absent)")
    response = json.loads(saved.read_text("utf-8"))
    response.pop("ResponseMetadata", None)
    client = boto3.client("textract", region_name="ap-southeast-1", aws_access_key_id="x", aws_secret_access_key="x")
    png = receipt_png("Any Shop", datetime.date(2026, 11, 3), [("Item", "1.00")])
    finance_only = VendorDirectory([Vendor(id="costco-hk", names={"en": "Costco Hong Kong"}, aliases=("costco",),
                                           source="finance")])
    with Stubber(client) as stub:
        stub.add_response("analyze_expense", response, {"Document": {"Bytes": ANY}})
        receipt = TextractExpense(client, lambda: finance_only)(png, "receipt.png")
    assert (receipt.vendor_read, receipt.vendor_id, receipt.vendor) == ("costco", "costco-hk", "Costco Hong Kong")
