"""Parse an AnalyzeExpense / GetExpenseAnalysis response into ``ParsedExpense``.

Why through amazon-textract-response-parser: it is AWS's own (de)serialiser for the response, so it follows
the real schema (multi-page async results, optional LabelDetection, GroupProperties). Two things it drops are
read from the raw dict instead: ``ValueDetection.Currency`` (Textract's normalised currency code) and LINE
block text. Confidences are scaled from Textract's 0..100 to 0..1 here, once.
"""

from __future__ import annotations

import logging
from typing import Any

from trp.trp2_expense import TAnalyzeExpenseDocumentSchema

from .models import BoundingBox, ExpenseField, ExtractionError, ParsedExpense

logger = logging.getLogger(__name__)


class InvalidTextractResponse(ExtractionError):
    """The JSON is not an AnalyzeExpense / GetExpenseAnalysis response."""


def parse_expense_response(resp: dict[str, Any]) -> ParsedExpense:
    """All ExpenseDocuments of a response, flattened into one receipt's fields."""
    if not isinstance(resp, dict) or "ExpenseDocuments" not in resp:
        raise InvalidTextractResponse("This is not an AnalyzeExpense response (no ExpenseDocuments).")
    try:
        doc = TAnalyzeExpenseDocumentSchema().load(_without_unknown_keys(resp))
    except Exception as exc:  # marshmallow.ValidationError and friends
        raise InvalidTextractResponse(f"The AnalyzeExpense response is malformed: {exc}") from exc

    pages = 1
    if doc.document_metadata is not None and getattr(doc.document_metadata, "pages", None):
        pages = int(doc.document_metadata.pages)

    summary: list[ExpenseField] = []
    line_items: list[list[ExpenseField]] = []
    lines: list[str] = []
    raw_docs = resp.get("ExpenseDocuments") or []
    for d_index, expense in enumerate(doc.expenses_documents or []):
        raw = raw_docs[d_index] if d_index < len(raw_docs) else {}
        raw_summary = raw.get("SummaryFields") or []
        for s_index, sf in enumerate(expense.summaryfields or []):
            raw_field = raw_summary[s_index] if s_index < len(raw_summary) else {}
            summary.append(_to_field(sf, raw_field))
        raw_groups = raw.get("LineItemGroups") or []
        for g_index, group in enumerate(expense.lineitemgroups or []):
            raw_items = (raw_groups[g_index] if g_index < len(raw_groups) else {}).get("LineItems") or []
            for i_index, item in enumerate(group.lineitems or []):
                raw_fields = (raw_items[i_index] if i_index < len(raw_items) else {}).get(
                    "LineItemExpenseFields"
                ) or []
                line_items.append(
                    [
                        _to_field(f, raw_fields[k] if k < len(raw_fields) else {})
                        for k, f in enumerate(item.lineitem_expensefields or [])
                    ]
                )
        for block in raw.get("Blocks") or []:
            if block.get("BlockType") == "LINE" and block.get("Text"):
                lines.append(block["Text"])
        for page_field in summary:
            pages = max(pages, page_field.page)
    return ParsedExpense(pages=pages, summary_fields=summary, line_items=line_items, lines=lines)


def _to_field(sf: Any, raw: dict[str, Any]) -> ExpenseField:
    ftype = sf.ftype.text if sf.ftype is not None and sf.ftype.text else "OTHER"
    type_conf = (sf.ftype.confidence or 0.0) / 100 if sf.ftype is not None else 0.0
    value = sf.valuedetection
    label = sf.labeldetection
    currency_block = raw.get("Currency") or (raw.get("ValueDetection") or {}).get("Currency") or {}
    currency = currency_block.get("Code")
    currency_conf = currency_block.get("Confidence")
    groups = [t for gp in (getattr(sf, "group_properties", None) or []) for t in (gp.types or [])]
    return ExpenseField(
        type=ftype,
        value=(value.text or "") if value is not None else "",
        label=label.text if label is not None else None,
        type_confidence=_clamp(type_conf),
        value_confidence=_clamp((value.confidence or 0.0) / 100) if value is not None else 0.0,
        label_confidence=_clamp((label.confidence or 0.0) / 100) if label is not None else 0.0,
        page=sf.pagenumber or 1,
        box=_box(value.geometry if value is not None else None),
        currency_code=currency,
        currency_confidence=_clamp(currency_conf / 100) if currency_conf is not None else None,
        group_types=groups,
    )


def _without_unknown_keys(resp: dict[str, Any]) -> dict[str, Any]:
    """A copy without the keys trp's strict nested schemas reject (``Currency`` inside ValueDetection,
    added to the API after trp 1.0.3); they are read from the raw response instead."""

    def clean(obj: Any) -> Any:
        if isinstance(obj, dict):
            return {k: clean(v) for k, v in obj.items() if k != "Currency"}
        if isinstance(obj, list):
            return [clean(v) for v in obj]
        return obj

    return clean(resp)


def _box(geometry: Any) -> BoundingBox | None:
    bb = getattr(geometry, "bounding_box", None) if geometry is not None else None
    if bb is None:
        return None
    return BoundingBox(left=bb.left, top=bb.top, width=bb.width, height=bb.height)


def _clamp(x: float) -> float:
    return max(0.0, min(1.0, float(x)))
