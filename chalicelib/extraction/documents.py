"""Turn uploaded bytes into pages the OCR engine (or a PDF's own text layer) can read.

Why: uploads come from phones and mail clients, so the file name and the declared content type cannot be
trusted. The type is sniffed from magic bytes, limits are enforced before any decoding (a decompression bomb
must not exhaust the Lambda), EXIF orientation is applied (phones store many photos sideways), and large
photos are downscaled because OCR accuracy does not improve beyond ~2000 px while memory does grow.
"""

from __future__ import annotations

import io
import logging
import math
import os
from dataclasses import dataclass, field

from PIL import Image, ImageOps, UnidentifiedImageError

from . import text_receipt
from .models import BoundingBox, DocumentTooLarge, OcrLine, UnsupportedDocument

logger = logging.getLogger(__name__)

MAX_BYTES = 15 * 1024 * 1024
MAX_PDF_PAGES = 10
MAX_LONG_SIDE = int(os.environ.get("OCR_MAX_LONG_SIDE", "2000"))  # bench/ocr_speed.py measures choices
PDF_RENDER_DPI = 170
#: Pillow's own bomb guard, in pixels; a receipt photo is at most ~50 MP.
MAX_IMAGE_PIXELS = 80_000_000
#: Pixel budget for rendering one PDF page (40 MP, about 120 MB of RGB): a page is rendered at PDF_RENDER_DPI, or
#: at the lower resolution that fits the budget. The size is read from the page before rendering, because a
#: 551-byte PDF can declare a 4000 x 4000 pt page (89 MP at 170 dpi, 722 MB peak) or one far larger.
MAX_RENDER_PIXELS = 40_000_000
#: Below this resolution a receipt's print is unreadable: a page that only fits the budget lower is refused.
MIN_RENDER_DPI = 50
#: A text layer with fewer characters than this on a page is treated as absent (scanned PDFs often carry a few
#: stray characters).
MIN_TEXT_LAYER_CHARS = 20

Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS


@dataclass
class Page:
    """One page: either an image to OCR or lines already read (a PDF text layer, an e-mail receipt's HTML)."""

    number: int
    image: Image.Image | None = None
    lines: list[OcrLine] = field(default_factory=list)

    @property
    def has_text(self) -> bool:
        return bool(self.lines)


def sniff_type(data: bytes) -> str | None:
    """``"png"``, ``"jpeg"``, ``"pdf"``, ``"heic"`` from the first bytes, or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:1024].lstrip().startswith(b"%PDF-") or b"%PDF-" in data[:1024]:
        return "pdf"
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"heif", b"hevc"):
        return "heic"
    return None


def load_document(
    data: bytes, filename: str = "", *, max_bytes: int = MAX_BYTES, max_pages: int = MAX_PDF_PAGES
) -> list[Page]:
    """Validate and decode a document into pages; raises ``UnsupportedDocument`` / ``DocumentTooLarge``."""
    if len(data) > max_bytes:
        raise DocumentTooLarge(
            f"The file is {len(data) / 1_048_576:.1f} MB; the limit is {max_bytes / 1_048_576:.0f} MB."
        )
    if not data:
        raise UnsupportedDocument("The file is empty.")
    kind = sniff_type(data)
    if kind in ("png", "jpeg"):
        return [Page(number=1, image=decode_image(data))]
    if kind == "pdf":
        return _load_pdf(data, max_pages)
    if kind == "heic":
        return [Page(number=1, image=_decode_heic(data))]
    if text_receipt.looks_like_html(data, filename):  # an e-receipt mail body: its text is exact, no OCR
        lines = text_receipt.receipt_lines(data, filename)
        if not lines:
            raise UnsupportedDocument("The e-mail receipt has no visible text.")
        return [Page(number=1, lines=lines)]
    raise UnsupportedDocument(
        f"{filename or 'The file'} is not a PNG, JPEG or PDF; please upload a photo or a PDF of the receipt."
    )


def decode_image(data: bytes) -> Image.Image:
    """Decode PNG/JPEG bytes, apply EXIF orientation, convert to RGB and downscale the long side."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            opened.load()
            return _prepare(ImageOps.exif_transpose(opened))
    except Image.DecompressionBombError as exc:
        raise DocumentTooLarge("The image has too many pixels to process.") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UnsupportedDocument("The image is corrupt or truncated and cannot be read.") from exc


def _prepare(img: Image.Image) -> Image.Image:
    if img.mode not in ("RGB", "L"):
        background = Image.new("RGB", img.size, "white")
        rgba = img.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        img = background
    elif img.mode == "L":
        img = img.convert("RGB")
    long_side = max(img.size)
    if long_side > MAX_LONG_SIDE:
        scale = MAX_LONG_SIDE / long_side
        size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
        img = img.resize(size, Image.Resampling.LANCZOS)
    return img


def _decode_heic(data: bytes) -> Image.Image:
    try:
        import pillow_heif  # optional dependency
    except ImportError as exc:
        raise UnsupportedDocument("HEIC photos are not supported here; please upload a JPEG or PNG.") from exc
    pillow_heif.register_heif_opener()
    return decode_image(data)


def _load_pdf(data: bytes, max_pages: int) -> list[Page]:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except Exception as exc:  # pdfium raises its own PdfiumError for every kind of damage
        raise UnsupportedDocument("The PDF is corrupt or password-protected and cannot be read.") from exc
    try:
        n = len(pdf)
        if n == 0:
            raise UnsupportedDocument("The PDF has no pages.")
        if n > max_pages:
            raise DocumentTooLarge(f"The PDF has {n} pages; the limit is {max_pages}.")
        pages: list[Page] = []
        for i in range(n):
            page = pdf[i]
            try:
                lines = _text_layer_lines(page, i + 1)
                if sum(len(line.text) for line in lines) >= MIN_TEXT_LAYER_CHARS:
                    pages.append(Page(number=i + 1, lines=lines))
                    continue
                pages.append(Page(number=i + 1, image=_render(page, i + 1)))
            finally:
                page.close()
        return pages
    finally:
        pdf.close()


def render_scale(width_pt: float, height_pt: float, number: int = 1) -> float:
    """Points -> pixels factor for a page: PDF_RENDER_DPI, lowered to fit MAX_RENDER_PIXELS; refuses a page that
    would have to be rendered below MIN_RENDER_DPI (or has no area)."""
    area = width_pt * height_pt
    if not area > 0:
        raise UnsupportedDocument(f"Page {number} of the PDF has no size and cannot be read.")
    scale = min(PDF_RENDER_DPI / 72, math.floor((MAX_RENDER_PIXELS / area) ** 0.5 * 1000) / 1000)  # round down
    if scale < MIN_RENDER_DPI / 72:
        raise DocumentTooLarge(
            f"Page {number} of the PDF is {width_pt / 72 * 2.54:.0f} x {height_pt / 72 * 2.54:.0f} cm, far larger "
            f"than a receipt; please upload a photo or a PDF of the receipt itself."
        )
    return scale


def _render(page, number: int) -> Image.Image:
    width, height = page.get_size()
    scale = render_scale(width, height, number)
    try:
        return _prepare(page.render(scale=scale).to_pil())
    except MemoryError as exc:
        raise DocumentTooLarge(f"Page {number} of the PDF needs more memory to read than is available.") from exc


def _text_layer_lines(page, number: int) -> list[OcrLine]:
    """Lines of a PDF page's text layer with their boxes (page-relative, top-left origin)."""
    width, height = page.get_size()
    textpage = page.get_textpage()
    try:
        out: list[OcrLine] = []
        for i in range(textpage.count_rects()):
            left, bottom, right, top = textpage.get_rect(i)
            text = textpage.get_text_bounded(left, bottom, right, top).strip()
            if not text or width <= 0 or height <= 0:
                continue
            box = BoundingBox(
                left=max(0.0, left / width),
                top=max(0.0, (height - top) / height),
                width=max(0.0, (right - left) / width),
                height=max(0.0, (top - bottom) / height),
            )
            for part in text.splitlines():
                if part.strip():
                    out.append(OcrLine(text=part.strip(), confidence=0.99, box=box, page=number))
        return out
    finally:
        textpage.close()
