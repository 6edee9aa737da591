"""Who must approve (services/routing.py over domain/routing.py), with the sample organisation and its policy:
line manager always, department head for entertainment or above HK$2,000, a second signer above HK$5,000
HKD-equivalent, finance review at high risk, never the claimant or a subject, the policy's top approver where
nobody above is eligible."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chalicelib.domain.directory import Employee
from chalicelib.domain.money import Money
from chalicelib.domain.routing import RoutingError, default_rules
from chalicelib.services.routing import route
from harness import sample_org
from tests.fakes import bootstrap_fakes
from tests.unit.services.support import put_claim

TOP = "(nobody eligible above: the policy's top approver)"


@pytest.fixture
def app():
    app = bootstrap_fakes()
    # a Sales employee whose line manager (E300) is not the department head (E200)
    app.directory.put_employee(Employee(employee_id="E203", name="陳一 Chan Yat", email="yat.chan@example.com",
                                        department_id="HK-SALES", rank=1, manager_id="E300"))
    return app


def _route(app, employee_id="E201", **fields):
    put_claim(app, "c-1", employee_id, **fields)
    return route("c-1", app.claims, app.directory)


def _steps(r):
    return [(s.level, s.role, s.approver_id) for s in r.steps]


def test_a_hk90_meal_needs_only_the_line_manager(app):
    r = _route(app)
    assert _steps(r) == [(1, "line_manager", "E200")]
    assert (r.count, r.second_signer_required, r.approval_timeout_seconds) == (1, False, 172800)


def test_hk2500_needs_the_department_head_after_the_line_manager(app):
    """Above HK$2,000 the head signs too; where the line manager is the head (E201 -> E200) one signature
    covers both rules."""
    assert _steps(_route(app, "E203", total=Money.of("2500", "HKD"), category="general")) == [
        (1, "line_manager", "E300"), (2, "department_head", "E200")]
    app.claims.clear()
    assert _steps(_route(app, "E201", total=Money.of("2500", "HKD"), category="general")) == [
        (1, "line_manager", "E200")]


def test_exactly_hk2000_does_not_need_the_department_head(app):
    assert _steps(_route(app, "E203", total=Money.of("2000.00", "HKD"), category="general")) == [
        (1, "line_manager", "E300")]


def test_entertainment_always_needs_the_department_head(app):
    r = _route(app, "E203", category="entertainment", total=Money.of("300", "HKD"))
    assert _steps(r) == [(1, "line_manager", "E300"), (2, "department_head", "E200")]
    assert r.steps[1].rule == "entertainment always needs the department head"


def test_hk6800_needs_the_line_manager_and_the_branch_finance_controller_as_second_signer(app):
    r = _route(app, total=Money.of("6800", "HKD"), category="general")
    assert _steps(r) == [(1, "line_manager", "E200"), (2, "second_signer", "E110")]
    assert r.second_signer_required and r.count == 2


@pytest.mark.parametrize(("total", "second_signer"), [
    (Money.of("5000.00", "HKD"), False),
    (Money.of("5000.01", "HKD"), True),
    (Money.of("700", "USD"), True),  # HK$5,460 at 7.80
    (Money.of("4600", "CNY"), False),  # HK$4,968 at 1.08
    (Money.of("5000", "CNY"), True),  # HK$5,400
])
def test_the_second_signer_threshold_is_on_the_hkd_equivalent(app, total, second_signer):
    r = _route(app, total=total, category="travel")
    assert r.second_signer_required is second_signer
    assert _steps(r)[1:] == ([(2, "second_signer", "E110")] if second_signer else [])


def test_a_high_risk_claim_gets_a_finance_review(app):
    assert _steps(_route(app, risk_score=0.7)) == [(1, "line_manager", "E200"), (2, "finance_review", "E110")]
    app.claims.clear()
    assert _steps(_route(app, risk_score=0.69)) == [(1, "line_manager", "E200")]


def test_the_finance_review_is_never_the_second_signer_again(app):
    """High risk above HK$5,000: E110 signs second, so the finance review walks up to E100."""
    r = _route(app, risk_score=0.9, total=Money.of("6800", "HKD"))
    assert _steps(r) == [(1, "line_manager", "E200"), (2, "second_signer", "E110"), (3, "finance_review", "E100")]


def test_a_department_finance_reviewer_takes_the_review_when_named(app):
    sales = app.directory.department("HK-SALES")
    app.directory.put_department(sales.model_copy(update={"finance_reviewer_id": "E300"}))
    assert _steps(_route(app, risk_score=0.8)) == [(1, "line_manager", "E200"), (2, "finance_review", "E300")]


def test_the_top_of_the_company_is_approved_by_the_policys_top_approver(app):
    """E100 has no manager and heads their own department: the audit committee chair (E050) signs."""
    r = _route(app, "E100")
    assert _steps(r) == [(1, "line_manager", "E050")]
    assert r.steps[0].rule.endswith(TOP)


def test_a_second_signer_is_never_the_line_manager(app):
    """E110's line manager E100 is also SZ-FIN's finance controller: the second signature falls to E050."""
    r = _route(app, "E110", total=Money.of("6800", "HKD"))
    assert _steps(r) == [(1, "line_manager", "E100"), (2, "second_signer", "E050")]


def test_a_subject_of_the_claim_never_approves_it(app):
    """A dinner with E200 as an attendee goes past E200 to E100 (who covers the head's rule too)."""
    r = _route(app, category="entertainment", subjects=["E200"])
    assert _steps(r) == [(1, "line_manager", "E100")]


def test_nobody_eligible_is_a_routing_error(app):
    """The top approver is a subject of the top of the company's claim: nobody may sign it."""
    with pytest.raises(RoutingError, match="no eligible approver above E100"):
        _route(app, "E100", subjects=["E050"])


def test_without_a_top_approver_the_top_of_the_company_cannot_be_routed(app):
    app.directory.put_policy(sample_org.POLICY.model_copy(update={"top_approver_id": None}))
    with pytest.raises(RoutingError, match="no eligible approver above E100"):
        _route(app, "E100")


def test_the_routing_rules_and_timeout_are_the_policy_in_the_directory(app):
    """Finance raises the second-signer threshold to HK$10,000 and shortens the wait: HK$6,800 is one step."""
    app.directory.put_policy(sample_org.POLICY.model_copy(update={
        "rules": default_rules(second_signer_threshold_hkd=Decimal("10000")), "approval_timeout_seconds": 3600}))
    r = _route(app, total=Money.of("6800", "HKD"))
    assert _steps(r) == [(1, "line_manager", "E200")] and r.approval_timeout_seconds == 3600


def test_a_policy_that_routes_nothing_is_a_routing_error(app):
    app.directory.put_policy(sample_org.POLICY.model_copy(update={"rules": []}))
    with pytest.raises(RoutingError, match="no routing rule applies"):
        _route(app)


def test_a_missing_claim_claimant_or_total_is_a_routing_error(app):
    with pytest.raises(RoutingError, match="does not exist"):
        route("c-404", app.claims, app.directory)
    put_claim(app, "c-ghost", "E999")
    with pytest.raises(RoutingError, match="missing from the directory"):
        route("c-ghost", app.claims, app.directory)
    put_claim(app, "c-blank", "E201", total=None)
    with pytest.raises(RoutingError, match="an expense with no total"):
        route("c-blank", app.claims, app.directory)


def test_a_currency_without_a_configured_rate_is_not_routed(app):
    with pytest.raises(ValueError, match="no HKD exchange rate is configured for THB"):
        _route(app, total=Money.of("100", "THB"))
