from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from chalicelib.domain.anomaly import Sighting, assess_expense, roll_up
from chalicelib.domain.approval_link import LinkClaims, LinkRefused, sign_link, verify_link
from chalicelib.domain.audit import AuditRecord, verify_chain
from chalicelib.domain.claim import ClaimStatus
from chalicelib.domain.directory import Department, Employee
from chalicelib.domain.ledger import UnbalancedEntry, journal_for
from chalicelib.domain.money import DEFAULT_FX, Money
from chalicelib.domain.policy import Policy
from chalicelib.domain.routing import RoutingError, escalation_target, route_claim
from tests.unit.domain.test_claim import make_claim

PEOPLE = {
    "E1": Employee(employee_id="E1", name="staff", email="s@x", department_id="D1", rank=2, manager_id="H1"),
    "H1": Employee(employee_id="H1", name="head", email="h@x", department_id="D1", rank=4, manager_id="B1"),
    "B1": Employee(employee_id="B1", name="boss", email="b@x", department_id="D0", rank=5),
    "F1": Employee(employee_id="F1", name="controller", email="f@x", department_id="D0", rank=4, manager_id="B1"),
}
DEPT = Department(department_id="D1", name="Sales", office_id="HK", head_id="H1", cost_centre="CC1",
                  finance_controller_id="F1")


def route(claimant: str, amount: str, currency: str = "HKD", **claim_fields):
    claim = make_claim(employee_id=claimant, total=Money.of(amount, currency), **claim_fields)
    policy = Policy()
    return route_claim(claim, PEOPLE[claimant], DEPT, policy.rules, claim.hkd_total(policy.fx).amount,
                       policy.approval_timeout_seconds, PEOPLE.get)


def test_small_claim_needs_the_department_head_only():
    r = route("E1", "4999.99")
    assert [(s.level, s.approver_id) for s in r.steps] == [(1, "H1")] and not r.second_signer_required


def test_threshold_is_in_hkd_equivalent():
    assert route("E1", "5000.01").second_signer_required
    assert not route("E1", "600", "USD").second_signer_required  # 4,680 HKD
    r = route("E1", "700", "USD")  # 5,460 HKD
    assert [(s.level, s.role, s.approver_id) for s in r.steps] == [(1, "line_manager", "H1"),
                                                                    (2, "second_signer", "F1")]


def test_nobody_approves_their_own_claim():
    r = route("H1", "100")
    assert r.steps[0].approver_id == "B1"
    r = route("H1", "9000")  # the head claims: the head rule is met by the head's manager, already signing
    assert [(s.role, s.approver_id) for s in r.steps] == [("line_manager", "B1"), ("second_signer", "F1")]
    r = route("F1", "1000")  # the controller claims: their own manager signs
    assert [(s.role, s.approver_id) for s in r.steps] == [("line_manager", "B1")]


def test_no_eligible_approver_is_an_error_not_a_pass():
    lonely = Department(department_id="D9", name="x", office_id="HK", head_id="B1", cost_centre="C",
                        finance_controller_id="B1")
    with pytest.raises(RoutingError):
        route_claim(make_claim(employee_id="B1"), PEOPLE["B1"], lonely, Policy().rules, Decimal(90), 60, PEOPLE.get)


def test_rules_are_data_category_amount_and_risk_add_steps():
    assert [s.role for s in route("E1", "500").steps] == ["line_manager"]
    # E1's line manager is the head, so the head rule adds no second signature from the same person
    assert [s.approver_id for s in route("E1", "500", category="entertainment").steps] == ["H1"]
    risky = route("E1", "500", risk_score=0.9)
    assert [(s.role, s.approver_id) for s in risky.steps] == [("line_manager", "H1"), ("finance_review", "F1")]
    big = route("E1", "9000", risk_score=0.9)
    assert [(s.role, s.approver_id) for s in big.steps] == [
        ("line_manager", "H1"), ("second_signer", "F1"), ("finance_review", "B1")]
    assert big.count == 3


def test_the_policys_top_approver_signs_where_nobody_above_is_eligible():
    lonely = Department(department_id="D9", name="x", office_id="HK", head_id="B1", cost_centre="C",
                        finance_controller_id="B1")
    route = route_claim(make_claim(employee_id="B1"), PEOPLE["B1"], lonely, Policy().rules, Decimal(90), 60,
                        PEOPLE.get, top_approver_id="T1")
    assert [(s.role, s.approver_id) for s in route.steps] == [("line_manager", "T1")]
    assert "top approver" in route.steps[0].rule
    head_too = route_claim(make_claim(employee_id="B1"), PEOPLE["B1"], lonely, Policy().rules, Decimal(3000), 60,
                           PEOPLE.get, top_approver_id="T1")  # line manager and head: one signature covers both
    assert [s.approver_id for s in head_too.steps] == ["T1"]
    with pytest.raises(RoutingError):  # above the threshold the second signature must be someone else
        route_claim(make_claim(employee_id="B1"), PEOPLE["B1"], lonely, Policy().rules, Decimal(9000), 60,
                    PEOPLE.get, top_approver_id="T1")
    top = PEOPLE["B1"].model_copy(update={"employee_id": "T1"})
    own = lonely.model_copy(update={"head_id": "T1", "finance_controller_id": "T1"})
    with pytest.raises(RoutingError):  # the top approver never approves their own claim
        route_claim(make_claim(employee_id="T1"), top, own, Policy().rules, Decimal(90), 60, PEOPLE.get,
                    top_approver_id="T1")


def test_subjects_of_a_claim_do_not_approve_it():
    r = route("E1", "500", subjects=["H1"])
    assert r.steps[0].approver_id == "B1"


def test_escalation_goes_one_level_up_skipping_the_ineligible():
    claim = make_claim(employee_id="E1")
    assert escalation_target("H1", claim, set(), PEOPLE.get) == "B1"
    with pytest.raises(RoutingError):
        escalation_target("B1", claim, set(), PEOPLE.get)
    with pytest.raises(RoutingError):
        escalation_target("H1", claim, {"B1"}, PEOPLE.get)


def test_duplicates_and_limits_give_reasons():
    claim = make_claim(claim_id="c-new", category="meals", total=Money.of("1600", "HKD"))
    expense = claim.expenses[0]
    earlier = Sighting(expense_id="e-old", claim_id="c-old", employee_id="E1")
    colleague = Sighting(expense_id="e-col", claim_id="c-col", employee_id="E9")
    found = assess_expense(expense, claim, Policy(), same_file=[earlier], same_content=[earlier, colleague])
    risk = roll_up(claim, {expense.expense_id: found})
    assert risk.score >= 0.95 and risk.high
    assert any("same receipt file as in claim c-old" in r for r in risk.reasons)
    assert any("claim c-col of colleague E9" in r for r in risk.reasons)
    assert any("over limit" in r and "meals" in r for r in risk.reasons)
    itself = Sighting(expense_id=expense.expense_id, claim_id="c-new", employee_id="E1")
    assert roll_up(claim, {expense.expense_id: assess_expense(expense, claim, Policy(), [itself], [itself])}
                   ).score == 0.6  # only the limit: an expense is not a duplicate of itself


def test_journal_is_balanced_in_hkd():
    entry = journal_for(make_claim(total=Money.of("100", "USD"), category="travel"), DEFAULT_FX, date(2026, 11, 4))
    assert [(line.account, line.debit_hkd, line.credit_hkd) for line in entry.lines] == [
        ("6140", Decimal("780.00"), Decimal("0")), ("2150", Decimal("0"), Decimal("780.00"))]
    with pytest.raises(UnbalancedEntry):
        journal_for(make_claim(total=None), DEFAULT_FX, date(2026, 11, 4))


KEY = b"k" * 32
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # the verifier's clock, injected: expiry never rides on the wall clock


def link(**overrides) -> LinkClaims:
    data = dict(link_id="l1", claim_id="c-1", approver_id="H1", level=1, content_hash="h",
                exp=int((NOW + timedelta(hours=1)).timestamp()))
    data.update(overrides)
    return LinkClaims(**data)


def test_signed_link_round_trip_and_forgeries():
    token = sign_link(link(), KEY)
    assert verify_link(token, KEY, NOW) == link()
    assert verify_link(token, KEY, NOW + timedelta(hours=1)) == link()  # valid through its last second
    payload, mac = token.split(".")
    forged_payload = sign_link(link(approver_id="E1"), KEY).split(".")[0]
    for bad in (f"{forged_payload}.{mac}", token[:-2] + "xx", "garbage", ""):
        with pytest.raises(LinkRefused, match="not genuine"):
            verify_link(bad, KEY, NOW)
    with pytest.raises(LinkRefused, match="not genuine"):
        verify_link(token, b"other-key", NOW)
    with pytest.raises(LinkRefused, match="expired"):
        verify_link(token, KEY, NOW + timedelta(hours=1, seconds=1))


def test_audit_chain_detects_edits_and_deletions():
    records, prev = [], "0" * 64
    for seq in range(1, 4):
        r = AuditRecord(entity="CLAIM#c", seq=seq, at=datetime.now(UTC), actor_id="u", role="employee",
                        source_ip="1.2.3.4", action=f"a{seq}", prev_hash=prev).sealed()
        records.append(r)
        prev = r.hash
    assert verify_chain(records) == []
    tampered = [records[0], records[1].model_copy(update={"action": "edited"}), records[2]]
    assert any("does not match its hash" in p for p in verify_chain(tampered))
    assert any("seq 3 where 2" in p for p in verify_chain([records[0], records[2]]))


def test_department_summary_values_claims_in_hkd():
    from chalicelib.domain.reporting import summarise

    posted = make_claim(claim_id="c-1", status=ClaimStatus.POSTED, category="meals", total=Money.of("100", "USD"))
    flagged = make_claim(claim_id="c-2", status=ClaimStatus.IN_APPROVAL, risk_reasons=["duplicate"],
                         total=Money.of("90", "HKD"))
    unpriced = make_claim(claim_id="c-3", status=ClaimStatus.POSTED, total=Money.of("5", "XAU"))
    summary = summarise([posted, flagged, unpriced], DEFAULT_FX)
    assert summary.count == 3 and summary.by_status == {"posted": 2, "in_approval": 1}
    assert summary.hkd_by_status == {"posted": Decimal("780.00"), "in_approval": Decimal("90.00")}
    assert summary.hkd_posted_by_category == {"meals": Decimal("780.00")}
    assert summary.flagged == 1 and summary.median_hours_to_posting is not None
