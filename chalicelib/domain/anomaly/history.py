"""What one company has seen before the claim being scored, indexed the ways the rules ask: by receipt file, by
vendor+date+total, by receipt date, by receipt number, by employee, by cost centre and month.

A plain object the service builds through a port (`ScoringHistory`) and hands to the rules, so the rules stay pure
and a bench can grow one claim by claim. A model can read the same rows (`by_employee`) for its features.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from chalicelib.domain.anomaly.records import SpendRecord


@dataclass(frozen=True, slots=True)
class ClaimSummary:
    claim_id: str
    employee_id: str
    submitted_at: datetime
    total_hkd: Decimal
    first_date: date | None
    categories: frozenset[str] = frozenset()
    main_vendor: str | None = None  # as printed on its largest row: what the claim is mostly for


def main_vendor(rows: list[SpendRecord]) -> str | None:
    """The vendor of the claim's largest row, when that row is most of the claim."""
    priced = [r for r in rows if r.total_hkd is not None]
    if not priced:
        return None
    largest = max(priced, key=lambda r: r.total_hkd)
    return largest.vendor if largest.total_hkd * 2 > sum(r.total_hkd for r in priced) else None


_LABEL = re.compile(r"^\s*(?:no|nr|inv(?:oice)?|receipt|單號|编号|編號|票號)?\s*[.:#：]?\s*", re.IGNORECASE)


def receipt_number(text: str | None) -> str | None:
    """"No. 00123" and "123" are the same number; too short a number (a table or a till) says nothing."""
    if not text:
        return None
    text = _LABEL.sub("", unicodedata.normalize("NFKC", text))
    digits = "".join(ch for ch in text if ch.isalnum()).lstrip("0").upper()
    return digits if len(digits) >= 4 else None


class History:
    def __init__(self, records: Iterable[SpendRecord] = ()) -> None:
        self._ids: set[str] = set()
        self._by_evidence: dict[str, list[SpendRecord]] = defaultdict(list)
        self._by_dedupe: dict[str, list[SpendRecord]] = defaultdict(list)
        self._by_day: dict[date, list[SpendRecord]] = defaultdict(list)
        self._by_receipt_no: dict[str, list[SpendRecord]] = defaultdict(list)
        self._with_image: list[SpendRecord] = []
        self._by_employee: dict[str, list[SpendRecord]] = defaultdict(list)
        self._claims: dict[str, list[ClaimSummary]] = defaultdict(list)
        self._cc_month: dict[tuple[str, int, int], Decimal] = defaultdict(Decimal)
        self._claim_total: dict[str, Decimal] = defaultdict(Decimal)
        by_claim: dict[str, list[SpendRecord]] = defaultdict(list)
        for record in records:
            by_claim[record.claim_id].append(record)
        for rows in by_claim.values():
            self.add_claim(rows)

    def __len__(self) -> int:
        return len(self._ids)

    def add_claim(self, records: list[SpendRecord]) -> None:
        """One scored claim's rows; a claim already held is not counted twice."""
        fresh = [r for r in records if r.expense_id not in self._ids]
        if not fresh:
            return
        for r in fresh:
            self._ids.add(r.expense_id)
            if r.evidence_key:
                self._by_evidence[r.evidence_key].append(r)
            if r.dedupe:
                self._by_dedupe[r.dedupe].append(r)
            if r.receipt_date:
                self._by_day[r.receipt_date].append(r)
                if r.cost_centre and r.total_hkd is not None:
                    self._cc_month[(r.cost_centre, r.receipt_date.year, r.receipt_date.month)] += r.total_hkd
            if number := receipt_number(r.receipt_no):
                self._by_receipt_no[number].append(r)
            if r.image_hash:
                self._with_image.append(r)
            self._by_employee[r.employee_id].append(r)
            if r.total_hkd is not None:
                self._claim_total[r.claim_id] += r.total_hkd
        first = fresh[0]
        dates = [r.receipt_date for r in fresh if r.receipt_date]
        total = sum((r.total_hkd for r in fresh if r.total_hkd is not None), Decimal("0"))
        self._claims[first.employee_id].append(
            ClaimSummary(first.claim_id, first.employee_id, first.submitted_at, total, min(dates) if dates else None,
                         frozenset(r.category for r in fresh), main_vendor(fresh)))

    # --- what the rules ask ------------------------------------------------------------------------------------
    def same_file(self, evidence_key: str) -> list[SpendRecord]:
        return self._by_evidence.get(evidence_key, [])

    def same_content(self, dedupe: str) -> list[SpendRecord]:
        return self._by_dedupe.get(dedupe, [])

    def on_day(self, day: date) -> list[SpendRecord]:
        return self._by_day.get(day, [])

    def with_receipt_no(self, number: str) -> list[SpendRecord]:
        return self._by_receipt_no.get(number, [])

    def with_image(self) -> list[SpendRecord]:
        """Rows with a photo's perceptual hash (compared one by one: a few thousand XORs per claim)."""
        return self._with_image

    def claims_of(self, employee_id: str) -> list[ClaimSummary]:
        return self._claims.get(employee_id, [])

    def claim_total(self, claim_id: str) -> Decimal:
        """The HKD total of a claim held (what routing compared with its thresholds)."""
        return self._claim_total.get(claim_id, Decimal("0"))

    def by_employee(self, employee_id: str) -> list[SpendRecord]:
        return self._by_employee.get(employee_id, [])

    def cost_centre_spent(self, cost_centre: str, year: int, month: int) -> Decimal:
        return self._cc_month.get((cost_centre, year, month), Decimal("0"))
