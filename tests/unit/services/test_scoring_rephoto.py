"""Scoring finds the same paper re-photographed by a colleague in another department through the expense index
of photo hashes (the claims history reads only the claimant's and their department's claims); another receipt of
the same layout, for another amount, stays quiet; a rejected claim's photo is not held against anyone."""

from __future__ import annotations

import pytest

from chalicelib.domain.claim import ClaimStatus
from chalicelib.domain.money import Money
from chalicelib.services import scoring
from tests.fakes import FakeApp, bootstrap_fakes
from tests.unit.services.support import put_claim

PHOTO = "c3a5f00f1e2d3c4b"
AGAIN = "c3a5f00f1e2d3c0b"  # 1 bit away


@pytest.fixture
def app() -> FakeApp:
    return bootstrap_fakes()


def _score(app: FakeApp, claim_id: str):
    return scoring.score_and_route(claim_id, app.claims, app.expenses, app.directory, app.workflow,
                                   app.approvals.claimants.tell)


def test_a_colleague_in_another_department_rephotographing_the_receipt_is_flagged(app):
    put_claim(app, claim_id="c-1", employee_id="E120", status=ClaimStatus.POSTED, image_hash=PHOTO,
              vendor="澳洲牛奶公司")
    put_claim(app, claim_id="c-2", employee_id="E201", status=ClaimStatus.SUBMITTED, image_hash=AGAIN,
              vendor="溴州牛奶 4-1")
    claim = _score(app, "c-2")
    assert claim.risk_score >= 0.7
    assert any(r.startswith("duplicate: a photo of the same paper receipt as in claim c-1 of colleague E120")
               for r in claim.risk_reasons), claim.risk_reasons


def test_another_receipt_of_the_same_cafe_for_another_amount_is_quiet(app):
    put_claim(app, claim_id="c-1", employee_id="E120", status=ClaimStatus.POSTED, image_hash=PHOTO)
    put_claim(app, claim_id="c-2", employee_id="E201", status=ClaimStatus.SUBMITTED, image_hash=AGAIN,
              total=Money.of("96.00", "HKD"))
    assert not any("same paper" in r for r in _score(app, "c-2").risk_reasons)


def test_a_rejected_claims_photo_is_not_held_against_anyone(app):
    put_claim(app, claim_id="c-1", employee_id="E120", status=ClaimStatus.REJECTED, image_hash=PHOTO)
    put_claim(app, claim_id="c-2", employee_id="E201", status=ClaimStatus.SUBMITTED, image_hash=AGAIN,
              vendor="Other")
    assert not any("same paper" in r for r in _score(app, "c-2").risk_reasons)
