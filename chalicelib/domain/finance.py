"""The finance dashboard's arithmetic: what one claim contributes to its department × month bucket, and how the
buckets add up to the overview finance, auditors and admins read.

A claim's contribution is a flat set of named counters ("facts"), each keyed by the claim's status and a
category (`*` = the whole claim), so any status/category filter is a sum over keys and never a re-read of claims:

    n|<status>|<cat>          claims (a claim counts once under `*` and once under each of its categories)
    hkd|<status>|<cat>        HKD value (what is reimbursed: claimed less disallowed; foreign amounts at the rates
                              fixed at submission, else the policy's)
    unvalued|<status>|<cat>   claims holding an amount in a currency without a rate (counted, not valued)
    dec|<status>|<cat>|<bin>  claims finally decided (approved or rejected), by hours from submission to decision
    flag|<status>|<cat>       claims with risk reasons
    rev|<status>|<cat>        claims with an expense extraction was unsure of

A bucket also holds `adopt`: employees of the department whose first electronic filing fell in that month.
Moving a claim between statuses, categories, months or departments is "subtract what it contributed, add what it
contributes now" (`delta`), which is what the stream consumer applies.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from chalicelib.domain.claim import TERMINAL, Claim, ClaimStatus
from chalicelib.domain.expense import ExpenseStatus
from chalicelib.domain.money import FxTable, NoFxRate

ALL = "*"
HK = ZoneInfo("Asia/Hong_Kong")  # months are Hong Kong calendar months
TARGET_HOURS = 48  # approval KPI: decided within 48 hours of submission
ADOPTION_TARGET = Decimal("0.70")  # electronic-submission KPI: 70% of a department's staff in the first month
HOUR_BINS: tuple[tuple[str, int | None], ...] = (  # (label, upper bound in hours, exclusive)
    ("0-4", 4), ("4-8", 8), ("8-24", 24), ("24-48", 48), ("48-72", 72), ("72-120", 120), ("120+", None))
WITHIN_TARGET_BINS = frozenset(label for label, upper in HOUR_BINS if upper is not None and upper <= TARGET_HOURS)
DECIDED = frozenset({ClaimStatus.APPROVED, ClaimStatus.REJECTED, ClaimStatus.POSTED})
NOT_SPEND = frozenset({ClaimStatus.DRAFT, ClaimStatus.REJECTED, ClaimStatus.FAILED})  # never paid
DEFAULT_STATUSES = frozenset(s for s in ClaimStatus if s != ClaimStatus.DRAFT)  # filed claims
ADOPT = "adopt"
EVERY = "*"  # the company-wide bucket of a month: what auditors and admins read for "all departments"

Facts = dict[str, Decimal]


def month_of(at: datetime) -> str:
    return at.astimezone(HK).strftime("%Y-%m")


def hour_bin(hours: Decimal) -> str:
    for label, upper in HOUR_BINS:
        if upper is None or hours < upper:
            return label
    raise AssertionError("the last bin is open")


def filed(claim: Claim) -> bool:
    """Submitted at least once (electronically: every claim here is filed through the app or by e-mail)."""
    return claim.submission_count > 0 or claim.status not in (ClaimStatus.DRAFT, ClaimStatus.FAILED)


def in_anomaly_queue(claim: Claim) -> bool:
    return bool(claim.risk_reasons) and claim.status not in TERMINAL and claim.status != ClaimStatus.DRAFT


def needs_review(claim: Claim) -> bool:
    return any(e.status == ExpenseStatus.NEEDS_REVIEW for e in claim.expenses)


def in_review_queue(claim: Claim) -> bool:
    return needs_review(claim) and claim.status not in TERMINAL and claim.status != ClaimStatus.DRAFT


def claim_fx(claim: Claim, policy_fx: FxTable) -> FxTable:
    """The rates fixed when the claim was submitted (what it was routed and signed at), else the policy's."""
    if claim.valuation is None:
        return policy_fx
    return FxTable(hkd_per_unit={**policy_fx.hkd_per_unit, **claim.valuation.rates})


def hours_to_decision(claim: Claim) -> Decimal | None:
    """Hours from the (latest) submission to the final decision, for an approved, rejected or posted claim."""
    if claim.status not in DECIDED:
        return None
    final = "rejected" if claim.status == ClaimStatus.REJECTED else "approved"
    decided = [d for d in claim.decisions if d.decision == final]
    if not decided:
        return None
    start = claim.submitted_at or claim.created_at
    seconds = (decided[-1].decided_at - start).total_seconds()
    return max(Decimal(0), Decimal(str(round(seconds))) / 3600)


def hkd_of_expense(expense, fx: FxTable) -> Decimal | None:
    paid = expense.payable()
    if paid is None:
        return Decimal(0)
    try:
        return fx.to_hkd(paid).amount
    except NoFxRate:
        return None


class Contribution(BaseModel):
    """What one claim (at one version) adds to one bucket."""

    department_id: str
    month: str
    version: int
    facts: Facts = Field(default_factory=dict)
    adopter: str | None = None  # the claimant, once the claim has been filed

    @property
    def bucket(self) -> tuple[str, str]:
        return self.department_id, self.month


class Applied(BaseModel):
    """What the aggregates hold for one claim: its contribution as applied, at which claim version (a record of an
    older or the same version is a redelivery and changes nothing)."""

    version: int
    contribution: Contribution | None = None


def contribution(claim: Claim, policy_fx: FxTable) -> Contribution:
    fx = claim_fx(claim, policy_fx)
    status = claim.status.value
    facts: dict[str, Decimal] = defaultdict(Decimal)
    by_cat: dict[str, Decimal] = defaultdict(Decimal)
    unvalued: set[str] = set()
    for e in claim.expenses:
        value = hkd_of_expense(e, fx)
        if value is None:
            unvalued |= {ALL, e.category}
        else:
            by_cat[e.category] += value
    cats = [ALL, *claim.categories]
    hours = hours_to_decision(claim)
    for cat in cats:
        facts[f"n|{status}|{cat}"] += 1
        facts[f"hkd|{status}|{cat}"] += sum(by_cat.values(), Decimal(0)) if cat == ALL else by_cat.get(cat, Decimal(0))
        if cat in unvalued:
            facts[f"unvalued|{status}|{cat}"] += 1
        if hours is not None:
            facts[f"dec|{status}|{cat}|{hour_bin(hours)}"] += 1
        if claim.risk_reasons:
            facts[f"flag|{status}|{cat}"] += 1
        if needs_review(claim):
            facts[f"rev|{status}|{cat}"] += 1
    return Contribution(department_id=claim.department_id, month=month_of(claim.created_at),
                        version=claim.version, facts={k: v for k, v in facts.items() if v},
                        adopter=claim.employee_id if filed(claim) else None)


def add(into: Facts, more: Facts, sign: int = 1) -> Facts:
    """`into` plus (or minus) `more`; counters that reach zero are dropped, so an emptied bucket is empty."""
    out = dict(into)
    for key, value in more.items():
        total = out.get(key, Decimal(0)) + sign * value
        if total:
            out[key] = total
        else:
            out.pop(key, None)
    return out


def rollup(department_id: str, facts: Facts) -> Facts:
    """A department bucket's change as the company-wide bucket of its month takes it: the same counters (summed over
    departments) plus, under `@<department>|`, the claims and HKD keys and `adopt` that the by-department chart
    and each department's adoption need. One read then answers "all departments" for a month."""
    out = {k: v for k, v in facts.items() if k != ADOPT}
    for key, value in facts.items():
        if key == ADOPT or key.startswith(("n|", "hkd|")):
            out[f"@{department_id}|{key}"] = value
    return out


def with_rollups(deltas: dict[tuple[str, str], Facts]) -> dict[tuple[str, str], Facts]:
    """Department bucket changes plus the company-wide buckets' changes they make."""
    out = dict(deltas)
    for (dept, month), facts in deltas.items():
        if dept != EVERY:
            out[(EVERY, month)] = add(out.get((EVERY, month), {}), rollup(dept, facts))
    return {k: v for k, v in out.items() if v}


def delta(old: Contribution | None, new: Contribution | None) -> dict[tuple[str, str], Facts]:
    """Per bucket, what changes when a claim's contribution goes from `old` to `new` (either may be None: a claim
    first seen, or deleted). A claim that moved month or department leaves one bucket and enters another."""
    out: dict[tuple[str, str], Facts] = {}
    if old is not None:
        out[old.bucket] = add({}, old.facts, -1)
    if new is not None:
        out[new.bucket] = add(out.get(new.bucket, {}), new.facts)
    return {bucket: facts for bucket, facts in out.items() if facts}


# ---- reading: buckets -> overview ---------------------------------------------------------------------------


class Filters(BaseModel):
    from_month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    to_month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    statuses: frozenset[ClaimStatus] = DEFAULT_STATUSES
    category: str | None = None

    def months_ok(self) -> bool:
        return self.from_month <= self.to_month

    def in_range(self, month: str) -> bool:
        return self.from_month <= month <= self.to_month


class Bucket(BaseModel):
    department_id: str
    month: str
    facts: Facts = Field(default_factory=dict)


class DepartmentInfo(BaseModel):
    department_id: str
    name: str
    headcount: int = 0


class Tally(BaseModel):
    claims: int = 0
    hkd: Decimal = Decimal(0)


class Adoption(BaseModel):
    adopters: int  # employees who have filed electronically, up to the end of the range
    headcount: int
    share: Decimal | None  # adopters / headcount
    first_month: str | None  # the month the department's first electronic claim was filed
    first_month_adopters: int
    first_month_share: Decimal | None
    target: Decimal = ADOPTION_TARGET
    met: bool | None = None


class Decisions(BaseModel):
    decided: int
    within_target: int
    share_within_target: Decimal | None
    target_hours: int = TARGET_HOURS
    histogram: list[tuple[str, int]]  # (bin label, claims)


class Overview(BaseModel):
    claims: int
    spend_hkd: Decimal  # HKD value of claims in view that are not draft, rejected or failed
    unvalued: int
    by_status: dict[str, Tally]
    by_category: dict[str, Tally]
    by_department: dict[str, Tally]
    by_month: dict[str, Tally]
    decisions: Decisions
    flagged: int
    needs_review: int
    adoption: Adoption


def months(first: str, last: str) -> list[str]:
    """Every month from `first` to `last` (YYYY-MM), both included."""
    y, m = (int(x) for x in first.split("-"))
    out = []
    while f"{y:04d}-{m:02d}" <= last:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


@lru_cache(maxsize=1 << 16)
def _key(key: str) -> tuple[str | None, str, str, str, str | None] | None:
    """(department of a company-wide `@` key or None, kind, status, category, hour bin) of a counter's name;
    None for `adopt`. Cached: the same few thousand names recur in every bucket of every load."""
    dept = None
    if key[0] == "@":
        dept, _, key = key[1:].partition("|")
    p = key.split("|")
    if len(p) < 3:
        return None
    return dept, p[0], p[1], p[2], p[3] if len(p) > 3 else None


@lru_cache(maxsize=1 << 16)
def _adopters_of(key: str) -> str | None:
    """The department of a company-wide bucket's `@<department>|adopt` counter, else None."""
    return key[1:].partition("|")[0] if key[0] == "@" and key.endswith("|" + ADOPT) else None


def overview(buckets: list[Bucket], departments: list[DepartmentInfo], filters: Filters) -> Overview:
    """Sums the buckets of the departments in view. `buckets` may reach back before the range (adoption counts
    every month up to its end); figures other than adoption use the range only."""
    cat = filters.category or ALL
    statuses = {str(s) for s in filters.statuses}
    spend_statuses = statuses - {str(s) for s in NOT_SPEND}
    zero = lambda: [0, Decimal(0)]  # noqa: E731 (claims, HKD)
    by_status: dict[str, list] = defaultdict(zero)
    by_category: dict[str, list] = defaultdict(zero)
    by_department: dict[str, list] = defaultdict(zero, {d.department_id: zero() for d in departments})
    by_month: dict[str, list] = defaultdict(zero, {m: zero() for m in months(filters.from_month, filters.to_month)})
    bins = {label: 0 for label, _ in HOUR_BINS}
    totals = {"flag": 0, "rev": 0, "unvalued": 0}
    for b in buckets:
        if not filters.in_range(b.month):
            continue
        dept = None if b.department_id == EVERY else by_department[b.department_id]
        month = by_month[b.month]
        for key, value in b.facts.items():
            k = _key(key)
            if k is None or k[2] not in statuses:
                continue
            of_dept, kind, status, key_cat, hour = k
            if of_dept is not None:  # company-wide bucket: a department's own claims and HKD
                if key_cat == cat:
                    if kind == "n":
                        by_department[of_dept][0] += value
                    elif status in spend_statuses:
                        by_department[of_dept][1] += value
                continue
            if kind == "n":
                if key_cat != ALL and (filters.category is None or key_cat == cat):
                    by_category[key_cat][0] += value
                if key_cat == cat:
                    by_status[status][0] += value
                    month[0] += value
                    if dept is not None:
                        dept[0] += value
            elif kind == "hkd":
                spent = status in spend_statuses
                if key_cat != ALL and spent and (filters.category is None or key_cat == cat):
                    by_category[key_cat][1] += value
                if key_cat == cat:
                    by_status[status][1] += value
                    if spent:
                        month[1] += value
                        if dept is not None:
                            dept[1] += value
            elif key_cat == cat:
                if kind == "dec":
                    bins[hour] += int(value)
                elif kind in totals:
                    totals[kind] += int(value)

    def tallies(rows: dict[str, list]) -> dict[str, Tally]:
        return {k: Tally(claims=int(v[0]), hkd=Decimal(v[1])) for k, v in rows.items()}

    by_status_t, by_category_t = tallies(by_status), tallies(by_category)
    by_department_t, by_month_t = tallies(by_department), tallies(by_month)
    claims = sum(t.claims for t in by_status_t.values())
    spend = sum((t.hkd for t in by_month_t.values()), Decimal(0))
    decided = sum(bins.values())
    within = sum(n for label, n in bins.items() if label in WITHIN_TARGET_BINS)
    return Overview(
        claims=claims, spend_hkd=spend, unvalued=totals["unvalued"],
        by_status={s.value: by_status_t[s.value] for s in ClaimStatus if s.value in by_status_t},  # lifecycle order
        by_category=dict(sorted(by_category_t.items(), key=lambda kv: -kv[1].hkd)),
        by_department={k: by_department_t[k] for k in sorted(by_department_t)},
        by_month=dict(sorted(by_month_t.items())),
        decisions=Decisions(decided=decided, within_target=within,
                            share_within_target=_share(within, decided), histogram=list(bins.items())),
        flagged=totals["flag"], needs_review=totals["rev"], adoption=adoption(buckets, departments, filters.to_month),
    )


def adoption(buckets: list[Bucket], departments: list[DepartmentInfo], to_month: str) -> Adoption:
    """Employees who have filed electronically by the end of `to_month`, over the departments' headcount; and the
    same in each department's first month (the month its first electronic claim was filed), against 70%."""
    by_dept: dict[str, dict[str, int]] = defaultdict(dict)
    for b in buckets:
        if b.month > to_month:
            continue
        if b.department_id == EVERY:
            for key, value in b.facts.items():
                if (dept := _adopters_of(key)) is not None and int(value):
                    by_dept[dept][b.month] = int(value)
        elif n := int(b.facts.get(ADOPT, 0)):
            by_dept[b.department_id][b.month] = n
    adopters = sum(sum(months.values()) for months in by_dept.values())
    headcount = sum(d.headcount for d in departments)
    firsts = {dept: min(months) for dept, months in by_dept.items() if months}
    first_adopters = sum(by_dept[dept][month] for dept, month in firsts.items())
    first_share = _share(first_adopters, headcount)
    return Adoption(adopters=adopters, headcount=headcount, share=_share(adopters, headcount),
                    first_month=min(firsts.values()) if firsts else None, first_month_adopters=first_adopters,
                    first_month_share=first_share,
                    met=None if first_share is None else first_share >= ADOPTION_TARGET)


def _share(part: int, whole: int) -> Decimal | None:
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001")) if whole else None


def overview_from_claims(claims: list[Claim], departments: list[DepartmentInfo], filters: Filters,
                         policy_fx: FxTable) -> Overview:
    """The same answer straight from claims (the benchmark's Scan and the tests' cross-check): every claim's
    contribution added into its bucket, adoption from each employee's first filed month."""
    buckets: dict[tuple[str, str], Facts] = defaultdict(dict)
    first: dict[tuple[str, str], str] = {}
    for claim in claims:
        c = contribution(claim, policy_fx)
        buckets[c.bucket] = add(buckets[c.bucket], c.facts)
        if c.adopter:
            key = (c.department_id, c.adopter)
            first[key] = min(first.get(key, c.month), c.month)
    for (dept, _), month in first.items():
        buckets[(dept, month)] = add(buckets[(dept, month)], {ADOPT: Decimal(1)})
    rows = [Bucket(department_id=d, month=m, facts=f) for (d, m), f in buckets.items()]
    return overview(rows, departments, filters)
