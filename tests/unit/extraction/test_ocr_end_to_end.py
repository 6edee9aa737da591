"""Generated receipts through the real offline OCR and every stage after it."""

from __future__ import annotations

import datetime
import io
import json
import random
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image

from chalicelib.cli import main as cli_main
from chalicelib.extraction import extract_document
from chalicelib.extraction.service import extract_document_detailed
from tools.receipt_generator import (
    FontNotFoundError,
    ReceiptSpec,
    add_noise,
    render_receipt,
    render_receipt_image,
)

CASES = [
    ReceiptSpec(
        vendor="翠園",
        vendor_en="JADE GARDEN",
        date=datetime.date(2026, 11, 3),
        items=[
            ("北京填鴨 Peking Duck", Decimal("4800.00")),
            ("清蒸石斑 Steamed Grouper", Decimal("1381.82")),
        ],
        service_charge=True,
        date_style="cjk",
        payment="Visa",
        round_to_dollar=True,
    ),
    ReceiptSpec(
        vendor="金記茶餐廳",
        date=datetime.date(2026, 2, 7),
        items=[("餐蛋麵", Decimal("38.00")), ("凍檸檬茶", Decimal("24.50"))],
        date_style="dmy",
        labels="zh",
        payment="Octopus",
        octopus_balance=Decimal("512.30"),
    ),
    ReceiptSpec(
        vendor="維港咖啡",
        vendor_en="HARBOUR COFFEE",
        date=datetime.date(2026, 9, 12),
        items=[("Coffee Beans", Decimal("188.00")), ("Milk Tea", Decimal("28.00"))],
        labels="en",
        date_style="dmon",
        payment="Cash",
        cash_tendered=Decimal("500.00"),
        discount=Decimal("10.00"),
    ),
]


@pytest.fixture(scope="module")
def fonts_ok() -> None:
    try:
        render_receipt_image(CASES[0])
    except FontNotFoundError as exc:
        pytest.skip(str(exc))


@pytest.mark.parametrize("spec", CASES, ids=["6800-bilingual-sc", "zh-octopus", "en-cash-discount"])
def test_generated_receipt(spec: ReceiptSpec, ocr_engine, fonts_ok, tmp_path: Path) -> None:
    path = tmp_path / "receipt.png"
    path.write_bytes(render_receipt(spec))
    receipt = extract_document(path.read_bytes(), path.name, engine=ocr_engine)
    assert receipt.total == spec.total
    assert receipt.date == spec.date
    assert receipt.currency == "HKD"


def test_six_thousand_eight_hundred(ocr_engine, fonts_ok) -> None:
    assert CASES[0].total == Decimal("6800.00")  # the demo's HK$6,800 dinner: 6181.82 + 10% service charge
    result = extract_document_detailed(render_receipt(CASES[0]), "dinner.png", engine=ocr_engine)
    types = {f["Type"]["Text"] for f in result.response["ExpenseDocuments"][0]["SummaryFields"]}
    assert {"TOTAL", "SUBTOTAL", "SERVICE_CHARGE", "INVOICE_RECEIPT_DATE", "VENDOR_NAME"} <= types
    assert result.receipt.service_charge == CASES[0].service_amount
    assert not result.receipt.needs_review, result.receipt.review_reasons


def test_noisy_jpeg_and_pdf(ocr_engine, fonts_ok) -> None:
    spec = CASES[1]
    img = add_noise(render_receipt_image(spec), random.Random(7))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=70)
    assert extract_document(buf.getvalue(), "noisy.jpg", engine=ocr_engine).total == spec.total
    pdf = io.BytesIO()
    Image.open(io.BytesIO(render_receipt(spec))).save(pdf, format="PDF", resolution=200)
    assert extract_document(pdf.getvalue(), "scan.pdf", engine=ocr_engine).total == spec.total


def test_cli_extract_handles_bad_files_and_exits_nonzero(
    ocr_engine, fonts_ok, tmp_path: Path, capsys, monkeypatch
) -> None:
    import chalicelib.extraction.ocr_engine as oe

    monkeypatch.setattr(oe, "_default_engine", ocr_engine)
    good = tmp_path / "good.png"
    good.write_bytes(render_receipt(CASES[1]))
    bad = tmp_path / "bad.txt"
    bad.write_text("not a receipt")
    status = cli_main(["extract", str(bad), str(good)])
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert status == 1
    assert out[0]["file"] == str(bad) and "error" in out[0]
    assert out[1]["total"] == str(CASES[1].total) and out[1]["date"] == CASES[1].date.isoformat()
    assert out[1]["currency"] == "HKD" and isinstance(out[1]["needs_review"], bool)


@pytest.mark.parametrize("angle", [90, 180])
def test_sideways_or_upside_down_scan_without_exif(ocr_engine, fonts_ok, angle: int) -> None:
    spec = CASES[2]
    buf = io.BytesIO()
    render_receipt_image(spec).rotate(angle, expand=True).save(buf, format="PNG")
    receipt = extract_document(buf.getvalue(), "rotated.png", engine=ocr_engine)
    assert receipt.total == spec.total
    assert receipt.date == spec.date


def test_iphone_heic_photo_stored_sideways_is_read_upright(ocr_engine, fonts_ok) -> None:
    """iPhones save HEIC with an EXIF orientation; the photo is decoded (pillow-heif) and read upright."""
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    spec = CASES[1]
    upright = render_receipt_image(spec).convert("RGB")
    stored = upright.rotate(90, expand=True)  # what the sensor wrote; EXIF 8 says "rotate 90° CW to view"
    exif = Image.Exif()
    exif[0x0112] = 8
    buf = io.BytesIO()
    stored.save(buf, format="HEIF", exif=exif.tobytes(), quality=90)
    assert buf.getvalue()[4:12] == b"ftypheic"
    receipt = extract_document(buf.getvalue(), "IMG_0042.HEIC", engine=ocr_engine)
    assert receipt.total == spec.total and receipt.date == spec.date
