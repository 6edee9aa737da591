"""Every rule over one claim's rows, given what the company has seen (`History`) and its vendor directory.

`assess_claim` is what scoring and the bench run; `assess_expense` is the original four-rule check of one expense
(file, content, limit, evidence) kept for its callers."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from chalicelib.domain.anomaly import budget, duplicates, limits, partners, shape, splitting, timing
from chalicelib.domain.anomaly.evidence import weak_evidence
from chalicelib.domain.anomaly.findings import Finding, Sighting
from chalicelib.domain.anomaly.history import History
from chalicelib.domain.anomaly.records import SpendRecord, VendorResolver, record_from_expense
from chalicelib.domain.claim import Claim
from chalicelib.domain.expense import Expense
from chalicelib.domain.policy import Policy

#: Every rule code a finding can carry, for dashboards, queues and the bench.
RULES = ("duplicate_own", "duplicate_colleague", "duplicate_receipt_no", "duplicate_rephotographed", "over_limit",
         "over_budget", "non_partner",
         "threshold_split", "weekend_holiday", "stale_receipt", "round_amount", "night_taxi", "no_receipt",
         "needs_review", "unusual_for_company")


#: A further check of one row against the history (a per-company model plugs in here): findings with their reasons.
ExtraRule = Callable[[SpendRecord, History], list[Finding]]


def assess_claim(rows: list[SpendRecord], history: History, policy: Policy, vendors: VendorResolver,
                 same_file: dict[str, list[Sighting]] | None = None,
                 same_content: dict[str, list[Sighting]] | None = None,
                 extra_rules: Iterable[ExtraRule] = (),
                 same_image: dict[str, list[SpendRecord]] | None = None) -> dict[str, list[Finding]]:
    """Findings per expense id. `same_file` / `same_content`: sightings a store found (live claims only); without
    them they are looked up in the history and the claim itself. `same_image`: rows of live claims whose photo
    hashes near each expense's (a store's band lookup), beside the history's own."""
    extra_rules = list(extra_rules)
    own = History(rows)
    out: dict[str, list[Finding]] = {}
    for i, r in enumerate(rows):
        if same_file is not None:
            by_file = same_file.get(r.expense_id, [])
        else:
            by_file = duplicates.sightings([*history.same_file(r.evidence_key), *own.same_file(r.evidence_key)], r) \
                if r.evidence_key else []
        if same_content is not None:
            by_content = same_content.get(r.expense_id, [])
        else:
            by_content = duplicates.sightings([*history.same_content(r.dedupe), *own.same_content(r.dedupe)], r) \
                if r.dedupe else []
        found, reported = duplicates.exact(r, by_file, by_content)
        if r.receipt_date is not None:
            found += duplicates.respelled(r, [*history.on_day(r.receipt_date), *own.on_day(r.receipt_date)], vendors,
                                          reported)
        found += duplicates.receipt_no_reused(r, history, own, vendors, reported)
        if r.image_hash:
            found += duplicates.rephotographed(r, [*(same_image or {}).get(r.expense_id, []), *history.with_image(),
                                                   *own.with_image()], reported)
        found += limits.over_limit(r, policy)
        found += budget.over_budget(r, rows[:i], history, policy)
        found += partners.non_partner(r, vendors)
        found += timing.weekend_holiday(r, policy)
        found += timing.stale_receipt(r, policy)
        found += timing.night_taxi(r, rows, history, policy, vendors)
        found += shape.round_amount(r, policy)
        for rule in extra_rules:
            found += rule(r, history)
        out[r.expense_id] = found
    split = splitting.split_claims(rows, history, vendors, policy)
    if split:
        largest = max(rows, key=lambda r: r.total_hkd or 0)
        out[largest.expense_id].extend(split)
    return out


def assess_expense(expense: Expense, claim: Claim, policy: Policy, same_file: list[Sighting],
                   same_content: list[Sighting]) -> list[Finding]:
    """`same_file` / `same_content`: other expenses in live claims with the same file bytes / the same vendor,
    date and total (this claim's other expenses included)."""
    record = record_from_expense(expense, claim, None, policy.fx)
    found, _ = duplicates.exact(record, same_file, same_content)
    return [*found, *limits.over_limit(record, policy), *weak_evidence(expense)]
