"""The extraction use case: document bytes → ``ExtractedReceipt``.

Why this order (documents → OCR → AnalyzeExpense-shaped dict → trp parse → resolve): every source of text, our
OCR, a PDF text layer or a real Textract response, meets the same parser and the same Hong Kong rules, so a
receipt gets the same answer whichever way it was read, and the intermediate dict can be stored for audit.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field

from PIL import Image

from .analyze_expense import build_analyze_expense
from .documents import load_document
from .image_hash import receipt_hash
from .models import BoundingBox, ExtractedReceipt, OcrLine
from .ocr_engine import OcrEngine, default_engine
from .privacy import mask_personal_data
from .resolve import (  # noqa: F401  (thresholds re-exported for callers and tests)
    CURRENCY_CONFIDENCE_THRESHOLD,
    DATE_CONFIDENCE_THRESHOLD,
    TAX_CONFIDENCE_THRESHOLD,
    TOTAL_CONFIDENCE_THRESHOLD,
    receipt_from_parsed,
)
from .text_hash import text_hash
from .textract_parse import parse_expense_documents
from .vendor_match import VendorDirectory, apply_directory

logger = logging.getLogger(__name__)


#: A page is probably sideways or upside down (a scan without EXIF orientation) when its lines read badly
#: (upright receipts measure a mean confidence of 0.88-0.99, upside-down ones ~0.6) or when most text boxes
#: are taller than wide (PP-OCR reads a sideways line with high confidence, but rows then cannot be paired by
#: geometry).
ORIENTATION_RETRY_BELOW = 0.80
MAX_TALL_LINE_SHARE = 0.5
#: Stop trying rotations once one reads this well.
ORIENTATION_GOOD_ENOUGH = 0.88


def _orientation_score(lines: list[OcrLine], size: tuple[int, int]) -> tuple[float, float]:
    """(mean confidence, share of multi-character lines whose box is taller than wide)."""
    if not lines:
        return 0.0, 0.0
    mean = sum(line.confidence for line in lines) / len(lines)
    words = [line for line in lines if len(line.text) >= 3]
    tall = sum(line.box.height * size[1] > line.box.width * size[0] for line in words)
    return mean, (tall / len(words) if words else 0.0)


def read_upright(engine: OcrEngine, image: Image.Image, page: int = 1) -> list[OcrLine]:
    """OCR a page; if it looks sideways or upside down, try it turned 90°, 270° and 180° and keep the best."""
    return read_upright_turn(engine, image, page)[0]


def read_upright_turn(engine: OcrEngine, image: Image.Image, page: int = 1) -> tuple[list[OcrLine], int]:
    """`read_upright`, and the turn (degrees, counter-clockwise) that made the page upright."""
    best = engine.read(image, page)
    best_angle = 0
    mean, tall = _orientation_score(best, image.size)
    if mean >= ORIENTATION_RETRY_BELOW and tall <= MAX_TALL_LINE_SHARE:
        return best, 0
    best_score = mean * (1 - tall)
    for angle in (90, 270, 180):
        turned = image.rotate(angle, expand=True)
        lines = engine.read(turned, page)
        mean, tall = _orientation_score(lines, turned.size)
        if mean * (1 - tall) > best_score:
            best, best_score, best_angle = lines, mean * (1 - tall), angle
        if best_score >= ORIENTATION_GOOD_ENOUGH:
            break
    logger.info("page %d: best orientation scores %.2f after retries", page, best_score)
    return best, best_angle


@dataclass
class ExtractionResult:
    """A receipt with the evidence behind it (the AnalyzeExpense-shaped response and the OCR lines)."""

    receipt: ExtractedReceipt
    response: dict
    lines: list[list[OcrLine]] = field(default_factory=list)


def extract_document_detailed(
    data: bytes, filename: str, *, engine: OcrEngine | None = None, today: datetime.date | None = None,
    vendors: VendorDirectory | None = None,
) -> ExtractionResult:
    """Like ``extract_document`` but also returns the response dict and the OCR lines."""
    pages = load_document(data, filename)
    page_lines: list[list[OcrLine]] = []
    upright: dict[int, Image.Image] = {}  # the page images as the OCR read them, for the perceptual hash
    for page in pages:
        if page.has_text:
            page_lines.append(page.lines)
        else:
            assert page.image is not None
            lines, turn = read_upright_turn(engine or default_engine(), page.image, page.number)
            page_lines.append(lines)
            upright[page.number] = page.image.rotate(turn, expand=True) if turn else page.image
    response = build_analyze_expense(page_lines)
    receipt = with_image_hashes(receipts_from_response(response, today=today, vendors=vendors), upright)
    if not any(page_lines):
        reasons = ["no text could be read (blank, dark or unreadable image)", *receipt.review_reasons]
        receipt = receipt.model_copy(update={"needs_review": True, "review_reasons": reasons})
    if logger.isEnabledFor(logging.DEBUG):
        text = " | ".join(line.text for lines in page_lines for line in lines)
        logger.debug("extracted %s: %s", filename, mask_personal_data(text))
    logger.info(
        "extracted %s: needs_review=%s reasons=%s",
        filename,
        receipt.needs_review,
        mask_personal_data("; ".join(receipt.review_reasons)),
    )
    return ExtractionResult(receipt=receipt, response=response, lines=page_lines)


def with_image_hashes(receipt: ExtractedReceipt, images: dict[int, Image.Image]) -> ExtractedReceipt:
    """Each receipt with the perceptual hash of its image: the first photographed page for a one-receipt file,
    the part's region of its page for a file holding several. Text (a PDF's layer, an e-mail) has none. A hash
    that cannot be made is left out: it finds duplicates, it never fails a receipt."""
    def one(image: Image.Image | None, region: BoundingBox | None) -> str | None:
        if image is None:
            return None
        try:
            box = (region.left, region.top, region.width, region.height) if region is not None else None
            return receipt_hash(image, box)
        except (ValueError, OSError, MemoryError):
            logger.warning("no perceptual hash for a receipt image", exc_info=True)
            return None

    if not images:
        return receipt
    if not receipt.parts:
        return receipt.model_copy(update={"image_hash": one(images[min(images)], None)})
    parts = [p.model_copy(update={"image_hash": one(images.get(p.source_page or 1), p.source_region)})
             for p in receipt.parts]
    return receipt.model_copy(update={"parts": parts, "image_hash": parts[0].image_hash})


def extract_document(data: bytes, filename: str, *, engine: OcrEngine | None = None,
                     vendors: VendorDirectory | None = None) -> ExtractedReceipt:
    """Read a receipt (PNG, JPEG or PDF bytes); raises ``UnsupportedDocument`` / ``DocumentTooLarge``."""
    return extract_document_detailed(data, filename, engine=engine, vendors=vendors).receipt


def parse_textract_response(resp: dict, *, vendors: VendorDirectory | None = None) -> ExtractedReceipt:
    """The same result from a saved Amazon Textract AnalyzeExpense / GetExpenseAnalysis response."""
    return receipts_from_response(resp, vendors=vendors)


def receipts_from_response(resp: dict, *, today: datetime.date | None = None,
                           vendors: VendorDirectory | None = None) -> ExtractedReceipt:
    """The receipt of a response, its vendor matched against the directory; when it holds several, the first one
    carries all of them in ``parts`` and asks for review, so nobody makes a claim of the first one only without
    seeing the others."""
    receipts = [
        apply_directory(receipt_from_parsed(parsed, today=today), parsed.lines, vendors).model_copy(
            update={"text_hash": text_hash(parsed.lines or [f.value for f in parsed.summary_fields])})
        for parsed in parse_expense_documents(resp)
    ]
    first = receipts[0]
    if len(receipts) == 1:
        return first.model_copy(update={"source_page": None, "source_region": None})
    reason = f"this file holds {len(receipts)} receipts; each becomes its own expense"
    return first.model_copy(update={
        "parts": receipts, "needs_review": True, "review_reasons": [reason, *first.review_reasons],
    })
