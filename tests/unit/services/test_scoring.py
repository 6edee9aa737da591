"""Scoring on fakes: only the move into `submitted` starts work; a scored claim is handed to the approval
workflow once; every failure ends visibly (failed, with a reason, the claimant told), never stuck; the rules see
the company's history through the ScoringHistory port, finance's policy and its approved suppliers."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from chalicelib.adapters.scoring_history import InMemoryScoringHistory
from chalicelib.domain.claim import ClaimStatus
from chalicelib.domain.money import Money
from chalicelib.domain.policy import Policy
from chalicelib.domain.vendors import seed_directory
from chalicelib.services import scoring
from tests.fakes import FakeApp, bootstrap_fakes
from tests.unit.services.support import put_claim


@pytest.fixture
def app() -> FakeApp:
    return bootstrap_fakes()


def _score(app: FakeApp, claim_id: str = "c-1"):
    return scoring.score_and_route(claim_id, app.claims, app.expenses, app.directory, app.workflow,
                                   app.approvals.claimants.tell)


def test_only_the_move_into_submitted_starts_scoring(app):
    extracted = put_claim(app)
    submitted = extracted.moved_to(ClaimStatus.SUBMITTED)
    assert scoring.needs_scoring(extracted, submitted)
    assert scoring.needs_scoring(None, submitted)
    assert not scoring.needs_scoring(submitted, submitted.moved_to(ClaimStatus.SCORED))
    assert not scoring.needs_scoring(submitted, submitted)  # a redelivered stream record


def test_a_clean_claim_is_scored_low_and_its_approval_started_once(app):
    put_claim(app, status=ClaimStatus.SUBMITTED, submission_count=1)
    claim = _score(app)
    assert claim.status == ClaimStatus.IN_APPROVAL and claim.risk_score == 0.0 and claim.risk_reasons == []
    assert claim.execution_arn == "c-1-s1"
    assert app.workflow.calls == [("start", "c-1-s1", {"claim_id": "c-1"})]
    assert app.audit.actions("CLAIM#c-1")[-2:] == ["claim.scored", "claim.approval_started"]
    assert _score(app).status == ClaimStatus.IN_APPROVAL  # delivered again: nothing moves, nothing starts
    assert len(app.workflow.calls) == 1


def test_the_same_receipt_file_twice_is_flagged_with_the_earlier_claim(app):
    first = put_claim(app, claim_id="c-1", status=ClaimStatus.POSTED)
    put_claim(app, claim_id="c-2", status=ClaimStatus.SUBMITTED, file_sha256=first.expenses[0].file_sha256)
    claim = _score(app, "c-2")
    assert claim.risk_score >= 0.7 and any("c-1" in r and "duplicate" in r for r in claim.risk_reasons)


def test_over_the_category_limit_is_flagged(app):
    put_claim(app, status=ClaimStatus.SUBMITTED, total=Money.of("2400", "HKD"))  # meals limit HK$1,500
    claim = _score(app)
    assert claim.risk_score > 0 and any("limit" in r for r in claim.risk_reasons)


def test_a_currency_without_a_rate_fails_the_claim_visibly_and_tells_the_claimant(app):
    put_claim(app, status=ClaimStatus.SUBMITTED, total=Money.of("900", "THB"))
    claim = _score(app)
    assert claim.status == ClaimStatus.FAILED and "THB" in claim.failure_reason
    told = app.employee_notifier.sent[-1]
    assert told["event"] == "failed" and "THB" in told["en"] and "未能完成處理" in told["zh-Hant"]
    assert app.workflow.calls == []


def test_a_workflow_that_cannot_start_fails_the_claim_with_the_reason(app):
    put_claim(app, status=ClaimStatus.SUBMITTED)
    app.workflow.fail_start = RuntimeError("Step Functions throttled")
    claim = _score(app)
    assert claim.status == ClaimStatus.FAILED and claim.failure_reason.startswith("could not start approval")
    assert app.employee_notifier.sent[-1]["event"] == "failed"


def test_a_lost_race_leaves_the_winner_in_charge(app):
    put_claim(app, status=ClaimStatus.SUBMITTED)
    real_save, raced = app.claims.save, []

    def racing_save(before, after, actor, action):  # another delivery scores it between our read and write
        if not raced:
            raced.append(True)
            real_save(before, after.model_copy(update={"risk_reasons": ["the other delivery"]}), actor, action)
        return real_save(before, after, actor, action)

    app.claims.save = racing_save
    claim = _score(app)
    assert claim.status == ClaimStatus.SCORED and claim.risk_reasons == ["the other delivery"]
    assert app.workflow.calls == []  # the winner starts the workflow, not us


# ---- the company's history (the ScoringHistory port) --------------------------------------------------------------

def test_a_receipt_resubmitted_with_its_vendor_respelled_is_found_in_the_history(app):
    history = InMemoryScoringHistory()
    put_claim(app, claim_id="c-1", status=ClaimStatus.SUBMITTED, submission_count=1)
    first = scoring.score_and_route("c-1", app.claims, app.expenses, app.directory, app.workflow,
                                    app.approvals.claimants.tell, history=history)
    assert first.risk_reasons == [] and len(history.rows) == 1  # scored, then remembered
    put_claim(app, claim_id="c-2", status=ClaimStatus.SUBMITTED, submission_count=1, vendor="翠华餐厅")
    again = scoring.score_and_route("c-2", app.claims, app.expenses, app.directory, app.workflow,
                                    app.approvals.claimants.tell, history=history)
    assert again.risk_score >= 0.7
    assert again.risk_reasons == ["duplicate: the same receipt (HK$90 on 2026-11-03) as in claim c-1, the vendor "
                                  "written there as “Tsui Wah 翠華” / 重複：與申報 c-1為同一收據（2026-11-03，HK$90），"
                                  "商戶在該處寫作「Tsui Wah 翠華」"]


def test_by_default_the_claimants_earlier_claims_are_read_from_the_claims_store(app):
    now = app.clock()
    put_claim(app, claim_id="c-1", status=ClaimStatus.POSTED, vendor="Fortress", category="general",
              total=Money.of("4795.00", "HKD"), submitted_at=now - timedelta(days=1))
    put_claim(app, claim_id="c-2", status=ClaimStatus.SUBMITTED, vendor="豐澤 Fortress", category="general",
              total=Money.of("4880.50", "HKD"), submitted_at=now)
    claim = _score(app, "c-2")
    assert claim.status == ClaimStatus.IN_APPROVAL
    assert any(r.startswith("split claim: 2 claims of HK$4,880.50") for r in claim.risk_reasons)


def test_a_rejected_claim_is_not_history(app):
    now = app.clock()
    put_claim(app, claim_id="c-1", status=ClaimStatus.REJECTED, vendor="Fortress", category="general",
              total=Money.of("4795.00", "HKD"), submitted_at=now - timedelta(days=1))
    put_claim(app, claim_id="c-2", status=ClaimStatus.SUBMITTED, vendor="豐澤 Fortress", category="general",
              total=Money.of("4880.50", "HKD"), submitted_at=now)
    assert _score(app, "c-2").risk_reasons == []


def test_finance_policy_and_approved_suppliers_reach_the_rules(app):
    app.directory.put_policy(Policy(forbid_weekend_holiday_spend=True))
    put_claim(app, status=ClaimStatus.SUBMITTED, receipt_date=date(2026, 11, 1), category="entertainment")  # Sunday
    seed = seed_directory()
    venues = seed.with_entries([seed.get("tao-heung").model_copy(update={"partner_for": ("entertainment",)})])
    claim = scoring.score_and_route("c-1", app.claims, app.expenses, app.directory, app.workflow,
                                    app.approvals.claimants.tell, vendors=venues)
    codes = [r.split(":")[0] for r in claim.risk_reasons]
    assert sorted(codes) == ["non-partner vendor", "weekend or holiday spend"]
