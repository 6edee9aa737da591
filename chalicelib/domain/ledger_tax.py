"""Hong Kong profits tax: whether each expense is deductible, and which rule said so.

The rules are data (PROFITS_TAX_RULES, which a company may replace), read in order; the first that matches an
expense decides, and the expense records the rule's id, section and wording, so a tax computation years later
can show why an amount was added back. Matching looks at the expense's category, kind and the words of its
description (what it was for); a rule with no words matches on category/kind alone.

Source: Inland Revenue Ordinance (Cap. 112), https://www.elegislation.gov.hk/hk/cap112
- s.16(1): "there shall be deducted all outgoings and expenses to the extent to which they are incurred during
  the basis period for that year of assessment by such person in the production of profits in respect of which
  he is chargeable to tax under this Part";
- s.17(1)(a): no deduction for "domestic or private expenses, including the cost of travelling between residence
  and place of business";
- s.17(1)(b): no deduction for "any disbursements or expenses not being money expended for the purpose of
  producing such profits".
Entertainment is deductible only when incurred in producing assessable profits: here, when the expense says it
entertained a client, customer or business contact; entertainment that names none (staff's own) is not.
This tags for the tax computation; it is not advice, and finance may override a line by editing its description.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

S16_1 = ("IRO s.16(1)", "outgoings and expenses incurred in the production of profits chargeable to tax")
S17_1A = ("IRO s.17(1)(a)", "domestic or private expenses, including the cost of travelling between residence and "
                            "place of business")
S17_1B = ("IRO s.17(1)(b)", "disbursements or expenses not being money expended for the purpose of producing "
                            "such profits")

PRIVATE_WORDS = ("private", "personal", "domestic", "family", "household", "spouse", "birthday", "私人", "個人",
                 "个人", "家庭", "家用", "家人", "私用")
COMMUTE_WORDS = ("commute", "commuting", "home to office", "office to home", "from home", "to home", "go home",
                 "返工", "放工", "上班", "下班", "回家", "返屋企")
CLIENT_WORDS = ("client", "clients", "customer", "customers", "supplier", "suppliers", "partner",
                "partners", "prospect", "business contact", "guest", "guests", "客戶", "客户", "供應商", "供应商",
                "合作夥伴", "商務", "商务", "款待客")


class ProfitsTaxRule(BaseModel):
    """One row of the table: where it applies, and what it decides."""

    model_config = ConfigDict(frozen=True)

    rule_id: str = Field(pattern=r"^[a-z0-9-]+$")
    categories: tuple[str, ...] | None = None  # None: any category
    kinds: tuple[str, ...] | None = None  # receipt | mileage | per_diem | lost_receipt; None: any
    words: tuple[str, ...] | None = None  # any of them in the description; None: no words needed
    deductible: bool
    section: str
    wording: str


class ProfitsTaxTag(BaseModel):
    """What an expense records: deductible or not, and the rule that decided."""

    model_config = ConfigDict(frozen=True)

    deductible: bool
    rule_id: str
    section: str

    @property
    def code(self) -> str:
        """The short code a ledger's tracking option, class or CSV cell holds."""
        return "deductible" if self.deductible else "non_deductible"

    @property
    def label(self) -> str:
        return f"{'Deductible' if self.deductible else 'Non-deductible'} ({self.section})"


PROFITS_TAX_RULES: tuple[ProfitsTaxRule, ...] = (
    ProfitsTaxRule(rule_id="s17-1a-commute", categories=("taxi", "travel", "general"), words=COMMUTE_WORDS,
                   deductible=False, section=S17_1A[0], wording=S17_1A[1]),
    ProfitsTaxRule(rule_id="s17-1a-private", words=PRIVATE_WORDS, deductible=False, section=S17_1A[0],
                   wording=S17_1A[1]),
    ProfitsTaxRule(rule_id="s16-1-client-entertainment", categories=("entertainment",), words=CLIENT_WORDS,
                   deductible=True, section=S16_1[0], wording=S16_1[1]),
    ProfitsTaxRule(rule_id="s17-1b-staff-entertainment", categories=("entertainment",), deductible=False,
                   section=S17_1B[0], wording=S17_1B[1]),
    ProfitsTaxRule(rule_id="s16-1-business", deductible=True, section=S16_1[0], wording=S16_1[1]),
)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _says(text: str, words: Sequence[str]) -> bool:
    """Any of the words in the text: English ones as whole words (so 'partnership' is not 'partner')."""
    for word in words:
        folded = _fold(word)
        if folded.isascii():
            if re.search(rf"(?<![a-z0-9]){re.escape(folded)}(?![a-z0-9])", text):
                return True
        elif folded in text:
            return True
    return False


def profits_tax_tag(category: str, kind: str, description: str,
                    rules: Sequence[ProfitsTaxRule] = PROFITS_TAX_RULES) -> ProfitsTaxTag:
    """The first rule matching the expense decides. A table without a catch-all rule that matches nothing is a
    configuration error, said as such."""
    text = _fold(description or "")
    for rule in rules:
        if rule.categories is not None and category not in rule.categories:
            continue
        if rule.kinds is not None and kind not in rule.kinds:
            continue
        if rule.words is not None and not _says(text, rule.words):
            continue
        return ProfitsTaxTag(deductible=rule.deductible, rule_id=rule.rule_id, section=rule.section)
    raise LookupError(f"no profits tax rule matches a {kind} {category} expense: the table needs a catch-all row")
