"""Receipt files for the pipeline tests: images from the renderer the demo uses, and tiny PDFs."""

import io
from datetime import date

from harness.sample_receipts import receipt_png

__all__ = ["LUNCH", "SUBMIT", "blank_pdf", "receipt_png"]

# The pipeline tests' usual receipt (vendor, date, lines) and what its claimant submits for it.
LUNCH = ("翠華餐廳 Tsui Wah Restaurant", date(2026, 11, 3), [("奶茶 Milk Tea", "38.00"), ("餐蛋麵 Noodles", "52.00")])
SUBMIT = {"total": "90.00", "currency": "HKD", "category": "meals", "vendor": "Tsui Wah",
          "receipt_date": "2026-11-03"}


def blank_pdf(width_pt: float, height_pt: float) -> bytes:
    """A tiny PDF (a few hundred bytes) with one empty page of the given size: no text layer, so it is rendered."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument.new()
    pdf.new_page(width_pt, height_pt)
    buf = io.BytesIO()
    pdf.save(buf)
    pdf.close()
    return buf.getvalue()
