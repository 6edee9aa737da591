"""Resolve a parsed AnalyzeExpense response into one ``ExtractedReceipt`` and decide if it needs review.

Why separate from the parser: a response offers candidates (several TOTALs, several dates, a subtotal, a
stored-value balance); choosing the payable total, reading a day-first date and defaulting the currency are
Hong Kong business rules that must be identical for our OCR and for real Textract. The same place cross-checks
the numbers (subtotal + service charge − discount = total, line items sum) and turns weak or inconsistent
evidence into ``needs_review`` with reasons a person can act on.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, TypeVar

from . import normalise, relations
from .models import ExpenseField, ExtractedLine, ExtractedReceipt, ParsedExpense

#: Hong Kong has kept UTC+8 without daylight saving since 1979; a fixed offset needs no tz database on Lambda.
HK_TZ = datetime.timezone(datetime.timedelta(hours=8), "HKT")

#: Below these per-field confidences a receipt goes to review. Total and date drive money and policy checks,
#: so they are strict; the currency has a sensible default (HKD) in Hong Kong.
TOTAL_CONFIDENCE_THRESHOLD = 0.80
DATE_CONFIDENCE_THRESHOLD = 0.75
CURRENCY_CONFIDENCE_THRESHOLD = 0.60
TAX_CONFIDENCE_THRESHOLD = 0.60

#: Confidence multiplier for a total that nothing corroborates and the line items contradict.
LINE_ITEM_MISMATCH_FACTOR = 0.85
#: Receipts round to the dollar (以四捨五入計算至整數), so sums may differ by up to this much.
ROUNDING_TOLERANCE = Decimal("1.00")
#: Currency assumed for a receipt that shows no currency at all (the claimants are in Hong Kong).
DEFAULT_CURRENCY = "HKD"
DEFAULT_CURRENCY_CONFIDENCE = 0.7


T = TypeVar("T", Decimal, datetime.date, str)


@dataclass(frozen=True)
class _Candidate(Generic[T]):
    value: T
    score: float
    field: ExpenseField | None


def _best(cands: Iterable[_Candidate[T]]) -> tuple[_Candidate[T] | None, _Candidate[T] | None]:
    """Best candidate after merging equal values (repeats add a little support), and the best different
    one."""
    merged: dict[T, _Candidate[T]] = {}
    counts: dict[T, int] = {}
    for c in cands:
        counts[c.value] = counts.get(c.value, 0) + 1
        if c.value not in merged or c.score > merged[c.value].score:
            merged[c.value] = c
    ranked = sorted(
        (_Candidate(v, min(0.99, c.score + 0.04 * (counts[v] - 1)), c.field) for v, c in merged.items()),
        key=lambda c: -c.score,
    )
    return (ranked[0] if ranked else None), (ranked[1] if len(ranked) > 1 else None)


def _score(f: ExpenseField) -> float:
    return f.type_confidence * (f.value_confidence or 0.0)


def _fields(parsed: ParsedExpense, *types: str) -> list[ExpenseField]:
    return [f for f in parsed.summary_fields if f.type in types]


def _amount_candidates(
    parsed: ParsedExpense, ftype: str, *, positive: bool = True
) -> list[_Candidate[Decimal]]:
    out = []
    for f in _fields(parsed, ftype):
        amount = normalise.parse_amount(f.value)
        if amount is None or (positive and amount <= 0):
            continue
        out.append(_Candidate(abs(amount) if not positive else amount, _score(f), f))
    return out


def _resolve_currency(parsed: ParsedExpense) -> tuple[str, float]:
    codes: dict[str, int] = {}
    confs: dict[str, float] = {}
    for f in parsed.summary_fields + [f for item in parsed.line_items for f in item]:
        if f.currency_code:
            code = f.currency_code.upper()
            codes[code] = codes.get(code, 0) + 1
            confs[code] = max(confs.get(code, 0.0), f.currency_confidence if f.currency_confidence else 0.9)
    if codes:
        code = max(codes, key=lambda c: codes[c])
        return code, confs[code] if len(codes) == 1 else 0.6
    texts = [f.value for f in parsed.summary_fields] + [f.label or "" for f in parsed.summary_fields]
    texts += [f.value for item in parsed.line_items for f in item] + parsed.lines
    detected, detected_conf = normalise.detect_currency("\n".join(texts))
    if detected:
        return detected, detected_conf
    return DEFAULT_CURRENCY, DEFAULT_CURRENCY_CONFIDENCE


def _resolve_date(
    parsed: ParsedExpense, day_first: bool, today: datetime.date
) -> tuple[datetime.date | None, float]:
    cands: list[_Candidate[datetime.date]] = []
    for f in _fields(parsed, "INVOICE_RECEIPT_DATE"):
        for value, conf, _ in normalise.find_dates(f.value, day_first=day_first, today=today):
            # the format's own reliability (two-digit year, swapped day/month) scales the field's confidence
            cands.append(_Candidate(value, _score(f) * min(1.0, conf / 0.93), f))
            break
    if not cands:  # Textract sometimes leaves the date as OTHER ("March 12, 2019")
        texts: list[tuple[str, ExpenseField | None]] = [(f.value, f) for f in _fields(parsed, "OTHER")]
        texts += [(t, None) for t in parsed.lines]
        for text, source in texts:
            for value, conf, _ in normalise.find_dates(text, day_first=day_first, today=today):
                cands.append(_Candidate(value, 0.6 * conf, source))
                # "Statement Date 09/30/10 Date(s) of Service 07/31/10": the first date is the document's
                break
    best, runner = _best(cands)
    if best is None:
        return None, 0.0
    conf = best.score
    if runner is not None and runner.score > 0.85 * best.score:
        conf *= 0.8
    return best.value, conf


def _resolve_text(parsed: ParsedExpense, *types: str) -> tuple[str | None, float]:
    cands = []
    for f in _fields(parsed, *types):
        text = normalise.clean_vendor(f.value)
        if text:
            cands.append(_Candidate(text, _score(f), f))
    best, _ = _best(cands)
    return (best.value, best.score) if best else (None, 0.0)


def _resolve_vendor(parsed: ParsedExpense) -> tuple[str | None, float]:
    vendor, conf = _resolve_text(parsed, "VENDOR_NAME")
    if vendor is None:
        named = [f for f in _fields(parsed, "NAME") if "VENDOR" in f.group_types]
        cands = [
            _Candidate(name, _score(f) * 0.9, f) for f in named if (name := normalise.clean_vendor(f.value))
        ]
        best, _ = _best(cands)
        if best:
            return best.value, best.score
    return vendor, conf


def _sum_matches(total: Decimal, parts: list[Decimal]) -> bool:
    return abs(sum(parts, Decimal(0)) - total) <= ROUNDING_TOLERANCE


@dataclass(frozen=True)
class _Money:
    """The resolved amounts of one receipt and how sure we are of the total."""

    total: Decimal | None
    total_conf: float
    subtotal: Decimal | None
    service: Decimal | None
    discount: Decimal | None
    tax: Decimal | None
    tax_conf: float
    reasons: tuple[str, ...]


def _resolve_money(parsed: ParsedExpense) -> _Money:
    """Pick the payable total that the printed sums support (relations.solve) and say what contradicts it."""
    reasons: list[str] = []
    solution = relations.solve(parsed)
    best, runner = solution.best, solution.runner
    subtotal = _part(solution, "SUBTOTAL")
    service = _part(solution, "SERVICE_CHARGE")
    discount = _part(solution, "DISCOUNT")
    total: Decimal | None = None
    total_conf = 0.0
    if best is not None and (best.prior >= relations.PRIOR_FLOOR or best.relations):
        total, total_conf = best.value, best.confidence()
        if runner is not None and not best.relations and runner.prior > 0.8 * best.prior and not _net_of(best, runner):
            total_conf *= 0.75
            reasons.append(f"several different totals printed ({best.value} and {runner.value})")
        if solution.conflicts:
            total_conf = min(total_conf, 0.7)
            reasons.extend(solution.conflicts)
    elif subtotal is not None:
        # only a subtotal was read: derive the total, but a person checks it
        total = subtotal + (service or Decimal(0)) - (discount or Decimal(0))
        total_conf = 0.5
        reasons.append(f"no total printed; {total} is worked out from the subtotal")

    if total is not None and best is not None and total == best.value:
        total_conf = _cross_check(parsed, best, total_conf, subtotal, discount, reasons)
    tax, tax_conf = _tax(solution, total)
    return _Money(total, total_conf, subtotal, service, discount, tax, tax_conf, tuple(reasons))


def _part(solution: relations.Solution, role: str) -> Decimal | None:
    """The amount of ``role`` the winning sum used, else the best-read one printed."""
    used = solution.member(role)
    if used is not None:
        return used.value
    printed = [a for a in solution.amounts if a.role == role]
    return max(printed, key=lambda a: a.score).value if printed else None


def _tax(solution: relations.Solution, total: Decimal | None) -> tuple[Decimal | None, float]:
    """The tax the sums used, else the best-read tax line; never the total itself (an amount-due line misread)."""
    used = solution.member("TAX")
    if used is not None:
        return used.value, min(0.99, used.score + 0.1)
    printed = [
        a for a in solution.amounts if a.role == "TAX" and (total is None or (a.value != total and a.value < total))
    ]
    if not printed:
        return None, 0.0
    best = max(printed, key=lambda a: a.score)
    return best.value, best.score


def _cross_check(
    parsed: ParsedExpense,
    best: relations.Candidate,
    conf: float,
    subtotal: Decimal | None,
    discount: Decimal | None,
    reasons: list[str],
) -> float:
    """Numbers that no relation explains but that still speak against the total lower confidence."""
    total = best.value
    if subtotal is not None and subtotal > total + ROUNDING_TOLERANCE and not discount and not best.relations:
        reasons.append(f"subtotal {subtotal} is more than the total {total}")
        conf = min(conf, 0.6)
    prices = [
        p
        for item in parsed.line_items
        for f in item
        if f.type == "PRICE" and (p := normalise.parse_amount(f.value)) is not None
    ]
    if prices and not best.relations and not (subtotal is not None and _sum_matches(subtotal, prices)):
        # nothing confirms the total and the line items disagree with it: less sure (item rows found by layout
        # also pick up unit prices and quantities, so this lowers confidence rather than vetoing)
        conf *= LINE_ITEM_MISMATCH_FACTOR
        if conf < TOTAL_CONFIDENCE_THRESHOLD:
            reasons.append(f"line items add up to {sum(prices, Decimal(0))}, not the total {total}")
    return conf


def receipt_from_parsed(parsed: ParsedExpense, *, today: datetime.date | None = None) -> ExtractedReceipt:
    """Choose the payable total, date, currency, tax and vendor, and decide ``needs_review``."""
    today = today or datetime.datetime.now(HK_TZ).date()
    currency, currency_conf = _resolve_currency(parsed)
    day_first = currency != "USD"  # US receipts (seen through Textract) print month first

    money = _resolve_money(parsed)
    reasons = list(money.reasons)
    total, total_conf = money.total, money.total_conf
    if total is not None:
        total = normalise.quantize_money(total, currency)
        if total_conf < TOTAL_CONFIDENCE_THRESHOLD:
            reasons.append(f"total confidence {_floor2(total_conf)} below {TOTAL_CONFIDENCE_THRESHOLD:.2f}")
    else:
        reasons.append("no total found")

    date, date_conf = _resolve_date(parsed, day_first, today)
    if date is None:
        reasons.append("no date found")
    else:
        if date > today + datetime.timedelta(days=1):
            reasons.append(f"date {date.isoformat()} is in the future")
            date_conf = min(date_conf, 0.5)
        elif date_conf < DATE_CONFIDENCE_THRESHOLD:
            reasons.append(f"date confidence {_floor2(date_conf)} below {DATE_CONFIDENCE_THRESHOLD:.2f}")
    if currency_conf < CURRENCY_CONFIDENCE_THRESHOLD:
        reasons.append(
            f"currency confidence {_floor2(currency_conf)} below {CURRENCY_CONFIDENCE_THRESHOLD:.2f}"
        )

    vendor, vendor_conf = _resolve_vendor(parsed)
    receipt_no, _ = _resolve_text(parsed, "INVOICE_RECEIPT_ID")
    receipt_time = _resolve_time(parsed, day_first, today) if date is not None else None
    return ExtractedReceipt(
        vendor=vendor,
        date=date,
        total=total,
        tax=normalise.quantize_money(money.tax, currency) if money.tax is not None else None,
        currency=currency,
        confidence={
            "vendor": round(vendor_conf, 3),
            "date": round(date_conf, 3),
            "total": round(total_conf, 3),
            "tax": round(money.tax_conf, 3),
            "currency": round(currency_conf, 3),
        },
        needs_review=bool(reasons),
        review_reasons=reasons,
        payment_method=_payment_method(parsed),
        receipt_no=receipt_no,
        receipt_time=receipt_time,
        city=_city(parsed, currency),
        subtotal=money.subtotal,
        service_charge=money.service,
        discount=money.discount,
        pages=parsed.pages,
        line_items=_line_items(parsed, total, money.subtotal, currency),
        source_page=parsed.source_page,
        source_region=parsed.source_region,
    )


def _line_items(parsed: ParsedExpense, total: Decimal | None, subtotal: Decimal | None,
                currency: str) -> list[ExtractedLine]:
    """Lines an approver can disallow one by one: every row needs a name and a price, and together they must
    add up to the subtotal or the total; anything less is left for the employee to enter."""
    rows = []
    for item in parsed.line_items:
        name = next((f.value.strip() for f in item if f.type == "ITEM" and f.value.strip()), None)
        price = next((p for f in item if f.type == "PRICE" and (p := normalise.parse_amount(f.value)) is not None),
                     None)
        if name is None or price is None or price <= 0:
            return []
        rows.append(ExtractedLine(description=name[:200], amount=normalise.quantize_money(price, currency)))
    prices = [row.amount for row in rows]
    if rows and any(base is not None and _sum_matches(base, prices) for base in (subtotal, total)):
        return rows
    return []


def _floor2(x: float) -> str:
    """Two decimals rounded down, so a reason never reads "0.80 below 0.80"."""
    return f"{math.floor(x * 100) / 100:.2f}"


def _net_of(best: relations.Candidate, runner: relations.Candidate) -> bool:
    """The best total is labelled as the net payable (實付, 應付, Amount Due) and is below a gross total."""
    best_type = max((a.field.type_confidence for a in best.sources if a.field is not None), default=0.0)
    runner_type = max((a.field.type_confidence for a in runner.sources if a.field is not None), default=0.0)
    return best_type > runner_type and best.value < runner.value


def _payment_method(parsed: ParsedExpense) -> str | None:
    for f in _fields(parsed, "AMOUNT_PAID", "PAYMENT_TERMS"):
        found = normalise.payment_method(f"{f.label or ''} {f.value}")
        if found:
            return found
    for f in parsed.summary_fields:
        found = normalise.payment_method(f"{f.label or ''} {f.value}")
        if found and found != "Cash":
            return found
    for text in parsed.lines:
        found = normalise.payment_method(text)
        if found:
            return found
    return None


#: A time of day printed beside a date: 13:25, 13:25:58, 9:05 (24-hour, as Hong Kong tills print).
_TIME = re.compile(r"(?<![\d:])([01]?\d|2[0-3])[:：]([0-5]\d)(?::[0-5]\d)?(?![\d:])")


def _resolve_time(parsed: ParsedExpense, day_first: bool, today: datetime.date) -> datetime.time | None:
    """The HH:MM on the same field or line as a date (the date field first): when the receipt was printed."""
    texts = [f.value for f in _fields(parsed, "INVOICE_RECEIPT_DATE")] + list(parsed.lines)
    for text in texts:
        dates = normalise.find_dates(text, day_first=day_first, today=today)
        if not dates:
            continue
        rest = "".join(ch if not any(a <= i < b for _, _, (a, b) in dates) else " " for i, ch in enumerate(text))
        m = _TIME.search(rest)
        if m:
            return datetime.time(int(m.group(1)), int(m.group(2)))
    return None


#: Cities a receipt's address names, in the words receipts print them, by the currency they are paid in there.
_MACAU_WORDS = re.compile(r"澳門|澳门|macau|macao|氹仔|taipa|coloane", re.I)
_MAINLAND_WORDS = (("Shenzhen", re.compile(r"深圳|shenzhen", re.I)),
                   ("Shanghai", re.compile(r"上海|shanghai", re.I)),
                   ("Beijing", re.compile(r"北京|beijing", re.I)),
                   ("Guangzhou", re.compile(r"廣州|广州|guangzhou", re.I)))
_CURRENCY_CITY = {"HKD": "Hong Kong", "MOP": "Macau", "SGD": "Singapore"}


def _city(parsed: ParsedExpense, currency: str) -> str | None:
    """Where the receipt was paid: Macau when a Hong Kong-dollar receipt says so (Macau takes HKD), a mainland
    city a yuan receipt names, else its currency's one city (HKD: Hong Kong); None when nothing says (a yuan
    receipt naming no city, a yen one). A Hong Kong shop named for Shanghai stays in Hong Kong."""
    text = "\n".join([*(f.value for f in parsed.summary_fields), *parsed.lines])
    if currency in ("HKD", "MOP") and _MACAU_WORDS.search(text):
        return "Macau"
    if currency == "CNY":
        return next((city for city, words in _MAINLAND_WORDS if words.search(text)), None)
    return _CURRENCY_CITY.get(currency)
