"""Finance dashboard use cases: keep the aggregates current from the claims stream, and answer the dashboard
(overview, claim list, queues, export) for finance (own department), auditors and admins (any or all).

Role scoping is decided here, once: a finance user asking for another department is refused (403), never
silently given their own.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Literal, Protocol

from pydantic import BaseModel, Field

from chalicelib.domain import finance as fin
from chalicelib.domain.access import reads_every_department, require_dashboard
from chalicelib.domain.claim import Claim, ClaimStatus
from chalicelib.domain.directory import Department
from chalicelib.domain.errors import ConcurrentChange, InvalidClaim
from chalicelib.domain.identity import Forbidden, Principal
from chalicelib.domain.money import FxTable

log = logging.getLogger(__name__)
ATTEMPTS = 5  # a chunk that keeps losing races is left for the stream's retry
LIST_CAP = 2000  # claims read per department for the list and the export (newest first); the answer says so


# ---- keeping the aggregates current (the claims stream consumer) ---------------------------------------------


class ClaimChange(BaseModel):
    """One record of the claims stream, parsed: the claim before and after (None: created / deleted)."""

    sequence: str
    claim_id: str
    old: Claim | None = None
    new: Claim | None = None


class AggregatePort(Protocol):
    def markers(self, claim_ids: list[str]) -> dict: ...
    def buckets(self, keys: list[tuple[str, str]]) -> dict: ...
    def adopters(self, keys: list[tuple[str, str]]) -> dict: ...
    def commit(self, markers: list, buckets: dict, adopters: dict) -> None: ...


def apply_changes(changes: list[ClaimChange], store: AggregatePort, policy_fx: FxTable,
                  max_items: int = 100) -> list[str]:
    """Apply stream records in order, in chunks of at most one transaction each; returns the sequence numbers
    not applied (a failed chunk and every record after it: the stream retries from the first, and the records
    already applied are recognised by their markers)."""
    for start, chunk in _chunks(changes, max_items):
        try:
            _apply_with_retries(chunk, store, policy_fx, max_items)
        except Exception:
            log.exception("finance aggregates: %d stream records left for retry", len(changes) - start)
            return [c.sequence for c in changes[start:]]
    return []


def _chunks(changes: list[ClaimChange], max_items: int):
    """Consecutive runs whose worst case (a marker, an adopter and two buckets per claim) fits one transaction."""
    start, claims, buckets, adopters = 0, set(), set(), set()
    for i, change in enumerate(changes):
        c_claims, c_buckets, c_adopters = {change.claim_id}, set(), set()
        for claim in (change.old, change.new):
            if claim is not None:
                month = fin.month_of(claim.created_at)
                c_buckets |= {(claim.department_id, month), (fin.EVERY, month)}
                c_adopters.add((claim.department_id, claim.employee_id))
        size = len(claims | c_claims) + len(buckets | c_buckets) + len(adopters | c_adopters) + 1
        if i > start and size > max_items:
            yield start, changes[start:i]
            start, claims, buckets, adopters = i, set(), set(), set()
        claims |= c_claims
        buckets |= c_buckets
        adopters |= c_adopters
    if start < len(changes):
        yield start, changes[start:]


def _apply_with_retries(chunk: list[ClaimChange], store: AggregatePort, policy_fx: FxTable, max_items: int) -> None:
    for attempt in range(ATTEMPTS):
        try:
            writes = plan(chunk, store, policy_fx)
            if sum(len(w) for w in writes) > max_items and len(chunk) > 1:  # a marker named an unexpected bucket
                half = len(chunk) // 2
                _apply_with_retries(chunk[:half], store, policy_fx, max_items)
                _apply_with_retries(chunk[half:], store, policy_fx, max_items)
                return
            store.commit(*writes)
            return
        except ConcurrentChange:
            if attempt == ATTEMPTS - 1:
                raise


def _version_of(change: ClaimChange) -> int:
    if change.new is not None:
        return change.new.version
    return (change.old.version + 1) if change.old is not None else 0


def plan(chunk: list[ClaimChange], store: AggregatePort, policy_fx: FxTable) -> tuple[list, dict, dict]:
    """The writes that bring the aggregates from what they hold to what the chunk's claims say now."""
    latest: dict[str, ClaimChange] = {}
    for change in chunk:  # a claim written several times in the chunk: only its newest version counts
        seen = latest.get(change.claim_id)
        if seen is None or _version_of(change) >= _version_of(seen):
            latest[change.claim_id] = change
    markers = store.markers(list(latest))
    deltas: dict[tuple[str, str], fin.Facts] = defaultdict(dict)
    marker_writes = []
    first_filed: dict[tuple[str, str], str] = {}
    for claim_id, change in latest.items():
        marker = markers.get(claim_id)
        version = _version_of(change)
        if marker is not None and marker.version >= version:
            continue  # redelivered, or older than what is applied: already counted
        if change.new is None and marker is None:
            continue  # a claim deleted before it was ever counted
        new = fin.contribution(change.new, policy_fx) if change.new is not None else None
        for bucket, facts in fin.delta(marker.contribution if marker else None, new).items():
            deltas[bucket] = fin.add(deltas[bucket], facts)
        applied = fin.Applied(version=version, contribution=new)
        marker_writes.append((claim_id, applied, marker.version if marker else None))
        if new is not None and new.adopter:
            key = (new.department_id, new.adopter)
            first_filed[key] = min(first_filed.get(key, new.month), new.month)
    adopter_writes = {}
    for key, stored in store.adopters(list(first_filed)).items():
        month = first_filed[key]
        if stored.value is not None and stored.value <= month:
            continue
        adopter_writes[key] = (stored, month)
        deltas[(key[0], month)] = fin.add(deltas[(key[0], month)], {fin.ADOPT: Decimal(1)})
        if stored.value is not None:  # an earlier filing arrived late: the adopter moves to that month
            deltas[(key[0], stored.value)] = fin.add(deltas[(key[0], stored.value)], {fin.ADOPT: Decimal(-1)})
    changed = fin.with_rollups({k: v for k, v in deltas.items() if v})
    bucket_writes = {k: (stored, fin.add(stored.value, changed[k]))
                     for k, stored in store.buckets(list(changed)).items()}
    return marker_writes, bucket_writes, adopter_writes


def rebuild(changes: list[ClaimChange], policy_fx: FxTable) -> tuple[dict, dict, dict]:
    """The aggregates from scratch, in memory, from a claims table's history (a backfill when the dashboard is
    first deployed over existing claims, or a rebuild): the same contributions, deltas and adoption as the stream
    consumer, summed once. Returns (claim id -> Applied, bucket -> facts, (department, employee) -> first month),
    for `AggregateStore.backfill` (an empty table: nothing to be conditional on)."""
    latest: dict[str, ClaimChange] = {}
    for change in changes:
        seen = latest.get(change.claim_id)
        if seen is None or _version_of(change) >= _version_of(seen):
            latest[change.claim_id] = change
    markers, buckets, first = {}, defaultdict(dict), {}
    for claim_id, change in latest.items():
        new = fin.contribution(change.new, policy_fx) if change.new is not None else None
        markers[claim_id] = fin.Applied(version=_version_of(change), contribution=new)
        if new is None:
            continue
        buckets[new.bucket] = fin.add(buckets[new.bucket], new.facts)
        if new.adopter:
            key = (new.department_id, new.adopter)
            first[key] = min(first.get(key, new.month), new.month)
    for (dept, _), month in first.items():
        buckets[(dept, month)] = fin.add(buckets[(dept, month)], {fin.ADOPT: Decimal(1)})
    return markers, fin.with_rollups(dict(buckets)), first


# ---- who may see which departments ----------------------------------------------------------------------------


def scope(principal: Principal, department: str | None) -> list[str] | None:
    """The departments a request covers (None: all). Finance: their own only; asking for another is refused."""
    require_dashboard(principal)
    if reads_every_department(principal):
        return None if department in (None, "", "all") else [department]
    if department not in (None, "") and department != principal.department_id:  # "all" included
        raise Forbidden("finance users see their own department's figures only")
    return [principal.department_id]


class Directory(Protocol):
    def departments(self, only: list[str] | None = None) -> list[tuple[Department, int]]: ...
    def members(self, department_id: str) -> list[tuple[str, str]]: ...
    def policy(self): ...


class DashboardQuery(BaseModel):
    department: str | None = None  # a department id, "all" or None (auditors/admins: all; finance: own)
    from_month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    to_month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    status: list[ClaimStatus] = Field(default_factory=list)
    category: str | None = Field(default=None, max_length=40)

    def filters(self) -> fin.Filters:
        f = fin.Filters(from_month=self.from_month, to_month=self.to_month, category=self.category or None,
                        **({"statuses": frozenset(self.status)} if self.status else {}))
        if not f.months_ok():
            raise InvalidClaim("the range ends before it starts")
        return f


def _departments(directory: Directory, wanted: list[str] | None) -> list[fin.DepartmentInfo]:
    """The departments in view with name and headcount: the whole list (one Query) or just those asked for."""
    known = [fin.DepartmentInfo(department_id=d.department_id, name=d.name, headcount=n)
             for d, n in directory.departments(wanted)]
    if wanted is None:
        return known
    by_id = {d.department_id: d for d in known}
    return [by_id.get(d, fin.DepartmentInfo(department_id=d, name=d)) for d in wanted]


def money(amount: Decimal, currency: str = "HKD") -> dict:
    return {"amount": str(amount.quantize(Decimal("0.01"))), "currency": currency}


def overview(principal: Principal, query: DashboardQuery, store, directory: Directory) -> dict:
    """All departments: the company-wide buckets (one Query); some: each one's buckets (a Query each). Months
    before the range are read too, for adoption since each department's first month."""
    filters = query.filters()
    wanted = scope(principal, query.department)
    departments = _departments(directory, wanted)
    if wanted is None:
        buckets = store.department_buckets(fin.EVERY, filters.to_month)
    else:
        buckets = [b for d in departments for b in store.department_buckets(d.department_id, filters.to_month)]
    return overview_json(fin.overview(buckets, departments, filters), departments, filters)


def overview_json(ov: fin.Overview, departments: list[fin.DepartmentInfo], filters: fin.Filters) -> dict:
    names = {d.department_id: d.name for d in departments}

    def tallies(rows: dict[str, fin.Tally], label=None) -> list[dict]:
        return [{"key": k, **({"label": label(k)} if label else {}), "claims": t.claims, "hkd": money(t.hkd)}
                for k, t in rows.items()]

    return {
        "range": {"from": filters.from_month, "to": filters.to_month},
        "statuses": sorted(s.value for s in filters.statuses),
        "category": filters.category,
        "departments": [{"department_id": d.department_id, "name": d.name, "headcount": d.headcount}
                        for d in departments],
        "claims": ov.claims,
        "spend": money(ov.spend_hkd),
        "unvalued": ov.unvalued,
        "flagged": ov.flagged,
        "needs_review": ov.needs_review,
        "by_status": tallies(ov.by_status),
        "by_category": tallies(ov.by_category),
        "by_department": tallies(ov.by_department, lambda k: names.get(k, k)),
        "by_month": tallies(ov.by_month),
        "decisions": {"decided": ov.decisions.decided, "within_target": ov.decisions.within_target,
                      "share_within_target": _pct(ov.decisions.share_within_target),
                      "target_hours": ov.decisions.target_hours,
                      "histogram": [{"bin": b, "claims": n} for b, n in ov.decisions.histogram]},
        "adoption": {**ov.adoption.model_dump(mode="json", exclude={"share", "first_month_share", "target"}),
                     "share": _pct(ov.adoption.share), "first_month_share": _pct(ov.adoption.first_month_share),
                     "target": _pct(ov.adoption.target)},
    }


def _pct(share: Decimal | None) -> str | None:
    return None if share is None else str(share)


# ---- the claim list, queues and export -----------------------------------------------------------------------


SortKey = Literal["created", "amount", "claimant", "status", "title", "department"]


class ListQuery(DashboardQuery):
    search: str = Field(default="", max_length=100)
    sort: SortKey = "created"
    descending: bool = True
    page: int = Field(default=1, ge=1, le=10_000)
    page_size: int = Field(default=25, ge=1, le=200)


def month_bounds(from_month: str, to_month: str) -> tuple[datetime, datetime]:
    """The UTC instants of the first moment of `from_month` and the last of `to_month`, Hong Kong time."""
    y, m = (int(x) for x in from_month.split("-"))
    start = datetime(y, m, 1, tzinfo=fin.HK)
    y, m = (int(x) for x in to_month.split("-"))
    end = datetime(y + (m == 12), m % 12 + 1, 1, tzinfo=fin.HK) - timedelta(microseconds=1)
    return start.astimezone(UTC), end.astimezone(UTC)


def _row(claim: Claim, names: dict[str, str], departments: dict[str, str], fx: FxTable) -> dict:
    cfx = fin.claim_fx(claim, fx)
    hkd = Decimal(0)
    for e in claim.expenses:
        value = fin.hkd_of_expense(e, cfx)
        hkd += value or Decimal(0)
    return {
        "claim_id": claim.claim_id,  # for the link to the claim page; never shown
        "title": claim.headline,
        "claimant": names.get(claim.employee_id, ""),
        "department": departments.get(claim.department_id, claim.department_id),
        "created_at": claim.created_at.isoformat(),
        "status": claim.status.value,
        "categories": claim.categories,
        "vendors": sorted({e.vendor for e in claim.expenses if getattr(e, "vendor", None)}),
        "amounts": [money(m.amount, m.currency) for _, m in sorted(claim.payable_totals().items())],
        "hkd": money(hkd),
        "foreign": any(m.currency != "HKD" for m in claim.payable_totals().values()),
        "flagged": bool(claim.risk_reasons),
        "needs_review": fin.needs_review(claim),
        "reasons": list(claim.risk_reasons),
        "review_reasons": [r for e in claim.expenses for r in (getattr(e, "review_reasons", None) or [])],
    }


def _matches(row: dict, search: str) -> bool:
    if not search:
        return True
    needle = search.casefold()
    return any(needle in str(v).casefold() for v in (row["title"], row["claimant"], *row["vendors"]))


_SORTS = {
    "created": lambda r: r["created_at"],
    "amount": lambda r: Decimal(r["hkd"]["amount"]),
    "claimant": lambda r: r["claimant"].casefold(),
    "status": lambda r: r["status"],
    "title": lambda r: r["title"].casefold(),
    "department": lambda r: r["department"].casefold(),
}


def claim_rows(principal: Principal, query: ListQuery, indexes, directory: Directory) -> tuple[list[dict], bool]:
    """Every claim in view (filtered, searched, sorted), and whether a department reached LIST_CAP."""
    filters = query.filters()
    departments = _departments(directory, scope(principal, query.department))
    start, end = month_bounds(filters.from_month, filters.to_month)
    statuses = {s.value for s in filters.statuses}
    fx = directory.policy().fx
    dept_names = {d.department_id: d.name for d in departments}
    rows, capped = [], False
    for d in departments:
        found = indexes.created_between(d.department_id, start, end, LIST_CAP)
        capped |= len(found) >= LIST_CAP
        names = dict(directory.members(d.department_id))
        for claim in found:
            if claim.status.value not in statuses:
                continue
            if filters.category and filters.category not in claim.categories:
                continue
            row = _row(claim, names, dept_names, fx)
            if _matches(row, query.search):
                rows.append(row)
    rows.sort(key=_SORTS[query.sort], reverse=query.descending)
    return rows, capped


def claim_list(principal: Principal, query: ListQuery, indexes, directory: Directory) -> dict:
    rows, capped = claim_rows(principal, query, indexes, directory)
    first = (query.page - 1) * query.page_size
    return {"total": len(rows), "page": query.page, "page_size": query.page_size, "capped": capped,
            "cap": LIST_CAP, "claims": rows[first:first + query.page_size]}


def queues(principal: Principal, department: str | None, indexes, directory: Directory, limit: int = 50) -> dict:
    """Open claims with risk reasons (anomalies) and with an expense extraction was unsure of (needs review),
    newest first, each with its reasons, from the sparse indexes."""
    departments = _departments(directory, scope(principal, department))
    fx = directory.policy().fx
    dept_names = {d.department_id: d.name for d in departments}
    out: dict[str, list[dict]] = {"anomalies": [], "needs_review": []}
    for d in departments:
        names = dict(directory.members(d.department_id))
        out["anomalies"] += [_row(c, names, dept_names, fx) for c in indexes.flagged(d.department_id, limit)]
        out["needs_review"] += [_row(c, names, dept_names, fx) for c in indexes.needing_review(d.department_id, limit)]
    for rows in out.values():
        rows.sort(key=lambda r: r["created_at"], reverse=True)
        del rows[limit:]
    return out
