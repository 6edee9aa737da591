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
    docs = _documents(resp)
    pages = max(d.pages for d in docs)
    return ParsedExpense(
        pages=pages,
        summary_fields=[f for d in docs for f in d.summary_fields],
        line_items=[item for d in docs for item in d.line_items],
        lines=[line for d in docs for line in d.lines],
    )


def parse_expense_documents(resp: dict[str, Any]) -> list[ParsedExpense]:
    """One ParsedExpense per receipt in the response. Textract reports each receipt it finds in an image or PDF
    as an ExpenseDocument; documents of which one shows no amount paid (a first page without the total, a page of
    items), or that show the same amount (a receipt and its card slip), are one receipt."""
    receipts: list[ParsedExpense] = []
    for doc in _documents(resp):
        mine = _paid(doc)
        theirs = _paid(receipts[-1]) if receipts else set()
        if receipts and (not mine or not theirs or mine & theirs):
            last = receipts[-1]
            receipts[-1] = last.model_copy(update={
                "summary_fields": last.summary_fields + doc.summary_fields,
                "line_items": last.line_items + doc.line_items,
                "lines": last.lines + doc.lines,
            })
        else:
            receipts.append(doc)
    return receipts or [ParsedExpense()]


def _paid(doc: ParsedExpense) -> set[str]:
    return {f.value.strip() for f in doc.summary_fields if f.type in ("TOTAL", "AMOUNT_PAID", "AMOUNT_DUE")}


def _documents(resp: dict[str, Any]) -> list[ParsedExpense]:
    if not isinstance(resp, dict) or "ExpenseDocuments" not in resp:
        raise InvalidTextractResponse("This is not an AnalyzeExpense response (no ExpenseDocuments).")
    try:
        doc = TAnalyzeExpenseDocumentSchema().load(_without_unknown_keys(resp))
    except Exception as exc:  # marshmallow.ValidationError and friends
        raise InvalidTextractResponse(f"The AnalyzeExpense response is malformed: {exc}") from exc

    pages = 1
    if doc.document_metadata is not None and getattr(doc.document_metadata, "pages", None):
        pages = int(doc.document_metadata.pages)

    out: list[ParsedExpense] = []
    raw_docs = resp.get("ExpenseDocuments") or []
    for d_index, expense in enumerate(doc.expenses_documents or []):
        summary: list[ExpenseField] = []
        line_items: list[list[ExpenseField]] = []
        lines: list[str] = []
        boxes: list[tuple[int, BoundingBox]] = []
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
                box = _raw_box(block.get("Geometry"))
                if box is not None:
                    boxes.append((int(block.get("Page") or 1), box))
        boxes += [(f.page, f.box) for f in summary if f.box is not None]
        first_page = min((page for page, _ in boxes), default=min((f.page for f in summary), default=1))
        doc_pages = max([pages, *(f.page for f in summary)])
        out.append(
            ParsedExpense(
                pages=doc_pages, summary_fields=summary, line_items=line_items, lines=lines,
                source_page=first_page, source_region=BoundingBox.around(b for page, b in boxes if page == first_page),
            )
        )
    return out or [ParsedExpense(pages=pages)]


def _raw_box(geometry: dict | None) -> BoundingBox | None:
    bb = (geometry or {}).get("BoundingBox")
    if not bb:
        return None
    try:
        return BoundingBox(left=float(bb["Left"]), top=float(bb["Top"]), width=float(bb["Width"]),
                           height=float(bb["Height"]))
    except (KeyError, TypeError, ValueError):
        return None


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


#: Left out of what trp loads: ``Currency`` (inside ValueDetection, added to the API after trp 1.0.3, which its
#: strict nested schemas reject) and ``Blocks`` (every LINE and WORD with its polygon: the bulk of the work, and
#: this module reads the lines from the raw response anyway).
_NOT_FOR_TRP = frozenset({"Currency", "Blocks"})


def _without_unknown_keys(resp: dict[str, Any]) -> dict[str, Any]:
    """A copy without the keys trp need not see (``_NOT_FOR_TRP``); they are read from the raw response."""

    def clean(obj: Any) -> Any:
        if isinstance(obj, dict):
            return {k: clean(v) for k, v in obj.items() if k not in _NOT_FOR_TRP}
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
