"""The approval controls of the hardening review, on fakes: separation of duties through delegation and
reassignment, who may use a link (step-up above the dual-sign threshold or at high risk), and signatures that
stay bound to what was approved."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from chalicelib.domain.approval_link import LinkRefused, NotLinkHolder, SignInRequired
from chalicelib.domain.claim import Claim, ClaimStatus, InvalidClaim, LineItem
from chalicelib.domain.directory import Delegation
from chalicelib.domain.identity import SYSTEM, Forbidden, Principal, Role
from chalicelib.domain.money import Money
from chalicelib.services import routing
from chalicelib.services.approvals import decisions, delegation, requests
from tests.builders import receipt_changes, receipt_claim
from tests.fakes import FakeApp, bootstrap_fakes

ROLES = {"E100": {Role.APPROVER, Role.FINANCE}, "E110": {Role.APPROVER, Role.FINANCE}, "E200": {Role.APPROVER},
         "E300": {Role.APPROVER, Role.FINANCE}, "E201": {Role.EMPLOYEE}, "E900": {Role.ADMIN}}


def person(employee_id: str) -> Principal:
    dept = {"E100": "SZ-FIN", "E110": "SZ-FIN", "E900": "SZ-FIN"}.get(employee_id, "HK-SALES")
    return Principal(user_id=f"sub-{employee_id}", employee_id=employee_id, department_id=dept,
                     roles=frozenset(ROLES.get(employee_id, {Role.EMPLOYEE})))


@pytest.fixture
def app() -> FakeApp:
    return bootstrap_fakes()


def in_approval(app: FakeApp, total: str = "90.00", claim_id: str = "c-" + "a" * 32, risk: float = 0.1,
                lines: list[tuple[str, str]] | None = None, employee: str = "E201") -> Claim:
    claim = receipt_claim(claim_id=claim_id, employee_id=employee, department_id="HK-SALES", s3_key="k",
                          file_sha256="f" * 64, vendor="翠華 Tsui Wah", receipt_date=date(2026, 11, 3),
                          total=Money.of(total, "HKD"), category="meals", purpose="client lunch",
                          submission_count=1, status=ClaimStatus.SCORED, risk_score=risk,
                          line_items=[LineItem(description=d, amount=Money.of(a, "HKD")) for d, a in lines or []])
    app.claims.create(claim, SYSTEM)
    stored = app.claims.get(claim_id)
    return app.claims.save(stored, stored.moved_to(ClaimStatus.IN_APPROVAL), SYSTEM, action="test.started")


def ask(app: FakeApp, claim_id: str, level: int, token: str = "task-1") -> dict:
    """The state machine's AwaitDecision for `level`: returns the message the holder received."""
    route = routing.route(claim_id, app.claims, app.directory)
    requests.request_approval(app.approvals, claim_id, level, route.steps[level - 1], f"{token}-{level}",
                              route.steps)
    return app.notifier.approval_links(claim_id)[-1]


def token_of(message: dict) -> str:
    return message["link"].rsplit("/", 1)[-1]


def approve(app: FakeApp, message: dict, caller: Principal | None = None, **kw) -> Claim:
    request = decisions.DecisionRequest(decision=kw.pop("decision", "approve"), **kw)
    return decisions.decide(app.approvals, token_of(message), request, caller, "203.0.113.9")


def delegate(app: FakeApp, approver: str, to: str) -> dict:
    now = app.clock()
    return delegation.set_delegation(app.approvals, person(approver), delegation.DelegationRequest(
        delegate_id=to, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=7), reason="leave"))


# ---- separation of duties --------------------------------------------------------------------------------


def test_a_delegate_who_signs_another_step_does_not_get_the_link(app):
    """The review's HK$6,800 case: E200 delegated to E110, the claim's second signer. Level 1 stays with E200."""
    claim = in_approval(app, total="6800.00")
    delegate(app, "E200", "E110")
    level1 = ask(app, claim.claim_id, 1)
    assert (level1["approver_id"], level1["on_behalf_of"]) == ("E200", None)
    record = app.audit.records(app.claims.entity(claim.claim_id))[-2]
    assert record.action == "approval.delegation_not_used" and "must sign another step" in record.after["reason"]
    approve(app, level1, person("E200"))
    level2 = ask(app, claim.claim_id, 2)
    assert level2["approver_id"] == "E110" and level2["role"] == "second_signer"
    decided = approve(app, level2, person("E110"))
    assert [d.approver_id for d in decided.decisions] == ["E200", "E110"]


def test_an_eligible_delegate_signs_on_behalf_and_the_decision_names_both(app):
    claim = in_approval(app)
    delegate(app, "E200", "E300")
    message = ask(app, claim.claim_id, 1)
    assert (message["approver_id"], message["on_behalf_of"]) == ("E300", "E200")
    decided = approve(app, message)
    assert (decided.decisions[-1].approver_id, decided.decisions[-1].on_behalf_of) == ("E300", "E200")


def test_one_person_never_signs_two_steps_even_with_a_link_issued_before_the_rule(app):
    """Checked again at decision time: a link whose holder already signed another step is refused."""
    claim = in_approval(app, total="6800.00")
    app.directory.put_delegation(Delegation(approver_id="E200", delegate_id="E110", starts_at=app.clock(),
                                            ends_at=app.clock() + timedelta(days=1)))
    route = routing.route(claim.claim_id, app.claims, app.directory)
    requests.request_approval(app.approvals, claim.claim_id, 1, route.steps[0], "t-1")  # no route: as before
    level1 = app.notifier.approval_links(claim.claim_id)[-1]
    assert level1["approver_id"] == "E110"
    approve(app, level1, person("E110"))
    level2 = ask(app, claim.claim_id, 2)
    with pytest.raises(Forbidden, match="already signed another step"):
        approve(app, level2, person("E110"))
    assert app.claims.get(claim.claim_id).status == ClaimStatus.IN_APPROVAL  # still waiting, nothing signed
    assert app.links.get(app.claims.get(claim.claim_id).pending_link_id).state == "pending"
    assert app.audit.events("REFUSED")[-1].after["reason"].startswith("E110 has already signed")


@pytest.mark.parametrize(("delegate_id", "why"), [
    ("E201", "is not an approver"), ("E900", "is not an approver"), ("E200", "yourself"), ("E999", "directory")])
def test_delegating_to_someone_the_policy_would_not_accept_is_refused_clearly(app, delegate_id, why):
    with pytest.raises(InvalidClaim, match=why):
        delegate(app, "E200", delegate_id)
    assert app.directory.delegation("E200") is None


def test_a_plain_employee_never_gets_a_link_through_a_delegation_stored_before_the_check(app):
    claim = in_approval(app)
    app.directory.put_delegation(Delegation(approver_id="E200", delegate_id="E202", starts_at=app.clock(),
                                            ends_at=app.clock() + timedelta(days=1)))
    assert ask(app, claim.claim_id, 1)["approver_id"] == "E200"


def test_delegation_answer_names_waiting_claims_the_delegate_may_not_take(app):
    claim = in_approval(app, total="6800.00")
    ask(app, claim.claim_id, 1)
    answer = delegate(app, "E200", "E110")
    assert [row["claim_id"] for row in answer["not_for"]] == [claim.claim_id]


@pytest.mark.parametrize(("target", "why"), [
    ("E900", "themself"), ("E201", "own claim"), ("E110", "another step"), ("E202", "not an approver")])
def test_reassignment_follows_the_same_rule(app, target, why):
    claim = in_approval(app, total="6800.00")
    ask(app, claim.claim_id, 1)
    with pytest.raises(Forbidden, match=why):
        requests.reassign(app.approvals, person("E900"), claim.claim_id, target, "cover")


def test_reassignment_to_an_eligible_approver_moves_the_step(app):
    claim = in_approval(app, total="6800.00")
    first = ask(app, claim.claim_id, 1)
    requests.reassign(app.approvals, person("E900"), claim.claim_id, "E100", "E200 on leave")
    newest = app.notifier.approval_links(claim.claim_id)[-1]
    assert newest["approver_id"] == "E100"
    with pytest.raises(LinkRefused, match="replaced"):
        approve(app, first)


def test_escalation_never_hands_a_step_to_another_steps_approver(app):
    """E200 is late at level 1; above E200 is E100, who is asked at level 2 here: the desk is told instead."""
    claim = in_approval(app)
    route = routing.route(claim.claim_id, app.claims, app.directory)
    extra = route.steps[0].model_copy(update={"level": 2, "role": "department_head", "approver_id": "E100"})
    route = route.model_copy(update={"steps": [route.steps[0], extra], "count": 2})
    requests.request_approval(app.approvals, claim.claim_id, 1, route.steps[0], "t-1", route.steps)
    after = requests.escalate(app.approvals, claim.claim_id, 0, route)
    assert after.steps[0].approver_id == "E200"
    assert "unanswered" in app.claims.get(claim.claim_id).awaiting_admin
    assert app.notifier.sent[-1]["kind"] == "escalation_desk"


# ---- who may use a link ----------------------------------------------------------------------------------


@pytest.mark.parametrize("caller", ["E300", "E201", "E900"])
def test_a_signed_in_caller_who_is_not_the_holder_is_refused_admins_included(app, caller):
    claim = in_approval(app)
    message = ask(app, claim.claim_id, 1)
    with pytest.raises(NotLinkHolder):
        approve(app, message, person(caller))
    assert app.claims.get(claim.claim_id).decisions == []
    refused = app.audit.events("REFUSED")[-1]
    assert refused.actor_id == f"sub-{caller}" and refused.after["claim_id"] == claim.claim_id
    assert approve(app, message, person("E200")).decisions[-1].approver_id == "E200"  # the link still works


def test_a_small_claim_may_be_decided_by_the_link_alone(app):
    claim = in_approval(app, total="5000.00")  # at the threshold, not above it
    decided = approve(app, ask(app, claim.claim_id, 1))
    assert decided.decisions[-1].approver_id == "E200"
    last = app.audit.records(app.claims.entity(claim.claim_id))[-1]
    assert last.action == "approval.level_1.approved" and last.actor_id == "link:E200"


@pytest.mark.parametrize(("total", "risk"), [("5000.01", 0.1), ("90.00", 0.95)])
def test_above_the_dual_sign_threshold_or_at_high_risk_the_link_alone_is_not_enough(app, total, risk):
    claim = in_approval(app, total=total, risk=risk)
    message = ask(app, claim.claim_id, 1)
    assert decisions.open_link(app.approvals, token_of(message))["sign_in_required"] is True
    with pytest.raises(SignInRequired, match="sign in as E200"):
        approve(app, message)
    assert app.links.get(app.claims.get(claim.claim_id).pending_link_id).state == "pending"  # not spent
    decided = approve(app, message, person("E200"))
    record = app.audit.records(app.claims.entity(claim.claim_id))[-1]
    assert (decided.decisions[-1].approver_id, record.actor_id) == ("E200", "sub-E200")  # the same person


def test_a_foreign_currency_claim_is_sized_in_hkd_for_step_up(app):
    claim = in_approval(app)
    stored = app.claims.get(claim.claim_id)
    app.claims.save(stored, stored.moved_to(ClaimStatus.IN_APPROVAL,
                                            **receipt_changes(stored, total=Money.of("700", "USD"))), SYSTEM, "t")
    with pytest.raises(SignInRequired):  # US$700 = HK$5,460
        approve(app, ask(app, claim.claim_id, 1))


def test_opening_someone_elses_link_signed_in_is_refused(app):
    claim = in_approval(app)
    message = ask(app, claim.claim_id, 1)
    with pytest.raises(NotLinkHolder):
        decisions.open_link(app.approvals, token_of(message), person("E900"))
    assert decisions.open_link(app.approvals, token_of(message), person("E200"))["claim_id"] == claim.claim_id


def test_batch_decisions_keep_step_up_and_separation(app):
    small, large = in_approval(app), in_approval(app, total="6800.00", claim_id="c-" + "b" * 32)
    ask(app, small.claim_id, 1)
    ask(app, large.claim_id, 1)
    batch = decisions.BatchDecision(claims=[small.claim_id, large.claim_id], decision="approve")
    results = decisions.decide_many(app.approvals, person("E200"), batch, "203.0.113.9")
    assert [r.get("decision") for r in results] == ["approved", "approved"]  # signed in: step-up satisfied
    assert decisions.decide_many(app.approvals, person("E300"), batch, "x")[0]["error"].startswith("no approval")


# ---- signatures bound to what was approved -----------------------------------------------------------------


def _tamper(app: FakeApp, claim_id: str, expense: dict | None = None, **changes) -> None:
    """Rewrite the stored claim behind the application's back (as someone with table access could)."""
    stored = app.claims.items[claim_id]
    app.claims.items[claim_id] = stored.model_copy(update={**receipt_changes(stored, **(expense or {})), **changes})


def test_a_signature_over_other_content_is_reported_invalid_naming_the_field(app):
    claim = in_approval(app)
    approve(app, ask(app, claim.claim_id, 1))
    checked = decisions.verify_signatures(app.approvals, app.claims.get(claim.claim_id))
    assert [(s["valid"], s["differs"]) for s in checked] == [(True, [])]
    _tamper(app, claim.claim_id, expense={"total": Money.of("9000", "HKD")})
    checked = decisions.verify_signatures(app.approvals, app.claims.get(claim.claim_id))
    assert checked[0]["signature_valid"] is True
    expense_id = claim.expenses[0].expense_id
    assert (checked[0]["valid"], checked[0]["differs"]) == (
        False, [f"expenses[{expense_id}].hash", f"expenses[{expense_id}].total", "totals"])


def test_rewriting_the_signed_content_too_breaks_the_signature(app):
    claim = in_approval(app)
    decided = approve(app, ask(app, claim.claim_id, 1))
    forged = decided.decisions[0].model_copy(update={"content": {**decided.decisions[0].content,
                                                                 "totals": {"HKD": "9000.00"}}})
    _tamper(app, claim.claim_id, expense={"total": Money.of("9000", "HKD")}, decisions=[forged])
    checked = decisions.verify_signatures(app.approvals, app.claims.get(claim.claim_id))[0]
    assert checked["valid"] is False and checked["differs"] == ["content_hash"]


def test_partial_approvals_and_later_signers_all_still_verify(app):
    claim = in_approval(app, total="6800.00", lines=[("Room", "6000.00"), ("Minibar", "800.00")])
    approve(app, ask(app, claim.claim_id, 1), person("E200"),
            disallow=[decisions.Disallowance(line=1, reason="minibar is personal")])
    approve(app, ask(app, claim.claim_id, 2), person("E110"))
    final = app.claims.get(claim.claim_id)
    assert final.payable_totals() == {"HKD": Money.of("6000.00", "HKD")}
    assert [s["valid"] for s in decisions.verify_signatures(app.approvals, final)] == [True, True]
    _tamper(app, claim.claim_id, expense={"line_items": [li.model_copy(update={"disallowed_reason": None})
                                                         for li in final.expenses[0].line_items]})
    checked = decisions.verify_signatures(app.approvals, app.claims.get(claim.claim_id))
    expense_id = final.expenses[0].expense_id
    # the first signer saw the minibar line (it disallowed it): only the restoring shows; the second saw it cut
    assert [(s["valid"], s["differs"]) for s in checked] == [
        (False, ["disallowed"]),
        (False, [f"expenses[{expense_id}].hash", f"expenses[{expense_id}].lines"])]


def test_a_decision_before_a_correction_is_kept_but_not_compared_with_the_corrected_claim(app):
    claim = in_approval(app)
    approve(app, ask(app, claim.claim_id, 1), decision="return", comment="wrong total")
    returned = app.claims.get(claim.claim_id)
    requests.resubmit_after_return(app.approvals, person("E201"), returned,
                                   receipt_changes(returned, total=Money.of("80", "HKD")))
    approve(app, app.notifier.approval_links(claim.claim_id)[-1])
    checked = decisions.verify_signatures(app.approvals, app.claims.get(claim.claim_id))
    assert [(s["decision"], s["valid"], s["superseded_by_resubmission"]) for s in checked] == [
        ("returned", True, True), ("approved", True, False)]


# ---- races and the injected clock -------------------------------------------------------------------------


def test_a_link_expires_by_the_injected_clock(app):
    claim = in_approval(app)
    message = ask(app, claim.claim_id, 1)
    app.clock.advance(days=7, seconds=1)
    with pytest.raises(LinkRefused, match="expired"):
        approve(app, message)


def test_a_decision_recorded_as_the_wait_timed_out_is_handed_to_the_re_armed_task(app):
    claim = in_approval(app)
    approve(app, ask(app, claim.claim_id, 1))
    route = routing.route(claim.claim_id, app.claims, app.directory)
    before = len(app.notifier.sent)
    assert requests.request_approval(app.approvals, claim.claim_id, 1, route.steps[0], "re-armed") == "delivered"
    assert app.workflow.resumed()[-1][:2] == ("succeed", "re-armed")
    assert len(app.notifier.sent) == before  # nobody asked twice


def test_a_re_armed_wait_keeps_a_link_that_outlives_it_and_replaces_one_that_would_expire(app):
    claim = in_approval(app)
    first = ask(app, claim.claim_id, 1)
    route = routing.route(claim.claim_id, app.claims, app.directory)
    link_id = app.claims.get(claim.claim_id).pending_link_id
    assert requests.request_approval(app.approvals, claim.claim_id, 1, route.steps[0], "t-2", route.steps) == link_id
    assert app.links.get(link_id).task_token == "t-2"
    app.clock.advance(days=6)  # 1 day left, less than the 48 h wait: a fresh link
    fresh = requests.request_approval(app.approvals, claim.claim_id, 1, route.steps[0], "t-3", route.steps)
    assert fresh != link_id and app.links.get(link_id).state == "void"
    with pytest.raises(LinkRefused, match="replaced"):
        approve(app, first)


def test_a_double_click_decides_once(app):
    claim = in_approval(app)
    message = ask(app, claim.claim_id, 1)
    approve(app, message)
    with pytest.raises(LinkRefused):
        approve(app, message)
    assert len(app.claims.get(claim.claim_id).decisions) == 1
    assert [c[0] for c in app.workflow.resumed()] == ["succeed"]


def test_severe_weather_pauses_the_sla_on_the_same_link(app):
    from chalicelib.domain.schedule import WeatherAlert

    claim = in_approval(app)
    ask(app, claim.claim_id, 1)
    link_id = app.claims.get(claim.claim_id).pending_link_id
    app.directory.put_weather(WeatherAlert(signal="T8", set_at=app.clock()))
    route = routing.route(claim.claim_id, app.claims, app.directory)
    assert requests.escalate(app.approvals, claim.claim_id, 0, route).steps[0].approver_id == "E200"
    assert app.audit.actions(app.claims.entity(claim.claim_id))[-1] == "approval.sla_paused"
    assert app.links.get(link_id).state == "pending"
