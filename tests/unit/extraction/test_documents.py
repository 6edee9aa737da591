"""Bad input is refused with a reason a person can act on; good input is decoded the right way up."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from chalicelib.extraction import extract_document
from chalicelib.extraction.documents import load_document, sniff_type
from chalicelib.extraction.models import DocumentTooLarge, UnsupportedDocument
from tests.receipts import blank_pdf


class _NoOcr:
    """An engine that must not be reached."""

    def read(self, image, page=1):  # pragma: no cover - failing path
        raise AssertionError("OCR should not run for a rejected document")


def _png(size=(40, 30), color="white") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


def test_text_file_is_unsupported() -> None:
    with pytest.raises(UnsupportedDocument) as exc:
        extract_document(b"hello, this is not a receipt\n", "notes.txt", engine=_NoOcr())
    assert "PNG, JPEG or PDF" in exc.value.reason


def test_corrupt_jpeg_is_unsupported() -> None:
    with pytest.raises(UnsupportedDocument):
        extract_document(b"\xff\xd8\xff\xe0" + b"\x00garbage" * 50, "broken.jpg", engine=_NoOcr())


def test_truncated_png_is_unsupported() -> None:
    data = _png((400, 300), "red")
    with pytest.raises(UnsupportedDocument):
        extract_document(data[: len(data) // 2], "half.png", engine=_NoOcr())


def test_empty_file_is_unsupported() -> None:
    with pytest.raises(UnsupportedDocument):
        load_document(b"", "empty.png")


def test_oversize_file_is_refused_before_decoding() -> None:
    data = _png() + b"\x00" * 2048
    with pytest.raises(DocumentTooLarge) as exc:
        load_document(data, "big.png", max_bytes=1024)
    assert "limit" in exc.value.reason


def test_default_size_limit_is_15_mb() -> None:
    with pytest.raises(DocumentTooLarge):
        extract_document(b"\x89PNG\r\n\x1a\n" + b"\x00" * (15 * 1024 * 1024), "huge.png", engine=_NoOcr())


def test_pdf_page_limit() -> None:
    pages = [Image.new("RGB", (200, 300), "white") for _ in range(3)]
    buf = io.BytesIO()
    pages[0].save(buf, format="PDF", save_all=True, append_images=pages[1:])
    with pytest.raises(DocumentTooLarge):
        load_document(buf.getvalue(), "three.pdf", max_pages=2)
    loaded = load_document(buf.getvalue(), "three.pdf")
    assert [p.number for p in loaded] == [1, 2, 3] and all(p.image is not None for p in loaded)


def test_corrupt_pdf_is_unsupported() -> None:
    with pytest.raises(UnsupportedDocument):
        load_document(b"%PDF-1.7\n% nothing else here", "bad.pdf")


def test_exif_orientation_is_applied() -> None:
    img = Image.new("RGB", (300, 100), "white")
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: rotate 90° clockwise to view
    buf = io.BytesIO()
    img.save(buf, format="JPEG", exif=exif)
    (page,) = load_document(buf.getvalue(), "sideways.jpg")
    assert page.image is not None and page.image.size == (100, 300)


def test_large_photo_is_downscaled() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (4000, 3000), "white").save(buf, format="JPEG")
    (page,) = load_document(buf.getvalue(), "photo.jpg")
    assert page.image is not None and max(page.image.size) == 2000


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"\x89PNG\r\n\x1a\nxxxx", "png"),
        (b"\xff\xd8\xff\xe1xx", "jpeg"),
        (b"%PDF-1.4\n", "pdf"),
        (b"GIF89a", None),
    ],
)
def test_sniff_type(data: bytes, kind: str | None) -> None:
    assert sniff_type(data) == kind


def _text_pdf(lines: list[str]) -> bytes:
    """A minimal one-page PDF with a real text layer (Helvetica), written by hand."""
    content = "BT /F1 14 Tf 50 780 Td 18 TL " + " ".join(f"({t}) Tj T*" for t in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 400 842] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{obj}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def test_pdf_text_layer_is_read_without_ocr() -> None:
    data = _text_pdf(["HARBOUR COFFEE", "Date: 12/09/2026", "Coffee Beans      188.00", "TOTAL  HK$ 188.00"])
    (page,) = load_document(data, "invoice.pdf")
    assert page.has_text and any("TOTAL" in ln.text for ln in page.lines)
    receipt = extract_document(data, "invoice.pdf", engine=_NoOcr())
    assert str(receipt.total) == "188.00"
    assert receipt.date is not None and receipt.date.isoformat() == "2026-09-12"
    assert receipt.currency == "HKD"


def test_heic_without_decoder_is_refused_with_a_reason() -> None:
    data = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
    assert sniff_type(data) == "heic"
    with pytest.raises(UnsupportedDocument):
        extract_document(data, "IMG_0001.HEIC", engine=_NoOcr())


class _BlankOcr:
    def read(self, image, page=1):
        return []


def test_blank_image_goes_to_review_with_a_reason() -> None:
    receipt = extract_document(_png((300, 400)), "blank.png", engine=_BlankOcr())
    assert receipt.needs_review and receipt.total is None
    assert receipt.review_reasons[0].startswith("no text could be read")



@pytest.fixture
def renders(monkeypatch):
    """The scale of every page render; the real render runs at a tiny scale so no test allocates a bomb."""
    import pypdfium2 as pdfium

    scales: list[float] = []
    real = pdfium.PdfPage.render

    def spy(self, scale=1, **kwargs):
        scales.append(scale)
        return real(self, scale=0.02, **kwargs)

    monkeypatch.setattr(pdfium.PdfPage, "render", spy)
    return scales


def test_a_huge_pdf_page_is_rendered_within_the_pixel_budget(renders) -> None:
    from chalicelib.extraction.documents import MAX_RENDER_PIXELS, PDF_RENDER_DPI

    data = blank_pdf(4000, 4000)  # 89 MP at 170 dpi: before, 722 MB peak for a file of under 1 KB
    assert len(data) < 1024
    [page] = load_document(data, "bomb.pdf")
    [scale] = renders
    assert round(4000 * scale) ** 2 <= MAX_RENDER_PIXELS and scale < PDF_RENDER_DPI / 72
    assert page.image is not None

    renders.clear()
    load_document(blank_pdf(595, 842), "a4.pdf")  # an ordinary page keeps the full resolution
    assert renders == [PDF_RENDER_DPI / 72]


def test_a_pdf_page_too_large_to_read_is_refused_before_rendering(renders) -> None:
    with pytest.raises(DocumentTooLarge) as exc:
        load_document(blank_pdf(14400, 14400), "poster.pdf")
    assert "Page 1 of the PDF is 508 x 508 cm" in exc.value.reason
    assert renders == []


def test_running_out_of_memory_while_rendering_is_a_clear_failure(monkeypatch) -> None:
    import pypdfium2 as pdfium

    def exhausted(self, **kwargs):
        raise MemoryError

    monkeypatch.setattr(pdfium.PdfPage, "render", exhausted)
    with pytest.raises(DocumentTooLarge) as exc:
        load_document(blank_pdf(595, 842), "a4.pdf")
    assert "needs more memory to read than is available" in exc.value.reason
