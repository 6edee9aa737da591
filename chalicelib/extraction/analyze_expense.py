"""Build an Amazon Textract AnalyzeExpense-shaped response from positioned OCR lines.

Why this shape: ap-east-1 has no Textract, so receipts are read by our own OCR, but the pipeline keeps one
parser and one set of resolution rules for both our OCR and a real AnalyzeExpense response (used by explicit
opt-in, or when comparing engines). This module does what Textract's model does, with rules: it finds
labels (總金額, Sub Total, 八達通, 餘額…), pairs each with the amount printed beside or below it by
geometry, and emits ``SummaryFields`` with Textract's field types; ``Type.Confidence`` says how sure the
label rule is and ``ValueDetection.Confidence`` is the OCR confidence of the value text. Choosing *which*
TOTAL is the payable one is left to the resolver, exactly as with a real response.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from difflib import SequenceMatcher

from . import normalise, relations, segment, textract_parse
from .models import BoundingBox, OcrLine

#: Label roles that are money amounts, mapped to the Textract summary field type they become. Roles without a
#: Textract type (cash tendered, change, stored-value balance, fees, rounding) become OTHER with the role kept as
#: the label, so they are visible in the response but never mistaken for the payable total.
MONEY_ROLES: dict[str, str] = {
    "TOTAL": "TOTAL",
    "SUBTOTAL": "SUBTOTAL",
    "SERVICE_CHARGE": "SERVICE_CHARGE",
    "DISCOUNT": "DISCOUNT",
    "TAX": "TAX",
    "AMOUNT_PAID": "AMOUNT_PAID",
    "TIP": "GRATUITY",
    "FEE": "OTHER",
    "ROUNDING": "OTHER",
    "TENDERED": "OTHER",
    "CHANGE": "OTHER",
    "BALANCE": "OTHER",
}
#: Roles whose amount is never offered as a guessed total.
_NOT_TOTAL = ("BALANCE", "CHANGE", "TENDERED", "DISCOUNT", "FEE", "TIP", "ROUNDING")
#: After deskewing only a small residual tilt is plausible (dy/dx in page-relative units).
MAX_RESIDUAL_SLOPE = 0.04
#: Header lines that are not the merchant's name: addresses, contact details, document titles, greetings,
#: staff, table numbers, column headers, order channels.
_ADDRESS_OR_META = re.compile(
    r"號|号|樓|楼|街|道|路|舖|铺|鋪|地下|商場|廣場|中心|大廈|kowloon|九龍|新界|road|street|st\.|ave|centre|center|"
    r"building|bldg|floor|shop\s|g/f|/f\b|jalan|taman|\blot\b|\bno\.\s?\d|\bN\.?T\.?$|"
    r"tel|電話|电话|fax|www|http|\.com|@|"
    r"收據|收据|receipt|invoice|發票|发票|taxinvoice|單據|单据|歡迎|欢迎|welcome|thank|多謝|谢谢|謝謝|注文|confirmation|"
    r"員工|员工|staff|cashier|收銀|收银|operator|server|服務員|服务员|table|枱|檯|堂食|外賣|外卖|外送|送餐|order|訂單|"
    r"description|item|qty|price|數量|品名|項目|商品|screen|顯示",
    re.I,
)
_CJK = re.compile(r"[\u3400-\u9fff]")
#: A line that reads as a sentence ("Amazon.co.jp をご利用いただき…", "Thank you for shopping at …") is not a name.
_SENTENCE = re.compile(r"[。！？!?]|[をはがにで]|\b(?:for|your|you|with|at|the)\b", re.I)
#: Words of an item table's header row.
_HEADER_WORDS = re.compile(
    r"數量|產品|商品|品名|項目|單價|\bqty\b|quantity|\bitems?\b|description|u\.?\s?price", re.I
)


def _name_key(text: str) -> str:
    return re.sub(r"[\W_]+", "", normalise.fold_script(text)).casefold()


def _contains_name(text: str, key: str) -> bool:
    """``text`` repeats the name ``key``, allowing one OCR slip in a logo (WONDERLANT / Wonderland)."""
    other = _name_key(text)
    if key in other:
        return True
    if len(key) < 6:
        return False
    blocks = SequenceMatcher(None, key, other, autojunk=False).get_matching_blocks()
    return sum(block.size for block in blocks) >= len(key) - 1


#: Dates on these lines are not the transaction date: expiry, birthdays, the Octopus card's last top-up.
_NOT_TRANSACTION_DATE = re.compile(
    r"到期|有效期|有效日期|expir|valid|exp\b|生日|birth|截止|使用期|上一次|上次|增值|last\s*add|top.?up|reload|"
    r"お届け|予定|預計|预计|estimated|expected|arriv|抵達|抵达|入住|check.?in",
    re.I,
)


@dataclass
class _Line:
    idx: int
    ocr: OcrLine
    role: tuple[str, float] | None
    amounts: list[tuple[Decimal, bool, tuple[int, int]]]
    used_as_value: bool = False

    @property
    def box(self) -> BoundingBox:
        return self.ocr.box

    @property
    def text(self) -> str:
        return self.ocr.text

    def money(self) -> list[Decimal]:
        return [a[0] for a in self.amounts if a[1]]

    def is_pure_amount(self) -> bool:
        """The text is only an amount (with currency sign / minus), as right-column prices are."""
        stripped = re.sub(r"(HK\s?\$|HKS|HKD|US\$|RMB|MOP\$?|NT\$|[\$¥￥円元:：\s@*xX-])", "", self.text)
        return bool(self.money()) and bool(re.fullmatch(r"[\d.,()OoIl]+", stripped or "x"))


def _geometry(box: BoundingBox) -> dict:
    return {
        "BoundingBox": {"Width": box.width, "Height": box.height, "Left": box.left, "Top": box.top},
        "Polygon": [
            {"X": box.left, "Y": box.top},
            {"X": box.right, "Y": box.top},
            {"X": box.right, "Y": box.bottom},
            {"X": box.left, "Y": box.bottom},
        ],
    }


def _detection(text: str, confidence: float, box: BoundingBox) -> dict:
    return {"Text": text, "Geometry": _geometry(box), "Confidence": round(confidence * 100, 3)}


def _field(
    ftype: str,
    type_conf: float,
    value_text: str,
    value_conf: float,
    value_box: BoundingBox,
    page: int,
    *,
    label: _Line | None = None,
    currency: tuple[str, float] | None = None,
) -> dict:
    out: dict = {"Type": {"Text": ftype, "Confidence": round(type_conf * 100, 3)}}
    if label is not None:
        out["LabelDetection"] = _detection(label.text, label.ocr.confidence, label.box)
    out["ValueDetection"] = _detection(value_text, value_conf, value_box)
    out["PageNumber"] = page
    if currency and currency[0]:
        # where Textract puts it: on the field, beside Type (not inside ValueDetection)
        out["Currency"] = {"Code": currency[0], "Confidence": round(currency[1] * 100, 3)}
    return out


def _same_row(a: BoundingBox, b: BoundingBox, slope: float) -> float | None:
    """Vertical distance between the centres of two boxes, corrected for page skew; None if not one row."""
    dy = (b.center_y - a.center_y) - slope * ((b.left + b.right) / 2 - (a.left + a.right) / 2)
    tolerance = 0.6 * max(a.height, b.height)
    return abs(dy) if abs(dy) <= tolerance else None


def estimate_slope(lines: Sequence[OcrLine]) -> float:
    """Residual page skew as dy/dx (page-relative), from boxes that sit side by side.

    Receipts are printed in rows, so the nearest box to the right of a box at nearly the same height shows the
    skew left after deskewing (curled paper, perspective); the median of these slopes is robust to the odd
    mismatched pair, and it is clamped because a large value means rows were paired across lines.
    """
    slopes: list[float] = []
    for a in lines:
        best: tuple[float, float] | None = None
        for b in lines:
            if b.box.left <= a.box.right or b.box.left - a.box.right > 0.6:
                continue
            h = max(a.box.height, b.box.height)
            dx = (b.box.left + b.box.right - a.box.left - a.box.right) / 2
            dy = b.box.center_y - a.box.center_y
            if (
                dx > 0.05
                and abs(dy) < 0.7 * h
                and abs(a.box.height - b.box.height) < 0.5 * h
                and (best is None or abs(dy) < abs(best[0]))
            ):
                best = (dy, dx)
        if best is not None:
            slopes.append(best[0] / best[1])
    if len(slopes) < 3:
        return 0.0
    slopes.sort()
    return max(-MAX_RESIDUAL_SLOPE, min(MAX_RESIDUAL_SLOPE, slopes[len(slopes) // 2]))


class _PageBuilder:
    def __init__(self, lines: Sequence[OcrLine], page: int, currency: tuple[str, float] | None,
                 slope: float | None = None) -> None:
        self.page = page
        self.currency = currency
        self.lines = [
            _Line(i, ln, normalise.classify_label(ln.text), normalise.find_amounts(ln.text))
            for i, ln in enumerate(sorted(lines, key=lambda ln: (ln.box.top, ln.box.left)))
        ]
        self.slope = estimate_slope([ln.ocr for ln in self.lines]) if slope is None else slope
        self.fields: list[dict] = []
        for ln in self.lines:
            # "數量 產品 總數(HKD$)" / "商品 單價 數量 金額": a column header, not a total
            if ln.role and ln.role[0] in MONEY_ROLES and self._in_header_row(ln):
                ln.role = ("IGNORE", 1.0)

    def _in_header_row(self, ln: _Line) -> bool:
        return any(
            o is not ln
            and not o.money()
            and _HEADER_WORDS.search(normalise.fold_script(o.text))
            and _same_row(o.box, ln.box, self.slope) is not None
            for o in self.lines
        )

    # -- money labels -----------------------------------------------------------------------------------
    def money_fields(self) -> list[tuple[str, Decimal, _Line]]:
        """Pair each money label with its amount; returns (role, amount, value line) for later checks."""
        found: list[tuple[str, Decimal, _Line]] = []
        pairs: list[tuple[float, _Line, _Line]] = []
        for label in self.lines:
            if not label.role or label.role[0] not in MONEY_ROLES:
                continue
            inline = self._inline_amount(label)
            if inline is not None:
                self._emit_money(label, label, inline, 1.0)
                found.append((label.role[0], inline, label))
                label.used_as_value = True
                continue
            for cand in self.lines:
                if (
                    cand is label
                    or not cand.money()
                    or cand.box.left < label.box.left + 0.3 * label.box.width
                ):
                    continue
                if cand.role and cand.role[0] not in ("AMOUNT_PAID",) and not cand.is_pure_amount():
                    continue
                dy = _same_row(label.box, cand.box, self.slope)
                if dy is not None:
                    pairs.append((dy / max(label.box.height, 1e-6), label, cand))
        self._tax_column(found)  # before pairing: a totals row's tax column is not its total
        # greedy one-to-one assignment, closest rows first
        taken_labels: set[int] = set()
        for _, label, cand in sorted(pairs, key=lambda p: p[0]):
            if label.idx in taken_labels or cand.used_as_value or label.role is None:
                continue
            taken_labels.add(label.idx)
            cand.used_as_value = True
            amount = cand.money()[-1]
            self._emit_money(label, cand, amount, 1.0)
            found.append((label.role[0], amount, cand))
        # labels with nothing beside them: the amount printed just below (narrow receipts)
        for label in self.lines:
            if (
                not label.role
                or label.role[0] not in MONEY_ROLES
                or label.idx in taken_labels
                or label.used_as_value
            ):
                continue
            below = self._amount_below(label)
            if below is not None:
                below.used_as_value = True
                amount = below.money()[-1]
                self._emit_money(label, below, amount, 0.85)
                found.append((label.role[0], amount, below))
        return found

    def _tax_column(self, found: list[tuple[str, Decimal, _Line]]) -> None:
        """A totals row of a table with a tax column (发票: 合计 ¥5777.50 … ¥519.98 under 金额 … 税额): the amount
        under the tax column's header is the tax, not a second total."""
        for label in [ln for ln in self.lines if ln.role and ln.role[0] in ("TOTAL", "SUBTOTAL")]:
            for cand in self.lines:
                if cand.used_as_value or not cand.is_pure_amount() or cand.box.left <= label.box.right:
                    continue
                if _same_row(label.box, cand.box, self.slope) is None:
                    continue
                header = self._column_header(cand)
                if header is not None and (normalise.classify_label(header.text) or ("", 0))[0] == "TAX":
                    cand.used_as_value = True
                    amount = cand.money()[-1]
                    self.fields.append(_field("TAX", 0.9, cand.text, cand.ocr.confidence, cand.box, self.page,
                                              label=header, currency=self.currency))
                    found.append(("TAX", amount, cand))

    def _column_header(self, value: _Line) -> _Line | None:
        """The nearest wordy line above ``value`` that shares its column and a row with other headers."""
        above = [
            o for o in self.lines
            if o.box.bottom <= value.box.top and not o.money()
            and o.box.left < value.box.right and o.box.right > value.box.left
            and any(p is not o and _same_row(p.box, o.box, self.slope) is not None for p in self.lines)
        ]
        return max(above, key=lambda o: o.box.bottom) if above else None

    def _inline_amount(self, label: _Line) -> Decimal | None:
        money = [a for a in label.amounts if a[1]]
        if not money:
            return None
        # the amount must come after the label words ("總金額 $106.00"), not be a count before them
        value, _, span = money[-1]
        cleaned = normalise.clean_amount_text(label.text)
        if span[0] == 0 and not re.search(r"[^\d\s$.,]", cleaned[span[1] :]):
            return None
        return value

    def _amount_below(self, label: _Line) -> _Line | None:
        best: tuple[float, _Line] | None = None
        for cand in self.lines:
            if cand is label or cand.used_as_value or not cand.is_pure_amount():
                continue
            gap = cand.box.top - label.box.bottom
            if (
                -0.3 * label.box.height <= gap <= 1.5 * label.box.height
                and (cand.box.right > label.box.left and cand.box.left < label.box.right + 0.3)
                and (best is None or gap < best[0])
            ):
                best = (gap, cand)
        return best[1] if best else None

    def _emit_money(self, label: _Line, value: _Line, amount: Decimal, geometry_factor: float) -> None:
        role, strength = label.role or ("OTHER", 0.5)
        ftype = MONEY_ROLES[role]
        value_text = value.text
        if value is label:
            # split "總金額 $106.00" into label and value parts the way Textract reports them
            span = [a for a in label.amounts if a[1]][-1][2]
            value_text = normalise.clean_amount_text(label.text)[span[0] : span[1]].strip() or label.text
        self.fields.append(
            _field(
                ftype,
                strength * geometry_factor,
                value_text,
                value.ocr.confidence,
                value.box,
                self.page,
                label=label if ftype != "OTHER" else _relabel(label, role),
                currency=self.currency,
            )
        )

    # -- dates, vendor, receipt id --------------------------------------------------------------------------
    def date_fields(self, day_first: bool) -> None:
        by_date: dict = {}
        for ln in self.lines:
            dates = normalise.find_dates(ln.text, day_first=day_first)
            if not dates:
                continue
            # an expiry or last top-up date is kept only as a weak candidate: alone, it still goes to review
            above = self._label_above(ln)
            weak = self._not_transaction_date(ln) or bool(above and _NOT_TRANSACTION_DATE.search(above.text))
            factor = 0.5 if weak else 1.0
            if factor == 1.0 and self._on_ledger_row(ln):
                factor = 0.9  # a folio's or statement's posting date, not the document's
            for value, _conf, _ in dates:
                labelled = (
                    bool(ln.role and ln.role[0] == "DATE")
                    or self._row_has_role(ln, "DATE")
                    or bool(above and above.role and above.role[0] == "DATE" and not above.money())
                )
                score = factor * (
                    1.0 if labelled else 0.92
                )  # the format's reliability is applied by the resolver
                prev = by_date.get(value)
                # repeats support a date (printed at the head and the foot), but not a ledger's posting dates
                count = (prev[2] if prev else 0) + (1 if factor == 1.0 else 0)
                if prev is None or score > prev[0]:
                    by_date[value] = (score, ln, count)
                else:
                    by_date[value] = (prev[0], prev[1], count)
        for value, (score, ln, count) in by_date.items():
            boosted = min(0.99, score + 0.03 * max(0, count - 1))
            self.fields.append(
                _field(
                    "INVOICE_RECEIPT_DATE",
                    boosted,
                    value.isoformat(),
                    ln.ocr.confidence,
                    ln.box,
                    self.page,
                    label=None,
                )
            )
            self.fields[-1]["ValueDetection"]["Text"] = _date_text(ln.text, value, day_first)

    def _label_above(self, ln: _Line) -> _Line | None:
        """The line printed just above and overlapping this one, when it holds no date itself: its label on a
        narrow receipt ("抵店 Arrival" over "20 Apr 2025")."""
        best: tuple[float, _Line] | None = None
        for o in self.lines:
            gap = ln.box.top - o.box.bottom
            if o is ln or not (-0.3 * ln.box.height <= gap <= 1.5 * ln.box.height):
                continue
            if o.box.right <= ln.box.left or o.box.left >= ln.box.right or normalise.find_dates(o.text):
                continue
            if any(p is not o and _same_row(p.box, o.box, self.slope) is not None for p in self.lines):
                continue  # a column header ("Date  Description  HKD") labels a ledger, not one value
            if best is None or gap < best[0]:
                best = (gap, o)
        return best[1] if best else None

    def _on_ledger_row(self, ln: _Line) -> bool:
        """A date at the start of a row that ends in an amount: a posting line of a folio or statement."""
        margin = min(o.box.left for o in self.lines)
        return ln.box.left <= margin + 0.03 and any(
            o is not ln and o.is_pure_amount() and o.box.left > ln.box.right
            and _same_row(o.box, ln.box, self.slope) is not None
            for o in self.lines
        )

    def _not_transaction_date(self, ln: _Line) -> bool:
        """The date's line, or the label left of it on its row ("お届け予定： 2026年11月14日"), says it is not
        the day of the purchase."""
        return bool(_NOT_TRANSACTION_DATE.search(ln.text)) or any(
            o is not ln
            and o.box.right <= ln.box.left + 0.01
            and _same_row(o.box, ln.box, self.slope) is not None
            and _NOT_TRANSACTION_DATE.search(o.text)
            for o in self.lines
        )

    def _row_has_role(self, ln: _Line, role: str) -> bool:
        return any(
            o.role and o.role[0] == role and _same_row(o.box, ln.box, self.slope) is not None
            for o in self.lines
            if o is not ln and o.box.right <= ln.box.left + 0.02
        )

    def vendor_field(self) -> None:
        """The merchant name: large, near the top, not an address, label, payment brand or number.

        Logos are often read as fragments (譚仔 / 三哥) while the full name is printed smaller below; a longer
        header line that contains the chosen fragment is preferred, and a name printed in both scripts on two
        lines (大快活 / Fairwood) is joined.
        """
        if not self.lines or self._merchant_field():
            return
        top = min(ln.box.top for ln in self.lines)
        bottom = max(ln.box.bottom for ln in self.lines)
        span = max(bottom - top, 1e-6)
        candidates: list[tuple[float, _Line]] = []
        for rank, ln in enumerate(self.lines):
            text = ln.text.strip()
            rel = (ln.box.top - top) / span
            if rel > 0.3 or len(text) < 2 or ln.role or not self._name_like(ln):
                continue
            score = ln.box.height * (1.3 - rel) * ln.ocr.confidence * (1.2 if rank < 4 else 1.0)
            candidates.append((score, ln))
        if not candidates:
            return
        candidates.sort(key=lambda c: -c[0])
        best = candidates[0][1]
        key = _name_key(best.text)
        fuller = [
            ln
            for _, ln in candidates
            if ln is not best
            and len(_name_key(ln.text)) > len(key) >= 2
            and _contains_name(ln.text, key)
            and not _SENTENCE.search(ln.text)
        ]
        if fuller:
            best = min(fuller, key=lambda ln: ln.box.top)
        parts = [best]
        best_cjk = bool(_CJK.search(best.text))
        bilingual = best_cjk and bool(re.search(r"[A-Za-z]{2}", best.text))
        for _, other in [] if bilingual else candidates[:6]:
            if other is best or (_name_key(other.text) in _name_key(best.text)):
                continue
            near = abs(other.box.center_y - best.box.center_y) < 3.5 * best.box.height
            if (
                near
                and bool(_CJK.search(other.text)) != best_cjk
                and other.box.height > 0.45 * best.box.height
            ):
                parts.append(other)
                break
        parts.sort(key=lambda p: (0 if _CJK.search(p.text) else 1, p.box.top))
        text = " ".join(p.text.strip() for p in parts)
        conf = min(p.ocr.confidence for p in parts)
        box = BoundingBox.around(p.box for p in parts)
        self.fields.append(_field("VENDOR_NAME", 0.75, text, conf, box, self.page))

    def _merchant_field(self) -> bool:
        """A labelled merchant ("收款人 Payee  Tak Fung Printing", "Merchant: Cafe de Coral"): who was paid, as a
        payment confirmation names it; it beats any guess from the header."""
        merchants = [ln for ln in self.lines if ln.role and ln.role[0] == "MERCHANT"]
        for label in sorted(merchants, key=lambda ln: -ln.role[1]):  # an invoice's seller before its cashier
            after = re.split(r"[:：]", label.text, maxsplit=1)
            value: _Line | None = None
            text = after[1].strip() if len(after) == 2 else ""
            if not text:
                beside = [
                    o for o in self.lines
                    if o is not label and not o.role and not o.money() and o.box.left >= label.box.right - 0.01
                    and _same_row(o.box, label.box, self.slope) is not None
                ]
                value = min(beside, key=lambda o: o.box.left) if beside else None
                text = value.text if value else ""
            name = normalise.clean_vendor(text)
            if name and re.search(r"[A-Za-z\u3400-\u9fff]{2}", name):
                source = value or label
                self.fields.append(
                    _field("VENDOR_NAME", 0.9, name, source.ocr.confidence, source.box, self.page, label=label)
                )
                return True
        return False

    def _name_like(self, ln: _Line) -> bool:
        text = ln.text.strip()
        if (
            _ADDRESS_OR_META.search(text)
            or text.count(",") >= 2
            or normalise.payment_method(text)
            or ln.money()
        ):
            return False
        digits = sum(c.isdigit() for c in text)
        if digits > 0.3 * len(text) or not re.search(r"[A-Za-z\u3400-\u9fff]{2}", text):
            return False
        # a value printed beside a label ("收銀員： Admin") is not the merchant
        return not any(
            o is not ln
            and o.box.right <= ln.box.left + 0.01
            and _same_row(o.box, ln.box, self.slope) is not None
            and re.search(r"[:：]\s*$", o.text)
            for o in self.lines
        )

    def receipt_id_field(self) -> None:
        for ln in self.lines:
            if not ln.role or ln.role[0] != "RECEIPT_ID":
                continue
            m = re.search(r"[:：#]?\s*([A-Z0-9][A-Z0-9\-/]{3,})\s*$", ln.text)
            value_line = ln
            if not m or not re.search(r"\d", m.group(1)):
                right = [
                    o
                    for o in self.lines
                    if o is not ln
                    and o.box.left > ln.box.right - 0.01
                    and _same_row(ln.box, o.box, self.slope) is not None
                ]
                right.sort(key=lambda o: o.box.left)
                m = re.search(r"([A-Z0-9][A-Z0-9\-/]{3,})", right[0].text) if right else None
                value_line = right[0] if right else ln
            if m and re.search(r"\d", m.group(1)):
                self.fields.append(
                    _field(
                        "INVOICE_RECEIPT_ID",
                        0.8 * ln.role[1],
                        m.group(1),
                        value_line.ocr.confidence,
                        value_line.box,
                        self.page,
                        label=ln,
                    )
                )
                return

    def fallback_total(self, found: list[tuple[str, Decimal, _Line]]) -> None:
        """No labelled total: offer the most likely payable amount with a low type confidence."""
        if any(role in ("TOTAL", "SUBTOTAL") for role, _, _ in found):
            # a printed subtotal is better evidence than a guess; the resolver derives the total from it
            return
        paid = [(amt, ln) for role, amt, ln in found if role == "AMOUNT_PAID" and amt > 0]
        if paid:
            amt, ln = max(paid, key=lambda p: p[0])
            self.fields.append(
                _field("TOTAL", 0.7, ln.text, ln.ocr.confidence, ln.box, self.page, currency=self.currency)
            )
            return
        tendered = [(amt, ln) for role, amt, ln in found if role == "TENDERED" and amt > 0]
        if tendered:
            # only cash tendered and change printed: what was paid is the difference
            amt, ln = max(tendered, key=lambda p: p[0])
            change = [a for role, a, _ in found if role == "CHANGE" and a >= 0]
            net = amt - (min(change) if change else Decimal(0))
            if net > 0:
                self.fields.append(
                    _field(
                        "TOTAL", 0.5, str(net), ln.ocr.confidence, ln.box, self.page, currency=self.currency
                    )
                )
                return
        excluded = {id(ln) for role, _, ln in found if role in _NOT_TOTAL}
        counts: dict[Decimal, list[_Line]] = {}
        for ln in self.lines:
            if id(ln) in excluded or (ln.role and ln.role[0] in (*_NOT_TOTAL, "DATE")):
                continue
            if not ln.is_pure_amount():
                continue
            for amt in ln.money():
                if amt > 0:
                    counts.setdefault(amt, []).append(ln)
        if not counts:
            return
        # the payable total is usually the largest amount and usually printed more than once
        amt = max(counts, key=lambda a: (len(counts[a]) >= 2, a))
        ln = counts[amt][-1]
        self.fields.append(
            _field(
                "TOTAL",
                0.55 if len(counts[amt]) >= 2 else 0.4,
                ln.text,
                ln.ocr.confidence,
                ln.box,
                self.page,
                currency=self.currency,
            )
        )

    def line_items(self, stop_y: float | None) -> list[dict]:
        items: list[dict] = []
        for value in self.lines:
            if value.used_as_value or not value.is_pure_amount():
                continue
            if stop_y is not None and value.box.top >= stop_y:
                continue
            names = [
                o
                for o in self.lines
                if o is not value
                and (not o.role or o.role[0] == "ITEM")
                and not o.money()
                and o.box.right <= value.box.left + 0.01
                and _same_row(o.box, value.box, self.slope) is not None
                and re.search(r"[^\W\d_]", o.text)
            ]
            if not names:
                continue
            name = min(names, key=lambda o: o.box.left)
            price = value.money()[-1]
            row_box = BoundingBox.around([name.box, value.box])
            items.append(
                {
                    "LineItemExpenseFields": [
                        _field("ITEM", 0.9, name.text, name.ocr.confidence, name.box, self.page),
                        _field(
                            "PRICE",
                            0.9,
                            value.text,
                            value.ocr.confidence,
                            value.box,
                            self.page,
                            currency=self.currency,
                        ),
                        _field(
                            "EXPENSE_ROW",
                            0.9,
                            f"{name.text} {value.text}",
                            min(name.ocr.confidence, value.ocr.confidence),
                            row_box,
                            self.page,
                        ),
                    ],
                    "_price": price,
                }
            )
        return items


def _relabel(label: _Line, role: str) -> _Line:
    """OTHER fields keep their role in the label text ("BALANCE: 餘額") so readers see why they are not
    totals."""
    return _Line(
        label.idx, label.ocr.model_copy(update={"text": f"{role}: {label.text}"}), label.role, label.amounts
    )


def _date_text(text: str, value, day_first: bool) -> str:
    for found, _, span in normalise.find_dates(text, day_first=day_first):
        if found == value:
            return text[span[0] : span[1]] if span[1] <= len(text) else text
    return text


def build_analyze_expense(pages: Sequence[Sequence[OcrLine]], *, day_first: bool = True) -> dict:
    """An AnalyzeExpense response for the OCR lines of all pages of one file: one ExpenseDocument per receipt
    found in it (segment.split_document), as Textract reports several receipts in one image."""
    all_text = "\n".join(ln.text for page in pages for ln in page)
    code, conf = normalise.detect_currency(all_text)
    currency = (code, conf) if code else None
    documents = [
        _row_reading(index, part, currency, day_first)
        for index, part in enumerate(segment.split_document(pages), start=1)
    ]
    return {"DocumentMetadata": {"Pages": max(1, len(pages))}, "ExpenseDocuments": documents}


def _row_reading(index: int, part: segment.Part, currency: tuple[str, float] | None, day_first: bool) -> dict:
    """The receipt read with the rows paired as the page's tilt suggests; but where no exact printed sum backs the
    total it chooses, also with the rows paired one row up and one row down, and the reading whose total label and
    printed sums agree wins.

    Why: on a photo taken at an angle a label and its amount can sit most of a row apart, so the nearest amount
    to a label is the next row's. Which pairing is right is then a question the receipt answers itself: only
    the right one makes subtotal + service = total and tendered − change = total hold."""
    document = _expense_document(index, part, currency, day_first)
    fit = _arithmetic_fit(document)
    if fit[0] >= SETTLED_SUPPORT:
        return document
    best = (fit, document)
    for shift in (-1, 1):
        slopes = {number: _shifted_slope(lines, shift) for number, lines in part.pages}
        if any(s is None for s in slopes.values()):
            continue
        other = _expense_document(index, part, currency, day_first, slopes)
        other_fit = _arithmetic_fit(other)
        if other_fit[0] >= MIN_SHIFTED_SUPPORT and other_fit > best[0]:
            best = (other_fit, other)
    return best[1]


#: A reading whose total an exact printed sum supports (relations.WEIGHTS: a sum or tendered − change, 0.6) is
#: not second-guessed; one that only the line items support might be items read a row off, and is checked.
SETTLED_SUPPORT = 0.6
#: A reading with the rows shifted replaces the first one only when its chosen total satisfies printed sums worth
#: at least this much (relations.WEIGHTS: a sum 0.6, tendered − change 0.6, the line items 0.4), contradicted by none.
MIN_SHIFTED_SUPPORT = 0.4


def _arithmetic_fit(document: dict) -> tuple[float, int]:
    """How well a reading's label and arithmetic agree: the support that printed sums (not a repeat of one
    number, a payment line or a tendered amount) give the total it chooses, when that total is the amount a total
    label names, and as a tie-break how few contradictions it leaves; (0, ...) when the label and the sums do not
    meet on one amount."""
    parsed = textract_parse.parse_expense_response({"ExpenseDocuments": [document]})
    solution = relations.solve(parsed)
    best = solution.best
    if best is None or solution.conflicts:
        return (0.0, -len(solution.conflicts))
    if not any(a.role == "TOTAL" or "TOTAL" in a.may_be for a in best.sources):
        return (0.0, 0)
    return (round(sum(r.weight for r in best.relations if r.kind not in ("repeat", "paid", "tendered")), 3), 0)


def _shifted_slope(lines: Sequence[OcrLine], shift: int) -> float | None:
    """The tilt that pairs each label with the amount ``shift`` rows below (+1) or above (−1) the one the
    estimated tilt pairs it with: one row pitch over the distance from the label column to the amount column."""
    if len(lines) < 4:
        return None
    centres = sorted(ln.box.center_y for ln in lines)
    heights = sorted(ln.box.height for ln in lines)
    h = heights[len(heights) // 2]
    gaps = sorted(b - a for a, b in zip(centres, centres[1:], strict=False) if b - a > 0.5 * h)
    amounts = [(ln.box.left + ln.box.right) / 2 for ln in lines
               if normalise.find_amounts(ln.text) and not re.search(r"[^\W\d_]{2}", ln.text)]
    labels = [(ln.box.left + ln.box.right) / 2 for ln in lines
              if normalise.classify_label(ln.text) and ln.box.left < 0.5]
    if not gaps or not amounts or not labels:
        return None
    pitch = gaps[len(gaps) // 2]
    dx = sorted(amounts)[len(amounts) // 2] - sorted(labels)[len(labels) // 2]
    if dx < 0.2:
        return None
    slope = estimate_slope(lines) + shift * pitch / dx
    return slope if abs(slope) <= MAX_SHIFTED_SLOPE else None


#: A photo taken at an angle tilts rows by this much at most (dy/dx); a steeper "tilt" pairs rows at random.
MAX_SHIFTED_SLOPE = 0.1


def _expense_document(index: int, part: segment.Part, currency: tuple[str, float] | None, day_first: bool,
                      slopes: dict[int, float | None] | None = None) -> dict:
    summary: list[dict] = []
    items: list[dict] = []
    for position, (number, lines) in enumerate(part.pages):
        builder = _PageBuilder(lines, number, currency, (slopes or {}).get(number))
        found = builder.money_fields()
        builder.fallback_total(found)
        builder.date_fields(day_first)
        if position == 0:
            builder.vendor_field()
        builder.receipt_id_field()
        stops = [ln.box.top for role, _, ln in found if role in ("SUBTOTAL", "TOTAL")]
        page_items = builder.line_items(min(stops) if stops else None)
        for item in page_items:
            item.pop("_price", None)
        items.extend(page_items)
        summary.extend(builder.fields)
    blocks = [
        {"BlockType": "LINE", "Id": f"line-{index}-{i}", "Text": ln.text, "Confidence": round(ln.confidence * 100, 2),
         "Page": number, "Geometry": _geometry(ln.box)}
        for i, (number, ln) in enumerate((number, ln) for number, lines in part.pages for ln in lines)
    ]
    return {
        "ExpenseIndex": index,
        "SummaryFields": summary,
        "LineItemGroups": [{"LineItemGroupIndex": 1, "LineItems": items}] if items else [],
        "Blocks": blocks,
    }
