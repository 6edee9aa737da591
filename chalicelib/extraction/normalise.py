"""Normalise the raw strings printed on Hong Kong (and nearby) receipts: amounts, dates, currencies, keywords.

Why its own module: both our OCR path and real Textract responses end in the same messy strings (``HKS1 234``,
``2025年11月3日``, ``07-11-25``, ``總额``), so one set of rules, tested against tables of real-world strings,
serves both. Everything here is pure and deterministic: no clock except where a caller passes ``today``, and no
I/O but reading the label vocabulary (a data file) once at import.
"""

from __future__ import annotations

import datetime
import json
import re
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

# ----------------------------------------------------------------------------------------------------
# Script folding: PP-OCR models and mainland receipts write simplified forms; keywords are matched after
# folding every simplified character that occurs in a receipt keyword to its Traditional form.
_S2T_PAIRS = (
    "总總 额額 计計 应應 实實 税稅 费費 余餘 现現 单單 号號 务務 达達 币幣 门門 价價 "
    "优優 银銀 结結 账賬 帐帳 谢謝 会會 员員 点點 们們 钱錢 货貨 积積 减減 数數 续續 "
    "赎贖 时時 间間 临臨 讫訖 据據 发發 编編 码碼 湾灣 宝寶 阅閱 净淨 团團 购購 买買 "
    "东東 无無 产產 项項 乐樂 记記 鱼魚 汤湯 线線 楼樓 贸貿 铺鋪 车車 资資 运運 贴貼 舍捨 进進 头頭 "
    "调調 桥橋 装裝 电電 顾顧 须須 缴繳 请請 连連 节節 邮郵 递遞"
)
_S2T = str.maketrans({pair[0]: pair[1] for pair in _S2T_PAIRS.split(" ")})


def fold_script(text: str) -> str:
    """NFKC (full-width digits/letters → ASCII), then simplified → Traditional for receipt vocabulary."""
    return unicodedata.normalize("NFKC", text).translate(_S2T)


def squash(text: str) -> str:
    """Fold script, lower-case and drop whitespace: the form keyword matching works on."""
    return re.sub(r"\s+", "", fold_script(text)).casefold()


# ----------------------------------------------------------------------------------------------------
# Currencies

# Codes are matched as printed, in capitals: case-blind, "AmountDue" holds NTD and "Liqueur" EUR. NTD and EUR also
# hide inside capitalised words ("PAYMENTDUE", "EUROPE", "LIQUEUR"), so they must stand apart from other letters.
_CURRENCY_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("MOP", re.compile(r"MOP|M0P|澳門元|澳門幣|澳幣|葡幣|(?i:patacas?)")),
    ("TWD", re.compile(r"NT\$|(?<![A-Z])NTD(?![A-Z])|TWD|新臺幣|新台幣")),
    ("USD", re.compile(r"US\$|USD|美元|美金")),
    ("SGD", re.compile(r"(?<![A-Z])S\$|SGD")),
    ("MYR", re.compile(r"(?<![A-Z])RM\s?\d|MYR|(?i:ringgit|malaysia)|SDN\.?\s?BHD|\bS/B\b")),
    ("CNY", re.compile(r"RMB|CNY|人民幣|人民币|元整")),
    ("JPY", re.compile(r"JPY|円|税込|稅込|消費稅|消費税")),
    ("EUR", re.compile(r"(?<![A-Z])EUR(?![A-Z])|€")),
    ("GBP", re.compile(r"GBP|£")),
    ("HKD", re.compile(r"HK\$|HKD|HK\s*\$|HKS\d|港幣|港元|港币", re.I)),
]
_KANA = re.compile(r"[\u3040-\u30ff]")
# Simplified-only characters that show a mainland receipt (never produced by Traditional HK printers).
_MAINLAND_HINTS = re.compile(
    r"会员|支付宝|发票|优惠|应收|实收|实付|合计|总计|总额|收银|欢迎|谢谢|单号|购物|门店"
)


_CONVERSION = re.compile(
    r"equiv|等值|折合|約合|约合|[約约]\s*(?:港|澳|人民|美|HK|US|MOP|RMB)|參考|参考|approx|≈|@\s*\d|exchange\s*rate|"
    r"匯率|汇率",
    re.I,
)
_MACAU = re.compile(r"澳門|澳门|macau|macao|氹仔|路環|路环|taipa|coloane", re.I)


def detect_currency(text: str) -> tuple[str | None, float]:
    """Return ``(ISO code, confidence)`` for a receipt's currency from its text, or ``(None, 0)``.

    An explicit marker (``HK$``, ``RMB``, ``円``…) wins; the most frequent marker wins over a stray one.
    ``¥``/``￥`` alone is yen on a receipt with kana, 税込 or 円, else renminbi. A bare ``$`` is HKD (the
    receipts are from Hong Kong) unless the text says otherwise; with no currency sign at all the caller
    decides the default.
    """
    # a converted amount ("USD 64.00 @ 7.81", "HKD equiv. 524.37", "折合港幣") names another currency, not the receipt's
    folded = "\n".join(
        line for line in unicodedata.normalize("NFKC", text).splitlines() if not _CONVERSION.search(line)
    )
    counts: dict[str, int] = {}
    for code, pattern in _CURRENCY_PATTERNS:
        n = len(pattern.findall(folded))
        if n:
            counts[code] = n
    yen = folded.count("¥") + text.count("￥")
    if yen:
        # ¥ is both yen and renminbi: Japanese text (kana, 税込, 円) decides
        code = "JPY" if _KANA.search(folded) or "JPY" in counts else "CNY"
        counts[code] = counts.get(code, 0) + yen
    if counts:
        # a tie between the home currency and a foreign one goes home
        best = max(counts, key=lambda c: (counts[c], c == "HKD"))
        total = sum(counts.values())
        return best, round(0.7 + 0.29 * counts[best] / total, 3)
    if _KANA.search(folded) and re.search(r"合計|小計", folded):
        return "JPY", 0.75
    hints = len(set(_MAINLAND_HINTS.findall(folded)))
    if "$" in folded and _MACAU.search(folded):
        return "MOP", 0.75  # a dollar sign on a Macau receipt is the pataca
    if "$" in folded:
        return ("CNY", 0.6) if hints >= 3 else ("HKD", 0.9)
    if hints >= 2:
        return "CNY", 0.75
    return None, 0.0


#: Currencies whose amounts have no minor unit.
ZERO_DECIMAL_CURRENCIES = frozenset({"JPY", "KRW", "TWD"})

# ----------------------------------------------------------------------------------------------------
# Amounts

_OCR_DIGIT_FIX = str.maketrans(
    {"O": "0", "o": "0", "D": "0", "l": "1", "I": "1", "|": "1", "S": "5", "B": "8"}
)
_AMOUNT_RE = re.compile(
    r"""
    (?P<neg>-|\()?\s*
    (?P<cur>HK\s?\$|HKS|HKD|US\$|NT\$|MOP\$?|M0P\$?|RMB|CNY|JPY|RM|S\$|\$|¥|￥|円)?\s*
    (?P<neg2>-)?\s*
    (?P<num>
        \d{1,3}(?:[,\u00a0\u2009 ]\d{3})+(?:[.]\d{1,2})?     # 1,234.50 / 1 234
      | \d{1,3}(?:\.\d{3})+(?![\d.])                         # 8.042: comma read as a dot
      | \d+[.,]\d{1,2}(?!\d)                                  # 12.50 / 12,50
      | \d+                                                   # 106
    )
    (?P<neg3>-)?
    \s*(?P<cur2>円|元|HKD|RMB)?
    """,
    re.X,
)


def _fix_ocr_digits(text: str) -> str:
    """Repair letter/digit confusions inside numbers only (``1O.5O`` → ``10.50``, ``$l2`` → ``$12``)."""

    def repl(m: re.Match[str]) -> str:
        return m.group(0).translate(_OCR_DIGIT_FIX)

    # a run that mixes digits with the confusable letters and contains at least one digit
    return re.sub(
        r"(?<![A-Za-z])[0-9OolIDSB|][0-9OolIDSB|.,]*[0-9OolD](?![A-Za-z])",
        lambda m: repl(m) if re.search(r"\d", m.group(0)) else m.group(0),
        text,
    )


def clean_amount_text(text: str) -> str:
    """The text amounts are found in (spans from ``find_amounts`` index into it): NFKC, HKS→HK$, s196→$196,
    HK$4,770:05→HK$4,770.05."""
    s = unicodedata.normalize("NFKC", text)
    s = re.sub(r"HK\s*[S5]\s*(?=[\d\s])", "HK$", s)  # HK$ read as HKS / HK5
    s = re.sub(r"(?<![A-Za-z0-9])[sS](?=\d+[.,]\d{1,2}(?!\d))", "$", s)  # $196.0 read as s196.0
    s = s.replace("$ ", "$").replace(". ", ".") if re.search(r"\d\. \d", s) else s.replace("$ ", "$")
    # a decimal point read as a colon: only where a time cannot be (after thousands or a currency sign)
    s = re.sub(r"((?:\d,\d{3}|(?:[$¥€£]|\b(?:HKD|RMB|CNY|USD|MOP|EUR|GBP|SGD|TWD|MYR|RM)\s?)\d+)):(\d{2})(?![\d:])",
               r"\1.\2", s)
    return _fix_ocr_digits(s)


# Amounts written in Chinese financial numerals (大写), as mainland invoices and cheques print the total: a second
# reading of the same amount that an OCR slip in the digits cannot share.
_WORD_DIGITS = {
    c: i for i, cs in enumerate(("零〇", "壹", "贰貳", "叁參", "肆", "伍", "陆陸", "柒", "捌", "玖")) for c in cs
}
_WORD_UNITS = {"拾": 10, "佰": 100, "仟": 1000}
_WORD_SECTIONS = {"万": 10**4, "萬": 10**4, "亿": 10**8, "億": 10**8}
_IN_WORDS = re.compile(
    r"[零〇壹贰貳叁參肆伍陆陸柒捌玖拾佰仟万萬亿億]+[元圆圓](?:[零〇壹贰貳叁參肆伍陆陸柒捌玖][角毛])?"
    r"(?:[零〇]?[壹贰貳叁參肆伍陆陸柒捌玖]分)?"
)


def _whole_in_words(text: str) -> int | None:
    total = section = digit = 0
    seen = False
    for ch in text:
        if ch in _WORD_DIGITS:
            digit, seen = _WORD_DIGITS[ch], True
        elif ch in _WORD_UNITS:
            section += (digit or (1 if not seen else 0)) * _WORD_UNITS[ch]
            digit, seen = 0, True
        elif ch in _WORD_SECTIONS:  # 万 scales its own section; 亿 everything before it (壹亿贰仟万)
            scale = _WORD_SECTIONS[ch]
            total = (total + section + digit) * scale if scale > 10**4 else total + (section + digit) * scale
            section = digit = 0
        else:
            return None
    return total + section + digit if seen else None


def amounts_in_words(text: str) -> list[Decimal]:
    """Every amount written in financial numerals in ``text`` (贰仟柒佰贰拾玖元伍角贰分 → 2729.52)."""
    found = []
    for m in _IN_WORDS.finditer(unicodedata.normalize("NFKC", text)):
        whole, _, rest = re.split(r"([元圆圓])", m.group(0), maxsplit=1)
        value = _whole_in_words(whole)
        if value is None:
            continue
        jiao = re.search(r"(.)[角毛]", rest)
        fen = re.search(r"(.)分", rest)
        cents = (_WORD_DIGITS[jiao.group(1)] * 10 if jiao else 0) + (_WORD_DIGITS[fen.group(1)] if fen else 0)
        found.append(Decimal(value) + Decimal(cents) / 100)
    return found


def find_amounts(text: str) -> list[tuple[Decimal, bool, tuple[int, int]]]:
    """All amounts in ``text`` as ``(value, looks_like_money, span)``.

    ``looks_like_money`` is true when the number carries a currency sign or exactly two decimals, which is
    what
    separates prices from quantities, item codes and phone numbers.
    """
    s = clean_amount_text(text)
    out: list[tuple[Decimal, bool, tuple[int, int]]] = []
    for m in _AMOUNT_RE.finditer(s):
        num = m.group("num")
        start, end = m.span("num")
        # skip digits glued to letters (item codes like A123, dates like 2025-11-03 are handled by callers)
        if start > 0 and s[start - 1].isalpha() and not m.group("cur"):
            continue
        if end < len(s) and s[end].isalpha() and not m.group("cur2") and s[end] not in "xX":
            continue
        if re.match(r"\s?[%％]", s[end:]):
            continue  # a rate ("Tax 8.875%", "服務費 10%"), not an amount
        value = _to_decimal(num)
        if value is None:
            continue
        if (
            m.group("neg") == "-"
            or m.group("neg2")
            or m.group("neg3")
            or (m.group("neg") == "(" and s[end : end + 1] == ")")
        ):
            value = -value
        has_cur = bool(m.group("cur") or m.group("cur2"))
        # "63.0" / "$-10.2": one decimal is common on HK thermal printers, so it counts as money too
        money = (
            has_cur
            or bool(re.search(r"[.,]\d{1,2}$", num))
            or bool(re.fullmatch(r"\d{1,3}([.,]\d{3})+", num))
        )
        out.append((value, money, m.span()))
    return out


def _to_decimal(num: str) -> Decimal | None:
    num = re.sub(r"[\u00a0\u2009 ]", "", num)
    if re.fullmatch(r"\d{1,3}(\.\d{3})+", num):
        num = num.replace(".", "")
    elif re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d{1,2})?", num):
        num = num.replace(",", "")
    elif re.fullmatch(r"\d+,\d{1,2}", num):  # European decimal comma
        num = num.replace(",", ".")
    num = num.replace(",", "")
    try:
        return Decimal(num)
    except InvalidOperation:
        return None


def parse_amount(text: str) -> Decimal | None:
    """The money amount a value string holds (the last money-looking one), as a ``Decimal``; None if none.

    >>> parse_amount("HK$1,234.50")
    Decimal('1234.50')
    """
    if not text:
        return None
    amounts = find_amounts(text)
    if not amounts:
        return None
    money = [a for a in amounts if a[1]]
    chosen = (money or amounts)[-1][0]
    return chosen


def quantize_money(value: Decimal, currency: str | None) -> Decimal:
    """Two decimals (or none for zero-decimal currencies), the form the CLI and the truth files use. A value too
    long to round (27+ digits, a misread) is returned as read: the claim pipeline sends it to review."""
    exp = Decimal("1") if currency in ZERO_DECIMAL_CURRENCIES else Decimal("0.01")
    try:
        return value.quantize(exp, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return value


# ----------------------------------------------------------------------------------------------------
# Dates

_MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "sept": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
_MON = r"(?P<mon>jan|feb|mar|apr|may|jun|jul|aug|sept?|oct|nov|dec)[a-z]*\.?"
_DATE_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("cjk", re.compile(r"(?P<y>\d{2,4})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日?")),
    # a time glued on by OCR ("2025-10-2514:46:06", "28/11/202519:59:33") may follow the date directly
    (
        "ymd",
        re.compile(
            r"(?<!\d)(?P<y>(?:19|20)\d{2})\s?[-/.]\s?(?P<m>\d{1,2})\s?[-/.]\s?(?P<d>\d{1,2})"
            r"(?:(?!\d)|(?=\d{1,2}:\d{2}))"
        ),
    ),
    (
        "dmy",
        re.compile(
            r"(?<![\d.])(?P<d>\d{1,2})\s?[-/.]\s?(?P<m>\d{1,2})\s?[-/.]\s?"
            r"(?P<y>\d{2}(?=\d{1,2}:\d{2})|\d{4}|\d{2})"
            r"(?:(?!\d)|(?=\d{1,2}:\d{2}))"
        ),
    ),
    (
        "d_mon_y",
        re.compile(
            r"(?<!\d)(?P<d>\d{1,2})[\s\-/.]*" + _MON + r"[\s\-/.,']*(?P<y>\d{4}|\d{2})"
            r"(?:(?!\d)|(?=\d{1,2}:\d{2}))",
            re.I,
        ),
    ),
    ("mon_d_y", re.compile(_MON + r"\s*(?P<d>\d{1,2})(?:st|nd|rd|th)?[\s,.]+(?P<y>\d{4})(?!\d)", re.I)),
    ("compact", re.compile(r"(?<!\d)(?P<y>20\d{2})(?P<m>[01]\d)(?P<d>[0-3]\d)(?!\d{3})")),
]


def _fix_date_text(text: str) -> str:
    s = unicodedata.normalize("NFKC", text)
    # month names with OCR slips: 0ct, N0v, Ju| / Ju1, 5ep
    s = re.sub(r"\b0ct\b", "Oct", s, flags=re.I)
    s = re.sub(r"\bN0v\b", "Nov", s, flags=re.I)
    s = re.sub(r"\bJu[|1I](?![A-Za-z0-9])", "Jul", s)
    s = re.sub(r"\b5ep\b", "Sep", s, flags=re.I)
    s = re.sub(r"(?<=\d)[Oo](?=\d)|(?<=[\d/\-.])[Oo](?=\d)|(?<=\d)[Oo](?=[/\-.])", "0", s)
    return s


def find_dates(
    text: str, *, day_first: bool = True, today: datetime.date | None = None
) -> list[tuple[datetime.date, float, tuple[int, int]]]:
    """All plausible dates in ``text`` as ``(date, confidence, span)``.

    Numeric dates are read day-first as in Hong Kong (``03/11/2026`` is 3 November) unless ``day_first`` is
    false; an impossible reading is swapped (``12/30/2016`` → 30 December). Confidence is lower for formats
    that are easily confused (two-digit years, ambiguous day/month, compact ``20251117``), and dates outside
    2000..next year are dropped.
    """
    s = _fix_date_text(text)
    today = today or datetime.date.today()
    found: list[tuple[datetime.date, float, tuple[int, int]]] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _DATE_PATTERNS:
        pos = 0
        while (m := pattern.search(s, pos)) is not None:
            span = m.span()
            parsed = (
                None
                if any(a < span[1] and span[0] < b for a, b in taken)
                else _date_from_match(kind, m, day_first, today)
            )
            if parsed is None:
                # "#43- 17/11/2025": a failed reading must not swallow the real date that overlaps it
                pos = span[0] + 1
                continue
            pos = span[1]
            value, conf = parsed
            if not (datetime.date(2000, 1, 1) <= value <= today + datetime.timedelta(days=366)):
                continue
            found.append((value, conf, span))
            taken.append(span)
    found.sort(key=lambda f: f[2][0])
    return found


def _year(y: str) -> int:
    n = int(y)
    return 2000 + n if n < 100 else n


def _date_from_match(
    kind: str, m: re.Match[str], day_first: bool, today: datetime.date | None = None
) -> tuple[datetime.date, float] | None:
    g = m.groupdict()
    try:
        if kind in ("cjk", "ymd", "compact"):
            y, mo, d = _year(g["y"]), int(g["m"]), int(g["d"])
            conf = {"cjk": 0.97, "ymd": 0.97, "compact": 0.85}[kind]
            if len(g["y"]) == 2:
                conf = 0.85
            return datetime.date(y, mo, d), conf
        if kind in ("d_mon_y", "mon_d_y"):
            mo = (
                _MONTHS[g["mon"][:4].lower().rstrip(".")]
                if g["mon"][:4].lower() == "sept"
                else _MONTHS[g["mon"][:3].lower()]
            )
            conf = 0.95 if len(g["y"]) == 4 else 0.85
            return datetime.date(_year(g["y"]), mo, int(g["d"])), conf
        # dmy / mdy numeric
        a, b, y = int(g["d"]), int(g["m"]), _year(g["y"])
        first, second = (a, b) if day_first else (b, a)
        conf = 0.93 if len(g["y"]) == 4 else 0.85
        if second > 12 and first <= 12:  # impossible in the preferred order: swap
            first, second = second, first
            conf -= 0.1
        value = datetime.date(y, second, first)
        if len(g["y"]) == 2 and today is not None and (today - value).days > 3 * 365:
            # "25-11-07" read day-first is 2007; read year-first it is last week: receipts are recent
            try:
                alt = datetime.date(2000 + a, b, int(g["y"]))
            except ValueError:
                alt = None
            if alt is not None and 0 <= (today - alt).days <= 3 * 365:
                return alt, 0.8
        return value, conf
    except (ValueError, KeyError):
        return None


# ----------------------------------------------------------------------------------------------------
# Keywords: what a label next to an amount means. The vocabulary is data (data/label_vocabulary.json), so a new
# wording is a line of data, not a new regex; rules are tried in order and the first match wins.

VOCABULARY_FILE = Path(__file__).with_name("data") / "label_vocabulary.json"


@dataclass(frozen=True)
class LabelRule:
    """One vocabulary rule: a role ("TOTAL", "TENDERED"…), how sure the label makes it, and what else it may be."""

    role: str
    strength: float
    pattern: re.Pattern[str]
    unless: re.Pattern[str] | None = None
    may_be: tuple[str, ...] = ()

    def matches(self, squashed: str) -> bool:
        return bool(self.pattern.search(squashed)) and not (self.unless and self.unless.search(squashed))


def _terms(terms: list[str]) -> str:
    folded = sorted({squash(t) for t in terms if squash(t)}, key=len, reverse=True)
    return "|".join(re.escape(t) for t in folded)


def load_label_rules(path: Path = VOCABULARY_FILE) -> list[LabelRule]:
    """Compile the vocabulary file: terms are folded like the labels they meet, then joined into one regex."""
    data = json.loads(path.read_text(encoding="utf-8"))
    rules = []
    for raw in data["rules"]:
        parts = []
        if raw.get("exact"):
            parts.append(f"^(?:{_terms(raw['exact'])})$")
        if raw.get("prefix"):
            parts.append(f"^(?:{_terms(raw['prefix'])})")
        if raw.get("suffix"):
            parts.append(f"(?:{_terms(raw['suffix'])})$")
        if raw.get("contains"):
            parts.append(f"(?:{_terms(raw['contains'])})")
        if raw.get("pattern"):
            parts.append(f"(?:{raw['pattern']})")
        if not parts:
            raise ValueError(f"vocabulary rule for {raw.get('role')} has no terms")
        unless = re.compile(_terms(raw["unless"])) if raw.get("unless") else None
        rules.append(
            LabelRule(raw["role"], float(raw["strength"]), re.compile("|".join(parts)), unless,
                      tuple(raw.get("may_be", ())))
        )
    return rules


LABEL_RULES: list[LabelRule] = load_label_rules()

PAYMENT_METHODS: list[tuple[str, re.Pattern[str]]] = [
    ("Octopus", re.compile(r"八達通|octopus", re.I)),
    ("Visa", re.compile(r"visa", re.I)),
    ("Mastercard", re.compile(r"master", re.I)),
    ("American Express", re.compile(r"amex|american\s*express", re.I)),
    ("UnionPay", re.compile(r"unionpay|銀聯|银联", re.I)),
    ("AlipayHK", re.compile(r"alipay|支付寶|支付宝", re.I)),
    ("WeChat Pay", re.compile(r"wechat|微信", re.I)),
    ("PayMe", re.compile(r"payme(?!nt)", re.I)),  # not "Payment"
    ("FPS", re.compile(r"轉數快|转数快|\bFPS\b", re.I)),
    ("EPS", re.compile(r"易辦事|\bEPS\b", re.I)),
    ("KPay", re.compile(r"\bKPay\b", re.I)),
    ("Tap & Go", re.compile(r"tap\s*&?\s*go", re.I)),
    ("BoC Pay", re.compile(r"boc\s*pay", re.I)),
    ("Apple Pay", re.compile(r"apple\s*pay", re.I)),
    ("Google Pay", re.compile(r"google\s*pay", re.I)),
    ("JCB", re.compile(r"\bJCB\b", re.I)),
    ("Cash", re.compile(r"現金|现金|\bcash\b", re.I)),
]


def label_rule(text: str) -> LabelRule | None:
    """The first vocabulary rule a label string matches, or None."""
    # labels without their numbers and currency codes ("金額 AMOUNT HKD 123.00" → "金額amount")
    s = squash(re.sub(r"(?i)\b(?:HKD|HK|RMB|CNY|USD|US|MOP|JPY|MYR|RM)\b|[\d$.,:：¥￥]+", " ", text))
    if not s:
        return None
    return next((rule for rule in LABEL_RULES if rule.matches(s)), None)


def classify_label(text: str) -> tuple[str, float] | None:
    """The role of a label string (``"TOTAL"``, ``"SUBTOTAL"``, ``"BALANCE"``…) and its strength, or None."""
    rule = label_rule(text)
    return (rule.role, rule.strength) if rule else None


def payment_method(text: str) -> str | None:
    """The payment method a string names (``八達通`` → ``Octopus``), or None."""
    for name, pattern in PAYMENT_METHODS:
        if pattern.search(text):
            return name
    return None


#: Kanji that OCR returns for look-alike katakana; replaced only between kana (東海堂·ア口一ム → アローム).
_KANA_LOOKALIKES = str.maketrans(
    {"口": "ロ", "一": "ー", "二": "ニ", "力": "カ", "工": "エ", "夕": "タ", "卜": "ト"}
)


def clean_vendor(text: str) -> str | None:
    """Join multi-line vendor values and drop decoration and store codes (``META\\n-`` → ``META``,
    ``McDonald's Hong Kong (211)`` → ``McDonald's Hong Kong``, ``PARK∩SHOP`` → ``PARKnSHOP``)."""
    parts = [p.strip(" -_*=~.|:：#") for p in re.split(r"[\r\n]+", text)]
    joined = " ".join(p for p in parts if p)
    joined = re.sub(r"\s*[(（]\d{1,6}[)）]\s*$|\s*/\s*\d{1,6}\s*$", "", joined)
    joined = joined.replace("∩", "n")
    joined = re.sub(
        r"(?<=[\u30a0-\u30ff])[口一二力工夕卜]+|[口一二力工夕卜]+(?=[\u30a0-\u30ff])",
        lambda m: m.group(0).translate(_KANA_LOOKALIKES),
        joined,
    )
    joined = re.sub(r"\s{2,}", " ", joined).strip()
    return joined or None
