"""Receipt extraction: documents → offline OCR → AnalyzeExpense-shaped response → parse → Hong Kong rules.

The models (``.models``), errors and ``.privacy.mask_personal_data`` import nothing heavy, so every Lambda can
use them. The functions that need Pillow, pypdfium2, faster-paddle or trp (``extract_document``,
``parse_textract_response``) are imported lazily on first use: the zip-packaged Lambdas do not ship those
wheels (only the extraction image does), yet they import this package through the claim models.
"""

from typing import TYPE_CHECKING, Any

from .models import ExtractionError

if TYPE_CHECKING:  # pragma: no cover
    from .service import extract_document, parse_textract_response

__all__ = ["ExtractionError", "extract_document", "parse_textract_response"]

_LAZY = {"extract_document", "parse_textract_response"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from . import service

        return getattr(service, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
