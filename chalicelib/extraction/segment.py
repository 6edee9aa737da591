"""Several receipts in one file: a PDF of scanned receipts, a photo of two receipts side by side or one above the
other. Split the read lines into one group per receipt, so each becomes its own expense.

Why on the read lines, not on pixels: the lines say what a receipt is (a payable-total label with amounts beside
it), which paper edges cannot: a receipt with its card slip stapled below is one purchase, a long receipt with a
blank stretch is one receipt, and two receipts on one scanner glass are two. It also works alike for a PDF text
layer, our OCR and any other engine. A split needs every part to look like a whole receipt by itself (a total
label, amounts, enough lines) and the parts to disagree on the total; anything less stays one receipt, because a
wrong split makes a duplicate claim while a missed split leaves a receipt the employee can still see and add.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from . import normalise
from .models import BoundingBox, OcrLine

#: A part needs this many lines to be a receipt by itself.
MIN_LINES = 5
#: A vertical gutter between side-by-side receipts: this wide at least (page-relative).
MIN_GUTTER = 0.02
#: A blank band between stacked receipts: at least this many median line heights.
MIN_BAND_LINES = 2.5
#: Labels that say what was paid: a total, or a payment line (Octopus, Visa…) on receipts that print no total.
_TOTAL_ROLES = ("TOTAL", "AMOUNT_PAID")


@dataclass(frozen=True)
class Part:
    """One receipt's lines: the page each comes from and where it lies on its first page."""

    pages: tuple[tuple[int, tuple[OcrLine, ...]], ...]

    @property
    def page(self) -> int:
        return self.pages[0][0]

    @property
    def region(self) -> BoundingBox | None:
        return BoundingBox.around(ln.box for ln in self.pages[0][1])


def split_document(pages: Sequence[Sequence[OcrLine]]) -> list[Part]:
    """The receipts of a document, in reading order (page, then left to right, then top to bottom)."""
    parts: list[Part] = []
    for number, lines in enumerate(pages, start=1):
        groups = split_page(list(lines))
        if parts and len(groups) == 1 and not _continues_as_new(parts[-1], groups[0]):
            # a page without a total of its own (or with the same one) continues the receipt before it
            parts[-1] = Part((*parts[-1].pages, (number, tuple(groups[0]))))
            continue
        parts.extend(Part(((number, tuple(g)),)) for g in groups)
    return parts or [Part(((1, ()),))]


def _continues_as_new(previous: Part, lines: list[OcrLine]) -> bool:
    """A new page starts a new receipt when both it and the receipt so far show a total, and the totals differ."""
    before = [ln for _, page in previous.pages for ln in page]
    mine, theirs = _totals(lines), _totals(before)
    return bool(mine and theirs and not (mine & theirs))


def split_page(lines: list[OcrLine]) -> list[list[OcrLine]]:
    """Side-by-side receipts first (a gutter no line crosses), then each column's stacked receipts."""
    if len(lines) < 2 * MIN_LINES:
        return [lines]
    columns = _split(lines, axis="x")
    out = []
    for column in columns:
        out.extend(_split(column, axis="y"))
    return out


def _split(lines: list[OcrLine], axis: str) -> list[list[OcrLine]]:
    """Cut at the widest empty band along ``axis`` when both sides are whole receipts; recurse on each side."""
    if len(lines) < 2 * MIN_LINES:
        return [lines]
    spans = sorted(_span(ln, axis) for ln in lines)
    min_gap = MIN_GUTTER if axis == "x" else MIN_BAND_LINES * statistics.median(ln.box.height for ln in lines)
    gaps = []
    reach = spans[0][1]
    for start, end in spans[1:]:
        if start - reach >= min_gap:
            gaps.append((start - reach, (reach + start) / 2))
        reach = max(reach, end)
    for _, cut in sorted(gaps, reverse=True):
        first = [ln for ln in lines if _span(ln, axis)[1] <= cut]
        second = [ln for ln in lines if _span(ln, axis)[0] >= cut]
        if _whole_receipt(first) and _whole_receipt(second) and not (_totals(first) & _totals(second)):
            return _split(first, axis) + _split(second, axis)
    return [lines]


def _span(line: OcrLine, axis: str) -> tuple[float, float]:
    box = line.box
    return (box.left, box.right) if axis == "x" else (box.top, box.bottom)


def _whole_receipt(lines: list[OcrLine]) -> bool:
    """Enough lines and a payable-total label with its amount in the same part (a card slip prints just that):
    the least a receipt prints. A column of labels or a column of amounts alone is half of one receipt."""
    return len(lines) >= MIN_LINES and bool(_totals(lines))


def _total_labels(lines: list[OcrLine]) -> list[OcrLine]:
    found = []
    for ln in lines:
        role = normalise.classify_label(ln.text)
        if role is not None and role[0] in _TOTAL_ROLES:
            found.append(ln)
    return found


def _totals(lines: Sequence[OcrLine]) -> set[Decimal]:
    """The amounts printed on or right of a total label's row: what the part says was paid."""
    values: set[Decimal] = set()
    for label in _total_labels(list(lines)):
        inline = [v for v, money, _ in normalise.find_amounts(label.text) if money]
        values.update(inline)
        for other in lines:
            if other is label or other.box.left < label.box.left:
                continue
            if abs(other.box.center_y - label.box.center_y) <= max(label.box.height, other.box.height) * 0.6:
                values.update(v for v, money, _ in normalise.find_amounts(other.text) if money)
    return values
