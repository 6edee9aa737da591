"""Receipt extraction: documents → offline OCR → AnalyzeExpense-shaped response → parse → Hong Kong rules.

The OCR side (Pillow, pypdfium2, the OCR engine) is imported only when `extract_document` or
`parse_textract_response` is first used: the API and scoring Lambdas import `models` from here and must not
carry the OCR wheels in their bundle.
"""

from .models import DocumentTooLarge, ExtractedReceipt, ExtractionError, UnsupportedDocument
from .privacy import mask_personal_data

__all__ = [
    "DocumentTooLarge",
    "ExtractedReceipt",
    "ExtractionError",
    "UnsupportedDocument",
    "extract_document",
    "mask_personal_data",
    "parse_textract_response",
]


def __getattr__(name: str):
    if name in ("extract_document", "parse_textract_response"):
        from . import service

        return getattr(service, name)
    raise AttributeError(name)
