"""The labelled claim histories the anomaly bench scores: the same seed gives the same year, every anomaly type and
look-alike is there, money is Decimal with its currency, times are aware, claims come in submission order; and the
rules find every injected case of one small history."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from bench.anomaly import run
from tools.claim_histories import ANOMALIES, LOOKALIKES, MODEL_ANOMALIES, OPENING, generate, write


def _flat(histories):
    return [(c.claim_id, c.submitted_at, sorted(c.labels), [(r.vendor, r.total, r.receipt_date) for r in c.rows])
            for claims in histories.claims.values() for c in claims]


def test_the_same_seed_gives_the_same_histories_and_another_seed_others():
    assert _flat(generate(7, companies=1, per_type=2)) == _flat(generate(7, companies=1, per_type=2))
    assert _flat(generate(7, companies=1, per_type=2)) != _flat(generate(8, companies=1, per_type=2))


def test_every_anomaly_and_look_alike_is_there_and_the_records_are_well_formed():
    histories = generate(3, companies=1, per_type=2)
    claims = histories.claims["co1"]
    labels = {label for c in claims for label in c.labels}
    assert labels == {*ANOMALIES, OPENING, *MODEL_ANOMALIES}
    for c in claims:  # the model's cases name their injected row, and only theirs do
        assert bool(c.odd_rows) == bool(c.labels & set(MODEL_ANOMALIES))
        assert set(c.odd_rows) <= {r.expense_id for r in c.rows}
    assert {c.lookalike for c in claims} - {None} == set(LOOKALIKES)
    assert [c.submitted_at for c in claims] == sorted(c.submitted_at for c in claims)
    for c in claims:
        assert c.submitted_at.utcoffset() == timedelta(0)
        for r in c.rows:
            assert isinstance(r.total.amount, Decimal) and r.total.currency in {"HKD", "CNY", "SGD", "JPY", "TWD"}
            assert isinstance(r.total_hkd, Decimal) and r.total_hkd > 0
            assert r.receipt_date <= c.submitted_at.date() + timedelta(days=1)
    people = histories.companies[0].people
    assert {p.employee.rank for p in people} == {1, 2, 3, 4, 5}
    assert all(p.cost_centre.startswith("CC-") and len(p.districts) == 3 for p in people)
    assert histories.companies[0].policy.cost_centre_budgets_hkd  # budgets as data, set from the year's spend


def test_the_histories_are_written_as_json_lines(tmp_path):
    histories = generate(5, companies=1, per_type=1)
    write(histories, tmp_path)
    companies = json.loads((tmp_path / "companies.json").read_text(encoding="utf-8"))
    assert companies["seed"] == 5 and companies["companies"][0]["partners"]["entertainment"]
    lines = (tmp_path / "CLAIMS-co1.jsonl").read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    assert len(lines) == len(histories.claims["co1"])
    assert set(first) == {"claim_id", "employee_id", "submitted_at", "labels", "lookalike", "odd_rows", "rows"}
    assert first["rows"][0]["total"]["amount"] == str(histories.claims["co1"][0].rows[0].total.amount)


def test_the_rules_find_every_injected_case_of_a_small_history_and_leave_the_look_alikes_quiet():
    figures = run(11, companies=1, per_type=2)
    assert all(figures[f"recall.{kind}"] == 1.0 for kind in ANOMALIES)
    assert figures["duplicates.precision"] >= 0.98
    assert all(figures[f"fpr.lookalike.{look}"] == 0.0 for look in LOOKALIKES)


def test_the_model_outliers_stand_out_from_the_companys_usual_spend():
    """An amount outlier costs several times the company's median for its kind; a vendor outlier's vendor is used by
    nobody else and it was spent in the small hours."""
    from statistics import median

    claims = generate(3, companies=1, per_type=2).claims["co1"]
    usual = median(r.total_hkd for c in claims if c.normal for r in c.rows)
    odd = {label: [r for c in claims if label in c.labels for r in c.rows if r.expense_id in c.odd_rows]
           for label in MODEL_ANOMALIES}
    assert len(odd["amount_outlier"]) == len(odd["vendor_outlier"]) == 8
    assert all(r.total_hkd > 2 * usual for r in odd["amount_outlier"])
    normal_vendors = {r.vendor for c in claims if c.normal for r in c.rows}
    assert all(r.vendor not in normal_vendors and r.receipt_time.hour < 5 for r in odd["vendor_outlier"])
