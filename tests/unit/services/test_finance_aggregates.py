"""The finance aggregates' arithmetic, through the stream consumer's service on an in-memory store that keeps the
DynamoDB store's contract (every write conditional on the version read; one commit is all or nothing)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from chalicelib.adapters.finance_store import Stored
from chalicelib.domain import finance as fin
from chalicelib.domain.claim import Claim, Decision
from chalicelib.domain.errors import ConcurrentChange
from chalicelib.domain.money import DEFAULT_FX, Money
from chalicelib.services.finance import ClaimChange, apply_changes, rebuild
from tests.builders import receipt, receipt_claim

NOV = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)  # 10:00 in Hong Kong
DEPTS = [fin.DepartmentInfo(department_id="D1", name="Sales", headcount=4),
         fin.DepartmentInfo(department_id="D2", name="Ops", headcount=2)]
ALL_2026 = fin.Filters(from_month="2026-01", to_month="2026-12")


class MemoryStore:
    """The AggregateStore's contract in memory; `fail_next` makes the next commit lose a race."""

    def __init__(self):
        self.items: dict[tuple[str, ...], tuple[int, object]] = {}
        self.fail_next = 0
        self.commits = 0

    def markers(self, claim_ids):
        found = {c: self.items[("m", c)] for c in claim_ids if ("m", c) in self.items}
        return {c: fin.Applied(version=v, contribution=value) for c, (v, value) in found.items()}

    def buckets(self, keys):
        return {k: Stored(*self.items[("b", *k)]) if ("b", *k) in self.items else Stored(None, {}) for k in keys}

    def adopters(self, keys):
        return {k: Stored(*self.items[("a", *k)]) if ("a", *k) in self.items else Stored(None, None) for k in keys}

    def commit(self, markers, buckets, adopters):
        if self.fail_next:
            self.fail_next -= 1
            raise ConcurrentChange("lost a race")
        checks = [(("m", c), read) for c, _, read in markers]
        checks += [(("b", *k), s.version) for k, (s, _) in buckets.items()]
        checks += [(("a", *k), s.version) for k, (s, _) in adopters.items()]
        for key, read in checks:
            now = self.items.get(key)
            if (now[0] if now else None) != read:
                raise ConcurrentChange(str(key))
        for claim_id, marker, _ in markers:
            self.items[("m", claim_id)] = (marker.version, marker.contribution)
        for k, (stored, facts) in buckets.items():
            self.items[("b", *k)] = ((stored.version or 0) + 1, facts)
        for k, (stored, month) in adopters.items():
            self.items[("a", *k)] = ((stored.version or 0) + 1, month)
        self.commits += 1

    def rows(self, company: bool = False) -> list[fin.Bucket]:
        """The departments' buckets, or (`company`) the company-wide ones."""
        return [fin.Bucket(department_id=k[1], month=k[2], facts=v[1]) for k, v in self.items.items()
                if k[0] == "b" and (k[1] == fin.EVERY) == company]

    def overview(self, filters: fin.Filters = ALL_2026) -> fin.Overview:
        by_department = fin.overview(self.rows(), DEPTS, filters)
        assert fin.overview(self.rows(company=True), DEPTS, filters) == by_department  # the rollup agrees
        return by_department


_seq = iter(range(1, 10**9))


def change(new: Claim | None, old: Claim | None = None) -> ClaimChange:
    return ClaimChange(sequence=str(next(_seq)), claim_id=(new or old).claim_id, old=old, new=new)


def submitted(claim_id="c-1", employee="E1", dept="D1", total="100.00", currency="HKD", category="meals",
              at=NOV, **fields) -> Claim:
    return receipt_claim(claim_id, employee, dept, status="submitted", created_at=at, updated_at=at,
                         submitted_at=at, submission_count=1, total=Money.of(total, currency), category=category,
                         **fields)


def approved(claim: Claim, hours: float) -> Claim:
    at = claim.submitted_at + timedelta(hours=hours)
    decision = Decision(level=1, approver_id="E9", decision="approved", decided_at=at, content_hash="h")
    return claim.moved_to("scored").moved_to("in_approval").moved_to("approved", decisions=[decision.model_dump()])


def apply(store, *changes):
    assert apply_changes(list(changes), store, DEFAULT_FX) == []


def test_a_status_change_moves_the_claim_between_statuses_and_keeps_spend():
    store = MemoryStore()
    first = submitted()
    apply(store, change(first))
    ov = store.overview()
    assert (ov.claims, ov.by_status["submitted"].claims, ov.spend_hkd) == (1, 1, Decimal("100.00"))

    later = approved(first, hours=30)
    apply(store, change(later, first))
    ov = store.overview()
    assert "submitted" not in ov.by_status and ov.by_status["approved"].claims == 1
    assert (ov.claims, ov.spend_hkd, ov.by_category["meals"].hkd) == (1, Decimal("100.00"), Decimal("100.00"))
    assert (ov.decisions.decided, ov.decisions.within_target) == (1, 1)
    assert dict(ov.decisions.histogram)["24-48"] == 1


def test_a_redelivered_record_or_a_replayed_batch_counts_once():
    store = MemoryStore()
    first = submitted()
    record = change(first)
    apply(store, record)
    apply(store, record)  # the same record again
    later = approved(first, hours=60)
    batch = [change(later, first)]
    apply(store, *batch)
    apply(store, record, *batch)  # the whole history replayed, even the older record after the newer
    ov = store.overview()
    assert (ov.claims, ov.by_status["approved"].claims, ov.spend_hkd) == (1, 1, Decimal("100.00"))
    assert (ov.decisions.decided, ov.decisions.within_target) == (1, 0)
    assert ov.adoption.adopters == 1


def test_a_lost_race_is_retried_and_a_failure_leaves_the_rest_for_the_stream_to_retry():
    store = MemoryStore()
    store.fail_next = 1
    apply(store, change(submitted("c-1")))
    assert store.overview().claims == 1

    store.fail_next = 99
    records = [change(submitted("c-2")), change(submitted("c-3"))]
    assert apply_changes(records, store, DEFAULT_FX) == [r.sequence for r in records]
    store.fail_next = 0
    apply(store, *records)  # the stream's retry
    assert store.overview().claims == 3


def test_a_claim_moving_month_or_department_leaves_its_old_bucket():
    store = MemoryStore()
    first = submitted(total="80.00")
    apply(store, change(first))
    moved = first.model_copy(update={"department_id": "D2", "created_at": NOV + timedelta(days=40),
                                     "version": first.version + 1})
    apply(store, change(moved, first))
    ov = store.overview()
    assert ov.by_month["2026-12"] == fin.Tally(claims=1, hkd=Decimal("80.00"))
    assert ov.by_month["2026-11"] == fin.Tally() and len(ov.by_month) == 12  # every month of the range
    assert ov.by_department["D1"] == fin.Tally() and ov.by_department["D2"].hkd == Decimal("80.00")
    assert store.overview(fin.Filters(from_month="2026-11", to_month="2026-11")).claims == 0


def test_deleting_a_claim_takes_it_out_and_an_empty_bucket_holds_nothing():
    store = MemoryStore()
    draft = receipt_claim("c-9", "E1", "D1", created_at=NOV, updated_at=NOV)
    apply(store, change(draft))
    apply(store, change(None, draft))
    assert store.rows() == [fin.Bucket(department_id="D1", month="2026-11", facts={})]
    assert store.rows(company=True) == [fin.Bucket(department_id=fin.EVERY, month="2026-11", facts={})]


def test_foreign_claims_count_in_hkd_at_the_rate_fixed_at_submission_and_filters_pick_keys():
    store = MemoryStore()
    cny = submitted("c-1", total="100.00", currency="CNY", category="travel")
    fixed = cny.valued(DEFAULT_FX).model_copy(update={"rates": {"CNY": Decimal("1.10")}})  # not the policy's 1.08
    cny = cny.model_copy(update={"valuation": fixed})
    apply(store, change(cny), change(submitted("c-2", employee="E2", total="50.00")))
    ov = store.overview()
    assert ov.spend_hkd == Decimal("160.00") and ov.by_category["travel"].hkd == Decimal("110.00")
    travel = store.overview(ALL_2026.model_copy(update={"category": "travel"}))
    assert (travel.claims, travel.spend_hkd, list(travel.by_category)) == (1, Decimal("110.00"), ["travel"])
    only_approved = store.overview(ALL_2026.model_copy(update={"statuses": frozenset({"approved"})}))
    assert (only_approved.claims, only_approved.spend_hkd) == (0, Decimal(0))


def test_adoption_counts_each_employee_once_in_their_first_month_even_when_it_arrives_late():
    store = MemoryStore()
    dec = NOV + timedelta(days=30)
    apply(store, change(submitted("c-1", "E1", at=dec)), change(submitted("c-2", "E1", at=dec)))
    apply(store, change(submitted("c-3", "E2", at=dec)))
    ov = store.overview()
    assert (ov.adoption.adopters, ov.adoption.first_month, ov.adoption.first_month_adopters) == (2, "2026-12", 2)
    apply(store, change(submitted("c-4", "E1", at=NOV)))  # E1 had filed in November: their first month moves
    ov = store.overview()
    assert (ov.adoption.adopters, ov.adoption.first_month, ov.adoption.first_month_adopters) == (2, "2026-11", 1)
    assert ov.adoption.share == Decimal("0.3333") and ov.adoption.met is False  # D1 and D2: 6 staff
    drafts_only = MemoryStore()
    apply(drafts_only, change(receipt_claim("c-5", "E3", "D1", created_at=NOV)))
    assert drafts_only.overview().adoption.adopters == 0  # a draft is not a filing


def test_the_aggregates_equal_the_answer_computed_from_the_claims():
    store = MemoryStore()
    claims = []
    for i in range(30):
        c = submitted(f"c-{i}", f"E{i % 4}", "D1" if i % 3 else "D2", total=f"{10 + i}.50",
                      currency="USD" if i % 5 == 0 else "HKD", category=("meals", "taxi", "travel")[i % 3],
                      at=NOV + timedelta(days=i * 3), risk_reasons=["possible duplicate"] if i % 7 == 0 else [])
        if i % 2:
            c = approved(c, hours=i * 4)
        claims.append(c)
    apply(store, *[change(c) for c in claims])
    filters = fin.Filters(from_month="2026-11", to_month="2027-01")
    assert store.overview(filters) == fin.overview_from_claims(claims, DEPTS, filters, DEFAULT_FX)
    meals = filters.model_copy(update={"category": "meals"})
    assert store.overview(meals) == fin.overview_from_claims(claims, DEPTS, meals, DEFAULT_FX)


@pytest.mark.parametrize(("hours", "label"), [(0, "0-4"), (3.99, "0-4"), (47.9, "24-48"), (48, "48-72"),
                                              (500, "120+")])
def test_hours_to_decision_fall_in_bins_and_48_is_over_target(hours, label):
    assert fin.hour_bin(Decimal(str(hours))) == label
    assert (label in fin.WITHIN_TARGET_BINS) == (hours < 48)


def test_the_queues_take_open_claims_with_reasons():
    flagged = submitted(risk_reasons=["possible duplicate"])
    assert fin.in_anomaly_queue(flagged) and not fin.in_review_queue(flagged)
    unsure = submitted().model_copy(update={"expenses": [receipt("e-1", "E1", "needs_review",
                                                                 review_reasons=["total unclear"])]})
    assert fin.in_review_queue(unsure)
    assert not fin.in_anomaly_queue(approved(flagged, 1).moved_to("posted"))


def test_a_rebuild_from_the_history_equals_the_stream_consumer_and_the_stream_carries_on_from_it():
    claims = [submitted(f"c-{i}", f"E{i % 3}", "D1" if i % 2 else "D2", at=NOV + timedelta(days=i * 5))
              for i in range(8)]
    history = [change(c) for c in claims] + [change(approved(c, hours=10), c) for c in claims[:4]]
    live = MemoryStore()
    apply(live, *history)
    markers, buckets, adopters = rebuild(history, DEFAULT_FX)
    rebuilt = MemoryStore()
    for claim_id, marker in markers.items():
        rebuilt.items[("m", claim_id)] = (marker.version, marker.contribution)
    for key, facts in buckets.items():
        rebuilt.items[("b", *key)] = (1, facts)
    for key, month in adopters.items():
        rebuilt.items[("a", *key)] = (1, month)
    assert rebuilt.overview() == live.overview()
    later = [change(approved(c, hours=70), c) for c in claims[4:]]
    apply(rebuilt, *history, *later)  # the stream after the backfill; its history again counts nothing
    apply(live, *later)
    assert rebuilt.overview() == live.overview() and rebuilt.overview().decisions.decided == 8
