"""Pydantic models at the extraction stage's boundaries.

Why a separate module: the rest of the pipeline (claims, scoring, CLI) depends only on these shapes, never on
the OCR engine or the Textract parser, so either side can change without touching the other.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: The fields that carry a confidence score, in the order the CLI prints them.
SCORED_FIELDS: tuple[str, ...] = ("vendor", "date", "total", "tax", "currency")


class ExtractionError(Exception):
    """A document could not be extracted; ``reason`` is safe to show to the employee."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnsupportedDocument(ExtractionError):
    """Not a PNG, JPEG or PDF, or the bytes are corrupt and cannot be decoded."""


class DocumentTooLarge(ExtractionError):
    """Over the byte-size limit or the PDF page limit."""


class BoundingBox(BaseModel):
    """A box in page-relative coordinates (0..1), the convention Textract uses."""

    model_config = ConfigDict(frozen=True)

    left: float
    top: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.left + self.width

    @property
    def bottom(self) -> float:
        return self.top + self.height

    @property
    def center_y(self) -> float:
        return self.top + self.height / 2

    @classmethod
    def around(cls, boxes: Iterable[BoundingBox]) -> BoundingBox | None:
        """The smallest box holding all of ``boxes`` (None for none): a row, a receipt's region on its page."""
        boxes = list(boxes)
        if not boxes:
            return None
        left, top = min(b.left for b in boxes), min(b.top for b in boxes)
        right, bottom = max(b.right for b in boxes), max(b.bottom for b in boxes)
        return cls(left=left, top=top, width=right - left, height=bottom - top)


class OcrLine(BaseModel):
    """One recognised text box on one page."""

    model_config = ConfigDict(frozen=True)

    text: str
    confidence: float = Field(ge=0.0, le=1.0)
    box: BoundingBox
    page: int = 1


class ExpenseField(BaseModel):
    """One AnalyzeExpense field (summary or line-item), flattened and with confidences scaled to 0..1."""

    type: str
    value: str = ""
    label: str | None = None
    type_confidence: float = 0.0
    value_confidence: float = 0.0
    label_confidence: float = 0.0
    page: int = 1
    box: BoundingBox | None = None
    currency_code: str | None = None
    currency_confidence: float | None = None
    group_types: list[str] = Field(default_factory=list)


class ParsedExpense(BaseModel):
    """Everything from one AnalyzeExpense / GetExpenseAnalysis response that the resolver needs."""

    pages: int = 1
    summary_fields: list[ExpenseField] = Field(default_factory=list)
    line_items: list[list[ExpenseField]] = Field(default_factory=list)
    lines: list[str] = Field(default_factory=list)  # free text (LINE blocks) when the response has it
    source_page: int | None = None  # where this receipt is in its file, when the file holds several
    source_region: BoundingBox | None = None


class ExtractedLine(BaseModel):
    """A receipt line kept only when the lines add up to the subtotal or total (else layout noise)."""

    description: str
    amount: Decimal


class ExtractedReceipt(BaseModel):
    """The extraction result for one receipt: the interface the claim pipeline consumes."""

    vendor: str | None
    date: datetime.date | None
    total: Decimal | None
    tax: Decimal | None
    currency: str | None = Field(pattern=r"^[A-Z]{3}$")  # ISO 4217
    confidence: dict[str, float]
    needs_review: bool
    review_reasons: list[str]
    payment_method: str | None = None
    receipt_no: str | None = None
    receipt_time: datetime.time | None = None  # the local time printed beside the date (HH:MM), when printed
    city: str | None = None  # from the currency and the address wording, when they name one
    image_hash: str | None = None  # perceptual hash of the receipt's image (image_hash.py), None for text/PDF
    text_hash: str | None = None  # SimHash of the numbers it prints (text_hash.py)
    subtotal: Decimal | None = None
    service_charge: Decimal | None = None
    discount: Decimal | None = None
    pages: int = 1
    line_items: list[ExtractedLine] = Field(default_factory=list)
    vendor_read: str | None = None  # the name as printed/read, before the vendor directory canonicalised it
    vendor_id: str | None = None  # the vendor directory's id, None when the merchant is not in it
    #: Where the receipt is in its file (page, and the region on that page, 0..1), and, on the first receipt of
    #: a file that holds several, all of them in reading order: each becomes its own expense.
    source_page: int | None = None
    source_region: BoundingBox | None = None
    parts: list[ExtractedReceipt] = Field(default_factory=list)

    @field_validator("confidence")
    @classmethod
    def _confidences_are_probabilities(cls, value: dict[str, float]) -> dict[str, float]:
        for name, conf in value.items():
            if not 0.0 <= conf <= 1.0:
                raise ValueError(f"confidence for {name} must be within 0..1, got {conf}")
        return value

    def to_cli_json(self, file: str) -> dict:
        """The DESIGN.md CLI shape: ISO date, decimal strings, ISO 4217 currency."""
        return {
            "file": file,
            "vendor": self.vendor,
            "date": self.date.isoformat() if self.date else None,
            "total": str(self.total) if self.total is not None else None,
            "tax": str(self.tax) if self.tax is not None else None,
            "currency": self.currency,
            "confidence": {k: round(self.confidence.get(k, 0.0), 3) for k in SCORED_FIELDS},
            "needs_review": self.needs_review,
            "review_reasons": list(self.review_reasons),
            **({"receipts": [self._part_json(p) for p in self.parts]} if len(self.parts) > 1 else {}),
        }

    @staticmethod
    def _part_json(part: ExtractedReceipt) -> dict:
        one = part.to_cli_json("")
        one.pop("file")
        one["page"] = part.source_page
        if part.source_region is not None:
            one["region"] = part.source_region.model_dump()
        return one
