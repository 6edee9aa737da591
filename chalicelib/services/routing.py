"""Use case: the state machine asks who must approve this claim."""

from __future__ import annotations

from chalicelib.domain.routing import Route, RoutingError, route_claim
from chalicelib.services.ports import ClaimStore, Directory


def route(claim_id: str, claims: ClaimStore, directory: Directory) -> Route:
    claim = claims.get(claim_id)
    if claim is None:
        raise RoutingError(f"claim {claim_id} does not exist")
    claimant = directory.employee(claim.employee_id)
    department = directory.department(claim.department_id)
    if claimant is None or department is None:
        raise RoutingError(f"claim {claim_id}: claimant or department missing from the directory")
    policy = directory.policy()
    if not claim.expenses or any(e.total is None for e in claim.expenses):
        raise RoutingError(f"claim {claim_id} has no expenses, or an expense with no total")
    # the thresholds apply to the HKD total valued at submission (what the approvers sign)
    amount = claim.valuation.hkd_total.amount if claim.valuation else claim.hkd_total(policy.fx).amount
    return route_claim(claim, claimant, department, policy.rules, amount, policy.approval_timeout_seconds,
                       directory.employee, policy.top_approver_id, fx=policy.fx)
