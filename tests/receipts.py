"""Receipt files for the pipeline tests: images from the renderer the demo uses, and tiny PDFs."""

import io

from harness.sample_receipts import receipt_png

__all__ = ["blank_pdf", "receipt_png"]


def blank_pdf(width_pt: float, height_pt: float) -> bytes:
    """A tiny PDF (a few hundred bytes) with one empty page of the given size: no text layer, so it is rendered."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument.new()
    pdf.new_page(width_pt, height_pt)
    buf = io.BytesIO()
    pdf.save(buf)
    pdf.close()
    return buf.getvalue()
