"""The per-company anomaly model: a planted outlier is flagged and explained in words (EN / 繁中) and the claim
records the version that scored it; too little history means rules only, said so; a version that fails validation
is not promoted; a tampered artefact is refused; the S3 layout round-trips."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import boto3
import pytest
from moto import mock_aws

from chalicelib.adapters.model_store import InMemoryModelStore, S3ModelStore, current_key, model_key
from chalicelib.adapters.scoring_history import InMemoryScoringHistory
from chalicelib.domain.anomaly import History, SpendRecord
from chalicelib.domain.anomaly.explain import hk_zh, phrase, reason
from chalicelib.domain.anomaly.features import FEATURES, CompanyNorms, EmployeeNorms, Explained, vector
from chalicelib.domain.anomaly.words import hk
from chalicelib.domain.claim import ClaimStatus
from chalicelib.domain.money import Money
from chalicelib.services import anomaly_model as m
from chalicelib.services import scoring
from tests.fakes import bootstrap_fakes
from tests.unit.services.support import put_claim

NOW = datetime(2026, 11, 30, 19, 0, tzinfo=UTC)
VENDORS = ("Tsui Wah 翠華", "Fairwood 大快活", "Cafe de Coral 大家樂", "Maxim's 美心")


def company_rows(n_per_employee: int = 60, employees: tuple[str, ...] = ("E201", "E202", "E200", "E100"),
                 seed: int = 3) -> list[SpendRecord]:
    """Lunches of about HK$90 and dinners of about HK$300 at four chains, a year of them per employee."""
    rng = random.Random(seed)
    rows = []
    for e in employees:
        for i in range(n_per_employee):
            day = date(2026, 1, 5) + timedelta(days=rng.randrange(300))
            dinner = rng.random() < 0.3
            amount = Decimal(str(round(rng.lognormvariate(0, 0.15) * (300 if dinner else 90), 1)))
            rows.append(SpendRecord(
                expense_id=f"x-{e}-{i}", claim_id=f"k-{e}-{i}", employee_id=e,
                submitted_at=datetime.combine(day + timedelta(days=rng.randint(1, 9)), time(10), UTC),
                category="meals", vendor=rng.choice(VENDORS), receipt_date=day,
                receipt_time=time(20 if dinner else 13, rng.randrange(60)), total=Money.of(amount, "HKD"),
                total_hkd=amount, district=rng.choice(("Central", "Wan Chai")), city="Hong Kong"))
    return rows


@pytest.fixture(scope="module")
def trained() -> tuple[InMemoryModelStore, m.Outcome, list[SpendRecord]]:
    rows = company_rows()
    store = InMemoryModelStore()
    return store, m.retrain(store, "default", rows, NOW), rows


def test_a_company_with_history_gets_a_promoted_version_with_its_metadata(trained):
    store, outcome, rows = trained
    assert outcome.promoted and outcome.version == "20261130T190000Z"
    meta = store.metadata("default", outcome.version)
    assert meta["rows"] == len(rows) and meta["window"]["from"] >= "2026-01-05"
    assert meta["metrics"]["validation_auc"] >= m.VALIDATION_FLOOR and meta["sha256"] == m.sha256(
        store.objects[model_key("default", outcome.version)])
    assert meta["features"] == list(FEATURES) and meta["sklearn"]
    assert store.current("default")[1]["version"] == outcome.version


def test_a_planted_6x_dinner_is_flagged_and_said_in_words(trained):
    store, outcome, rows = trained
    rule = m.load(store, "default")
    history = History(rows)
    own = EmployeeNorms(history.by_employee("E201"))
    dinner = next(r for r in rows if r.employee_id == "E201" and r.receipt_time.hour == 20)
    usual = own.usual(dinner)
    odd = replace(dinner, expense_id="planted", total_hkd=usual * 6, total=Money.of(usual * 6, "HKD"),
                  submitted_at=NOW, receipt_date=date(2026, 11, 20))
    normal = replace(dinner, expense_id="normal", submitted_at=NOW, receipt_date=date(2026, 11, 20))
    found = rule.findings([odd, normal], history)
    assert found["normal"] == []
    [finding] = found["planted"]
    assert finding.rule == "unusual_for_company"
    text = finding.reason
    assert "6×" in text and "倍" in text and " / 與公司慣常不同：" in text
    assert hk(usual * 6) in text and hk_zh(usual * 6) in text
    assert not any(name in text for name in FEATURES)  # never a feature's name


def test_the_wording_of_an_amount_against_the_employees_usual_dinner():
    row = SpendRecord(expense_id="e", claim_id="c", employee_id="E1", submitted_at=NOW, category="meals",
                      receipt_time=time(20, 15), total_hkd=Decimal("4800"), total=Money.of("4800", "HKD"))
    why = Explained(Decimal("800"), Decimal("300"), None, None, 3, 1, (), None, None, 2)
    assert phrase("amount_vs_employee", row, why) == (
        "HK$4,800 is 6× this employee's usual dinner (HK$800)", "港幣4,800元是此員工一般晚餐（港幣800元）的6倍")
    assert reason(["amount_vs_employee", "amount_vs_company"], row, why) == (
        "unusual for this company: HK$4,800 is 6× this employee's usual dinner (HK$800); HK$4,800 is 16× the "
        "company's usual dinner (HK$300) / 與公司慣常不同：港幣4,800元是此員工一般晚餐（港幣800元）的6倍；"
        "港幣4,800元是公司一般晚餐（港幣300元）的16倍")


def test_features_put_the_clock_on_a_circle_and_measure_distance_from_usual_places():
    rows = company_rows(10, ("E1",))
    own, norms = EmployeeNorms(rows), CompanyNorms.of(rows)
    late = replace(rows[0], receipt_time=time(23, 30), district="Tuen Mun")
    early = replace(rows[0], receipt_time=time(0, 30), district="Central")
    v_late, why_late = vector(late, own, norms)
    v_early, why_early = vector(early, own, norms)
    i = FEATURES.index("hour_cos")
    assert abs(v_late[i] - v_early[i]) < 0.01  # 23:30 is next to 00:30
    assert why_late.nearest_km > 15 and why_early.nearest_km == 0


def test_too_little_history_means_rules_only_and_says_so():
    store = InMemoryModelStore()
    outcome = m.retrain(store, "small", company_rows(30), NOW)
    assert not outcome.promoted and outcome.version is None and "too little history" in outcome.reason
    assert store.objects == {}
    rule = m.load(store, "small")
    assert rule.version == "rules-only" and rule.note == "too little history to model this company; rules only / " \
                                                         "歷史記錄不足，只用規則"


def test_a_version_that_fails_validation_is_stored_with_the_reason_but_not_promoted(trained):
    store, first, rows = trained
    later = NOW + timedelta(days=1)
    outcome = m.retrain(store, "default", rows, later, floor=1.01)  # no model separates better than perfectly
    assert not outcome.promoted and "below the floor 1.01" in outcome.reason
    meta = store.metadata("default", outcome.version)
    assert meta["promoted"] is False and meta["reason"] == outcome.reason
    assert store.current("default")[1]["version"] == first.version  # the promoted one stays


def test_a_tampered_model_file_is_refused_and_scoring_falls_back_to_rules(trained):
    store, outcome, _ = trained
    tampered = InMemoryModelStore()
    tampered.objects = dict(store.objects)
    key = model_key("default", outcome.version)
    body = bytearray(tampered.objects[key])
    body[len(body) // 2] ^= 0xFF
    tampered.objects[key] = bytes(body)
    with pytest.raises(m.ModelRefused, match="sha256"):
        m.loads(*tampered.current("default"))
    rule = m.load(tampered, "default")
    assert rule.version == "rules-only" and "could not be used" in rule.note


def test_the_claim_records_the_model_version_that_scored_it(trained):
    store, outcome, rows = trained
    app = bootstrap_fakes()
    history = InMemoryScoringHistory(rows)
    employee = history.rows.by_employee("E201")
    usual = sorted(r.total_hkd for r in employee)[len(employee) // 2]
    put_claim(app, status=ClaimStatus.SUBMITTED, submission_count=1, total=Money.of(usual * 8, "HKD"),
              vendor="Tsui Wah 翠華")
    claim = scoring.score_and_route("c-1", app.claims, app.expenses, app.directory, app.workflow,
                                    app.approvals.claimants.tell, history=history, model=m.load(store, "default"))
    assert claim.risk_model_version == outcome.version
    assert any(r.startswith("unusual for this company:") for r in claim.risk_reasons), claim.risk_reasons
    put_claim(app, claim_id="c-2", status=ClaimStatus.SUBMITTED, submission_count=1)
    plain = scoring.score_and_route("c-2", app.claims, app.expenses, app.directory, app.workflow,
                                    app.approvals.claimants.tell, history=history, model=m.RulesOnly())
    assert plain.risk_model_version == "rules-only"
    [note] = [r for r in app.audit.records("CLAIM#c-2") if r.action == "claim.risk_model"]
    assert "歷史記錄不足" in str(note.after)


def test_the_model_is_loaded_once_per_container(trained):
    store, _, _ = trained
    reads = []

    class Counting(InMemoryModelStore):
        def current(self, company):
            reads.append(company)
            return store.current(company)

    m.forget_loaded()
    counting = Counting()
    assert m.scorer(counting, "default") is m.scorer(counting, "default")
    assert reads == ["default"] and m.LOAD_SECONDS["default"] > 0
    m.forget_loaded()


def test_roc_auc_counts_ties_as_half():
    assert m.roc_auc([3, 2], [1, 2]) == pytest.approx(0.875)
    assert m.roc_auc([0], [1]) == 0.0


@mock_aws
def test_the_s3_store_keeps_versions_metadata_and_the_current_pointer(trained):
    store, outcome, _ = trained
    s3 = boto3.client("s3", region_name="ap-east-1")
    s3.create_bucket(Bucket="models", CreateBucketConfiguration={"LocationConstraint": "ap-east-1"})
    remote = S3ModelStore(s3, "models")
    assert remote.current("default") is None  # nothing yet: a 404, not an error
    data, meta = store.current("default")
    remote.put_version("default", outcome.version, data, meta)
    assert remote.current("default") is None  # not promoted yet
    remote.promote("default", outcome.version)
    assert s3.get_object(Bucket="models", Key=current_key("default"))["Body"].read() == (
        b'{"version": "20261130T190000Z"}')
    assert m.load(remote, "default").version == outcome.version


def test_the_compiled_forest_scores_exactly_as_scikit_learn(trained):
    import numpy as np

    _, _, rows = trained
    model, vectors = m.train(rows)
    x = model.standardise(vectors[:300] + [[v * 3 for v in vectors[0]]])
    assert np.allclose(m.forest_scores(model.forest, x), -model.estimator.score_samples(x))


def test_the_retrain_reads_the_companys_scored_claims_of_the_last_year_by_department():
    app = bootstrap_fakes()
    put_claim(app, claim_id="c-1", status=ClaimStatus.POSTED, submitted_at=NOW - timedelta(days=30))
    put_claim(app, claim_id="c-2", status=ClaimStatus.REJECTED, submitted_at=NOW - timedelta(days=30))
    put_claim(app, claim_id="c-3", status=ClaimStatus.SUBMITTED, submitted_at=NOW - timedelta(days=1))
    put_claim(app, claim_id="c-4", status=ClaimStatus.POSTED, submitted_at=NOW - timedelta(days=400))
    department = app.directory.department(app.directory.employee("E201").department_id)

    class WithDepartments:
        def __getattr__(self, name):
            return getattr(app.directory, name)

        def departments(self):
            return [(department, 1)]

    rows = m.company_rows(app.claims, WithDepartments(), app.directory.policy(), NOW)
    assert [r.claim_id for r in rows] == ["c-1"]
    assert rows[0].cost_centre == department.cost_centre and rows[0].total_hkd == Decimal("90")
