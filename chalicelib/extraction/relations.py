"""Every printed sum is a check: choose the payable total that the receipt's own arithmetic supports.

Why: a label can be misread or misleading (a round cash-tendered amount beside "現金", an "Amount due" line read
as tax, a stored-value balance under a total), but a receipt prints its sums redundantly: subtotal + service
charge + fees + tax − discounts (± rounding) = total; cash tendered − change = total; the line items add up to
the subtotal; a card or Octopus line repeats the amount paid; a 10% 加一 is a tenth of the subtotal; tax is the
rate times its base. Each candidate total is scored by how sure its label makes it (the prior) plus the
relations it satisfies; the total that satisfies the most wins, and when the printed sums contradict the
chosen total, the receipt is flagged with a reason that names them. Confidence combines label, OCR and
arithmetic, so a field is trusted only when it is read well and consistent.

Pure: works on a ``ParsedExpense`` (our OCR or a real Textract response alike).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from decimal import Decimal

from . import normalise
from .models import ExpenseField, ParsedExpense

#: Textract summary types → the role they play in the sums (GRATUITY is a tip; AMOUNT_DUE is a payable total).
_TYPE_ROLES = {
    "TOTAL": "TOTAL",
    "AMOUNT_DUE": "TOTAL",
    "SUBTOTAL": "SUBTOTAL",
    "SERVICE_CHARGE": "SERVICE_CHARGE",
    "GRATUITY": "TIP",
    "SHIPPING_HANDLING_CHARGE": "FEE",
    "TAX": "TAX",
    "DISCOUNT": "DISCOUNT",
    "AMOUNT_PAID": "AMOUNT_PAID",
    "PRIOR_BALANCE": "BALANCE",
}
#: Roles added to (or, for DISCOUNT, taken from) a subtotal on the way to the total.
ADDITIVE = ("SERVICE_CHARGE", "FEE", "TIP", "TAX")
#: How much a label alone makes an amount the payable total (times the field's own type and OCR confidence).
_PRIOR = {
    "TOTAL": 1.0,
    "AMOUNT_PAID": 0.8,
    "MAY_BE_TOTAL": 0.6,
    "TENDERED": 0.3,  # exact-money payment: cash 100 with no change is the total
    "SUBTOTAL": 0.3,  # nothing added or taken off
    "TAX": 0.1,  # an amount-due line misread as tax
    "TEXT": 0.1,  # an amount printed with no label that we could pair
}
#: How far an amount written in financial numerals is trusted as a total: below a labelled figure (a word may be
#: misread too), enough to count as the total printed a second time.
IN_WORDS_SCORE = 0.85
#: Below this prior a candidate no printed sum supports is a guess, not a total.
PRIOR_FLOOR = 0.3
#: Evidence weight of each relation (additive when ranking, combined as independent evidence for confidence).
WEIGHTS = {
    "sum": 0.6,  # subtotal and adjustments, exactly
    "change": 0.6,  # tendered − change, exactly
    "sum_rounded": 0.25,  # the same within a dollar of rounding
    "paid": 0.4,  # a payment line shows the same amount
    "items": 0.4,  # the line items add up to it
    "items_rounded": 0.2,  # within a dollar
    "repeat": 0.2,  # printed as a total more than once
    "service_rate": 0.15,  # the service charge is 10% of the subtotal used
    "tax_rate": 0.2,  # the tax is the printed rate of its base
    "supersedes": 0.3,  # another printed total plus a tip, fee, service charge or tax (or less a discount): a later one
    "tendered": 0.3,  # the cash or card tendered, with no change, is the same amount
}
EXACT = Decimal("0.01")
#: Cash is paid in 10-cent coins at the smallest: tendered − change may differ from a total by 5 cents.
CASH_TOLERANCE = Decimal("0.05")
#: Receipts round to the dollar (以四捨五入計算至整數).
ROUNDING_TOLERANCE = Decimal("1.00")
MAX_ADJUSTMENTS = 7
_PERCENT = re.compile(r"(?<![\d.])(\d{1,2}(?:\.\d{1,2})?)\s*%")


@dataclass(frozen=True)
class Amount:
    """One printed amount and the role its label gives it."""

    value: Decimal
    role: str
    score: float  # the label's type confidence × the value's OCR confidence, 0..1
    may_be: tuple[str, ...] = ()
    field: ExpenseField | None = None

    def text(self) -> str:
        return f"{_ROLE_WORDS.get(self.role, self.role.lower())} {self.value}"


_ROLE_WORDS = {
    "SUBTOTAL": "subtotal",
    "SERVICE_CHARGE": "service charge",
    "FEE": "fee",
    "TIP": "tip",
    "TAX": "tax",
    "DISCOUNT": "discount",
    "ROUNDING": "rounding",
    "TENDERED": "cash tendered",
    "CHANGE": "change",
    "ITEMS": "line items",
}


@dataclass(frozen=True)
class Relation:
    """A printed sum that a candidate total satisfies."""

    kind: str
    members: tuple[Amount, ...]
    sentence: str

    @property
    def weight(self) -> float:
        return WEIGHTS[self.kind]


@dataclass
class Candidate:
    value: Decimal
    prior: float
    sources: list[Amount] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)

    @property
    def support(self) -> float:
        return sum(r.weight for r in self.relations)

    @property
    def score(self) -> float:
        return self.prior + self.support

    def confidence(self) -> float:
        """Label and arithmetic as independent evidence: 1 − Π(1 − e)."""
        doubt = 1.0 - min(self.prior, 0.99)
        for r in self.relations:
            doubt *= 1.0 - r.weight
        return min(0.99, 1.0 - doubt)

    def uses(self, amount: Amount) -> bool:
        return any(amount in r.members for r in self.relations)


@dataclass(frozen=True)
class Solution:
    """The chosen total, the amounts its sums used, and what contradicts it."""

    best: Candidate | None
    runner: Candidate | None
    amounts: tuple[Amount, ...]
    conflicts: tuple[str, ...]

    def member(self, role: str) -> Amount | None:
        """The amount of ``role`` that the winning sum used (the subtotal, the tax…), if any."""
        if self.best is None:
            return None
        for relation in sorted(self.best.relations, key=lambda r: -r.weight):
            for amount in relation.members:
                if amount.role == role:
                    return amount
        return None


# ---- gathering ---------------------------------------------------------------------------------------


def gather(parsed: ParsedExpense) -> list[Amount]:
    """Every labelled amount of the response, with its role in the sums; OTHER fields by their label."""
    out: list[Amount] = []
    for f in parsed.summary_fields:
        role = _role_of(f)
        if role is None:
            continue
        amount = normalise.parse_amount(f.value)
        if amount is None:
            continue
        score = f.type_confidence * (f.value_confidence or 0.0)
        if role in ("DISCOUNT", "ROUNDING"):
            value = abs(amount) if role == "DISCOUNT" else amount
        elif amount < 0 and role in ("TOTAL", "AMOUNT_PAID"):
            # a folio or statement prints the settled total as a credit ("-1,171.15"): the amount, less sure
            value, score = -amount, score * 0.5
        elif amount <= 0:
            continue
        else:
            value = amount
        rule = normalise.label_rule(_plain_label(f.label)) if f.label else None
        may_be = rule.may_be if rule is not None and rule.role == role else ()
        out.append(Amount(value, role, score, may_be, f))
    # the total in financial numerals (价税合计(大写)…): the same total read a second, independent way
    for value in dict.fromkeys(v for line in parsed.lines for v in normalise.amounts_in_words(line) if v > 0):
        out.append(Amount(value, "TOTAL", IN_WORDS_SCORE))
    return out


def _plain_label(label: str | None) -> str:
    return re.sub(r"^[A-Z_]+:\s*", "", label or "")


def _role_of(f: ExpenseField) -> str | None:
    if f.type in _TYPE_ROLES:
        return _TYPE_ROLES[f.type]
    if f.type != "OTHER" or not f.label:
        return None
    # our builder keeps the role in the label ("TENDERED: 現金"); Textract gives the printed label ("CASH")
    tagged = re.match(r"^([A-Z_]+):\s", f.label)
    if tagged and tagged.group(1) in ("TENDERED", "CHANGE", "BALANCE", "FEE", "ROUNDING", "TIP"):
        return tagged.group(1)
    found = normalise.classify_label(f.label)
    if found and found[0] in ("TENDERED", "CHANGE", "BALANCE", "FEE", "ROUNDING", "TIP"):
        return found[0]
    return None


def _item_prices(parsed: ParsedExpense) -> list[Amount]:
    prices = []
    for item in parsed.line_items:
        for f in item:
            if f.type == "PRICE" and (p := normalise.parse_amount(f.value)) is not None and p > 0:
                prices.append(Amount(p, "ITEM", f.value_confidence, (), f))
    return prices


def _text_amounts(parsed: ParsedExpense) -> list[Decimal]:
    """Amounts printed with a decimal point in the free text: candidates no label pointed at."""
    found = []
    for text in parsed.lines:
        for value, has_money_form, _ in normalise.find_amounts(text):
            if has_money_form and value > 0:
                found.append(value)
    return found


def _rates(parsed: ParsedExpense) -> set[Decimal]:
    rates = set()
    for text in parsed.lines + [f.label or "" for f in parsed.summary_fields]:
        for m in _PERCENT.finditer(text):
            rate = Decimal(m.group(1))
            if 0 < rate <= 30:
                rates.add(rate / 100)
    return rates


# ---- relations ---------------------------------------------------------------------------------------


def _close(a: Decimal, b: Decimal, tolerance: Decimal) -> bool:
    return abs(a - b) <= tolerance


def _sum_relations(total: Decimal, bases: list[Amount], adjustments: list[Amount],
                   printed: frozenset[Decimal] = frozenset()) -> list[Relation]:
    """The best subtotal + adjustments = total relation for this total (exact before rounded).

    A sum that rounds to the total is no support when the exact sum is itself printed elsewhere (a payment
    line, a second total): that receipt did not round, so the total was probably misread (4,770:05 as 4770)."""
    best: Relation | None = None
    signed = [(a, -a.value if a.role == "DISCOUNT" else a.value) for a in adjustments[:MAX_ADJUSTMENTS]]
    for base in bases:
        for size in range(len(signed) + 1):
            for subset in itertools.combinations(signed, size):
                if sum(a.role == "TAX" for a, _ in subset) > 1:
                    continue  # one tax line, not the tax twice
                got = base.value + sum((v for _, v in subset), Decimal(0))
                if not subset:
                    if base.role != "SUBTOTAL" or not _close(base.value, total, ROUNDING_TOLERANCE):
                        continue
                    # a subtotal equal to the total: nothing added or taken off (or only rounding)
                    kind = "repeat" if base.value == total else "sum_rounded"
                elif _close(got, total, EXACT):
                    kind = "sum"
                elif _close(got, total, ROUNDING_TOLERANCE) and subset and got not in printed:
                    kind = "sum_rounded"
                else:
                    continue
                members = (base, *(a for a, _ in subset))
                sentence = base.text() + "".join(
                    f" + {a.text()}" if v >= 0 else f" − {_ROLE_WORDS[a.role]} {-v}" for a, v in subset
                )
                relation = Relation(kind, members, f"{sentence} = {total}")
                if best is None or _rank(relation) > _rank(best):
                    best = relation
    return [best] if best else []


def _rank(relation: Relation) -> tuple[float, int]:
    return relation.weight, len(relation.members)


def _change_relations(total: Decimal, tendered: list[Amount], change: list[Amount]) -> list[Relation]:
    for t in tendered:
        for c in change:
            if c.value > 0 and _close(t.value - c.value, total, CASH_TOLERANCE):
                return [Relation("change", (t, c), f"{t.text()} − {c.text()} = {total}")]
    return []


def _rate_relations(total: Decimal, members: tuple[Amount, ...], rates: set[Decimal]) -> list[Relation]:
    out = []
    base = next((m for m in members if m.role in ("SUBTOTAL", "ITEMS")), None)
    service = next((m for m in members if m.role == "SERVICE_CHARGE"), None)
    if base is not None and service is not None and _close(service.value, base.value / 10, Decimal("0.55")):
        out.append(Relation("service_rate", (base, service), f"{service.text()} is 10% of {base.text()}"))
    tax = next((m for m in members if m.role == "TAX"), None)
    if tax is not None and rates:
        for rate in rates:
            for tax_base in {base.value if base else None, total - tax.value}:
                if tax_base is not None and _close(tax.value, tax_base * rate, Decimal("0.05")):
                    out.append(Relation("tax_rate", (tax,), f"{tax.text()} is {rate * 100:g}% of {tax_base}"))
                    return out
    return out


# ---- solving ------------------------------------------------------------------------------------------


def solve(parsed: ParsedExpense) -> Solution:
    """Score every candidate total by its label and the printed sums it satisfies; the best one wins."""
    amounts = gather(parsed)
    by_role: dict[str, list[Amount]] = {}
    for a in amounts:
        by_role.setdefault(a.role, []).append(a)
    items = _item_prices(parsed)
    tendered = by_role.get("TENDERED", [])
    change = [c for c in by_role.get("CHANGE", []) if c.value > 0]
    # a subtotal, the line items' sum, or a printed total before service charge or discount (合計 → 總金額)
    bases = list(by_role.get("SUBTOTAL", [])) + list(by_role.get("TOTAL", []))
    if len(items) >= 2:
        bases.append(Amount(sum((i.value for i in items), Decimal(0)), "ITEMS", min(i.score for i in items)))
    adjustments = _distinct(
        [a for role in (*ADDITIVE, "DISCOUNT", "ROUNDING") for a in by_role.get(role, []) if a.value != 0]
    )
    rates = _rates(parsed)

    candidates: dict[Decimal, Candidate] = {}

    def offer(value: Decimal, prior: float, source: Amount | None) -> None:
        cand = candidates.setdefault(value, Candidate(value, 0.0))
        cand.prior = max(cand.prior, prior)
        if source is not None:
            cand.sources.append(source)

    for a in amounts:
        if a.role in _PRIOR:
            prior = _PRIOR[a.role]
            if a.role == "TENDERED" and change:
                continue  # a tendered amount with change given back is never the total
            offer(a.value, prior * a.score, a)
        if "TOTAL" in a.may_be:
            offer(a.value, _PRIOR["MAY_BE_TOTAL"] * a.score, a)
    impostors = {
        a.value
        for a in amounts
        if a.role in ("BALANCE", "CHANGE", "FEE", "TIP", "DISCOUNT", "ROUNDING", "SERVICE_CHARGE")
        or (a.role == "TENDERED" and change)
    }
    labelled = {a.value for a in amounts}
    text_amounts = _text_amounts(parsed)
    for value in text_amounts:
        if value not in impostors and value not in labelled:
            offer(value, _PRIOR["TEXT"], None)
    if len(items) == 1:
        offer(items[0].value, 0.05, items[0])
    printed = frozenset(abs(v) for v in (*labelled, *text_amounts))

    for cand in candidates.values():
        relations: list[Relation] = []
        relations += _sum_relations(cand.value, bases, adjustments, printed)
        relations += _change_relations(cand.value, tendered, change)
        paid = next((a for a in by_role.get("AMOUNT_PAID", []) if a.value == cand.value), None)
        if paid is not None and any(s.role != "AMOUNT_PAID" for s in cand.sources):
            relations.append(Relation("paid", (paid,), f"the payment line shows {cand.value}"))
        if items:
            item_sum = sum((i.value for i in items), Decimal(0))
            kind = "items" if _close(item_sum, cand.value, EXACT) else "items_rounded"
            if _close(item_sum, cand.value, ROUNDING_TOLERANCE):
                relations.append(Relation(kind, tuple(items), f"the line items add up to {item_sum}"))
        totals = [s for s in cand.sources if s.role == "TOTAL"]
        if len(totals) >= 2 and not any(r.kind == "repeat" for r in relations):
            relations.append(Relation("repeat", tuple(totals), f"{cand.value} is printed as the total twice"))
        for r in list(relations):
            if r.kind in ("sum", "sum_rounded"):
                relations += _rate_relations(cand.value, r.members, rates)
        exact = next((t for t in tendered if t.value == cand.value and t not in cand.sources), None)
        if exact is not None and not change:
            relations.append(Relation("tendered", (exact,), f"{exact.text()} with no change"))
        cand.relations = relations
    # a total that another printed total turns into (Balance Due + Tip = Total; 合計 + 服務費 = 總金額) is the later,
    # payable one: the receipt printed the steps on the way to it
    totals = [a for a in amounts if a.role == "TOTAL"]
    for cand in candidates.values():
        before = [t for t in totals if t.value != cand.value]
        for r in _sum_relations(cand.value, before, adjustments):
            if r.kind == "sum":
                cand.relations.append(Relation("supersedes", r.members, r.sentence))

    ranked = sorted(candidates.values(), key=lambda c: (-c.score, -c.prior, -c.value))
    best = ranked[0] if ranked else None
    runner = next((c for c in ranked[1:] if best is not None and not _explained_by(c, best)), None)
    conflicts = _conflicts(best, tendered, change, ranked) if best else ()
    return Solution(best, runner, tuple(amounts), conflicts)


def _distinct(amounts: list[Amount]) -> list[Amount]:
    """One amount per (role, value): the same service charge read twice must not be added twice."""
    seen: dict[tuple[str, Decimal], Amount] = {}
    for a in amounts:
        key = (a.role, a.value)
        if key not in seen or a.score > seen[key].score:
            seen[key] = a
    return sorted(seen.values(), key=lambda a: -a.score)


def _explained_by(other: Candidate, best: Candidate) -> bool:
    """Another candidate that the winning sums use (its subtotal, its tendered cash) is not a rival total."""
    members = {m.value for r in best.relations for m in r.members}
    return other.value in members or other.prior < 0.3


#: Relations that tie a total to other printed amounts exactly (not within rounding).
_EXACT_KINDS = frozenset({"sum", "change", "items", "paid", "supersedes", "repeat", "tendered"})


def _conflicts(best: Candidate, tendered: list[Amount], change: list[Amount],
               ranked: list[Candidate] = ()) -> tuple[str, ...]:
    """Printed sums that the chosen total breaks, as sentences (only sums read clearly enough to be evidence)."""
    out = []
    kinds = {r.kind for r in best.relations}
    if tendered and change and "change" not in kinds:
        t, c = max(tendered, key=lambda a: a.score), max(change, key=lambda a: a.score)
        if t.score >= 0.7 and c.score >= 0.7 and t.value > c.value:
            out.append(f"{t.text()} − {c.text()} = {t.value - c.value}, not the total {best.value}")
    if not kinds & _EXACT_KINDS:
        # nothing printed adds up to the chosen total, yet the receipt's own parts add up exactly to another
        # amount: one of the two was misread
        rival = next((r for c in ranked if c is not best for r in c.relations
                      if r.kind == "sum" and len(r.members) >= 2 and min(m.score for m in r.members) >= 0.7), None)
        if rival is not None:
            out.append(f"{rival.sentence}, not the total {best.value}")
    return tuple(out)
