"""Amazon Textract AnalyzeExpense as an opt-in extraction backend.

Textract is not offered in ap-east-1, so sending a receipt to it is a cross-border transfer of personal data:
it runs only when a stage sets OCR_BACKEND=textract with an explicit TEXTRACT_REGION (the nearest are
ap-southeast-1 and ap-northeast-1), and every call is logged as a transfer. The response goes through the same
parser and Hong Kong rules as the in-region OCR's AnalyzeExpense-shaped output.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.domain import transfers
from chalicelib.extraction.models import DocumentTooLarge, ExtractedReceipt

SYNC_LIMIT_BYTES = 10 * 1024 * 1024  # AnalyzeExpense's synchronous document limit


class TextractExpense:
    def __init__(self, client: Any, vendors: Callable[[], Any] | None = None):
        self._client = client
        self._vendors = vendors  # the vendor directory in force (seed + finance's entries); None: the seed

    def __call__(self, data: bytes, filename: str) -> ExtractedReceipt:
        from chalicelib.extraction.documents import load_document
        from chalicelib.extraction.service import parse_textract_response

        load_document(data, filename)  # the same type, corruption and size checks as the local OCR
        if len(data) > SYNC_LIMIT_BYTES:
            raise DocumentTooLarge("Textract reads files up to 10 MB; this one is larger.")
        transfers.log_transfer("textract", self._client.meta.region_name, size_bytes=len(data))
        response = self._client.analyze_expense(Document={"Bytes": data})
        return parse_textract_response(response, vendors=self._vendors() if self._vendors else None)
