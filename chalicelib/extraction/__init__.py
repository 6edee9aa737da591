"""Receipt extraction: documents → offline OCR → AnalyzeExpense-shaped response → parse → Hong Kong rules."""

from .models import DocumentTooLarge, ExtractedReceipt, ExtractionError, UnsupportedDocument
from .privacy import mask_personal_data
from .service import extract_document, parse_textract_response

__all__ = [
    "DocumentTooLarge",
    "ExtractedReceipt",
    "ExtractionError",
    "UnsupportedDocument",
    "extract_document",
    "mask_personal_data",
    "parse_textract_response",
]
