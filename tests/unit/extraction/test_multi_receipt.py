"""Several receipts in one file become several receipts: a photo of two side by side, a PDF of two scans, a
Textract response with two ExpenseDocuments; and one receipt is never cut in two."""

from __future__ import annotations

import datetime
import io
import json
from decimal import Decimal

import pytest
from PIL import Image

from chalicelib.cli import main as cli_main
from chalicelib.extraction.models import BoundingBox, OcrLine
from chalicelib.extraction.segment import split_document
from chalicelib.extraction.service import extract_document_detailed, parse_textract_response
from tools.receipt_generator import FontNotFoundError, ReceiptSpec, render_receipt_image

TAXI = ReceiptSpec(vendor="城市的士", vendor_en="CITY TAXI", date=datetime.date(2026, 11, 3),
                   items=[("車資 Fare", Decimal("86.50"))], labels="en", payment="Octopus")
LUNCH = ReceiptSpec(vendor="金記茶餐廳", date=datetime.date(2026, 11, 4),
                    items=[("餐蛋麵", Decimal("38.00")), ("凍檸檬茶", Decimal("24.50"))], labels="zh", payment="Cash",
                    cash_tendered=Decimal("100.00"))


@pytest.fixture(scope="module")
def images():
    try:
        return render_receipt_image(TAXI), render_receipt_image(LUNCH)
    except FontNotFoundError as exc:
        pytest.skip(str(exc))


def _side_by_side(a: Image.Image, b: Image.Image) -> bytes:
    canvas = Image.new("RGB", (a.width + b.width + 160, max(a.height, b.height) + 80), (90, 90, 95))
    canvas.paste(a, (40, 40))
    canvas.paste(b, (a.width + 120, 40))
    out = io.BytesIO()
    canvas.save(out, "JPEG", quality=92)
    return out.getvalue()


def test_a_photo_of_two_receipts_side_by_side_is_two_receipts(images, ocr_engine, tmp_path, capsys) -> None:
    result = extract_document_detailed(_side_by_side(*images), "two.jpg", engine=ocr_engine,
                                       today=datetime.date(2026, 12, 1))
    parts = result.receipt.parts
    assert [p.total for p in parts] == [TAXI.total, LUNCH.total]
    assert [p.date for p in parts] == [TAXI.date, LUNCH.date]
    assert parts[0].source_region.right < parts[1].source_region.left  # left one first
    assert result.receipt.needs_review
    assert result.receipt.review_reasons[0] == "this file holds 2 receipts; each becomes its own expense"


def test_the_cli_prints_one_object_per_file_with_each_receipt(images, tmp_path, capsys) -> None:
    path = tmp_path / "two.jpg"
    path.write_bytes(_side_by_side(*images))
    assert cli_main(["extract", str(path)]) == 0
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(printed) == 1 and printed[0]["file"] == str(path)
    assert [r["total"] for r in printed[0]["receipts"]] == [str(TAXI.total), str(LUNCH.total)]
    assert printed[0]["needs_review"] is True


def test_a_pdf_of_two_scanned_receipts_is_two_receipts_with_their_pages(images, ocr_engine) -> None:
    out = io.BytesIO()
    images[0].save(out, "PDF", save_all=True, append_images=[images[1]], resolution=203)
    receipt = extract_document_detailed(out.getvalue(), "scans.pdf", engine=ocr_engine).receipt
    assert [(p.source_page, p.total) for p in receipt.parts] == [(1, TAXI.total), (2, LUNCH.total)]


def _line(text: str, left: float, top: float, width: float = 0.2) -> OcrLine:
    return OcrLine(text=text, confidence=0.98, box=BoundingBox(left=left, top=top, width=width, height=0.02))


def _receipt_lines(total: str, top: float = 0.1, left: float = 0.05, scale: float = 1.0) -> list[OcrLine]:
    rows = [("美心餅店", None), ("日期 03/11/2026", None), ("蛋撻", "12.00"), ("菠蘿包", "8.00"), ("合計", total)]
    lines = []
    for i, (label, amount) in enumerate(rows):
        y = top + i * 0.05 * scale
        lines.append(_line(label, left, y, 0.15))
        if amount:
            lines.append(_line(amount, left + 0.3 * scale, y, 0.08))
    return lines


def test_a_receipt_with_its_card_slip_below_stays_one_receipt() -> None:
    slip = [_line("VISA", 0.05, 0.6), _line("MERCHANT COPY", 0.05, 0.64), _line("DATE 03/11/2026", 0.05, 0.68),
            _line("CARD ****1234", 0.05, 0.72), _line("金額 AMOUNT", 0.05, 0.76), _line("HK$20.00", 0.35, 0.76, 0.08)]
    assert len(split_document([_receipt_lines("20.00") + slip])) == 1


def test_a_column_of_labels_beside_a_column_of_amounts_is_one_receipt() -> None:
    labels = [_line(t, 0.02, 0.1 + 0.05 * i) for i, t in enumerate(["Lunch set", "Coffee", "Tea", "Cake", "Total"])]
    amounts = [_line(t, 0.75, 0.1 + 0.05 * i, 0.1) for i, t in enumerate(["58.00", "28.00", "22.00", "30.00"])]
    amounts.append(_line("138.00", 0.75, 0.3, 0.1))
    assert len(split_document([[_line("Amount", 0.75, 0.05, 0.1), *labels, *amounts]])) == 1


def test_two_receipts_stacked_on_one_scan_are_two() -> None:
    parts = split_document([_receipt_lines("20.00", top=0.05) + _receipt_lines("45.50", top=0.55)])
    assert len(parts) == 2 and parts[0].region.bottom < parts[1].region.top


def test_a_second_page_without_a_total_continues_the_first() -> None:
    first = _receipt_lines("20.00")[:-2]  # items only
    assert len(split_document([first, _receipt_lines("20.00")])) == 1


def test_textract_reporting_two_receipts_gives_two(textract_dir) -> None:
    one = json.loads((textract_dir / "trp_expense_sample1.analyze_expense.json").read_text())
    two = json.loads((textract_dir / "trp_expense_sample2.analyze_expense.json").read_text())
    both = {**one, "ExpenseDocuments": one["ExpenseDocuments"] + two["ExpenseDocuments"]}
    receipt = parse_textract_response(both)
    assert [p.total for p in receipt.parts] == [Decimal("50.00"), Decimal("38.48")]
