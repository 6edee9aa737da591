"""E-receipts that are text, not pictures (an HTML or plain-text mail body): lines laid out as on a clean scan.

Why: ride-hailing, food delivery, online shops and payment apps send their receipts as HTML mail. The text is
already exact, so no OCR runs; but the shared parser (``analyze_expense``) pairs labels with amounts by
GEOMETRY, so each visual row of the mail becomes one row of boxes: a table row's cells left to right with an
amount right-aligned in its cell, a block element or ``<br>`` a new row. Hidden text (preheaders, ``display:none``)
and scripts/styles are dropped because a reader of the mail never sees them. Confidence is 1.0: nothing was
guessed when reading.

The standard library's ``html.parser`` is enough here: mail HTML is table soup, and what matters is the order of
rows and cells, not a full DOM (a browser-grade parser such as html5lib would add a dependency for no gain).
"""

from __future__ import annotations

import codecs
import html
import re
from html.parser import HTMLParser

from . import normalise
from .models import BoundingBox, DocumentTooLarge, OcrLine

#: More rows than this is a document, not a receipt. It also bounds the label/amount pairing, which grows faster
#: than the square of the rows: measured 0.8 s at 200 rows, 4.6 s at 500, 23 s at 1000 (a large online-shop
#: order is ~150 rows).
MAX_ROWS = 400
#: Left and right page margins, and the share of a row a box's text takes per character.
_MARGIN = 0.05
_CHAR_WIDTH = 0.011
_HEADING_SCALE = 1.6

_VOID = {"br", "img", "hr", "meta", "link", "input", "col", "wbr", "area", "base", "source", "track", "embed"}
_SKIP = {"script", "style", "head", "title", "template", "noscript", "svg", "object", "iframe", "button", "select",
         "textarea", "map"}
_BLOCK = {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "header",
          "footer", "blockquote", "pre", "hr", "dl", "dt", "dd", "address", "center", "caption", "tbody", "thead",
          "tfoot", "main", "nav", "aside", "form", "fieldset", "figure", "figcaption"}
_HEADINGS = {"h1", "h2", "h3"}
_CELLS = {"td", "th"}
#: Styles no reader sees. Not ``font-size:0``: MJML and other builders put it on column wrappers (against gaps
#: between inline blocks) and set the size again inside, so the text is visible.
_HIDDEN_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden|mso-hide\s*:\s*all|opacity\s*:\s*0(?:\.0*)?\s*(?:;|$|!)",
    re.I,
)
_ZERO_HEIGHT = re.compile(r"max-height\s*:\s*0(?:px)?\s*(?:;|$|!)", re.I)
_OVERFLOW_HIDDEN = re.compile(r"overflow\s*:\s*hidden", re.I)
#: Whole class names only: "mobile-hidden" or "hide-desktop" hide one of two copies, not the text itself.
_HIDDEN_CLASSES = {"preheader", "preview-text", "previewtext", "preview", "hidden", "visually-hidden", "sr-only"}
_LOGO_WORD = re.compile(r"\b(?:logo|標誌|标志|icon|banner)\b", re.I)
#: Markers a mail client writes above a forwarded or quoted message; the receipt is below them.
_FORWARD_MARKER = re.compile(
    r"^-{2,}\s*(?:forwarded message|original message|轉寄的郵件|转发的邮件|轉發的郵件|原始郵件|原始邮件)\s*-{2,}$|"
    r"^begin forwarded message:?$|^-{3,}\s*轉寄郵件\s*-{3,}$",
    re.I,
)
_FORWARD_HEADER = re.compile(
    r"^(?:from|sent|date|subject|to|cc|reply-to|寄件者|寄件人|发件人|日期|時間|时间|主旨|主題|主题|收件者|收件人|副本|抄送)"
    r"\s*[:：]",
    re.I,
)
#: A salutation names the customer, not the merchant: it is dropped (it would otherwise compete for the vendor).
_GREETING = re.compile(
    r"^(?:hi|hello|hey|dear)\b[^.!?。,，]{0,40}[,，!！]|^dear\s|^(?:親愛的|亲爱的|尊敬的)|"
    r"(?:様|さま|您好|你好)\s*[!！,，。]?$|"
    r"^\S{1,12}\s*(?:先生|小姐|女士)\s*[，,]?\s*(?:您好|你好)",
    re.I,
)
#: A row: its cells' texts left to right, and its kind ("text", "heading", or "logo": only a logo's alt text).
Row = tuple[list[str], str]
#: Marks a cell that is an image's alt text until the rows are final (then it is kept only as the first thing).
_LOGO_MARK = "\x00"
_COLUMN_GAP = re.compile(r"\t+|\s{2,}|\u3000+")


# ---- decoding -----------------------------------------------------------------------------------------------

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.I)
_HTML_START = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body|meta|table|div|p|pre|center)\b",
                         re.I | re.S)


def looks_like_html(data: bytes, filename: str = "") -> bool:
    """An HTML document by its first bytes (after a BOM), or a text file named ``.html``/``.htm``."""
    head = data[:2048].removeprefix(codecs.BOM_UTF8)
    if _HTML_START.match(head):
        return True
    return filename.lower().endswith((".html", ".htm")) and b"\x00" not in head and b"<" in head


def decode_markup(data: bytes) -> str:
    """Bytes -> text: a BOM, else the ``<meta charset>``, else UTF-8, else the Chinese encodings mail still uses."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace")
    found = _META_CHARSET.search(data[:4096])
    declared = found.group(1).decode("ascii").lower() if found else None
    for charset in (declared, "utf-8", "big5hkscs", "gb18030"):
        if not charset:
            continue
        charset = {"gb2312": "gb18030", "gbk": "gb18030", "big5": "big5hkscs"}.get(charset, charset)
        try:
            return data.decode(charset)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("utf-8", errors="replace")


# ---- HTML -> rows of cells --------------------------------------------------------------------------------


class _Rows(HTMLParser):
    """Rows of cells of visible text, in reading order. A row is a list of cells; a cell a list of text lines."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[tuple[list[list[str]], str]] = []  # (cells, kind: "text", "heading" or "logo")
        self._stack: list[tuple[str, bool]] = []  # open tags, and whether each hides its content
        self._cells: list[list[str]] = []
        self._cell_open = False
        # per open <table>: the row around it (was a cell open, its cells, its kind) and where its rows start
        self._tables: list[tuple[bool, list[list[str]], str, int]] = []
        self._kind = "text"
        self._pre = 0

    # -- state ----------------------------------------------------------------------------------------------
    @property
    def _hidden(self) -> bool:
        return any(hidden for _, hidden in self._stack)

    def _flush(self) -> None:
        cells = [[line for line in cell if line.strip()] for cell in self._cells]
        cells = [cell for cell in cells if cell]
        if cells:
            self.rows.append((cells, self._kind))
        self._cells = [[""]] if self._cell_open else []
        self._kind = "text"

    def _new_line(self) -> None:
        if self._cell_open and self._cells:
            if self._cells[-1][-1].strip():
                self._cells[-1].append("")
        else:
            self._flush()

    def _add(self, text: str) -> None:
        if not self._cells:
            self._cells = [[""]]
        self._cells[-1][-1] += text

    def _close_to(self, tag: str) -> None:
        """Pop open tags down to ``tag`` (mail HTML leaves <td>, <p>, <li> unclosed)."""
        if not any(t == tag for t, _ in self._stack):
            return
        while self._stack:
            t, hides = self._stack.pop()
            if not hides and not self._hidden:  # its start was read, so its end is too
                self._ended(t)
            if t == tag:
                return

    # -- parser events --------------------------------------------------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: (v or "") for k, v in attrs}
        if tag in _CELLS and self._stack and self._stack[-1][0] in _CELLS:
            self._close_to(self._stack[-1][0])
        if tag == "tr" and any(t == "tr" for t, _ in self._stack[self._last_table():]):
            self._close_to("tr")
        if tag == "img":
            self._image(values)
            return
        if tag in _VOID:
            if tag in ("br", "hr") and not self._hidden:
                self._new_line()
            return
        style = values.get("style", "")
        hidden = (tag in _SKIP or "hidden" in values or values.get("aria-hidden") == "true"
                  or bool(_HIDDEN_STYLE.search(style))
                  or bool(_ZERO_HEIGHT.search(style) and _OVERFLOW_HIDDEN.search(style))
                  or not _HIDDEN_CLASSES.isdisjoint(values.get("class", "").lower().split()))
        self._stack.append((tag, hidden))
        if self._hidden:
            return
        if tag == "table":
            if not self._cell_open:
                self._flush()
            self._tables.append((self._cell_open, self._cells, self._kind, len(self.rows)))
            self._cell_open, self._cells, self._kind = False, [], "text"
        elif tag == "tr":
            self._flush()
        elif tag in _CELLS:
            if not self._cells and not self._cell_open:
                self._flush()
            self._cells.append([""])
            self._cell_open = True
        elif tag in _BLOCK:
            self._new_line()
        if tag in _HEADINGS and self._kind == "text":
            self._kind = "heading"
        if tag == "pre":
            self._pre += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        self._close_to(tag)

    def _ended(self, tag: str) -> None:
        if tag == "table":
            self._end_table()
        elif tag == "tr":
            self._flush()
        elif tag in _CELLS:
            self._cell_open = False
        elif tag in _BLOCK:
            self._new_line()
        if tag == "pre":
            self._pre = max(0, self._pre - 1)

    def _end_table(self) -> None:
        """A table inside a cell whose rows have one cell each only wraps that cell's text (templates wrap every
        label and every amount in a table of its own): its rows become lines of the outer cell, so a label and
        its amount stay on one row. A real table inside a cell is rows of its own, after the outer row so far."""
        self._flush()
        if not self._tables:
            self._cell_open, self._cells = False, []
            return
        was_open, outer, kind, start = self._tables.pop()
        inner = self.rows[start:]
        if was_open and all(len(cells) == 1 for cells, _ in inner):
            del self.rows[start:]
            cell = outer[-1] if outer else [""]
            if cell and not cell[-1].strip():
                cell.pop()
            cell.extend(line for cells, _ in inner for line in cells[0])
            cell.append("")
            if not outer:
                outer.append(cell)
            self._cell_open, self._cells, self._kind = True, outer, kind
            return
        if was_open:
            before = [[line for line in c if line.strip()] for c in outer]
            before = [c for c in before if c]
            if before:
                self.rows.insert(start, (before, kind))
        self._cell_open, self._kind = was_open, "text"
        self._cells = [[""]] if was_open else []

    def _last_table(self) -> int:
        for i in range(len(self._stack) - 1, -1, -1):
            if self._stack[i][0] == "table":
                return i
        return 0

    def _image(self, values: dict[str, str]) -> None:
        """An image's alt text, kept as a "logo" row: the first thing in the (forwarded) mail is the sender's logo
        and names it (``<img alt="foodpanda">``); later ones are dropped with the rows. Tracking pixels say nothing."""
        alt = _LOGO_WORD.sub("", values.get("alt", "")).strip(" -|")
        tiny = any(values.get(k, "").strip() in ("0", "1", "1px", "0px") for k in ("width", "height"))
        if self._hidden or tiny or len(alt) < 2:
            return
        if self._cell_open and self._cells:  # a cell of its own just before the image's cell: lines stay aligned
            self._cells.insert(len(self._cells) - 1, [_LOGO_MARK + alt])
            return
        self._flush()
        self._add(_LOGO_MARK + alt)
        self._flush()

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        if self._pre:
            for i, line in enumerate(data.split("\n")):
                if i:
                    self._flush()
                for j, column in enumerate(_COLUMN_GAP.split(line)):
                    if j:
                        self._cells.append([""])
                    self._add(column)
            return
        self._add(re.sub(r"\s+", " ", data.replace("\u00a0", " ").replace("\u200c", "").replace("\u200b", "")))

    def close(self) -> None:
        super().close()
        while self._stack:
            tag, hides = self._stack.pop()
            if not hides and not self._hidden:
                self._ended(tag)
        self._flush()


def html_rows(markup: str) -> list[Row]:
    """Visible rows of an HTML body. A cell with several lines
    (``<p>`` or ``<br>`` inside a ``<td>``) spreads over as many rows, its lines beside the other cells' lines."""
    parser = _Rows()
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # malformed markup: keep the rows read so far
        parser._flush()
    out: list[Row] = []
    for cells, kind in parser.rows:
        depth = max(len(cell) for cell in cells)
        for i in range(depth):
            texts = [_tidy(cell[i]) for cell in cells if i < len(cell)]
            texts = [t for t in texts if t]
            if texts:
                out.append((texts, kind))
    return out


def text_rows(text: str) -> list[Row]:
    """Rows of a plain-text body: one per line, columns split on tabs or runs of two or more spaces."""
    out: list[Row] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        cells = [_tidy(c) for c in _COLUMN_GAP.split(line)]
        cells = [c for c in cells if c]
        if cells:
            out.append((cells, "text"))
    return out


def _tidy(text: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(text) if "&" in text else text).strip()


# ---- forwarded and quoted mail ----------------------------------------------------------------------------


def _unquote(rows: list[Row]) -> list[Row]:
    """Plain-text replies quote with ``>``: the quoted text is the receipt, the prefix is noise."""
    out = []
    for cells, kind in rows:
        first = re.sub(r"^(?:>\s?)+", "", cells[0]).strip()
        rest = cells[1:]
        if first or rest:
            out.append(([first, *rest] if first else rest, kind))
    return out


def forwarded_part(rows: list[Row]) -> list[Row]:
    """The rows of the forwarded message: everything after the last forward marker and its header block
    (From/Date/Subject/To), so the employee's note and the forwarding headers are not read as the receipt."""
    rows = _unquote(rows)
    start = None
    for i, (cells, _) in enumerate(rows):
        if _FORWARD_MARKER.match(" ".join(cells).strip()):
            start = i + 1
    if start is None:
        return _without_greetings(rows)
    while start < len(rows) and (_FORWARD_HEADER.match(rows[start][0][0]) or not "".join(rows[start][0]).strip()):
        start += 1
    return _without_greetings(rows[start:])


def _without_greetings(rows: list[Row]) -> list[Row]:
    """Drops salutations, and images' alt texts except those before any text (the sender's logo, which names
    it); product photos and payment-brand icons further down say nothing the text does not."""
    out: list[Row] = []
    for cells, kind in rows:
        logo_first = not any(k != "logo" for _, k in out)
        kept = [c.removeprefix(_LOGO_MARK) for c in cells if logo_first or not c.startswith(_LOGO_MARK)]
        kept = [c for c in kept if c.strip()]
        if not kept or (len(kept) == 1 and _GREETING.search(kept[0])):
            continue
        logo = all(c.startswith(_LOGO_MARK) for c in cells)
        out.append((kept, "logo" if logo else kind))
    return out


# ---- rows -> positioned lines -----------------------------------------------------------------------------


def _is_amount(text: str) -> bool:
    """A cell that is only an amount (right-aligned, as a price column is)."""
    return bool(re.fullmatch(r"[-−–(]?\s*(?:[A-Z]{2,3}\s?)?[$¥￥€£]?\s*[-−]?[\d,.\s]+\)?\s*(?:[A-Z]{3}|円|元)?",
                             text.strip())) and any(money for _, money, _ in normalise.find_amounts(text))


def rows_to_lines(rows: list[Row], page: int = 1) -> list[OcrLine]:
    """Boxes top to bottom like a clean scan: every row the same height (headings taller), cells spread left to
    right over the page width, an amount cell flush with its slot's right edge."""
    if not rows:
        return []
    heights = [1.0 if kind == "text" else _HEADING_SCALE for _, kind in rows]
    unit = 1.0 / (sum(heights) + 2)
    lines: list[OcrLine] = []
    y = unit
    for (cells, _), scale in zip(rows, heights, strict=True):
        row_h = unit * scale
        slot = (1 - 2 * _MARGIN) / len(cells)
        for i, text in enumerate(cells):
            width = min(slot * 0.95, max(0.02, len(text) * _CHAR_WIDTH))
            left = _MARGIN + i * slot
            if i > 0 and _is_amount(text):
                left += slot - width
            box = BoundingBox(left=left, top=y + 0.1 * row_h, width=width, height=0.8 * row_h)
            lines.append(OcrLine(text=text, confidence=1.0, box=box, page=page))
        y += row_h
    return lines


def receipt_lines(data: bytes, filename: str = "", *, page: int = 1) -> list[OcrLine]:
    """Positioned lines of an HTML (or plain-text) e-receipt, read from its forwarded part when forwarded."""
    text = decode_markup(data)
    rows = forwarded_part(html_rows(text) if looks_like_html(data, filename) else text_rows(text))
    if len(rows) > MAX_ROWS:
        raise DocumentTooLarge(f"The e-mail has {len(rows)} lines of text; a receipt has at most {MAX_ROWS}.")
    return rows_to_lines(rows, page)


# ---- is this mail a receipt at all ------------------------------------------------------------------------

#: Label roles that announce what was paid. AMOUNT_PAID also covers bare brand names ("Pay with Visa and save
#: $50" in an advert), so for it the label must say it is an amount or a payment.
_PAID_WORDS = re.compile(r"paid|已付|付款|支付|金額|金额|amount|charged|收費", re.I)


def missing_receipt_evidence(lines: list[OcrLine]) -> list[str]:
    """What a mail body lacks to be read as a receipt: a total-like label with an amount on its row (or just
    below it), a date, and a name. Empty when it is one. Newsletters show prices but no total; a "please find
    attached" note has no amount at all."""
    rows: dict[float, list[OcrLine]] = {}
    for line in lines:
        rows.setdefault(round(line.box.center_y, 6), []).append(line)
    ordered = [sorted(row, key=lambda ln: ln.box.left) for _, row in sorted(rows.items())]
    missing = []
    if not any(_has_total(row, ordered[i + 1] if i + 1 < len(ordered) else []) for i, row in enumerate(ordered)):
        missing.append("no total with an amount")
    if not any(normalise.find_dates(line.text) for line in lines):
        missing.append("no date")
    if not any(re.search(r"[^\W\d_]{2}", line.text) and not normalise.classify_label(line.text) for line in lines):
        missing.append("no merchant name")
    return missing


def _has_total(row: list[OcrLine], next_row: list[OcrLine]) -> bool:
    for i, cell in enumerate(row):
        role = normalise.classify_label(cell.text)
        if role is None or not (role[0] == "TOTAL" or (role[0] == "AMOUNT_PAID" and _PAID_WORDS.search(cell.text))):
            continue
        beside = row[i:] if i + 1 < len(row) else row[i:] + next_row
        if any(money and value > 0 for ln in beside for value, money, _ in normalise.find_amounts(ln.text)):
            return True
    return False
